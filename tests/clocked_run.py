"""A real finished benchmark run whose clock is then set by hand, for the scripts that read
time out of run stores (benchmarks/agents/proposal_seconds.py and pauses.py)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

START = datetime(2026, 1, 1, tzinfo=UTC)
ARGV = ["--agents", "random", "--envs", "ActSearch-Harmonics-v0", "--fast", "--instances", "1"]
ARGV += ["--budget", "8", "--batch-size", "2", "--seeds", "0"]
CLOCK = {0: (0, 50), 1: (110, 150), 2: (220, 250), 3: (1250, 1300)}
"""Seconds after START at which each batch was proposed and completed: gaps of 60 s and
70 s between batches, then a 1000 s pause."""


def at(offset_s: float) -> datetime:
    return START + timedelta(seconds=offset_s)


def stamp(offset_s: float) -> str:
    return at(offset_s).isoformat(timespec="milliseconds")


def clocked_run(out: Path, main: Callable[[Sequence[str]], None]) -> Path:
    """Run the benchmark `main` (4 batches of 2) into `out`, set its session to START and
    its batches to CLOCK, and return its store's path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACTGYM_XLA_CACHE", "0")
        main([*ARGV, "--out", str(out)])
    path = out / "random" / "ActSearch-Harmonics-v0" / "seed-0" / "run.sqlite"
    with sqlite3.connect(path) as connection:
        counts = dict(connection.execute("select batch, count(*) from evaluations group by batch"))
        assert counts == {0: 2, 1: 2, 2: 2, 3: 2}
        assert connection.execute("select count(*) from sessions").fetchone()[0] == 1
        connection.execute("update sessions set started_at = ?", (stamp(0),))
        for batch, (proposed, completed) in CLOCK.items():
            connection.execute(
                "update proposals set proposed_at = ? where batch = ?", (stamp(proposed), batch)
            )
            connection.execute(
                "update evaluations set completed_at = ? where batch = ?",
                (stamp(completed), batch),
            )
    return path
