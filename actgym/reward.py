"""The reward: how much better than ReLU a candidate extrapolates, once it has learned the task.

Per task instance the losses are averaged over training seeds. An instance's reward is the
log-ratio of ReLU's OOD loss to the candidate's, provided the candidate *fits* the training
region: its validation (ID) loss must reach at least halfway, on a log scale, from the
mean model (loss 1 in the trainer's standardised units) to ReLU's validation loss. A
candidate that misses this bar cannot beat ReLU on that instance: its OOD log-ratio is
capped at 0 and it loses the log of how far it missed, so the reward stays graded and an
under-fitting network never profits from bounded OOD targets it did not learn.

A family's reward is the mean over its instances (ReLU scores 0; half ReLU's OOD loss
everywhere scores log 2 ~ 0.69); a suite takes a weighted mean of its families, each
weighted by the inverse of how much well-known activations differ on it. Rewards are clipped to
[-REWARD_CLIP, REWARD_CLIP]; a rejected or diverged candidate gets PENALTY, below anything
a trained candidate can score. See docs/reward.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PENALTY = -10.0
REWARD_CLIP = 8.0
INSTANCE_CLIP = 3.0
"""Per-instance log-ratios are clipped to +-3 (a factor of about 20), so that one instance
where a network explodes cannot decide a family: rankings then replicate across task seeds."""
FIT_SHARE = 0.5
"""Share of the way, in log validation loss, from the mean model (1) to ReLU that fits."""
SUITE_SCALES: dict[str, float] = {
    "Harmonics": 0.94,
    "Poly1D": 0.31,
    "Poly20D": 0.21,
    "Feynman": 0.45,
}
"""How much well-known activations differ on each family: the standard deviation of the
validity panel's family rewards at default settings on task seed 0 (benchmarks/validity
prints it). A suite weights each family by the inverse, so that every family can move the
suite as much as any other; with a plain mean, Harmonics (rewards spanning +-2) drowned the
rest and the suite's ranking did not replicate across task seeds."""


@dataclass(frozen=True)
class FamilyReward:
    """A family's reward with its standard error and the per-instance terms behind it."""

    reward: float
    stderr: float
    instance_rewards: tuple[float, ...]
    fitted: tuple[bool, ...]
    fit_required: tuple[float, ...]


def gated_log_ratio(
    candidate_validation: np.ndarray,
    candidate_test: np.ndarray,
    baseline_validation: np.ndarray,
    baseline_test: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed-mean losses of matching shapes to clipped rewards, elementwise.

    Returns the rewards, whether each element was fitted, and the validation loss that
    fitting required.
    """
    log_ratio = np.log(baseline_test) - np.log(candidate_test)
    required = np.exp(FIT_SHARE * np.log(np.minimum(baseline_validation, 1.0)))
    fitted = candidate_validation <= required
    shortfall = np.log(candidate_validation) - np.log(required)
    rewards = np.where(fitted, log_ratio, np.minimum(log_ratio, 0.0) - shortfall)
    return np.clip(rewards, -INSTANCE_CLIP, INSTANCE_CLIP), fitted, required


def family_reward(
    candidate_validation: np.ndarray,
    candidate_test: np.ndarray,
    baseline_validation: np.ndarray,
    baseline_test: np.ndarray,
) -> FamilyReward:
    """All arrays are (instances, seeds) losses from the same instances and seeds.

    The reward is the mean of the instance rewards; its standard error is taken over
    instances, whose rewards already average their seeds, so seed noise is inside it.
    """
    rewards, fitted, required = gated_log_ratio(
        *(
            np.mean(losses, axis=1)
            for losses in (candidate_validation, candidate_test, baseline_validation, baseline_test)
        )
    )
    stderr = float(np.std(rewards, ddof=1) / np.sqrt(rewards.size)) if rewards.size > 1 else 0.0
    return FamilyReward(
        reward=float(np.clip(np.mean(rewards), -REWARD_CLIP, REWARD_CLIP)),
        stderr=stderr,
        instance_rewards=tuple(float(value) for value in rewards),
        fitted=tuple(bool(value) for value in fitted),
        fit_required=tuple(float(value) for value in required),
    )


def suite_weights(families: Sequence[str]) -> dict[str, float]:
    """Each family's weight in a suite of `families`: inverse SUITE_SCALES, summing to 1."""
    inverse = {family: 1.0 / SUITE_SCALES[family] for family in families}
    total = sum(inverse.values())
    return {family: value / total for family, value in inverse.items()}


def suite_reward(family_rewards: Mapping[str, FamilyReward]) -> tuple[float, float]:
    """Weighted mean of the family rewards and its standard error (families are independent)."""
    weights = suite_weights(list(family_rewards))
    reward = sum(weights[name] * family.reward for name, family in family_rewards.items())
    variance = sum((weights[name] * family.stderr) ** 2 for name, family in family_rewards.items())
    return float(np.clip(reward, -REWARD_CLIP, REWARD_CLIP)), float(np.sqrt(variance))


def summary_loss(losses: Sequence[np.ndarray]) -> float:
    """Geometric mean over all instances of the seed-mean loss (one number for info)."""
    per_instance = np.concatenate([np.mean(loss, axis=1) for loss in losses])
    return float(np.exp(np.mean(np.log(per_instance))))
