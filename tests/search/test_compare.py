"""`actgym report RUN RUN...`: runs grouped by agent, mean best-so-far with a 95% band."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeBackend, fake_result
from scipy import stats
from typer.testing import CliRunner

from actgym.agent import Agent, History
from actgym.cli import app
from actgym.result import FamilyScore
from actgym.search import run_search
from actgym.search.backends import Item, Outcome
from actgym.search.compare import compare
from actgym.search.report import best_so_far
from actgym.search.store import FILENAME, RunStore

runner = CliRunner()


class FamilyBackend(FakeBackend):
    """The fake scores, with a Harmonics family score equal to the reward."""

    def evaluate(self, items: Sequence[Item]) -> Iterator[Outcome]:
        for identifier, source in items:
            result = fake_result(source)
            score = FamilyScore(result.reward, ("a",), [[1.0]], [[1.0]], [[1.0]])
            result = dataclasses.replace(result, families={"Harmonics": score})
            yield Outcome(identifier, result, None, 0.01)


class Counter(Agent):
    def propose(self, count: int, history: History) -> Sequence[str]:
        return [f"# counter {len(history) + index}\n" for index in range(count)]


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    plans = [("fakes:Climber", 1, 6), ("fakes:Climber", 2, 6), ("fakes:Climber", 3, 4)]
    plans.append(("test_compare:Counter", 0, 5))
    directories = []
    for agent, seed, budget in plans:
        directory = tmp_path / f"{agent.split(':')[1]}-{seed}"
        config = {"agent": agent, "seed": seed, "budget": budget, "proposals_per_call": 2}
        run_search(
            directory, config, backend_factory=FamilyBackend().factory(), show_progress=False
        )
        directories.append(directory)
    with closing(sqlite3.connect(directories[2] / FILENAME)) as connection, connection:
        connection.execute("UPDATE evaluations SET duplicate_of = 0 WHERE id = 2")
    return directories


def test_groups_average_runs_of_one_agent_with_a_t_interval(runs: list[Path]) -> None:
    climber, counter = compare(runs)
    assert (climber.agent, len(climber.runs), counter.agent) == (
        "fakes:Climber",
        3,
        "test_compare:Counter",
    )
    bands = climber.evaluations.bands
    assert len(bands) == 3, "cut to the shortest run's charged evaluations (4 - 1)"
    curves = []
    for directory in runs[:3]:
        with RunStore(directory) as store:
            curves.append(
                best_so_far([r for r in store.evaluations() if r["duplicate_of"] is None])
            )
    last = [curve[2] for curve in curves]
    half = stats.t.ppf(0.975, 2) * np.std(last, ddof=1) / np.sqrt(3)
    assert bands[2].mean == pytest.approx(np.mean(last))
    assert bands[2].half_width == pytest.approx(half) and half > 0
    bests = []
    for directory in runs[:3]:
        with RunStore(directory) as store:
            bests.append(max(r["reward"] for r in store.evaluations() if r["status"] == "ok"))
    assert climber.families["Harmonics"].mean == pytest.approx(np.mean(bests))
    assert len(counter.evaluations.bands) == 5
    assert counter.evaluations.bands[0].half_width is None


def test_report_of_several_runs_prints_and_writes_the_comparison(
    runs: list[Path], tmp_path: Path
) -> None:
    out = tmp_path / "compared"
    result = runner.invoke(app, ["report", *map(str, runs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "agents compared" in result.output and "Harmonics" in result.output
    summary = json.loads((out / "comparison.json").read_text())
    assert [len(group["runs"]) for group in summary] == [3, 1]
    assert len(summary[0]["curves"]["evaluations"]["best_so_far"]) == 3
    assert (out / "comparison.png").read_bytes().startswith(b"\x89PNG")
    empty = tmp_path / "empty"
    run_search(
        empty,
        {"agent": "test_compare:Counter", "budget": 1},
        backend_factory=FamilyBackend().factory(),
        show_progress=False,
    )
    with closing(sqlite3.connect(empty / FILENAME)) as connection, connection:
        connection.execute("DELETE FROM evaluations")
    unfinished = runner.invoke(app, ["report", str(runs[0]), str(empty)])
    assert unfinished.exit_code == 0, unfinished.output  # a run with no evaluations yet
    missing = runner.invoke(app, ["report", str(runs[0]), str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no run store" in missing.output
