"""The downstream tasks by name, and the configuration that fixes every transfer score."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actgym.candidate.limits import CandidateLimits
from actgym.transfer import algorithmic, structure, vision
from actgym.transfer.fitting import Activation, Arrays


@dataclass(frozen=True)
class DownstreamTask:
    """One downstream task: what it stands in for, and its data and training functions."""

    name: str
    title: str
    paper: str
    shifted: str
    make_data: Callable[[Any, int], dict[str, Arrays]]
    accuracies: Callable[[Activation, dict[str, Arrays], Any, Sequence[int]], dict[str, np.ndarray]]


DOWNSTREAM_TASKS: dict[str, DownstreamTask] = {
    "vision": DownstreamTask(
        "vision",
        "CNN on 8x8 digits",
        "CIFAR-10 / ImageNet",
        "held-out digits rotated 25-35 degrees and shrunk to 80-90%",
        vision.make_data,
        vision.accuracies,
    ),
    "algorithmic": DownstreamTask(
        "algorithmic",
        "message passing, reachability",
        "CLRS-30",
        "graphs of 36-48 nodes after training on 6-12",
        algorithmic.make_data,
        algorithmic.accuracies,
    ),
    "structure": DownstreamTask(
        "structure",
        "GIN, graph property",
        "ogbg-molhiv (scaffold split)",
        "scaffolds never seen in training",
        structure.make_data,
        structure.accuracies,
    ),
}


@dataclass(frozen=True)
class TransferConfig:
    """Downstream tasks, training seeds, data seed and every task's settings.

    Defaults: every task, 4 training seeds, data seed 0; `fast()` is for tests.
    """

    tasks: tuple[str, ...] = tuple(DOWNSTREAM_TASKS)
    seeds: tuple[int, ...] = (0, 1, 2, 3)
    data_seed: int = 0
    vision: vision.VisionSettings = field(default_factory=vision.VisionSettings)
    algorithmic: algorithmic.AlgorithmicSettings = field(
        default_factory=algorithmic.AlgorithmicSettings
    )
    structure: structure.StructureSettings = field(default_factory=structure.StructureSettings)
    limits: CandidateLimits = field(default_factory=CandidateLimits)

    def __post_init__(self) -> None:
        unknown = set(self.tasks) - set(DOWNSTREAM_TASKS)
        if unknown or not self.tasks:
            raise ValueError(f"tasks must be some of {', '.join(DOWNSTREAM_TASKS)}")
        if len(self.seeds) < 2 or len(set(self.seeds)) != len(self.seeds):
            raise ValueError("TransferConfig.seeds must be at least two distinct seeds")

    @classmethod
    def fast(cls, **changes: Any) -> TransferConfig:
        """Tiny networks, few steps and examples, two seeds: seconds per task."""
        defaults = {
            "seeds": (0, 1),
            "vision": vision.VisionSettings.fast(),
            "algorithmic": algorithmic.AlgorithmicSettings.fast(),
            "structure": structure.StructureSettings.fast(),
        }
        return cls(**{**defaults, **changes})

    def settings(self, task: str) -> Any:
        return getattr(self, task)

    def shape(self, task: str) -> tuple[int, ...]:
        """The input shape the candidate is traced at for this task (its feature axis)."""
        return self.settings(task).shape
