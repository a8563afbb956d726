"""Train the downstream tasks in a killable, memory-limited child, as training does.

The child is started like a training process (actgym.training_process: posix_spawn, own
session, RLIMIT_AS, non-dumpable, dies with its parent, JSON-lines protocol with a
deadline per event) but serves `transfer` requests: one activation's program data per
downstream task, which it validates again with `load_program` at that task's shape
before any use. Events: `prepared` (the tasks' data built), `trained` after each task,
then the final reply with the accuracies. A missed deadline or a child that dies on every try
becomes a rejection.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from actgym.candidate.program import load_program
from actgym.child_process import (
    Child,
    Send,
    Stopped,
    Worker,
    rejection,
    restarting,
    serve,
)
from actgym.codec import decode, encode
from actgym.training_process import TrainingBounds
from actgym.transfer.downstream import DOWNSTREAM_TASKS, TransferConfig
from actgym.transfer.fitting import Arrays

Accuracies = dict[str, dict[str, list[float]]]
"""downstream task -> split (`id`, `shifted`) -> accuracy per seed."""


def task_deadline(config: TransferConfig, bounds: TrainingBounds) -> float:
    """One task of one activation: building the data, a compile, the run floor per seed.

    Generous (470 s with 4 seeds by default): a loaded 2-core machine runs a task several
    times slower than an idle one, and the check stage has already bounded the program.
    """
    return bounds.startup_s + bounds.compile_deadline(1) + bounds.run_floor_s * len(config.seeds)


class TransferProcess:
    """One child process, reused across activations and restarted after a failure."""

    def __init__(
        self, bounds: TrainingBounds | None = None, compilation_cache: Path | None = None
    ) -> None:
        self.bounds = bounds or TrainingBounds()
        self.compilation_cache = compilation_cache
        self._child: Child | None = None

    def accuracies(self, programs: Mapping[str, Any], config: TransferConfig) -> Accuracies:
        """Train the downstream tasks with one activation (program data per task).

        Raises CandidateRejected when the child rejects it, misses a deadline or dies.
        """
        stages = [("prepared", self.bounds.startup_s)]
        stages += [("trained", task_deadline(config, self.bounds))] * len(config.tasks)
        stages.append(("reported", self.bounds.startup_s))
        request = {"kind": "transfer", "programs": dict(programs), "config": encode(config)}

        def attempt() -> dict[str, Any]:
            try:
                if self._child is None or not self._child.alive():
                    bounds = self.bounds
                    self._child = Child.spawn(
                        __name__, bounds.memory_bytes, bounds.startup_s, self.compilation_cache
                    )
                return self._child.call(request, stages)
            except Stopped:
                self.close()
                raise

        try:
            reply = restarting(attempt, self.bounds.tries)
        except Stopped as stopped:
            raise stopped.rejection() from None
        if "rejected" in reply:
            raise rejection(reply["rejected"])
        return reply["accuracies"]

    def close(self) -> None:
        if self._child is not None:
            self._child.kill()
            self._child = None


class _TransferWorker(Worker):
    """The child's state: task data per configuration (the last one kept)."""

    activity = "training the downstream tasks"

    def __init__(self, send: Send) -> None:
        super().__init__(send)
        self._data: tuple[str, dict[str, dict[str, Arrays]]] | None = None

    def reply(self, request_id: int, request: dict[str, Any]) -> dict[str, Any]:
        config = decode(TransferConfig, request["config"])
        programs = {
            task: load_program(
                request["programs"][task], shape=config.shape(task), limits=config.limits
            )
            for task in config.tasks
        }
        data = self._task_data(config)
        self.send({"id": request_id, "event": "prepared"})
        accuracies: Accuracies = {}
        for task in config.tasks:
            measured = DOWNSTREAM_TASKS[task].accuracies(
                programs[task], data[task], config.settings(task), config.seeds
            )
            accuracies[task] = {split: values.tolist() for split, values in measured.items()}
            self.send({"id": request_id, "event": "trained"})
        return {"accuracies": accuracies}

    def _task_data(self, config: TransferConfig) -> dict[str, dict[str, Arrays]]:
        key = json.dumps(encode(config), sort_keys=True)
        if self._data is None or self._data[0] != key:
            built = {
                task: DOWNSTREAM_TASKS[task].make_data(config.settings(task), config.data_seed)
                for task in config.tasks
            }
            self._data = (key, built)
        return self._data[1]


if __name__ == "__main__":
    serve(sys.argv[1:], _TransferWorker)
