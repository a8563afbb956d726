"""The parameters value of an evaluation: what an Evaluator scores under, and what it sends
its training processes (as JSON through actgym.codec). The env and the search build one;
the leaderboard's profiles and the search config still declare their own fields (issue 26)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field

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

    def fingerprint(self) -> str:
        description = {
            "config": dataclasses.asdict(self),
            "scoring_version": SCORING_VERSION,
            "jax": jax.__version__,
        }
        return hashlib.sha256(json.dumps(description, sort_keys=True).encode()).hexdigest()[:24]
