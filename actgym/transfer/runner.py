"""Source in, transfer report out: check the candidate, train the downstream tasks, compare.

Candidates cross into the downstream tasks exactly as into the trainer: the source is
checked by the check stage (sandboxed trace, `load_program` validation, cost, probe in a
training process) at each task's input shape, and only the validated program data
reaches the child that trains (actgym.transfer.process). ReLU and GELU are checked and trained the
same way, on the same seeds and data.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actgym.cache import default_cache_dir
from actgym.candidate.check import Checker
from actgym.candidate.reasons import CandidateRejected
from actgym.candidate.sandbox import Sandbox
from actgym.child_process import compilation_cache_dir
from actgym.codec import encode
from actgym.references import BASELINE, REFERENCES
from actgym.training_process import TrainingBounds, shared_pool
from actgym.transfer.downstream import DOWNSTREAM_TASKS, TransferConfig
from actgym.transfer.process import Accuracies, TransferProcess
from actgym.transfer.stats import SeedInterval, interval, log_ratio, verdict

COMPARISONS = (BASELINE, "gelu")
PRIMARY_SPLIT = "shifted"


@dataclass(frozen=True)
class TaskScore:
    """One downstream task: accuracies per activation and split, the candidate's log-ratios."""

    task: str
    accuracy: dict[str, dict[str, SeedInterval]]
    per_seed: dict[str, dict[str, list[float]]]
    to_relu: SeedInterval
    to_gelu: SeedInterval | None
    verdict: str

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "paper": DOWNSTREAM_TASKS[self.task].paper,
            "shifted": DOWNSTREAM_TASKS[self.task].shifted,
            "accuracy": {
                name: {split: value.to_json() for split, value in splits.items()}
                for name, splits in self.accuracy.items()
            },
            "per_seed": self.per_seed,
            "log_ratio_to_relu": self.to_relu.to_json(),
            "log_ratio_to_gelu": None if self.to_gelu is None else self.to_gelu.to_json(),
            "verdict": self.verdict,
        }


@dataclass(frozen=True)
class TransferReport:
    """The candidate's transfer scores (or its rejection) under one TransferConfig."""

    label: str
    status: str
    message: str
    config: TransferConfig
    tasks: list[TaskScore] = field(default_factory=list)
    suite_reward: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def mean_log_ratio(self) -> float | None:
        """The candidate's log-ratio to ReLU averaged over tasks (None if rejected)."""
        if not self.tasks:
            return None
        return float(np.mean([score.to_relu.mean for score in self.tasks]))

    def gap_line(self) -> str:
        """The search-overfitting gap: the suite reward the search saw beside transfer."""
        transfer = ", ".join(f"{s.task} {s.to_relu.mean:+.3f}" for s in self.tasks)
        mean = self.mean_log_ratio
        overall = "-" if mean is None else f"{mean:+.3f}"
        suite = "not measured" if self.suite_reward is None else f"{self.suite_reward:+.3f}"
        return (
            f"search-overfitting gap: suite reward {suite} vs transfer log-ratio to ReLU "
            f"{overall} ({transfer or 'no task ran'})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "status": self.status,
            "message": self.message,
            "config": encode(self.config),
            "tasks": [score.to_json() for score in self.tasks],
            "mean_log_ratio_to_relu": self.mean_log_ratio,
            "suite_reward": self.suite_reward,
        }


class Transfer:
    """Trains one TransferConfig's downstream tasks; reuse it across candidates, then `close()`.

    Example:
        transfer = Transfer(TransferConfig.fast())
        report = transfer.run(REFERENCES["gelu"], label="gelu")
        print([score.verdict for score in report.tasks])
        transfer.close()
    """

    def __init__(
        self,
        config: TransferConfig | None = None,
        *,
        sandbox: Sandbox | None = None,
        bounds: TrainingBounds | None = None,
    ) -> None:
        self.config = config or TransferConfig()
        bounds = bounds or TrainingBounds()
        self._owns_sandbox = sandbox is None  # a shared one (the verifier's) stays open
        sandbox = sandbox or Sandbox(self.config.limits)
        compilation_cache = compilation_cache_dir(default_cache_dir() / "xla")
        training = shared_pool(bounds, compilation_cache)
        self._checkers = {
            shape: Checker(self.config.limits, shape, sandbox, training)
            for shape in {self.config.shape(task) for task in self.config.tasks}
        }
        self._process = TransferProcess(bounds, compilation_cache)
        self._sandbox = sandbox
        self._known: dict[str, Accuracies] = {}

    def run(
        self, source: object, *, label: str = "candidate", suite_reward: float | None = None
    ) -> TransferReport:
        """Check and train the candidate (and ReLU, GELU); never raises for a bad candidate."""
        try:
            measured = self.accuracies(source)
        except CandidateRejected as rejection:
            return TransferReport(
                label, rejection.reason.value, rejection.describe(), self.config, [], suite_reward
            )
        references = {name: self.accuracies(REFERENCES[name]) for name in COMPARISONS}
        scores = [self._score(task, measured, references) for task in self.config.tasks]
        return TransferReport(label, "ok", "", self.config, scores, suite_reward)

    def accuracies(self, source: object) -> Accuracies:
        """Per downstream task and split, accuracy per seed; raises CandidateRejected."""
        checked = {
            task: self._checkers[self.config.shape(task)].check(source)
            for task in self.config.tasks
        }
        key = "|".join(program.digest for program in checked.values())
        if key not in self._known:
            programs = {task: program.data for task, program in checked.items()}
            self._known[key] = self._process.accuracies(programs, self.config)
        return self._known[key]

    def _score(
        self, task: str, candidate: Accuracies, references: Mapping[str, Accuracies]
    ) -> TaskScore:
        runs = {"candidate": candidate[task], **{n: r[task] for n, r in references.items()}}
        accuracy = {
            name: {split: interval(values) for split, values in splits.items()}
            for name, splits in runs.items()
        }
        primary = candidate[task][PRIMARY_SPLIT]
        to_relu = interval(log_ratio(primary, references[BASELINE][task][PRIMARY_SPLIT]))
        to_gelu = interval(log_ratio(primary, references["gelu"][task][PRIMARY_SPLIT]))
        return TaskScore(task, accuracy, runs, to_relu, to_gelu, verdict(to_relu, to_gelu))

    def close(self) -> None:
        self._process.close()
        if self._owns_sandbox:
            self._sandbox.close()


def transfer(
    source: object,
    config: TransferConfig | None = None,
    *,
    label: str = "candidate",
    suite_reward: float | None = None,
) -> TransferReport:
    """Run every task of `config` once for one source (see `Transfer` to reuse processes)."""
    runner = Transfer(config)
    try:
        return runner.run(source, label=label, suite_reward=suite_reward)
    finally:
        runner.close()
