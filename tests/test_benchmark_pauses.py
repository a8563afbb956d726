"""benchmarks/agents/pauses.py: logged SIGSTOP pauses left out of compute seconds."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from benchmark_scripts import load_benchmark
from clocked_run import ARGV, at, clocked_run, stamp

bench = load_benchmark("agents/run.py", "agent_benchmark_for_pauses")
pauses = load_benchmark("agents/pauses.py", "benchmark_pauses")

WALL_S = 10.0


def write_log(path: Path, *lines: tuple[float, str]) -> Path:
    path.write_text("".join(f"{stamp(offset)} {signal}\n" for offset, signal in lines))
    return path


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real finished run of 4 batches of 2 (tests/clocked_run.py), every wall 10 s."""
    out = tmp_path_factory.mktemp("bench")
    with sqlite3.connect(clocked_run(out, bench.main)) as connection:
        connection.execute("update evaluations set wall_s = ?", (WALL_S,))
    return out


def report(out: Path, *extra: str) -> dict:
    bench.main([*ARGV, "--out", str(out), "--report-only", *extra])
    return json.loads((out / "results.json").read_text())


def test_a_pause_takes_its_share_of_the_span_out_of_each_wall_in_it(
    out: Path, tmp_path: Path
) -> None:
    # 20 s of batch 1's 40 s span (half of each of its two walls), then a pause never
    # continued that covers 40 s of batch 3's 50 s span (four fifths of each wall).
    log = write_log(tmp_path / "pauses.log", (120, "STOP"), (140, "CONT"), (1260, "STOP"))
    plain = report(out)
    paused = report(out, "--pauses", str(log))
    assert plain["results"][0]["spent"]["seconds"] == 8 * WALL_S
    assert paused["results"][0]["spent"]["seconds"] == pytest.approx(8 * WALL_S - 10 - 16)
    assert paused["pauses"] == {"log": str(log), "windows": 2, "seconds": pytest.approx(26)}
    assert plain["pauses"] is None
    assert "leave out 26 s of evaluation walls" in (out / "results.md").read_text()
    assert paused["results"][0]["best"] == plain["results"][0]["best"]


def test_pauses_outside_every_span_change_nothing(out: Path, tmp_path: Path) -> None:
    log = write_log(tmp_path / "pauses.log", (60, "STOP"), (100, "CONT"), (400, "STOP"))
    log.write_text(log.read_text() + f"{stamp(1200)} CONT\n")
    assert report(out, "--pauses", str(log))["results"][0]["spent"]["seconds"] == 8 * WALL_S


def test_repeated_signals_change_nothing_and_an_open_pause_lasts(tmp_path: Path) -> None:
    log = write_log(
        tmp_path / "pauses.log",
        (5, "CONT"),
        (10, "STOP"),
        (12, "STOP"),
        (20, "CONT"),
        (21, "CONT"),
        (30, "STOP"),
    )
    windows = pauses.read_windows(log)
    assert windows == [(at(10), at(20)), (at(30), pauses.STILL_PAUSED)]
    assert pauses.paused_seconds((at(0), at(40)), windows) == 20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("2026-01-01T00:00:00+00:00 PAUSE\n", "expected '<ISO time> STOP|CONT'"),
        ("yesterday STOP\n", "is not an ISO 8601 time"),
        ("2026-01-01T00:00:00 STOP\n", "has no UTC offset"),
        (
            "2026-01-01T00:00:10+00:00 STOP\n2026-01-01T00:00:05+00:00 CONT\n",
            "is before the line above",
        ),
        ("\udcff", "cannot read the pause log"),
    ],
)
def test_a_malformed_log_is_refused_by_its_line_before_anything_runs(
    tmp_path: Path, text: str, message: str
) -> None:
    log = tmp_path / "pauses.log"
    log.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(SystemExit) as exit_info:
        bench.main([*ARGV, "--out", str(tmp_path / "never"), "--pauses", str(log)])
    assert message in str(exit_info.value)
    assert not (tmp_path / "never").exists()
