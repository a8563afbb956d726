"""The Agent contract as a third party meets it: the documented example, the loop's rules,
the random grammar baseline, and discovery by name.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
from actgym.agents.random_search import RandomGrammarAgent
from fakes import FakeBackend
from typer.testing import CliRunner

from actgym.agent import Agent, AgentContext, Evaluation, History, Proposal, TaskInfo
from actgym.agents_registry import UnknownAgentError, available_agents, load_agent
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.policy import parse_candidate
from actgym.cli import app
from actgym.search import AgentError, RunStore, run_search

DOCS = Path(__file__).parents[2] / "docs" / "agents.md"
THIS = Path(__file__).stem
DEEP: list[Any] = []
for _ in range(70):
    DEEP = [DEEP]


def documented_agent() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    return next(block for block in blocks if block.startswith("# swish_sine.py"))


def test_the_documented_agent_is_under_30_lines_and_runs_through_the_cli(tmp_path: Path) -> None:
    source = documented_agent()
    assert len(source.strip().splitlines()) < 30
    (tmp_path / "swish_sine.py").write_text(source)
    out = tmp_path / "run"
    arguments = ["--budget", "4", "--proposals-per-call", "2", "--fast", "--num-instances", "1"]
    agent = f"{tmp_path / 'swish_sine.py'}:SwishSine"
    result = CliRunner().invoke(
        app, ["search", "--agent", agent, "--out", str(out), "--quiet", *arguments]
    )
    assert result.exit_code == 0, result.output
    with RunStore(out) as store:
        rows = store.evaluations()
    assert [row["status"] for row in rows] == ["ok"] * 4
    assert set(json.loads(rows[0]["descriptors"])) == {"left_slope", "right_slope", "oscillation"}
    assert rows[2]["parents"] in ("[]", "[0]", "[1]") and '"ab"' in rows[3]["notes"]
    assert (out / "best.py").read_text().count("def activation_function") == 1


class Recorder(Agent):
    """Keeps what the loop tells it, for the assertions below."""

    last: ClassVar[Recorder | None] = None
    answers: ClassVar[list[Any]] = []

    def __init__(self, context: AgentContext) -> None:
        super().__init__(context)
        Recorder.last = self
        self.calls: list[tuple[int, int]] = []
        self.observed: list[list[int]] = []

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        self.calls.append((count, len(history)))
        if Recorder.answers:
            return Recorder.answers.pop(0)
        start = len(history)
        return [
            Proposal(f"# {start + index}\n", parents=(0,) if start else (), notes={"i": index})
            if index % 2
            else f"# plain {start + index}\n"
            for index in range(count)
        ]

    def observe(self, evaluations: Sequence[Evaluation]) -> None:
        self.observed.append([evaluation.id for evaluation in evaluations])


def search(tmp_path: Path, **config: Any) -> Any:
    config = {"agent": f"{THIS}:Recorder", "budget": 7, "proposals_per_call": 3, **config}
    return run_search(
        tmp_path, config, backend_factory=FakeBackend().factory(), show_progress=False
    )


def test_the_loop_calls_propose_then_observe_batch_by_batch(tmp_path: Path) -> None:
    Recorder.answers = []
    search(tmp_path)
    agent = Recorder.last
    assert agent is not None
    assert agent.calls == [(3, 0), (3, 3), (1, 6)]
    assert agent.observed == [[0, 1, 2], [3, 4, 5], [6]]
    context = agent.context
    assert context.budget == 7 and context.proposals_per_call == 3 and context.seed == 0
    assert isinstance(context.task, TaskInfo) and "Harmonics" in context.task.description
    with RunStore(tmp_path) as store:
        rows = store.evaluations()
    assert rows[4]["parents"] == "[0]" and rows[4]["notes"] == '{"i":1}'
    assert rows[3]["parents"] == "[]" and rows[3]["generation"] == 1
    assert rows[0]["descriptors"] == '{"left_slope":0.5}'


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (["# a\n"] * 4, "proposed 4 candidates charging 4 full evaluations; 3 were asked for"),
        ("# a string, not a list\n", "must return a list"),
        ([Proposal("# a\n", parents=(5,))], "are not ids of evaluations"),
        ([Proposal("# a\n", notes={"x": object()})], "notes must be a JSON-serialisable"),
        ([b"# bytes\n"], "expected a str or a Proposal"),
        ([Proposal("# a\n", notes={"x": DEEP})], "notes must nest at most 64 levels deep"),
    ],
)
def test_contract_breaches_stop_the_run_with_a_reason(
    tmp_path: Path, answer: Any, message: str
) -> None:
    Recorder.answers = [answer]
    with pytest.raises(AgentError, match=message):
        search(tmp_path)


class DeepState(Recorder):
    def state_dict(self) -> dict[str, Any]:
        return {"x": DEEP}


def test_a_state_that_would_not_resume_stops_the_run_when_saved(tmp_path: Path) -> None:
    """A run store is checked when read (actgym.search.stored_rows): what the loop writes
    must pass that check, or the run could not be resumed."""
    Recorder.answers = [["# a\n"]]
    with pytest.raises(AgentError, match="state_dict\\(\\) must return a dict nested at most 64"):
        search(tmp_path, agent=f"{THIS}:DeepState")


def test_an_agent_that_returns_nothing_ends_the_search_early(tmp_path: Path) -> None:
    Recorder.answers = [["# only one\n"], []]
    result = search(tmp_path)
    assert result.stopped_early and result.completed == 1


def context(seed: int = 0, **options: Any) -> AgentContext:
    task = TaskInfo("ActSearch-Harmonics-v0", "Harmonics", ("Harmonics",), "")
    return AgentContext(task, np.random.default_rng(seed), 100, seed, 8, options)


def test_every_random_grammar_proposal_passes_the_static_policy() -> None:
    agent = RandomGrammarAgent(context())
    proposals = [p for _ in range(50) for p in agent.propose(8, History([]))]
    for proposal in proposals:
        parse_candidate(proposal.source, CandidateLimits())
    assert {proposal.notes["depth"] for proposal in proposals} == {1, 2, 3}
    assert len({proposal.source for proposal in proposals}) == len(proposals)


def test_the_random_agent_is_reproducible_and_checks_its_options() -> None:
    def draws(seed: int) -> list[str]:
        return [p.source for p in RandomGrammarAgent(context(seed)).propose(5, History([]))]

    assert draws(1) == draws(1) != draws(2)
    single = RandomGrammarAgent(context(min_depth=2, max_depth=2)).propose(3, History([]))
    assert {proposal.notes["depth"] for proposal in single} == {2}
    for bad in ({"depth": 2}, {"min_depth": 0}, {"min_depth": 3, "max_depth": 2}):
        with pytest.raises(ValueError):
            RandomGrammarAgent(context(**bad))


def test_agents_are_found_by_name_or_reference(tmp_path: Path) -> None:
    assert available_agents()["random"] == "actgym.agents.random_search:RandomGrammarAgent"
    assert load_agent("random") is RandomGrammarAgent
    assert load_agent(f"{THIS}:Recorder").__name__ == "Recorder"
    (tmp_path / "mine.py").write_text(documented_agent())
    assert load_agent(f"{tmp_path / 'mine.py'}:SwishSine").__name__ == "SwishSine"
    with pytest.raises(UnknownAgentError, match="unknown agent 'nope'; available: random"):
        load_agent("nope")
    with pytest.raises(UnknownAgentError, match="not a subclass"):
        load_agent("actgym.references:REFERENCES")
    with pytest.raises(UnknownAgentError, match="cannot load"):
        load_agent("no.such.module:Agent")
