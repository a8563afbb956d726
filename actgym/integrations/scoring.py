"""The score scale and the metrics every framework adapter reports.

Evolvers maximise one number and count a crash or a timeout as 0. actgym's reward is a
log-ratio to ReLU (ReLU 0, rejections -10), so a crash would beat every candidate worse
than ReLU. The combined score is therefore `exp(reward)` for a trained candidate, which
is ReLU's OOD loss over the candidate's (ReLU 1, ten times less OOD loss 10), and 0 for
anything that did not train: every trained candidate is above every failure, the order
of trained candidates is the reward's, and the top stays open.
"""

from __future__ import annotations

import math
from typing import Any

from actgym.candidate.reasons import HINTS, Reason
from actgym.result import EvaluationResult

_REASONS = frozenset(reason.value for reason in Reason)

FAILED = 0.0
"""The combined score of a candidate that did not train, as a crash counts in a framework."""


def combined_score(result: EvaluationResult) -> float:
    """exp(reward) for a trained candidate (ReLU's OOD loss over its own), else 0."""
    if not result.ok or not math.isfinite(result.reward):
        return FAILED
    return math.exp(result.reward)


def metrics(result: EvaluationResult) -> dict[str, float]:
    """Numbers a framework may rank or plot: the score, the raw reward and its parts."""
    found: dict[str, float] = {
        "combined_score": combined_score(result),
        "reward": float(result.reward),
        "trained": 1.0 if result.ok else 0.0,
        "seconds": float(result.timings.total_s),
    }
    optional = {
        "reward_stderr": result.reward_stderr,
        "fit_share": result.fit_share,
        "ood_loss": result.ood_loss,
        "flops_per_element": result.flops_per_element,
    }
    found |= {name: float(value) for name, value in optional.items() if value is not None}
    found |= {f"reward_{family}": score.reward for family, score in result.families.items()}
    return found


def artifacts(result: EvaluationResult) -> dict[str, str]:
    """Text a framework feeds back to its language model: status, message and hint."""
    found = {"status": result.status, "message": result.message}
    hint = HINTS.get(Reason(result.status)) if result.status in _REASONS else None
    if hint is not None and not result.ok:
        found["hint"] = hint
    return found


def summary(result: EvaluationResult) -> dict[str, Any]:
    """Metrics and artifacts together, JSON-ready (the CLI's and servers' reply)."""
    return {"metrics": metrics(result), "artifacts": artifacts(result)}
