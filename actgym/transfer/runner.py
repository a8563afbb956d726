"""Source in, transfer report out: check the candidate, train the downstream tasks, compare.

Candidates cross into the downstream tasks exactly as into the trainer: the source is
checked by the check stage (sandboxed trace, `load_program` validation, cost, probe in a
training process) at each task's input shape, and only the validated program data
reaches the child that trains (actgym.transfer.process). ReLU and GELU are checked and trained the
same way, on the same seeds and data.

Transfer must score the function the suite scored. A source can branch on its input's
shape (`if x.shape[-1] in (32, 64)`), so it is also checked at the suite's activation
shape, and a pointwise function whose values or locality at a task's shape differ from
those at the suite's is refused as `shape_dependent`. A feature-coupled function depends
on its width by design; its report says its shapes were not compared (`shape_checked`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from actgym.cache import default_cache_dir
from actgym.candidate.behaviour import same_outputs
from actgym.candidate.check import CheckedProgram, Checker
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.sandbox import Sandbox
from actgym.child_process import compilation_cache_dir
from actgym.codec import encode
from actgym.references import BASELINE, REFERENCES
from actgym.trainer import TrainerConfig
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
    shape_checked: bool = True
    """Whether the function was seen to be the same at every task's shape as at the suite's
    (False for a feature-coupled one: its outputs depend on the width by design)."""

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
            "shape_checked": self.shape_checked,
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
        suite_shape: tuple[int, ...] | None = None,
    ) -> None:
        """`suite_shape`: the activation shape the candidate was scored at (by default the
        default trainer's); the candidate must compute the same function at each task's."""
        self.config = config or TransferConfig()
        self.suite_shape = suite_shape or TrainerConfig().activation_shape
        bounds = bounds or TrainingBounds()
        self._owns_sandbox = sandbox is None  # a shared one (the verifier's) stays open
        sandbox = sandbox or Sandbox(self.config.limits)
        compilation_cache = compilation_cache_dir(default_cache_dir() / "xla")
        training = shared_pool(bounds, compilation_cache)
        self._checkers = {
            shape: Checker(self.config.limits, shape, sandbox, training)
            for shape in {self.config.shape(task) for task in self.config.tasks}
            | {self.suite_shape}
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
            coupled = self._checkers[self.suite_shape].check(source).locality != "pointwise"
        except CandidateRejected as rejection:
            return TransferReport(
                label, rejection.reason.value, rejection.describe(), self.config, [], suite_reward
            )
        references = {name: self.accuracies(REFERENCES[name]) for name in COMPARISONS}
        scores = [self._score(task, measured, references) for task in self.config.tasks]
        return TransferReport(
            label, "ok", "", self.config, scores, suite_reward, shape_checked=not coupled
        )

    def accuracies(self, source: object) -> Accuracies:
        """Per downstream task and split, accuracy per seed; raises CandidateRejected, also
        when the function at a task's shape is not the one at the suite's."""
        suite = self._checkers[self.suite_shape].check(source)
        checked = {
            task: self._checkers[self.config.shape(task)].check(source)
            for task in self.config.tasks
        }
        for task, program in checked.items():
            refuse_another_function(suite, program, f"the {task} task")
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


def refuse_another_function(suite: CheckedProgram, there: CheckedProgram, where: str) -> None:
    """Raise `shape_dependent` if `there` (the source checked at another input shape) is
    not the function `suite` is: another locality, or, pointwise, other values on the
    probe's fixed points (within actgym.candidate.behaviour's tolerance)."""
    task_shape, suite_shape = list(there.program.input_shape), list(suite.program.input_shape)
    if there.locality != suite.locality:
        raise CandidateRejected(
            Reason.SHAPE_DEPENDENT,
            f"The function is {there.locality} at {where}'s input shape {task_shape} but "
            f"{suite.locality} at the suite's {suite_shape}.",
        )
    if suite.locality != "pointwise":
        return
    outputs, expected = np.asarray(there.outputs), np.asarray(suite.outputs)
    if not bool(same_outputs(outputs, expected[None, :])[0]):
        raise CandidateRejected(
            Reason.SHAPE_DEPENDENT,
            f"The function at {where}'s input shape {task_shape} is not the one at the "
            f"suite's {suite_shape}: they differ by up to "
            f"{np.nanmax(np.abs(outputs - expected)):.3g} on the probe's points.",
        )


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
