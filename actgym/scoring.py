"""Losses to a result record: the reward, its error, the per-family terms and summaries.

Kept apart from the Evaluator, which decides what to train and cache, so that how a
score follows from losses is read in one place (docs/reward.md gives the formulas).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from actgym.candidate.reasons import HINTS, CandidateRejected, Reason
from actgym.result import EvaluationResult, FamilyScore
from actgym.reward import FamilyReward, FamilyScale, family_reward, suite_reward, summary_loss
from actgym.trainer import Losses

SPLITS = ("train", "validation", "test")


def score(
    losses: Mapping[str, Losses],
    baseline: Mapping[str, Losses],
    instance_names: Mapping[str, tuple[str, ...]],
    scales: Mapping[str, FamilyScale],
    **facts: Any,
) -> EvaluationResult:
    """The result of a candidate's `losses` (by family, in the config's order) against
    the baseline's; `facts` (hash, cost, descriptors, timings) are passed through.

    A NaN or infinite loss on any family rejects the candidate (`nonfinite_loss`).
    """
    diverged = [
        family
        for family, loss in losses.items()
        if not all(np.isfinite(getattr(loss, split)).all() for split in SPLITS)
    ]
    if diverged:
        rejection = CandidateRejected(
            Reason.NONFINITE_LOSS,
            f"Training produced NaN/inf losses on {', '.join(diverged)}.",
        )
        return EvaluationResult.rejected(rejection, **facts)
    rewards = {
        family: family_reward(
            loss.validation, loss.test, baseline[family].validation, baseline[family].test
        )
        for family, loss in losses.items()
    }
    reward, stderr = suite_reward(rewards)
    fitted = [flag for family in rewards.values() for flag in family.fitted]
    return EvaluationResult(
        status=Reason.OK.value,
        message=HINTS[Reason.OK],
        reward=reward,
        reward_stderr=stderr,
        fit_share=sum(fitted) / len(fitted),
        ood_loss=summary_loss([loss.test for loss in losses.values()]),
        id_loss=summary_loss([loss.validation for loss in losses.values()]),
        train_loss=summary_loss([loss.train for loss in losses.values()]),
        families={
            family: family_score(rewards[family], instance_names[family], loss, scales[family])
            for family, loss in losses.items()
        },
        **facts,
    )


def family_score(
    reward: FamilyReward, instances: tuple[str, ...], losses: Losses, scale: FamilyScale
) -> FamilyScore:
    return FamilyScore(
        reward=reward.reward,
        instances=instances,
        train_loss=losses.train.tolist(),
        id_loss=losses.validation.tolist(),
        ood_loss=losses.test.tolist(),
        stderr=reward.stderr,
        instance_rewards=reward.instance_rewards,
        fitted=reward.fitted,
        fit_required=reward.fit_required,
        scale=scale,
        gap_closed=scale.gap_closed(reward.reward),
    )
