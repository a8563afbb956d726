"""The reward: how much better than ReLU a candidate extrapolates, on a log scale.

Per task instance the OOD loss is averaged over training seeds; the reward of a family
is the mean over its instances of log(ReLU's OOD loss / the candidate's), so ReLU scores
0, a candidate with half ReLU's OOD loss everywhere scores log 2 ~ 0.69, and families
with very different loss scales count equally. A suite averages its families. Rewards
are clipped to [-REWARD_CLIP, REWARD_CLIP]; a rejected or diverged candidate gets
PENALTY, below anything a trained candidate can score. See docs/reward.md.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

PENALTY = -10.0
REWARD_CLIP = 8.0


def family_reward(candidate_test: np.ndarray, baseline_test: np.ndarray) -> float:
    """Both arrays are (instances, seeds) OOD losses from the same instances and seeds."""
    candidate = np.log(np.mean(candidate_test, axis=1))
    baseline = np.log(np.mean(baseline_test, axis=1))
    return float(np.clip(np.mean(baseline - candidate), -REWARD_CLIP, REWARD_CLIP))


def suite_reward(family_rewards: Sequence[float]) -> float:
    return float(np.clip(np.mean(family_rewards), -REWARD_CLIP, REWARD_CLIP))


def summary_loss(losses: Sequence[np.ndarray]) -> float:
    """Geometric mean over all instances of the seed-averaged loss (one number for info)."""
    per_instance = np.concatenate([np.mean(loss, axis=1) for loss in losses])
    return float(np.exp(np.mean(np.log(per_instance))))
