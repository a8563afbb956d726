"""Where a search's candidates are evaluated: in this process, or in a small process pool.

Either way candidates go through `actgym.evaluation.Evaluator` in chunks (a chunk's new
programs compile together and train on concurrent threads), and each comes back as an
`Outcome` as soon as its chunk is done, carrying the validated program JSON that the
report plots from, so reporting never runs candidate source. Pool workers are started
with `spawn` (a fork of a process running JAX would hang), build their Evaluator once,
and exit on their own if the search process dies.
"""

from __future__ import annotations

import math
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any, Protocol

from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.evaluator_protocol import EvaluatorProtocol
from actgym.fidelity import get_fidelity
from actgym.trainer import usable_cores

MAX_CHUNK = 4
Item = tuple[int, str]


@dataclass(frozen=True)
class Outcome:
    """One candidate's result, its validated program (None if rejected before) and cost.

    `behaviour` is the probe's fingerprint of what the program computes (None if it was
    rejected before or by the probe): the loop finds behavioural duplicates by it.
    """

    id: int
    result: EvaluationResult
    program: dict[str, Any] | None
    wall_s: float
    behaviour: str | None = None


class Closeable(Protocol):
    def close(self) -> None: ...


class Backend(Closeable, Protocol):
    def evaluate(self, items: Sequence[Item]) -> Iterator[Outcome]: ...


def evaluate_chunk(evaluator: EvaluatorProtocol, items: Sequence[Item]) -> list[Outcome]:
    """One chunk through `evaluator`, each result with the program JSON its check produced."""
    started = time.perf_counter()
    assessments = evaluator.assess_many([source for _, source in items])
    share = (time.perf_counter() - started) / len(items)
    return [
        Outcome(identifier, item.result, item.program, share, item.behaviour)
        for (identifier, _), item in zip(items, assessments, strict=True)
    ]


def chunks(items: Sequence[Item], parts: int) -> list[list[Item]]:
    """Split into about `parts` chunks of at most MAX_CHUNK items, in order."""
    size = max(1, min(MAX_CHUNK, math.ceil(len(items) / parts)))
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


class InProcess:
    """Evaluate in this process (`--workers 1`), one chunk after another."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator

    def evaluate(self, items: Sequence[Item]) -> Iterator[Outcome]:
        for chunk in chunks(items, 1):
            yield from evaluate_chunk(self.evaluator, chunk)

    def close(self) -> None:
        self.evaluator.close()


class Spread:
    """Hand each batch whole to an evaluator that spreads it over machines (`--ray`)."""

    def __init__(self, evaluator: EvaluatorProtocol) -> None:
        self.evaluator = evaluator

    def evaluate(self, items: Sequence[Item]) -> Iterator[Outcome]:
        yield from evaluate_chunk(self.evaluator, items)

    def close(self) -> None:
        self.evaluator.close()


class ProcessPool:
    """`workers` spawned processes, each with its own Evaluator, sharing the CPU cores
    (and `cache`, default the shared one)."""

    def __init__(
        self, config: EvaluationConfig, workers: int, cache: JsonCache | None = None
    ) -> None:
        threads = max(1, usable_cores() // workers)
        self.workers = workers
        self.pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=get_context("spawn"),
            initializer=_start_worker,
            initargs=(config, threads, os.getpid(), cache),
        )

    def evaluate(self, items: Sequence[Item]) -> Iterator[Outcome]:
        futures: list[Future[list[Outcome]]] = [
            self.pool.submit(_evaluate_in_worker, chunk) for chunk in chunks(items, self.workers)
        ]
        try:
            for future in as_completed(futures):
                yield from future.result()
        finally:
            for future in futures:
                future.cancel()

    def close(self) -> None:
        """Stop at once: chunks still in flight are abandoned (a resume re-issues them)."""
        # ProcessPoolExecutor gains terminate_workers() in Python 3.14; until then its
        # processes are only reachable through this attribute.
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()
        for process in processes:
            process.join()


class ByFidelity:
    """A backend per fidelity, each built from the run's config cut to its fidelity on
    first use, so a run that never screens starts nothing for it."""

    def __init__(
        self,
        config: EvaluationConfig,
        build: Callable[[EvaluationConfig], Backend],
        shared: Sequence[Closeable] = (),
    ) -> None:
        """`shared`: what the built backends use together, closed after them."""
        self.config = config
        self.build = build
        self.built: dict[str, Backend] = {}
        self.shared = shared

    def __getitem__(self, fidelity: str) -> Backend:
        if fidelity not in self.built:
            self.built[fidelity] = self.build(get_fidelity(fidelity).applied(self.config))
        return self.built[fidelity]

    def close(self) -> None:
        for backend in (*self.built.values(), *self.shared):
            backend.close()


def make_backend(config: EvaluationConfig, workers: int) -> Backend:
    """Where `actgym search` evaluates on this machine: this process or a process pool."""
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    return InProcess(Evaluator(config)) if workers == 1 else ProcessPool(config, workers)


def ray_backends(config: EvaluationConfig, ray_address: str) -> ByFidelity:
    """Every fidelity on one set of Ray actors (`ray_address` "local" starts Ray here,
    "auto" joins this node's cluster)."""
    from actgym.ray_evaluation import RayEvaluator

    evaluator = RayEvaluator(config, address=None if ray_address == "local" else ray_address)
    return ByFidelity(config, lambda cut: Spread(evaluator.at(cut)), shared=(evaluator,))


_evaluator: Evaluator | None = None


def _start_worker(
    config: EvaluationConfig, threads: int, parent: int, cache: JsonCache | None
) -> None:
    global _evaluator
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the search process's to handle
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()
    _evaluator = Evaluator(config, cache=cache, threads=threads)


def _exit_with(parent: int) -> None:
    """A worker whose search process was killed has no one to report to: exit at once."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def _evaluate_in_worker(items: list[Item]) -> list[Outcome]:
    assert _evaluator is not None, "the pool initializer builds the evaluator"
    return evaluate_chunk(_evaluator, items)
