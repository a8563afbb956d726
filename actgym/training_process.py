"""Probe, compile and train candidate programs in killable, resource-limited processes.

A program that passed every static check can still make XLA compile for minutes or
allocate gigabytes. Everything that compiles a candidate therefore happens in a child of
the evaluating process: the child has a memory limit (RLIMIT_AS), cannot be ptraced or
core-dumped (PR_SET_DUMPABLE 0), dies with its parent, and is killed when it misses a
deadline (actgym.child_process). It runs no candidate Python: it receives program data
(JSON), validates it again with `load_program`, and binds allow-listed primitives, as the
parent would.

Requests: `probe` (one program) or `train` (a batch on some families); progress events
`prepared`, `compiled`, `trained`, then the final `done` line.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import json
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.probe import ProbeResult, probe
from actgym.candidate.program import Program, load_program
from actgym.candidate.reasons import CandidateRejected
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
from actgym.config import EvaluationConfig
from actgym.tasks import make_family
from actgym.trainer import FamilyData, Losses, prepare, train_many


@dataclass(frozen=True)
class TrainingBounds:
    """How long each stage may take and how much memory a training process may map.

    Deadlines depend on the machine, so they are not part of a score's fingerprint, and a
    result they cut short is never cached on disk. Defaults leave an honest candidate a
    margin of ten or more on a 2-core CPU at default settings (benchmarks/perf):
      startup_s          start a process, or build a new task setup's data in it
      probe_s            compile and run one program's probe (values and derivatives)
      compile_s          compile one program's training for one family (a batch of n
                         programs gets compile_base_s + n * compile_s)
      run_margin         run deadline per program and family, as a multiple of the
                         baseline activation's own run time (at least run_floor_s)
      memory_bytes       RLIMIT_AS of each training process on CPU (unset on GPUs, whose
                         drivers map more address space than they use)
      tries              how often a program's process is started while it dies (killed
                         or crashed) before the death counts as the program's
    """

    startup_s: float = 180.0
    probe_s: float = 30.0
    compile_base_s: float = 30.0
    compile_s: float = 20.0
    run_margin: float = 20.0
    run_floor_s: float = 60.0
    memory_bytes: int = 6 * 1024**3
    tries: int = 3

    def compile_deadline(self, programs: int) -> float:
        return self.compile_base_s + programs * self.compile_s

    def run_deadline(self, programs: int, baseline_run_s: float | None) -> float:
        per_program = max(self.run_floor_s, self.run_margin * (baseline_run_s or 0.0))
        return programs * per_program


class BatchFailed(Exception):
    """The batch as a whole failed; which program caused it is unknown (retry one by one)."""

    def __init__(self, rejection: CandidateRejected) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


# ----------------------------------------------------------------------------------------
# Parent side


class TrainingPool:
    """Idle training processes, shared by every Evaluator of this process (thread-safe)."""

    def __init__(self, bounds: TrainingBounds, compilation_cache: Path | None = None) -> None:
        self.bounds = bounds
        self.compilation_cache = compilation_cache
        self._lock = threading.Lock()
        self._idle: list[Child] = []
        self._closed = False

    def probe(self, program: Program, limits: CandidateLimits) -> ProbeResult:
        """Descriptors, locality and behaviour; raise CandidateRejected (NaN, crash, deadline)."""
        request = {"kind": "probe", "program": program.data, "limits": dataclasses.asdict(limits)}

        def attempt() -> dict[str, Any]:
            with self._child() as child:  # a process that fails to start is stopped too
                return child.call(request, [("probed", self.bounds.probe_s)])

        try:
            reply = restarting(attempt, self.bounds.tries)
        except Stopped as stopped:
            raise stopped.rejection() from None
        if "rejected" in reply:
            raise rejection(reply["rejected"])
        return ProbeResult(
            reply["descriptors"],
            reply["locality"],
            str(reply["behaviour"]),
            tuple(float(value) for value in reply["outputs"]),
        )

    def train(
        self,
        programs: Sequence[Program],
        config: EvaluationConfig,
        baseline_run_s: Mapping[str, float | None],
        threads: int = 1,
    ) -> list[dict[str, Losses]]:
        """Every program's losses on every family of `config`; raise BatchFailed if the
        batch fails. A batch whose process dies is not started again: the caller splits it,
        and one program alone is given `tries`."""
        count = len(programs)
        stages: list[tuple[str, float]] = [("prepared", self.bounds.startup_s)]
        for family in config.families:
            stages.append(("compiled", self.bounds.compile_deadline(count)))
            stages.append(("trained", self.bounds.run_deadline(count, baseline_run_s.get(family))))
        stages.append(("reported", self.bounds.startup_s))
        request = {
            "kind": "train",
            "programs": [program.data for program in programs],
            "config": encode(config),
            "threads": threads,
        }

        def attempt() -> dict[str, Any]:
            with self._child() as child:
                return child.call(request, stages)

        try:
            reply = restarting(attempt, self.bounds.tries if count == 1 else 1)
        except Stopped as stopped:
            raise BatchFailed(stopped.rejection()) from None
        if "rejected" in reply:
            raise BatchFailed(rejection(reply["rejected"]))
        return [
            {family: Losses.from_json(value) for family, value in outcome.items()}
            for outcome in reply["losses"]
        ]

    def hardening(self) -> dict[str, Any]:
        """What holds in this pool's training processes, as a fresh one reports it."""
        with self._child() as child:
            return dict(child.hardening)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.drain()

    def drain(self) -> None:
        """Stop the idle processes; the pool stays open and starts fresh ones as needed."""
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()

    @contextlib.contextmanager
    def _child(self) -> Iterator[Child]:
        with self._lock:
            child = self._idle.pop() if self._idle else None
        if child is None or not child.alive():
            child = Child.spawn(
                __name__, self.bounds.memory_bytes, self.bounds.startup_s, self.compilation_cache
            )
        try:
            yield child
        except BaseException:
            child.kill()
            raise
        with self._lock:
            if self._closed or not child.alive():
                child.kill()
            else:
                self._idle.append(child)


_pools: dict[tuple[TrainingBounds, Path | None], TrainingPool] = {}
_pools_lock = threading.Lock()


def shared_pool(bounds: TrainingBounds, compilation_cache: Path | None = None) -> TrainingPool:
    """One pool per bounds and XLA cache directory: processes (and the data they built)
    outlive an Evaluator."""
    key = (bounds, compilation_cache)
    with _pools_lock:
        if key not in _pools:
            _pools[key] = TrainingPool(bounds, compilation_cache)
        return _pools[key]


def _forget_parents_pools() -> None:
    """A forked child starts its own training processes: it never shares its parent's
    pipes, nor stops its parent's processes at exit."""
    global _pools, _pools_lock
    _pools = {}
    _pools_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_parents_pools)


def drain_shared_pools() -> None:
    """Stop every shared pool's idle processes, so that what runs next starts cold (a
    process keeps what it compiled); Evaluators holding a pool go on with fresh ones."""
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        pool.drain()


@atexit.register
def close_shared_pools() -> None:
    """Stop every shared pool's idle processes; the next Evaluator starts fresh ones.

    For benchmarks that must start cold: a process keeps what it compiled.
    """
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


# ----------------------------------------------------------------------------------------
# Child side


_MAX_FAMILY_DATA = 16


class _Worker(Worker):
    """The child's state: task data built per setup (the last few kept)."""

    activity = "compiling, probing or training it"

    def __init__(self, send: Send) -> None:
        super().__init__(send)
        self._data: OrderedDict[tuple[str, str], FamilyData] = OrderedDict()

    def reply(self, request_id: int, request: dict[str, Any]) -> dict[str, Any]:
        if request["kind"] == "probe":
            return self._probe(request)
        return self._train(request_id, request)

    def _probe(self, request: dict[str, Any]) -> dict[str, Any]:
        limits = CandidateLimits(**request["limits"])
        data = request["program"]
        program = load_program(data, shape=tuple(data["input"]["shape"]), limits=limits)
        result = probe(program)
        return {
            "descriptors": result.descriptors,
            "locality": result.locality,
            "behaviour": result.behaviour,
            "outputs": result.outputs,
        }

    def _train(self, request_id: int, request: dict[str, Any]) -> dict[str, Any]:
        config = decode(EvaluationConfig, request["config"])
        shape = config.trainer.activation_shape
        programs = [
            load_program(data, shape=shape, limits=config.limits) for data in request["programs"]
        ]
        families = config.families
        data = {family: self._family_data(family, config) for family in families}
        self.send({"id": request_id, "event": "prepared"})
        losses: dict[str, list[Losses]] = {}
        for family in families:
            losses[family] = train_many(
                programs,
                data[family],
                config.trainer,
                threads=request["threads"],
                on_compiled=lambda: self.send({"id": request_id, "event": "compiled"}),
            )
            self.send({"id": request_id, "event": "trained"})
        return {
            "losses": [
                {family: losses[family][index].to_json() for family in families}
                for index in range(len(programs))
            ]
        }

    def _family_data(self, family: str, config: EvaluationConfig) -> FamilyData:
        """One family's data under `config`, whatever other families it names."""
        key = (family, json.dumps({**encode(config), "families": None}, sort_keys=True))
        if key not in self._data:
            tasks = make_family(
                family,
                seed=config.task_seed,
                num_instances=config.num_instances,
                sizes=config.sizes,
                region=config.region,
            )
            self._data[key] = prepare(tasks, config.trainer)
            while len(self._data) > _MAX_FAMILY_DATA:
                self._data.popitem(last=False)
        self._data.move_to_end(key)
        return self._data[key]


if __name__ == "__main__":
    serve(sys.argv[1:], _Worker)
