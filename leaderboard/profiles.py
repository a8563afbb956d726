"""Evaluation profiles and the environment version: what a leaderboard's scores mean.

Results are stored under (version, profile), so scores from different trainer settings
or from a changed environment are never mixed, and a new version re-scores everything.
The official profile is the documented protocol on the whole suite; the smaller ones
exist for smoke tests and demos and say so on every page that shows them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from actgym.config import EvaluationConfig
from actgym.tasks import SUITE
from actgym.versions import results_version

PUBLIC_TASK_SEED = 0
"""The task seed the environments use by default; its instances are published."""


def env_version() -> str:
    """The key of every result on the board (see actgym.versions.results_version)."""
    return results_version()


@dataclass(frozen=True)
class Profile:
    """How much training one verification costs; stored beside every result it produced.

    `evaluation` is the config of the public task seed; each hidden seed replaces only its
    `task_seed`.
    """

    name: str
    description: str
    evaluation: EvaluationConfig
    hidden_seeds: int

    def config(self, task_seed: int) -> EvaluationConfig:
        return dataclasses.replace(self.evaluation, task_seed=task_seed)

    def summary(self) -> dict[str, Any]:
        """JSON-ready and public: the hidden seeds are counted, never listed."""
        return {
            "name": self.name,
            "description": self.description,
            "families": list(self.evaluation.families),
            "trainer": dataclasses.asdict(self.evaluation.trainer),
            "num_instances": self.evaluation.num_instances,
            "public_task_seed": PUBLIC_TASK_SEED,
            "hidden_task_seeds": self.hidden_seeds,
        }


PROFILES: dict[str, Profile] = {
    profile.name: profile
    for profile in (
        Profile(
            name="official",
            description="The documented protocol: default trainer, every instance of the suite.",
            evaluation=EvaluationConfig(families=SUITE),
            hidden_seeds=2,
        ),
        Profile(
            name="fast",
            description="TrainerConfig.fast() on one instance of every family (not official).",
            evaluation=EvaluationConfig.fast(families=SUITE, num_instances=1),
            hidden_seeds=1,
        ),
        Profile(
            name="smoke",
            description="TrainerConfig.fast() on one instance of two families (tests only).",
            evaluation=EvaluationConfig.fast(families=("Harmonics", "Poly1D"), num_instances=1),
            hidden_seeds=1,
        ),
    )
}


def get_profile(name: str) -> Profile:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose from {', '.join(PROFILES)}")
    return PROFILES[name]
