"""A run store is untrusted input: report, export and resume refuse a tampered one clearly,
in bounded time, and never pass its text to the terminal as markup or escapes."""

from __future__ import annotations

import dataclasses
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Sequence
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from fakes import FakeBackend
from typer.testing import CliRunner

from actgym.agent import Agent, History, Proposal
from actgym.cache import JsonCache
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.cli import app
from actgym.config import EvaluationConfig
from actgym.evaluation import Evaluator
from actgym.search import run_search
from actgym.search.report import program_values
from actgym.search.store import FILENAME

runner = CliRunner()
THIS = Path(__file__).stem
READERS = (["report"], ["export", "--out", "-"])


class Steps(Agent):
    """Numbered sources, with the notes an LLM agent stores."""

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        return [
            Proposal(
                f"def activation_function(x):\n    return x * {len(history) + index}\n",
                notes={"name": f"step {len(history) + index}"},
            )
            for index in range(count)
        ]


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("clean")
    config = {"agent": f"{THIS}:Steps", "budget": 4, "proposals_per_call": 2}
    run_search(directory, config, backend_factory=FakeBackend().factory(), show_progress=False)
    return directory


def _tampered(clean_run: Path, tmp_path: Path, *statements: str) -> Path:
    directory = tmp_path / "run"
    shutil.copytree(clean_run, directory)
    with closing(sqlite3.connect(directory / FILENAME)) as connection:
        for statement in statements:
            connection.execute(statement)
        connection.commit()
    return directory


def _refused(directory: Path, *expected: str) -> None:
    """Every reader exits 2 naming the fault, in a subprocess that may not hang."""
    for command in READERS:
        finished = subprocess.run(
            [sys.executable, "-c", "from actgym.cli import app; app()", *command, str(directory)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        output = finished.stdout + finished.stderr
        assert finished.returncode == 2, output
        assert "Traceback" not in output
        for text in expected:
            assert text in " ".join(output.split()), output


DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        (f"UPDATE evaluations SET program = '{DEEP}' WHERE id = 1", "program is not JSON"),
        (
            """UPDATE evaluations SET families = '{"Harmonics": 3}' WHERE id = 0""",
            "families is not the JSON dict",
        ),
        ("UPDATE evaluations SET notes = '[1, 2]' WHERE id = 1", "notes is not the JSON dict"),
        ("UPDATE evaluations SET notes = '{\"a\": NaN}' WHERE id = 1", "notes is not JSON"),
        ("UPDATE evaluations SET reward = 'high' WHERE id = 2", "reward holds str"),
        ("UPDATE evaluations SET reward = 9e999 WHERE id = 2", "reward holds inf"),
        (
            """UPDATE evaluations SET notes = '{"prompt_tokens": 1e999}' WHERE id = 1""",
            "notes is not JSON of finite numbers",
        ),
        ("UPDATE run SET config = '\"x\"'", "config is not the JSON dict"),
    ],
)
def test_a_malformed_row_is_named_by_every_reader(
    clean_run: Path, tmp_path: Path, statement: str, expected: str
) -> None:
    _refused(_tampered(clean_run, tmp_path, statement), expected)


def test_a_deeply_nested_value_is_refused_past_the_bound_before_python_recursion(
    clean_run: Path, tmp_path: Path
) -> None:
    nested = "[" * 70 + "]" * 70  # parses fine, deeper than any value actgym writes
    directory = _tampered(
        clean_run, tmp_path, f"UPDATE evaluations SET notes = '{{\"a\": {nested}}}' WHERE id = 1"
    )
    _refused(directory, "nests deeper than 64 levels")


ENDLESS = (
    "CREATE VIEW evaluations AS WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n)"
    " SELECT * FROM copied, n"
)


def test_an_endless_view_in_place_of_a_table_is_refused_without_reading_it(
    clean_run: Path, tmp_path: Path
) -> None:
    directory = _tampered(clean_run, tmp_path, "ALTER TABLE evaluations RENAME TO copied", ENDLESS)
    _refused(directory, "holds a view ('evaluations')", "tables only")


def test_a_virtual_table_is_refused_whatever_its_stored_text_says(
    clean_run: Path, tmp_path: Path
) -> None:
    directory = _tampered(clean_run, tmp_path, "CREATE VIRTUAL TABLE words USING fts5(text)")
    with closing(sqlite3.connect(directory / FILENAME)) as connection:  # disguise its kind
        connection.execute("PRAGMA writable_schema = ON")
        connection.execute(
            "UPDATE sqlite_master SET sql = 'CREATE /* plain */ VIRTUAL TABLE words"
            " USING fts5(text)' WHERE name = 'words'"
        )
        connection.commit()
    _refused(directory, "('words", "a run store is tables only")  # or its shadow tables


@pytest.mark.parametrize(
    "statement",
    [
        "CREATE TRIGGER spy AFTER INSERT ON evaluations BEGIN DELETE FROM proposals; END",
        "ALTER TABLE evaluations ADD COLUMN big BLOB AS (zeroblob(1000000000))",
    ],
)
def test_code_in_the_schema_is_refused_by_readers_and_by_resume(
    clean_run: Path, tmp_path: Path, statement: str
) -> None:
    directory = _tampered(clean_run, tmp_path, statement)
    _refused(directory, "not a usable run store")
    resumed = runner.invoke(
        app, ["search", "--out", str(directory), "--resume", "--agent", f"{THIS}:Steps"]
    )
    assert resumed.exit_code != 0 and "not a usable run store" in resumed.output
    with closing(sqlite3.connect(directory / FILENAME)) as connection:
        assert connection.execute("SELECT COUNT(*) FROM proposals").fetchone()[0] == 4


def test_a_file_that_is_not_sqlite_is_refused_by_readers_and_by_resume(tmp_path: Path) -> None:
    directory = tmp_path / "run"
    directory.mkdir()
    garbage = b"not a database, though it sits where one should" * 20
    (directory / FILENAME).write_bytes(garbage)
    _refused(directory, "not a usable run store", "file is not a database")
    for _ in range(2):  # the refused writer let go of the run lock: no "another process"
        resumed = runner.invoke(
            app, ["search", "--out", str(directory), "--resume", "--agent", f"{THIS}:Steps"]
        )
        assert resumed.exit_code == 2 and "not a usable run store" in resumed.output
    assert (directory / FILENAME).read_bytes() == garbage


def test_stored_text_reaches_the_terminal_as_plain_text(clean_run: Path, tmp_path: Path) -> None:
    markup = "[link=https://attacker.example]click[/link]"
    escape = "\x1b]0;pwned\x07\x1b[2J"
    directory = _tampered(
        clean_run,
        tmp_path,
        f"UPDATE run SET agent = '{markup}{escape}'",
        "UPDATE evaluations SET source = 'def activation_function(x):' || char(10) ||"
        f" '    return x  # {escape}', status = 'ok', reward = 5.0 WHERE id = 3",
        f"UPDATE evaluations SET status = '{markup}' WHERE id = 2",
    )
    result = runner.invoke(app, ["report", str(directory)])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\x07" not in result.output
    assert markup in result.output  # shown as written, never followed
    assert "\\u001b]0;pwned" in result.output  # the source's escape, spelled out
    best = (directory / "best.py").read_text()
    assert best.count("\n") == 2 and best.splitlines()[0].startswith("# Best of a [link=")


def test_the_report_evaluates_no_stored_program_past_the_flop_budget(tmp_path: Path) -> None:
    """Checked under a relaxed budget and stored: the report refuses to run it in-process."""
    config = EvaluationConfig.fast(families=("Harmonics",))
    relaxed = dataclasses.replace(
        config, limits=dataclasses.replace(config.limits, flops_budget=1e9)
    )
    source = (
        "import jax.numpy as jnp\n\ndef activation_function(x):\n"
        "    for step in range(200):\n        x = jnp.sin(x) + step\n    return x\n"
    )
    checker = Evaluator(relaxed, cache=JsonCache(tmp_path))
    try:
        program = checker.check(source)
    finally:
        checker.close()
    assert program.flops_per_element > config.limits.flops_budget
    with pytest.raises(CandidateRejected) as refused:
        program_values(program.data, np.linspace(-5, 5, 801, dtype=np.float32))
    assert refused.value.reason is Reason.COST_OVER_BUDGET


def test_a_stored_agent_state_that_does_not_restore_stops_resume_with_a_clear_error(
    clean_run: Path, tmp_path: Path
) -> None:
    directory = _tampered(
        clean_run, tmp_path, """UPDATE agent_state SET rng = '{"bit_generator": "MT19937"}'"""
    )
    resumed = runner.invoke(
        app, ["search", "--out", str(directory), "--resume", "--agent", f"{THIS}:Steps"]
    )
    assert resumed.exit_code != 0
    assert "the stored agent state does not restore" in " ".join(resumed.output.split())
    assert "Traceback" not in resumed.output
