"""The result record: what one candidate earned, in the one shape every consumer uses.

The environment's `info` is `EvaluationResult.to_dict()`; the run store writes its fields
as columns and reads them back with `from_dict`; the agent contract's `Evaluation` and the
leaderboard's rows are derived from it. Light on purpose: no JAX, so agents and stores
can import it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.reward import PENALTY, FamilyScale, suite_scale


@dataclass(frozen=True)
class FamilyScore:
    """One family's reward, its standard error, and the per-instance terms behind it.

    Losses are `[instance][seed]` lists; `fitted[i]` says whether instance i's validation
    loss met `fit_required[i]` (see actgym.reward). `scale` holds the family's reference
    points and `gap_closed` the share of the way from ReLU to its ceiling this reward covers.
    """

    reward: float
    instances: tuple[str, ...]
    train_loss: list[list[float]]
    id_loss: list[list[float]]
    ood_loss: list[list[float]]
    stderr: float = 0.0
    instance_rewards: tuple[float, ...] = ()
    fitted: tuple[bool, ...] = ()
    fit_required: tuple[float, ...] = ()
    scale: FamilyScale | None = None
    gap_closed: float | None = None


@dataclass(frozen=True)
class Timings:
    """Wall-clock seconds; measurements, so they take no part in comparing results."""

    check_s: float = field(default=0.0, compare=False)
    compile_s: float = field(default=0.0, compare=False)
    train_s: float = field(default=0.0, compare=False)
    total_s: float = field(default=0.0, compare=False)
    cached: bool = field(default=False, compare=False)


@dataclass(frozen=True)
class ResultSummary:
    """An evaluation's status, reward and summary numbers.

    The result record and the agent contract's `Evaluation` both state them: declared once
    here, so the two cannot drift apart.
    """

    status: str
    message: str
    reward: float
    reward_stderr: float | None = None
    fit_share: float | None = None
    ood_loss: float | None = None
    id_loss: float | None = None
    train_loss: float | None = None
    flops_per_element: float | None = None
    program_hash: str | None = None
    locality: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == Reason.OK.value


@dataclass(frozen=True)
class EvaluationResult(ResultSummary):
    """What one candidate earned; `to_dict` is JSON-ready for logs, stores and `info`."""

    descriptors: dict[str, float] = field(default_factory=dict)
    families: dict[str, FamilyScore] = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)

    @property
    def scale(self) -> FamilyScale | None:
        """The reference points of the reward's scale (ReLU is 0): the families', weighted."""
        scales = {name: score.scale for name, score in self.families.items()}
        if not scales or any(scale is None for scale in scales.values()):
            return None
        return suite_scale(scales)

    @property
    def gap_closed(self) -> float | None:
        """The share of the way from ReLU (0) to the ceiling that the reward covers."""
        return _gap_closed(self.scale, self)

    def to_dict(self) -> dict[str, Any]:
        scale = self.scale
        return {
            **dataclasses.asdict(self),
            "scale": None if scale is None else dataclasses.asdict(scale),
            "gap_closed": _gap_closed(scale, self),
        }

    @classmethod
    def rejected(cls, rejection: CandidateRejected, **extra: Any) -> EvaluationResult:
        return cls(
            status=rejection.reason.value,
            message=rejection.describe(),
            reward=PENALTY,
            **extra,
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvaluationResult:
        """The inverse of `to_dict` (JSON lists come back as the tuples they were)."""
        names = {item.name for item in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in names}
        values["families"] = {
            name: FamilyScore(
                **{
                    **score,
                    "instances": tuple(score["instances"]),
                    "instance_rewards": tuple(score.get("instance_rewards", ())),
                    "fitted": tuple(score.get("fitted", ())),
                    "fit_required": tuple(score.get("fit_required", ())),
                    "scale": _scale(score.get("scale")),
                }
            )
            for name, score in values.get("families", {}).items()
        }
        values["descriptors"] = dict(values.get("descriptors", {}))
        values["timings"] = Timings(**values.get("timings", {}))
        return cls(**values)


def _gap_closed(scale: FamilyScale | None, result: EvaluationResult) -> float | None:
    return None if scale is None or not result.ok else scale.gap_closed(result.reward)


def _scale(data: Mapping[str, float] | None) -> FamilyScale | None:
    return None if data is None else FamilyScale(**data)
