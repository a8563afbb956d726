"""The reward's arithmetic on hand-made losses: ReLU is 0, learning is required, grading holds."""

from __future__ import annotations

import numpy as np
import pytest

from actgym.reward import (
    INSTANCE_CLIP,
    SUITE_SCALES,
    family_reward,
    gated_log_ratio,
    suite_reward,
    suite_weights,
)

RELU_VALIDATION = np.full((4, 2), 0.01)
RELU_TEST = np.full((4, 2), 2.0)


def _reward(validation: float, test: float) -> float:
    return family_reward(
        np.full((4, 2), validation), np.full((4, 2), test), RELU_VALIDATION, RELU_TEST
    ).reward


def test_relu_scores_zero_and_a_fitted_candidate_earns_its_log_ratio() -> None:
    assert _reward(0.01, 2.0) == 0.0
    assert _reward(0.05, 1.0) == pytest.approx(np.log(2.0))
    assert _reward(0.001, 4.0) == pytest.approx(-np.log(2.0))


def test_the_fit_requirement_is_halfway_from_the_mean_model_to_relu_on_a_log_scale() -> None:
    _, fitted, required = gated_log_ratio(
        np.array([0.1, 0.1001]), np.ones(2), np.full(2, 0.01), np.ones(2)
    )
    assert required == pytest.approx([0.1, 0.1])
    assert fitted.tolist() == [True, False]


def test_an_unfitted_candidate_never_beats_relu_and_is_graded_by_its_fit() -> None:
    learned_nothing = _reward(1.0, 0.1)
    nearly_fitted = _reward(0.2, 0.1)
    assert learned_nothing < nearly_fitted < 0.0
    assert nearly_fitted == pytest.approx(-np.log(2.0))
    assert _reward(0.2, 4.0) == pytest.approx(-np.log(2.0) - np.log(2.0))


def test_instances_are_clipped_so_one_explosion_cannot_decide_a_family() -> None:
    validation = np.full((4, 2), 0.01)
    test = np.array([[2.0, 2.0]] * 3 + [[2e9, 2e9]])
    score = family_reward(validation, test, RELU_VALIDATION, RELU_TEST)
    assert min(score.instance_rewards) == -INSTANCE_CLIP
    assert score.reward == pytest.approx(-INSTANCE_CLIP / 4)


def test_standard_errors_come_from_the_spread_over_instances() -> None:
    validation = np.full((4, 2), 0.01)
    test = np.array([[1.0, 1.0], [1.0, 1.0], [4.0, 4.0], [4.0, 4.0]])
    score = family_reward(validation, test, RELU_VALIDATION, RELU_TEST)
    expected = np.std([np.log(2)] * 2 + [-np.log(2)] * 2, ddof=1) / 2
    assert score.stderr == pytest.approx(expected)
    steady = family_reward(validation, np.full((4, 2), 1.0), RELU_VALIDATION, RELU_TEST)
    assert steady.stderr == 0.0
    reward, stderr = suite_reward({"Harmonics": score})
    assert (reward, stderr) == (score.reward, score.stderr)


def test_a_suite_weights_families_by_how_much_activations_differ_on_them() -> None:
    weights = suite_weights(list(SUITE_SCALES))
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["Harmonics"] < weights["Poly20D"]
    validation = np.full((4, 2), 0.01)
    better = family_reward(validation, np.full((4, 2), 1.0), RELU_VALIDATION, RELU_TEST)
    worse = family_reward(validation, np.full((4, 2), 4.0), RELU_VALIDATION, RELU_TEST)
    reward, stderr = suite_reward({"Harmonics": better, "Poly20D": worse})
    pair = suite_weights(["Harmonics", "Poly20D"])
    assert reward == pytest.approx(
        pair["Harmonics"] * better.reward + pair["Poly20D"] * worse.reward
    )
    assert reward < 0.0 and stderr == 0.0
