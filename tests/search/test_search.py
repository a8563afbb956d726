"""`actgym search`: exact budgets, exact resumption after a kill, refusals that explain.

The crash-point tests use a fake backend to cover every gap between two commits; the
SIGKILL test runs the real command (two worker processes, real training) and kills it.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import fakes
import psutil
import pytest
from fakes import Crash, FakeBackend, stored_count
from typer.testing import CliRunner

from actgym.cli import app
from actgym.config import EvaluationConfig
from actgym.search import ConfigError, run_search
from actgym.search.records import to_evaluations
from actgym.search.store import FILENAME, RunStore, StoreError

ACTGYM = shutil.which("actgym", path=str(Path(sys.executable).parent))
CLIMBER = {"agent": "fakes:Climber", "budget": 10, "proposals_per_call": 4, "seed": 7}
KILLED = {"agent": "random", "budget": 10, "seed": 3, "proposals_per_call": 4, "num_instances": 1}
AGENT_COLUMNS = ("id", "batch", "source", "generation", "parents", "notes", "status", "reward")
runner = CliRunner()


@pytest.fixture(autouse=True)
def no_crash() -> None:
    fakes.CRASH_AT.update(propose=None, observe=None)


def rows(directory: Path, columns: tuple[str, ...] = AGENT_COLUMNS) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(directory / FILENAME)) as connection:
        connection.row_factory = sqlite3.Row
        found = connection.execute("SELECT * FROM evaluations ORDER BY id").fetchall()
    return [{column: row[column] for column in columns} for row in found]


def fake_search(directory: Path, config: dict[str, Any], backend: FakeBackend, **kwargs: Any):
    return run_search(
        directory, config, backend_factory=backend.factory(), show_progress=False, **kwargs
    )


def test_a_run_spends_exactly_its_budget_in_batches(tmp_path: Path) -> None:
    result = fake_search(tmp_path, CLIMBER, FakeBackend())
    found = rows(tmp_path)
    assert result.completed == 10 and not result.stopped_early
    assert [row["id"] for row in found] == list(range(10))
    assert [row["batch"] for row in found] == [0] * 4 + [1] * 4 + [2] * 2
    assert {row["status"] for row in found} == {"ok", "policy_violation"}
    assert result.best is not None and result.best.reward == max(r["reward"] for r in found)


def test_agents_see_the_result_record_as_stored(tmp_path: Path) -> None:
    result = fake_search(tmp_path, {**CLIMBER, "budget": 4}, FakeBackend())
    with RunStore(tmp_path) as store:
        evaluations = to_evaluations(store.evaluations())
    accepted = [evaluation for evaluation in evaluations if evaluation.ok]
    assert accepted and len(accepted) < len(evaluations), "both kinds are checked"
    assert {(e.reward_stderr, e.fit_share) for e in accepted} == {(0.125, 0.75)}
    assert {(e.reward_stderr, e.fit_share) for e in evaluations if not e.ok} == {(None, None)}
    assert result.best == max(accepted, key=lambda evaluation: evaluation.reward)


CRASH_POINTS = [("evaluate", k) for k in (0, 1, 3, 4, 5, 8, 9)] + [
    ("propose", 1),
    ("propose", 2),
    ("observe", 0),
    ("observe", 2),
]


@pytest.mark.parametrize(("where", "when"), CRASH_POINTS)
def test_a_crashed_run_resumes_exactly_as_if_never_stopped(
    tmp_path: Path, where: str, when: int
) -> None:
    fake_search(tmp_path / "reference", CLIMBER, FakeBackend())
    first = FakeBackend(crash_after=when if where == "evaluate" else None)
    if where != "evaluate":
        fakes.CRASH_AT[where] = when
    with pytest.raises(Crash):
        fake_search(tmp_path / "run", CLIMBER, first)
    fakes.CRASH_AT.update(propose=None, observe=None)
    second = FakeBackend()
    fake_search(tmp_path / "run", {"agent": CLIMBER["agent"]}, second, resume=True)
    assert rows(tmp_path / "run") == rows(tmp_path / "reference")
    evaluated = first.evaluated + second.evaluated
    assert sorted(evaluated) == list(range(10)), "each proposal evaluated exactly once"


def test_resuming_a_finished_run_evaluates_nothing(tmp_path: Path) -> None:
    fake_search(tmp_path, CLIMBER, FakeBackend())
    again = FakeBackend()
    fake_search(tmp_path, {"agent": CLIMBER["agent"], "budget": 10}, again, resume=True)
    assert again.evaluated == [] and len(rows(tmp_path)) == 10


def test_a_larger_budget_extends_a_finished_run(tmp_path: Path) -> None:
    fake_search(tmp_path, CLIMBER, FakeBackend())
    before = rows(tmp_path)
    more = FakeBackend()
    result = fake_search(tmp_path, {"agent": CLIMBER["agent"], "budget": 14}, more, resume=True)
    assert more.evaluated == [10, 11, 12, 13] and rows(tmp_path)[:10] == before
    assert (result.completed, result.config.budget, result.stopped_early) == (14, 14, False)
    with RunStore(tmp_path) as store:
        run = store.run()
    assert run["budget"] == 14 and run["finished_at"] is not None
    assert '"budget":14' in run["config"]
    again = FakeBackend()
    fake_search(tmp_path, {"agent": CLIMBER["agent"]}, again, resume=True)
    assert again.evaluated == [], "the extended budget is the stored one"


def test_random_agent_resumed_with_a_larger_budget_continues(tmp_path: Path) -> None:
    start = ["search", "--out", str(tmp_path), "--agent", "random", "--fast", "--quiet"]
    small = ["--budget", "2", "--proposals-per-call", "2", "--num-instances", "1", "--seed", "5"]
    first = runner.invoke(app, [*start, *small])
    assert first.exit_code == 0 and first.output.startswith("2/2 evaluations"), first.output
    resumed = runner.invoke(app, ["search", "--out", str(tmp_path), "--resume", "--budget", "3"])
    assert resumed.exit_code == 0, resumed.output
    assert "budget extended from 2 to 3" in resumed.output
    found = rows(tmp_path)
    assert [row["id"] for row in found] == [0, 1, 2] and found[2]["batch"] == 1
    assert "3/3 evaluations" in " ".join(resumed.output.split())


def test_a_run_scored_under_another_scoring_version_is_not_resumed(tmp_path: Path) -> None:
    fake_search(tmp_path, {**CLIMBER, "budget": 4}, FakeBackend())
    with closing(sqlite3.connect(tmp_path / FILENAME)) as connection, connection:
        connection.execute("UPDATE evaluations SET scoring_version = 'old'")
    again = FakeBackend()
    with pytest.raises(StoreError, match="scored under scoring version old"):
        fake_search(tmp_path, {}, again, resume=True)
    assert again.evaluated == [] and len(rows(tmp_path)) == 4


def test_a_run_stored_under_the_old_key_names_resumes_and_compares_its_evaluation(
    tmp_path: Path,
) -> None:
    fake_search(tmp_path, {**CLIMBER, "budget": 4, "fast": True}, FakeBackend())
    stored = {
        "agent": CLIMBER["agent"],
        "env": "ActSearch-Harmonics-v0",
        "budget": 4,
        "seed": 7,
        "batch_size": 4,
        "fast": True,
        "instances": None,
        "task_seed": 0,
        "trainer": {},
        "agent_options": {},
    }
    with closing(sqlite3.connect(tmp_path / FILENAME)) as connection, connection:
        connection.execute("UPDATE run SET config = ?", (json.dumps(stored),))
    with pytest.raises(ConfigError, match=r"evaluation trainer: .*steps=600.*steps=100"):
        fake_search(tmp_path, {"trainer": {"steps": 100}}, FakeBackend(), resume=True)
    resumed = {"agent": CLIMBER["agent"], "budget": 6}
    result = fake_search(tmp_path, resumed, FakeBackend(), resume=True)
    assert result.completed == 6 and result.config.proposals_per_call == 4
    assert result.config.evaluation == EvaluationConfig.fast()


def test_refusals_explain_themselves(tmp_path: Path) -> None:
    fake_search(tmp_path / "run", {**CLIMBER, "budget": 4}, FakeBackend())
    out = str(tmp_path / "run")
    config = tmp_path / "other.toml"
    config.write_text('env = "ActSearch-Poly1D-v0"\nseed = 7\n')
    cases = {
        ("--out", out, "--budget", "3", "--resume"): "budget: stored 4, given 3",
        ("--out", out, "--budget", "9", "--seed", "1", "--resume"): "seed: stored 7, given 1",
        ("--out", out, "--config", str(config), "--resume"): "env: stored 'ActSearch-Harm",
        ("--out", out, "--agent", "fakes:Climber"): "already holds a run",
        ("--out", str(tmp_path / "empty"), "--resume"): "nothing to resume",
        (
            "--out",
            str(tmp_path / "new"),
            "--proposals-per-call",
            "0",
        ): "proposals_per_call must be an int >= 1",
        ("--out", str(tmp_path / "new"), "--agent", "nope"): "unknown agent 'nope'; available:",
        ("--budget", "3"): "give the run directory with --out",
    }
    for arguments, message in cases.items():
        result = runner.invoke(app, ["search", *arguments])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split()), result.output
    assert len(rows(tmp_path / "run")) == 4


def test_a_second_process_cannot_drive_the_same_run(tmp_path: Path) -> None:
    from actgym.search.store import RunStore

    with RunStore(tmp_path, writer=True), pytest.raises(StoreError, match="another process"):
        fake_search(tmp_path, CLIMBER, FakeBackend())


def test_sigkill_mid_search_then_resume_loses_and_repeats_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    options = [f"--{key.replace('_', '-')}={value}" for key, value in KILLED.items()]
    command = [ACTGYM, "search", "--out", str(out), "--fast", *options]
    search = subprocess.Popen([*command, "--workers", "2", "--quiet"], stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while stored_count(out) < 3:
        assert search.poll() is None, "the search ended before it could be killed"
        assert time.monotonic() < deadline, "no evaluations stored in time"
        time.sleep(0.2)
    children = psutil.Process(search.pid).children(recursive=True)
    os.kill(search.pid, signal.SIGKILL)
    search.wait()
    before = rows(out)
    _, alive = psutil.wait_procs(children, timeout=30)
    assert not alive, f"processes outlived the killed search: {alive}"
    assert 3 <= len(before) < 10

    resumed = subprocess.run(
        [ACTGYM, "search", "--out", str(out), "--resume", "--quiet"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    after = rows(out)
    assert [row["id"] for row in after] == list(range(10))
    assert all(after[row["id"]] == row for row in before), "a stored evaluation changed"
    fake_search(tmp_path / "expected", {**KILLED, "fast": True}, FakeBackend())
    expected = [row["source"] for row in rows(tmp_path / "expected")]
    assert [row["source"] for row in after] == expected, "proposals differ from a clean run"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--budget", "0"), "budget must be an int >= 1"),
        (("--env", "ActSearch-Nope-v0"), "unknown env 'ActSearch-Nope-v0'; choose from"),
        (("--resume",), "nothing to resume"),
    ],
)
def test_a_refused_search_leaves_no_files(
    tmp_path: Path, arguments: tuple[str, ...], message: str
) -> None:
    existing, fresh = tmp_path / "existing", tmp_path / "fresh"
    existing.mkdir()
    for out in (existing, fresh):
        result = runner.invoke(app, ["search", "--out", str(out), *arguments])
        assert result.exit_code == 2, result.output
        assert message in " ".join(result.output.split()), result.output
    assert list(existing.iterdir()) == [], "a refused search wrote into the run directory"
    assert not fresh.exists(), "a refused search left the directory it made"


@pytest.mark.parametrize(
    ("evaluation", "message"),
    [
        ('num_instances = "4"', "EvaluationConfig.num_instances must be an integer, not str"),
        ("trainer = 5", "EvaluationConfig.trainer must be a table, not int"),
        ("limits = { cpu_seconds = -1 }", "CandidateLimits.cpu_seconds must be positive"),
    ],
)
def test_a_mistyped_evaluation_table_is_refused_by_name(
    tmp_path: Path, evaluation: str, message: str
) -> None:
    config = tmp_path / "search.toml"
    config.write_text(f'agent = "random"\n[evaluation]\n{evaluation}\n')
    out = tmp_path / "run"
    result = runner.invoke(app, ["search", "--out", str(out), "--config", str(config)])
    assert result.exit_code == 2, result.output
    assert "bad evaluation settings" in result.output
    assert message in " ".join(result.output.split()), result.output
    assert not out.exists(), "a refused search left the directory it made"


def test_env_names_ignore_case(tmp_path: Path) -> None:
    """Only the budget is refused, so the lower-case env id was understood."""
    result = runner.invoke(
        app, ["search", "--out", str(tmp_path), "--env", "actsearch-poly1d-v0", "--budget", "0"]
    )
    assert result.exit_code == 2
    assert "budget must be" in result.output and "unknown env" not in result.output


def test_quiet_search_prints_only_the_summary_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import actgym.search

    def faked(*args: Any, **kwargs: Any) -> Any:
        return run_search(*args, **kwargs, backend_factory=FakeBackend().factory())

    monkeypatch.setattr(actgym.search, "run_search", faked)
    arguments = ["--out", str(tmp_path), "--agent", "fakes:Climber", "--budget", "4"]
    result = runner.invoke(app, ["search", *arguments, "--quiet"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("4/4 evaluations; best reward"), lines
    assert (tmp_path / "summary.json").exists(), "quiet still writes the report files"
