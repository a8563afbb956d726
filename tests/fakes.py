"""Stand-ins for search tests: a backend that trains nothing, a stateful agent, helpers.

`FakeBackend` scores a source by a hash of its text in microseconds, so loop, store and
resume logic can be tested on many crash points without JAX. `Climber` depends on its
results, its generator and its own state, so only an exact resume reproduces its run.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from actgym.agent import Agent, AgentContext, Evaluation, History, Proposal
from actgym.evaluation import EvaluationConfig, EvaluationResult
from actgym.search.backends import Item, Outcome
from actgym.search.store import FILENAME

# Calls of Climber.propose / Climber.observe (counted per instance, from 0) that raise
# Crash, set by a test to simulate a kill at that point.
CRASH_AT: dict[str, int | None] = {"propose": None, "observe": None}


class Crash(Exception):
    """A simulated kill: nothing after the raise point is written."""


def fake_result(source: str) -> EvaluationResult:
    digest = hashlib.sha256(source.encode()).hexdigest()
    if "reject me" in source:
        return EvaluationResult(status="policy_violation", message="fake", reward=-10.0)
    return EvaluationResult(
        status="ok",
        message="fake",
        reward=int(digest[:8], 16) / 2**32,
        reward_stderr=0.125,
        fit_share=0.75,
        ood_loss=1.0,
        id_loss=0.5,
        train_loss=0.25,
        flops_per_element=1.0,
        program_hash=digest,
        descriptors={"left_slope": 0.5},
    )


class FakeBackend:
    """Evaluates instantly; raises Crash before the outcome numbered `crash_after`."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.crash_after = crash_after
        self.evaluated: list[int] = []

    def evaluate(self, items: Sequence[Item]) -> Iterator[Outcome]:
        for identifier, source in items:
            if self.crash_after is not None and len(self.evaluated) >= self.crash_after:
                raise Crash(f"killed before evaluating {identifier}")
            self.evaluated.append(identifier)
            yield Outcome(identifier, fake_result(source), None, 0.01)

    def close(self) -> None:
        return None

    def factory(self) -> Callable[[EvaluationConfig, int], FakeBackend]:
        return lambda config, workers: self


class Climber(Agent):
    """Perturbs the best notes value so far; proposals depend on every earlier result."""

    def __init__(self, context: AgentContext) -> None:
        super().__init__(context)
        self.calls = {"propose": 0, "observe": 0}
        self.observed = 0
        self.best = [0.0, -1.0]  # value, reward

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        self._maybe_crash("propose")
        best = history.best()
        parents = (best.id,) if best else ()
        proposals: list[Proposal | str] = []
        for index in range(count):
            value = self.best[0] + float(self.rng.normal())
            source = f"# value {value:.9f} after {self.observed}\n"
            if index == 1:
                proposals.append(source + "# reject me\n")
            else:
                proposals.append(Proposal(source, parents=parents, notes={"value": value}))
        return proposals

    def observe(self, evaluations: Sequence[Evaluation]) -> None:
        self._maybe_crash("observe")
        self.observed += len(evaluations)
        for evaluation in evaluations:
            if evaluation.ok and evaluation.reward > self.best[1]:
                self.best = [evaluation.proposal.notes["value"], evaluation.reward]

    def state_dict(self) -> dict[str, Any]:
        return {"observed": self.observed, "best": self.best}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.observed = state["observed"]
        self.best = list(state["best"])

    def _maybe_crash(self, hook: str) -> None:
        calls = self.calls[hook]
        self.calls[hook] += 1
        if CRASH_AT[hook] == calls:
            raise Crash(f"killed in {hook} call {calls}")


class Surrogates(Agent):
    """Proposes sources holding a lone surrogate, which UTF-8 (and so SQLite) cannot store."""

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        return [f"# candidate {len(history) + index} \ud800\n" for index in range(count)]

    def observe(self, evaluations: Sequence[Evaluation]) -> None:
        return None


def stored_count(directory: Path) -> int:
    """Evaluations in a run store, read-only, as another process would poll it (0 if none)."""
    try:
        with closing(
            sqlite3.connect(f"file:{directory / FILENAME}?mode=ro", uri=True)
        ) as connection:
            return connection.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0]
    except sqlite3.Error:
        return 0
