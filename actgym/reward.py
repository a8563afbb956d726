"""The reward: how much better than ReLU a candidate extrapolates, once it has learned the task.

Per task instance the losses are averaged over training seeds and floored at NOISE_FLOOR.
An instance's reward is the log-ratio of ReLU's OOD loss to the candidate's, provided the
candidate *fits* the training region: its validation (ID) loss must reach at least halfway,
on a log scale, from the mean model (loss 1 in the trainer's standardised units) to ReLU's
validation loss. A candidate that misses this bar cannot beat ReLU on that instance: its OOD
log-ratio is capped at 0 and it loses the log of how far it missed, so the reward stays
graded and an under-fitting network never profits from bounded OOD targets it did not learn.

Instance rewards have no upper clip: ten times less OOD loss is always log 10 ~ 2.3 more, up
to the instance's ceiling, exact extrapolation at the noise floor. A family's reward is the
mean over its instances of the instance rewards floored at -DOWNSIDE_FLOOR, so that one
instance where a network explodes cannot decide a family; a suite takes a weighted mean of its
families, each weighted by the inverse of how much well-known activations differ on it. A
rejected or diverged candidate gets PENALTY, below anything a trained candidate can score.
See docs/reward.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

PENALTY = -10.0
NOISE_FLOOR = 1e-4
"""Seed-mean losses are floored here (standardised units: 1e-4 is an RMS error of 1% of the
targets' training spread). Below it float32 training noise, not the activation, orders two
networks, so every loss at or under it counts as exact; it sets each instance's ceiling."""
REWARD_BOUND = float(np.log(np.finfo(np.float32).max) - np.log(NOISE_FLOOR))
"""No reward can exceed this (about 98): ReLU's OOD loss, a finite float32, over the noise
floor. A bound for observation spaces, never a ceiling within reach."""
DOWNSIDE_FLOOR = 3.0
"""A family's mean counts each instance reward as at least -3 (OOD loss about 20x ReLU's), so
one instance where a network explodes cannot decide a family; the top is never cut."""
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


@dataclass(frozen=True)
class FamilyScale:
    """Where a family's rewards sit: ReLU is 0; the rest are rewards on the same scale.

    `mean_model` is what the network that learned nothing (it predicts the training mean)
    earns; `mean_level` what a network earns that fits the training region and then
    extrapolates exactly as well as that mean (bounded, nothing more); `ceiling` what exact
    extrapolation earns (every OOD loss at NOISE_FLOOR).
    """

    mean_model: float
    mean_level: float
    ceiling: float

    def gap_closed(self, reward: float) -> float:
        """The share of the way from ReLU (0) to the ceiling that `reward` covers."""
        return reward / self.ceiling if self.ceiling > 0 else 0.0


def gated_log_ratio(
    candidate_validation: np.ndarray,
    candidate_test: np.ndarray,
    baseline_validation: np.ndarray,
    baseline_test: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seed-mean losses of matching shapes to instance rewards, elementwise.

    Returns the rewards (unclipped), whether each element was fitted, and the validation
    loss that fitting required.
    """
    log_ratio = _log_floored(baseline_test) - _log_floored(candidate_test)
    required = np.exp(FIT_SHARE * np.log(np.minimum(baseline_validation, 1.0)))
    fitted = candidate_validation <= required
    shortfall = np.log(candidate_validation) - np.log(required)
    rewards = np.where(fitted, log_ratio, np.minimum(log_ratio, 0.0) - shortfall)
    return rewards, fitted, required


def aggregate(instance_rewards: np.ndarray) -> float:
    """A family's reward from its instance rewards: the mean, each floored at -DOWNSIDE_FLOOR."""
    return float(np.mean(np.maximum(instance_rewards, -DOWNSIDE_FLOOR)))


def family_reward(
    candidate_validation: np.ndarray,
    candidate_test: np.ndarray,
    baseline_validation: np.ndarray,
    baseline_test: np.ndarray,
) -> FamilyReward:
    """All arrays are (instances, seeds) losses from the same instances and seeds.

    The reward is the floored mean of the instance rewards; its standard error is taken
    over instances, whose rewards already average their seeds, so seed noise is inside it.
    """
    rewards, fitted, required = gated_log_ratio(
        *(
            np.mean(losses, axis=1)
            for losses in (candidate_validation, candidate_test, baseline_validation, baseline_test)
        )
    )
    floored = np.maximum(rewards, -DOWNSIDE_FLOOR)
    stderr = float(np.std(floored, ddof=1) / np.sqrt(floored.size)) if floored.size > 1 else 0.0
    return FamilyReward(
        reward=aggregate(rewards),
        stderr=stderr,
        instance_rewards=tuple(float(value) for value in rewards),
        fitted=tuple(bool(value) for value in fitted),
        fit_required=tuple(float(value) for value in required),
    )


def family_scale(
    baseline_validation: np.ndarray,
    baseline_test: np.ndarray,
    mean_validation: np.ndarray,
    mean_test: np.ndarray,
) -> FamilyScale:
    """A family's reference points from ReLU's (instances, seeds) losses and the mean model's
    per-instance losses (it has no seeds)."""
    relu_validation, relu_test = (
        np.mean(baseline_validation, axis=1),
        np.mean(baseline_test, axis=1),
    )
    mean_model, _, _ = gated_log_ratio(mean_validation, mean_test, relu_validation, relu_test)
    mean_level = _log_floored(relu_test) - _log_floored(mean_test)
    return FamilyScale(
        mean_model=aggregate(mean_model),
        mean_level=aggregate(mean_level),
        ceiling=aggregate(instance_ceiling(relu_test)),
    )


def instance_ceiling(baseline_test: np.ndarray) -> np.ndarray:
    """What exact extrapolation earns on each instance, from ReLU's seed-mean OOD losses."""
    return _log_floored(baseline_test) - np.log(NOISE_FLOOR)


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
    return float(reward), float(np.sqrt(variance))


def suite_scale(family_scales: Mapping[str, FamilyScale]) -> FamilyScale:
    """A suite's reference points: the families' points, weighted as its reward weights them."""
    weights = suite_weights(list(family_scales))
    return FamilyScale(
        **{
            point: sum(
                weights[name] * getattr(scale, point) for name, scale in family_scales.items()
            )
            for point in ("mean_model", "mean_level", "ceiling")
        }
    )


def summary_loss(losses: Sequence[np.ndarray]) -> float:
    """Geometric mean over all instances of the seed-mean loss (one number for info)."""
    per_instance = np.concatenate([np.mean(loss, axis=1) for loss in losses])
    return float(np.exp(np.mean(np.log(per_instance))))


def _log_floored(losses: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(losses, NOISE_FLOOR))
