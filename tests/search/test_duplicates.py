"""Behavioural duplicates: found by the probe's fingerprint, marked, and not charged."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fakes import FakeBackend, fake_result
from sources import RELU, activation

from actgym.agent import Agent, History, Proposal
from actgym.evaluation import Evaluator
from actgym.search import run_search, runner
from actgym.search.backends import Item, Outcome
from actgym.search.loop import MAX_PROPOSALS_PER_BUDGET
from actgym.search.progress import SearchProgress
from actgym.search.store import RunStore


class BehaviourBackend(FakeBackend):
    """A source's last line `# behaves as NAME` is its behaviour; a chunk ends in reverse."""

    def evaluate(self, items: Sequence[Item]) -> Iterator[Outcome]:
        for identifier, source in reversed(items):
            behaviour = source.rsplit("# behaves as ", 1)[-1].strip()
            yield Outcome(identifier, fake_result(source), None, 0.01, behaviour)


class Scripted(Agent):
    """Proposes behaviours from `options['script']` in order, then `options['then']` forever."""

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        script, then = self.context.options["script"], self.context.options["then"]
        names = [*script, *[then] * (len(history) + count)][len(history) :][:count]
        return [f"# {len(history) + i}\n# behaves as {name}\n" for i, name in enumerate(names)]


def search(directory: Path, budget: int, script: list[str], then: str):
    config = {
        "agent": "test_duplicates:Scripted",
        "budget": budget,
        "proposals_per_call": 3,
        "agent_options": {"script": script, "then": then},
    }
    factory = BehaviourBackend().factory()
    return run_search(directory, config, backend_factory=factory, show_progress=False)


def test_duplicates_are_marked_in_id_order_and_not_charged(tmp_path: Path) -> None:
    result = search(tmp_path, 4, ["a", "b", "a", "b", "c", "a"], "d")
    with RunStore(tmp_path) as store:
        marks = [(row["behaviour"], row["duplicate_of"]) for row in store.evaluations()]
    # batches: a b a (completed in reverse, id 2 first), b c, a, d: 4 charged, 3 free
    assert marks == [
        ("a", None),
        ("b", None),
        ("a", 0),
        ("b", 1),
        ("c", None),
        ("a", 0),
        ("d", None),
    ]
    assert (result.completed, result.duplicates, result.stopped_early) == (7, 3, False)


def test_an_agent_of_only_duplicates_stops_at_the_proposal_cap(tmp_path: Path) -> None:
    result = search(tmp_path, 3, [], "same")
    assert result.completed == MAX_PROPOSALS_PER_BUDGET * 3
    assert result.duplicates == result.completed - 1


def test_the_probe_fingerprints_behaviour_not_text(evaluator: Evaluator) -> None:
    relu = evaluator.check(RELU).behaviour
    rewritten = activation("jnp.where(x > 0.0, x, 0.0 * x) + 0.0")
    assert evaluator.check(rewritten).behaviour == relu
    assert evaluator.check(rewritten).digest != evaluator.check(RELU).digest
    assert evaluator.check(activation("jax.nn.relu(x) + 1e-3 * x")).behaviour != relu
    assert len(relu) == 24 and int(relu, 16) >= 0


def test_the_progress_bar_ends_at_the_budget_spent_not_at_the_evaluations_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bars: list[SearchProgress] = []

    class Recorded(SearchProgress):
        def __enter__(self) -> SearchProgress:
            bars.append(self)
            return super().__enter__()

    monkeypatch.setattr(runner, "SearchProgress", Recorded)
    search(tmp_path, 4, ["a", "b", "a", "b", "c", "a"], "d")
    (bar,) = bars
    with RunStore(tmp_path) as store:
        assert store.count() == 7 and store.spent() == 4
    assert bar.progress.tasks[0].completed == 4 and bar.remaining == 0
