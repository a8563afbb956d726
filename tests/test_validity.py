"""A score means what it says: networks that learn nothing never beat ReLU, on any env.

These train for real (the whole Suite, at fast and at default settings): the property is
about the task design and the reward together, so nothing here is faked.
"""

from __future__ import annotations

import numpy as np
import pytest

from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.references import HEADROOM, LEARN_NOTHING, PANEL
from actgym.tasks import SUITE
from actgym.trainer import TrainerConfig


@pytest.mark.parametrize(
    "trainer", [TrainerConfig.fast(), TrainerConfig()], ids=["fast", "default"]
)
def test_learn_nothing_functions_score_below_relu_on_every_env(trainer: TrainerConfig) -> None:
    evaluator = Evaluator(EvaluationConfig(families=SUITE, trainer=trainer))
    try:
        results = evaluator.evaluate_many(list(LEARN_NOTHING.values()))
    finally:
        evaluator.close()
    for name, result in zip(LEARN_NOTHING, results, strict=True):
        assert result.ok, (name, result.message)
        assert result.reward < 0.0 and result.fit_share == 0.0, name
        for family, score in result.families.items():
            assert score.reward < 0.0, (name, family, score.reward)
            assert not any(score.fitted), (name, family)


def test_a_family_env_scores_exactly_the_family_inside_the_suite() -> None:
    """benchmarks/validity reads family rewards off Suite results; this is why it may."""
    trainer = TrainerConfig.fast()
    suite = Evaluator(EvaluationConfig(families=SUITE, trainer=trainer, num_instances=2))
    alone = Evaluator(EvaluationConfig(families=("Poly20D",), trainer=trainer, num_instances=2))
    try:
        inside = suite.evaluate(PANEL["gelu"])
        single = alone.evaluate(PANEL["gelu"])
    finally:
        suite.close()
        alone.close()
    assert single.reward == inside.families["Poly20D"].reward
    assert single.reward_stderr == inside.families["Poly20D"].stderr
    assert single.families["Poly20D"] == inside.families["Poly20D"]


def test_the_top_of_the_scale_keeps_rewarding_extrapolation_beyond_the_old_clip() -> None:
    """x + 0.1 x**2 extrapolates some Poly1D instances 20x better than ReLU: version 3 cut
    those at +3; version 4 pays them in full and places them on the family's stated scale."""
    evaluator = Evaluator(EvaluationConfig(families=("Poly1D",), trainer=TrainerConfig.fast()))
    try:
        result = evaluator.evaluate(HEADROOM["x_plus_0.1x2"])
    finally:
        evaluator.close()
    score = result.families["Poly1D"]
    assert max(score.instance_rewards) > 3.0
    assert score.reward == pytest.approx(np.mean(np.maximum(score.instance_rewards, -3.0)))
    assert score.scale.mean_model < 0.0 < result.reward < score.scale.ceiling
    assert result.gap_closed == pytest.approx(result.reward / score.scale.ceiling)
