"""The reward's arithmetic on hand-made losses: ReLU is 0, learning is required, grading holds."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from actgym.reward import (
    DOWNSIDE_FLOOR,
    NOISE_FLOOR,
    SUITE_SCALES,
    family_reward,
    family_scale,
    gated_log_ratio,
    suite_reward,
    suite_scale,
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


def test_one_explosion_cannot_decide_a_family_but_its_instance_reward_is_kept() -> None:
    validation = np.full((4, 2), 0.01)
    test = np.array([[2.0, 2.0]] * 3 + [[2e9, 2e9]])
    score = family_reward(validation, test, RELU_VALIDATION, RELU_TEST)
    assert min(score.instance_rewards) == pytest.approx(-np.log(1e9))
    assert score.reward == pytest.approx(-DOWNSIDE_FLOOR / 4)


def test_the_top_is_never_cut_down_to_exact_extrapolation_at_the_noise_floor() -> None:
    rewards = [_reward(0.001, loss) for loss in (1e-1, 1e-2, 1e-3, NOISE_FLOOR, 1e-9)]
    assert np.diff(rewards)[:3] == pytest.approx([np.log(10.0)] * 3)
    assert rewards[-1] == rewards[-2] == pytest.approx(np.log(2.0 / NOISE_FLOOR))


losses = st.floats(min_value=1e-9, max_value=1e6)


@given(relu_test=losses, test=losses, factor=st.floats(min_value=10.0, max_value=1e6))
def test_ten_times_less_floored_ood_loss_is_at_least_one_more_instance_reward(
    relu_test: float, test: float, factor: float
) -> None:
    """Issue 25's no-ceiling rule, for any pair of fitted candidates on any instance."""
    better = max(test, NOISE_FLOOR) / factor
    assume(better >= NOISE_FLOOR)  # below the floor losses are equal, as documented
    rewards, fitted, _ = gated_log_ratio(
        np.full(2, 1e-3), np.array([test, better]), np.full(2, 1e-2), np.full(2, relu_test)
    )
    assert fitted.all()
    assert rewards[1] - rewards[0] >= 1.0


def test_the_scale_places_the_mean_model_and_the_ceiling_on_the_reward_axis() -> None:
    mean_validation, mean_test = np.ones(4), np.full(4, 0.5)
    scale = family_scale(RELU_VALIDATION, RELU_TEST, mean_validation, mean_test)
    assert scale.ceiling == pytest.approx(np.log(2.0 / NOISE_FLOOR))
    assert scale.mean_level == pytest.approx(np.log(4.0))
    # The mean model never fits: it cannot beat ReLU and loses how far it missed.
    assert scale.mean_model == pytest.approx(-np.log(1.0 / 0.1))
    assert scale.gap_closed(scale.ceiling) == 1.0
    assert scale.gap_closed(0.0) == 0.0
    # A fitted network that extrapolates exactly as well as the mean sits on mean_level.
    assert _reward(0.01, 0.5) == pytest.approx(scale.mean_level)


def test_a_suite_scale_weights_its_families_as_its_reward_does() -> None:
    harmonics = family_scale(RELU_VALIDATION, RELU_TEST, np.ones(4), np.full(4, 0.5))
    poly = family_scale(RELU_VALIDATION, RELU_TEST * 10, np.ones(4), np.full(4, 30.0))
    weights = suite_weights(["Harmonics", "Poly20D"])
    scale = suite_scale({"Harmonics": harmonics, "Poly20D": poly})
    assert scale.ceiling == pytest.approx(
        weights["Harmonics"] * harmonics.ceiling + weights["Poly20D"] * poly.ceiling
    )


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
