"""Fidelity in the search: proposals screened at low fidelity are charged a quarter,
scored by a backend built for the cut config, never rank; `--cascade` promotes the best
screened share to full fidelity and resumes exactly after a kill."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any, ClassVar

import fakes
import pytest
from fakes import Crash, fake_result
from typer.testing import CliRunner

from actgym.agent import Agent, Evaluation, History, Proposal
from actgym.cli import app
from actgym.config import EvaluationConfig
from actgym.fidelity import LOW
from actgym.search import AgentError, run_search
from actgym.search.backends import Item, Outcome
from actgym.search.cascade import PROMOTED_FROM
from actgym.search.compare import compare
from actgym.search.export import read_trajectories
from actgym.search.report import summary_table, top_distinct
from actgym.search.store import FILENAME, RunStore, charge

runner = CliRunner()
CASCADE = {"agent": "fakes:Climber", "budget": 10, "proposals_per_call": 2, "seed": 3}


class FidelityBackends:
    """One fake backend per config it is built for; a low fidelity's reward is the full
    reward plus a fixed error, so a test can tell which fidelity scored a row."""

    def __init__(self, crash_after: int | None = None) -> None:
        self.configs: list[EvaluationConfig] = []
        self.evaluated: list[int] = []
        self.crash_after = crash_after

    def factory(self) -> Callable[[EvaluationConfig, int], FidelityBackends.Scorer]:
        def build(config: EvaluationConfig, workers: int) -> FidelityBackends.Scorer:
            self.configs.append(config)
            return self.Scorer(self, low=config.num_instances == LOW.num_instances)

        return build

    class Scorer:
        def __init__(self, owner: FidelityBackends, low: bool) -> None:
            self.owner, self.low = owner, low

        def evaluate(self, items: Sequence[Item]) -> Iterator[Outcome]:
            for identifier, source in items:
                owner = self.owner
                if owner.crash_after is not None and len(owner.evaluated) >= owner.crash_after:
                    raise Crash(f"killed before evaluating {identifier}")
                owner.evaluated.append(identifier)
                result = fake_result(source)
                if self.low and result.ok:
                    result = dataclasses.replace(result, reward=result.reward + 0.5)
                yield Outcome(identifier, result, None, 0.01, behaviour=result.program_hash)

        def close(self) -> None:
            return None


class Screener(Agent):
    """Proposes low-fidelity candidates only, or a set answer when a test gives one."""

    answer: list[Any] | None = None

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        if self.answer is not None:
            return self.answer
        return [
            Proposal(f"# screen {len(history) + index}\n", fidelity="low")
            for index in range(4 * count)
        ]

    def observe(self, evaluations: Sequence[Evaluation]) -> None:
        return None


def search(directory: Path, config: Mapping[str, Any], backends: FidelityBackends, **kwargs: Any):
    return run_search(
        directory, config, backend_factory=backends.factory(), show_progress=False, **kwargs
    )


def stored(directory: Path) -> list[dict[str, Any]]:
    with RunStore(directory) as store:
        return store.evaluations()


@pytest.fixture(autouse=True)
def no_crash() -> Iterator[None]:
    fakes.CRASH_AT.update(propose=None, observe=None)
    Screener.answer = None
    yield
    Screener.answer = None


def test_low_fidelity_is_charged_a_quarter_scored_cut_and_never_ranks(tmp_path: Path) -> None:
    backends = FidelityBackends()
    config = {"agent": "test_fidelity_search:Screener", "budget": 3, "proposals_per_call": 2}
    result = search(tmp_path, config, backends)
    rows = stored(tmp_path)
    assert len(rows) == 12 and {(row["fidelity"], row["charge"]) for row in rows} == {("low", 0.25)}
    assert [len(batch) for batch in _batches(rows)] == [8, 4], "4 low ones per full evaluation"
    (built,) = backends.configs
    assert built.num_instances == 4 and len(built.trainer.seeds) == 1
    assert {row["fingerprint"] for row in rows} == {built.fingerprint()}
    assert json.loads(rows[0]["trainer_seeds"]) == list(built.trainer.seeds)
    assert result.best is None, "a screening reward never ranks the run"
    assert top_distinct(rows, 3) == []
    with RunStore(tmp_path) as store:
        assert store.spent() == 3.0


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([Proposal("# a\n")] * 2 + [Proposal("# b\n", fidelity="low")], "charging 2.25 full"),
        ([Proposal("# a\n", fidelity="medium")], "fidelity must be one of full, low"),
        ([Proposal("# a\n", fidelity="low")] * 9, "proposed 9 candidates; 2 were asked"),
    ],
)
def test_an_agent_cannot_overspend_or_invent_a_fidelity(
    tmp_path: Path, answer: list[Any], message: str
) -> None:
    Screener.answer = answer
    config = {"agent": "test_fidelity_search:Screener", "budget": 4, "proposals_per_call": 2}
    with pytest.raises(AgentError, match=message):
        search(tmp_path, config, FidelityBackends())


def test_the_cascade_promotes_the_best_screened_share_and_spends_the_budget(
    tmp_path: Path,
) -> None:
    backends = FidelityBackends()
    result = search(tmp_path, {**CASCADE, "cascade": 0.25}, backends)
    rows = stored(tmp_path)
    low = {row["id"]: row for row in rows if row["fidelity"] == "low"}
    full = [row for row in rows if row["fidelity"] == "full"]
    assert low and full
    with RunStore(tmp_path) as store:
        assert store.spent() == sum(row["charge"] for row in rows) == 10.0
    ending = _ending_batches(rows, CASCADE["budget"], CASCADE["proposals_per_call"])
    for row in full:
        screening = low[json.loads(row["notes"])[PROMOTED_FROM]]
        assert row["source"] == screening["source"] and row["duplicate_of"] is None
        if row["batch"] in ending:
            continue  # the call that ends the budget promotes past the share (next test)
        earlier = [other for other in low.values() if other["batch"] < row["batch"]]
        quota = -(-len(earlier) // 4)
        better = sum(other["reward"] > screening["reward"] for other in earlier)
        assert better < quota, "promoted only from the top quarter of what was screened"
    assert len({json.loads(row["notes"])[PROMOTED_FROM] for row in full}) == len(full)
    assert result.best is not None and result.best.fidelity == "full"
    assert result.best.reward == max(row["reward"] for row in full if row["status"] == "ok")
    assert len(backends.configs) == 2, "one backend per fidelity"


@pytest.mark.parametrize("budget", [10, 11])
def test_the_cascade_ends_its_budget_promoting_not_screening(tmp_path: Path, budget: int) -> None:
    """A screening in the call that ends the budget could never be promoted: that charge
    goes to the best screened candidates not yet promoted, past the share."""
    config = {**CASCADE, "budget": budget, "cascade": 0.25}
    search(tmp_path, config, FidelityBackends())
    rows = stored(tmp_path)
    ending = _ending_batches(rows, config["budget"], config["proposals_per_call"])
    assert ending, "the budget ended within a call"
    for batch in sorted(ending):
        chosen = [
            json.loads(row["notes"]).get(PROMOTED_FROM) for row in rows if row["batch"] == batch
        ]
        assert chosen and all(screening is not None for screening in chosen), "no screening"
        promoted = {
            json.loads(row["notes"])[PROMOTED_FROM]
            for row in rows
            if row["fidelity"] == "full" and row["batch"] < batch
        }
        waiting = [
            row
            for row in rows
            if row["fidelity"] == "low"
            and row["batch"] < batch
            and row["status"] == "ok"
            and row["id"] not in promoted
        ]
        best = sorted(waiting, key=lambda row: (-row["reward"], row["id"]))[: len(chosen)]
        assert chosen == [row["id"] for row in best], "the best screened not yet promoted"


def _ending_batches(rows: Sequence[Mapping[str, Any]], budget: int, per_call: int) -> set[int]:
    """The batches after which less than one full evaluation of the budget was left."""
    spent, ending = 0.0, set()
    for batch in _batches(rows):
        if budget - spent - min(per_call, int(budget - spent)) < 1:
            ending.add(batch[0]["batch"])
        spent += sum(charge(row) for row in batch)
    return ending


CASCADE_CRASHES = [("evaluate", 0), ("evaluate", 9), ("evaluate", 21), ("propose", 1)]
CASCADE_CRASHES += [("observe", 0), ("observe", 1)]


@pytest.mark.parametrize(("where", "when"), CASCADE_CRASHES)
def test_a_killed_cascade_resumes_exactly(tmp_path: Path, where: str, when: int) -> None:
    config = {**CASCADE, "cascade": 0.25}
    search(tmp_path / "reference", config, FidelityBackends())
    first = FidelityBackends(crash_after=when if where == "evaluate" else None)
    if where != "evaluate":
        fakes.CRASH_AT[where] = when
    with pytest.raises(Crash):
        search(tmp_path / "run", config, first)
    fakes.CRASH_AT.update(propose=None, observe=None)
    second = FidelityBackends()
    search(tmp_path / "run", {"agent": CASCADE["agent"]}, second, resume=True)
    columns = ("id", "batch", "source", "fidelity", "charge", "notes", "reward", "duplicate_of")
    assert _columns(tmp_path / "run", columns) == _columns(tmp_path / "reference", columns)
    assert sorted(first.evaluated + second.evaluated) == [
        row["id"] for row in stored(tmp_path / "run")
    ]


def test_report_export_and_compare_show_fidelity_and_rank_full_only(tmp_path: Path) -> None:
    search(tmp_path / "cascade", {**CASCADE, "cascade": 0.25}, FidelityBackends())
    search(tmp_path / "plain", CASCADE, FidelityBackends())
    records = read_trajectories(tmp_path / "cascade")
    assert {(record["fidelity"], record["charge"]) for record in records} == {
        ("low", 0.25),
        ("full", 1.0),
    }
    with RunStore(tmp_path / "cascade") as store:
        run, rows = store.run(), store.evaluations()
    table = summary_table(run, rows)
    keys, values = (map(str, column.cells) for column in table.columns)
    cells = dict(zip(keys, values, strict=True))
    assert cells["fidelities"].startswith("full ") and "low " in cells["fidelities"]
    assert str(table.title) == "fakes:Climber+cascade(0.25) on ActSearch-Harmonics-v0"
    groups = {group.agent: group for group in compare([tmp_path / "cascade", tmp_path / "plain"])}
    assert set(groups) == {"fakes:Climber", "fakes:Climber+cascade(0.25)"}
    cascade = groups["fakes:Climber+cascade(0.25)"]
    assert cascade.evaluations.x == tuple(float(step) for step in range(1, 11))
    full_rewards = [
        row["reward"] for row in rows if row["fidelity"] == "full" and row["status"] == "ok"
    ]
    assert cascade.evaluations.bands[-1].mean == max(full_rewards)


def test_actgym_search_cascade_screens_and_promotes_with_real_training(tmp_path: Path) -> None:
    refused = runner.invoke(app, ["search", "--out", str(tmp_path / "x"), "--promote", "0.2"])
    assert refused.exit_code == 2 and "pass --cascade too" in refused.output
    assert not (tmp_path / "x").exists()
    small = ["--budget", "2", "--proposals-per-call", "1", "--num-instances", "1", "--fast"]
    command = ["search", "--out", str(tmp_path / "run"), "--cascade", "--promote", "0.5"]
    done = runner.invoke(app, [*command, *small, "--quiet", "--seed", "4"])
    assert done.exit_code == 0, done.output
    summary = " ".join(done.output.split())
    assert summary.startswith("5 evaluations (4 screened at low fidelity), 2/2 charged")
    with RunStore(tmp_path / "run") as store:
        run, rows = store.run(), store.evaluations()
        assert store.spent() == 2.0
    assert json.loads(run["config"])["cascade"] == 0.5
    assert [row["fidelity"] for row in rows] == ["low"] * 4 + ["full"]
    screening = rows[json.loads(rows[4]["notes"])[PROMOTED_FROM]]
    assert screening["status"] == "ok" and screening["source"] == rows[4]["source"]
    assert rows[4]["trainer_seeds"] != screening["trainer_seeds"], "low trains one seed"
    assert rows[4]["reward"] != screening["reward"]


def _batches(rows: Sequence[Mapping[str, Any]]) -> list[list[Mapping[str, Any]]]:
    batches: dict[int, list[Mapping[str, Any]]] = {}
    for row in rows:
        batches.setdefault(row["batch"], []).append(row)
    return [batches[key] for key in sorted(batches)]


def _columns(directory: Path, columns: Sequence[str]) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(directory / FILENAME)) as connection:
        query = f"SELECT {', '.join(columns)} FROM evaluations ORDER BY id"
        return connection.execute(query).fetchall()


class Replier(Agent):
    """One reply without code per call, the rest plain sources; records what it was shown."""

    shown: ClassVar[list[int]] = []

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        Replier.shown.append(len(history))
        unusable = Proposal("# no code\n", notes={"unusable": "the reply held no code"})
        return [unusable, *(f"# call {len(history)} item {i}\n" for i in range(count - 1))]

    def observe(self, evaluations: Sequence[Evaluation]) -> None:
        return None


def test_the_wrapped_agent_sees_all_it_proposed_and_unusable_replies_are_never_promoted(
    tmp_path: Path,
) -> None:
    Replier.shown = []
    config = {"agent": "test_fidelity_search:Replier", "budget": 4, "proposals_per_call": 1}
    search(tmp_path, {**config, "cascade": 0.25}, FidelityBackends())
    rows = stored(tmp_path)
    assert Replier.shown[:2] == [0, 4], "its history holds its unusable reply too"
    promoted = {json.loads(row["notes"]).get(PROMOTED_FROM) for row in rows}
    assert not promoted & {row["id"] for row in rows if row["status"] == "unusable_reply"}
