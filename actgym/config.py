"""The parameters value of an evaluation, held or sent by everything that scores.

The Evaluator scores under it and sends it to its training processes (as JSON through
actgym.codec); the env, a search's config and a leaderboard profile each hold one, and
nothing declares its fields again (gymnax's EnvParams, for an evaluation).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import jax

from actgym.candidate.limits import CandidateLimits
from actgym.tasks import TaskSizes
from actgym.tasks.base import DEFAULT_REGION
from actgym.tasks.registry import DEFAULT_SIZES
from actgym.trainer import TrainerConfig
from actgym.versions import SCORING_VERSION


@dataclass(frozen=True)
class EvaluationConfig:
    """Everything that determines a score; its fingerprint keys every cached result."""

    families: tuple[str, ...] = ("Harmonics",)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    task_seed: int = 0
    num_instances: int | None = None
    sizes: TaskSizes = DEFAULT_SIZES
    limits: CandidateLimits = field(default_factory=CandidateLimits)
    region: str = DEFAULT_REGION

    def __post_init__(self) -> None:
        if not self.families:
            raise ValueError("EvaluationConfig.families must name at least one family")
        if isinstance(self.task_seed, bool) or not isinstance(self.task_seed, int):
            raise ValueError(f"EvaluationConfig.task_seed must be an int, not {self.task_seed!r}")
        if self.task_seed < 0:
            raise ValueError(f"EvaluationConfig.task_seed must be >= 0, not {self.task_seed}")
        instances = self.num_instances
        if instances is not None and (
            isinstance(instances, bool) or not isinstance(instances, int) or instances < 1
        ):
            raise ValueError(
                f"EvaluationConfig.num_instances must be None or an int >= 1, not {instances!r}"
            )

    @classmethod
    def fast(cls, **changes: Any) -> EvaluationConfig:
        """The fast trainer preset (`TrainerConfig.fast()`) with the given fields."""
        return cls(trainer=TrainerConfig.fast(), **changes)

    def differences(self, other: EvaluationConfig) -> list[str]:
        """`name: mine != other's` for each field in which `other` differs."""
        return [
            f"{item.name}: {getattr(self, item.name)!r} != {getattr(other, item.name)!r}"
            for item in dataclasses.fields(self)
            if getattr(self, item.name) != getattr(other, item.name)
        ]

    def fingerprint(self) -> str:
        description = {
            "config": dataclasses.asdict(self),
            "scoring_version": SCORING_VERSION,
            "jax": jax.__version__,
        }
        return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:24]
