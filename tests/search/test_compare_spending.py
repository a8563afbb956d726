"""`actgym report RUN RUN...` against compute seconds, LLM tokens and dollars."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from scipy import stats
from test_compare import Counter, FamilyBackend
from typer.testing import CliRunner

from actgym.cli import app
from actgym.search import run_search
from actgym.search.compare import GRID, Band, compare, currencies, spending_table
from actgym.search.store import FILENAME

runner = CliRunner()
PRICES = (1.0, 7.0)  # dollars per million prompt and completion tokens
# Per run, per evaluation: reward, wall_s, prompt and completion tokens. No step lands on
# a checkpoint but the shortest run's last, which the grid ends on exactly.
TALKS = [
    [(0.1, 1.5, 10, 4), (0.3, 1.0, 20, 6), (0.2, 1.0, 20, 6), (0.5, 0.5, 10, 14)],
    [(0.2, 0.5, 30, 1), (0.1, 2.0, 30, 0), (0.4, 2.0, 30, 2), (0.4, 3.5, 30, 0)],
]


class Talker(Counter):
    """Stands for an LLM agent: the test writes its tokens into the store."""


def _run(directory: Path, agent: str, seed: int) -> Path:
    config = {"agent": agent, "seed": seed, "budget": 4, "proposals_per_call": 2}
    run_search(directory, config, backend_factory=FamilyBackend().factory(), show_progress=False)
    return directory


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    """Two Talker runs with the rewards, seconds and tokens of TALKS; one Counter run."""
    directories = []
    for seed, talks in enumerate(TALKS):
        directory = _run(tmp_path / f"talker-{seed}", "test_compare_spending:Talker", seed)
        with closing(sqlite3.connect(directory / FILENAME)) as connection, connection:
            for identifier, (reward, wall_s, prompt, completion) in enumerate(talks):
                notes = json.dumps({"prompt_tokens": prompt, "completion_tokens": completion})
                connection.execute(
                    "UPDATE evaluations SET reward = ?, wall_s = ?, notes = ? WHERE id = ?",
                    (reward, wall_s, notes, identifier),
                )
        directories.append(directory)
    return [*directories, _run(tmp_path / "counter", "test_compare:Counter", 0)]


def _expected(values: Sequence[float]) -> Band:
    half = stats.t.ppf(0.975, 1) * np.std(values, ddof=1) / np.sqrt(2)
    return Band(float(np.mean(values)), float(half))


# The step functions read by hand at 25%, 50% and 100% of the shortest run's total:
# seconds, cumulative [1.5, 2.5, 3.5, 4] and [0.5, 2.5, 4.5, 8], read at 1, 2, 4;
# tokens, [14, 40, 66, 90] and [31, 61, 93, 123], at 22.5, 45, 90;
# dollars (per million) [38, 100, 162, 270] and [37, 67, 111, 141], at 35.25, 70.5, 141.
EXPECTED = {
    "seconds": (4.0, [(-10.0, 0.2), (0.1, 0.2), (0.5, 0.2)]),
    "tokens": (90.0, [(0.1, -10.0), (0.3, 0.2), (0.5, 0.2)]),
    "usd": (141e-6, [(-10.0, -10.0), (0.1, 0.2), (0.3, 0.4)]),
}


def test_best_so_far_is_read_on_a_common_grid_of_each_currency(runs: list[Path]) -> None:
    talker, counter = compare(runs, currencies(PRICES))
    for name, (total, checkpoints) in EXPECTED.items():
        curve = talker.spent[name]
        assert curve is not None and len(curve.x) == GRID
        assert curve.x[-1] == pytest.approx(total) and curve.x[0] == pytest.approx(total / GRID)
        for share, values in zip((0.25, 0.5, 1.0), checkpoints, strict=True):
            band = curve.at(share)
            assert band is not None and band.mean == pytest.approx(np.mean(values))
            assert band.half_width == pytest.approx(_expected(values).half_width)
    assert counter.spent["tokens"] is None and counter.spent["usd"] is None, "no LLM: n/a"
    seconds = counter.spent["seconds"]
    assert seconds is not None and seconds.x[-1] == pytest.approx(0.04)  # 4 x 0.01 s
    assert "usd" not in compare(runs)[0].spent, "dollars only when prices are given"


def test_the_table_shows_checkpoints_and_not_applicable(runs: list[Path]) -> None:
    spent = currencies(PRICES)
    table = spending_table(compare(runs, spent), spent)
    cells = [[str(cell) for cell in column.cells] for column in table.columns]
    rows = list(zip(*cells, strict=True))
    assert rows[0] == (
        "test_compare_spending:Talker",
        "ActSearch-Harmonics-v0",
        "compute seconds",
        "4 s",
        _expected([-10.0, 0.2]).text(),
        _expected([0.1, 0.2]).text(),
        _expected([0.5, 0.2]).text(),
    )
    assert rows[1][2:] == (
        "LLM tokens",
        "90",
        "-4.950 ± 64.166",
        "+0.250 ± 0.635",
        "+0.350 ± 1.906",
    )
    assert rows[2][2:4] == ("dollars", "$0.000141") and rows[2][4] == "-10.000 ± 0.000"
    assert rows[4][2:] == ("LLM tokens", "n/a", "-", "-", "-")


def test_report_writes_every_currency(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "compared"
    arguments = ["report", *map(str, runs), "--out", str(out)]
    result = runner.invoke(app, [*arguments, "--usd-per-million-tokens", "1", "7"])
    assert result.exit_code == 0, result.output
    assert "best so far by what was spent" in result.output and "n/a" in result.output
    talker, counter = json.loads((out / "comparison.json").read_text())
    assert list(talker["curves"]) == ["evaluations", "seconds", "tokens", "usd"]
    tokens = talker["curves"]["tokens"]
    assert len(tokens["x"]) == len(tokens["best_so_far"]) == GRID
    assert tokens["best_so_far"][GRID // 2 - 1] == pytest.approx(
        [0.25, _expected([0.3, 0.2]).half_width]
    )
    assert counter["curves"]["tokens"] is None and counter["curves"]["usd"] is None
    for suffix in ("png", "svg"):
        assert (out / f"comparison.{suffix}").stat().st_size > 0
    plain = runner.invoke(app, ["report", *map(str, runs), "--out", str(out)])
    assert plain.exit_code == 0 and "dollars" not in plain.output
    assert "usd" not in json.loads((out / "comparison.json").read_text())[0]["curves"]


def test_free_evaluations_still_cost_seconds_and_tokens(runs: list[Path]) -> None:
    """An unusable reply cost its tokens, a behavioural duplicate its training."""
    with closing(sqlite3.connect(runs[0] / FILENAME)) as connection, connection:
        connection.execute("UPDATE evaluations SET status = 'unusable_reply' WHERE id = 1")
    with closing(sqlite3.connect(runs[1] / FILENAME)) as connection, connection:
        connection.execute("UPDATE evaluations SET duplicate_of = 0 WHERE id = 2")
    talker = compare(runs[:2])[0]
    assert len(talker.evaluations.bands) == 3, "neither is charged"
    tokens, seconds = talker.spent["tokens"], talker.spent["seconds"]
    assert tokens is not None and tokens.x[-1] == pytest.approx(90.0)
    assert seconds is not None and seconds.x[-1] == pytest.approx(4.0)
    half = tokens.at(0.5)  # at 45 tokens: run 0's best is still its first, 0.1
    assert half is not None and half.mean == pytest.approx(0.15)


def test_in_process_generation_counts_as_compute_seconds(runs: list[Path]) -> None:
    """A local model's generation is compute the run paid for; a malformed note is none."""
    generated = {0: 2.0, 1: 0.5, 2: "fast", 3: -1.0}
    with closing(sqlite3.connect(runs[0] / FILENAME)) as connection, connection:
        for identifier, seconds in generated.items():
            (notes,) = connection.execute(
                "SELECT notes FROM evaluations WHERE id = ?", (identifier,)
            ).fetchone()
            notes = json.dumps({**json.loads(notes), "local_generation_s": seconds})
            connection.execute("UPDATE evaluations SET notes = ? WHERE id = ?", (notes, identifier))
    talker = compare(runs[:2])[0]
    seconds = talker.spent["seconds"]
    # run 0: [1.5, 1.0, 1.0, 0.5] + [2.0, 0.5, 0, 0] = 6.5; run 1 still 8: cut at 6.5
    assert seconds is not None and seconds.x[-1] == pytest.approx(6.5)
    report = runner.invoke(app, ["report", str(runs[0])])
    assert report.exit_code == 0, report.output
    assert "in-process generation" in report.output and "2 s" in report.output
