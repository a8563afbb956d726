"""Logged pauses taken out of compute seconds, for `run.py --pauses LOG`.

A benchmark stopped with SIGSTOP (to free the cores for a while) keeps counting wall
time: every evaluation in flight records the pause in its `wall_s`. Log each pause as
two lines, `<ISO 8601 time with offset> STOP` and `<ISO 8601 time with offset> CONT`,
and the compute-seconds currency leaves them out.

An evaluation ran somewhere in its span: from its proposal (or its session's start, if
later: a batch resumed after a restart) to its completion. A logged pause covering P of
that span's E seconds takes the same share out of its wall: `wall_s * (1 - P / E)`.
That is exact when the evaluation's chunk ran the whole span (one chunk per batch, as
with one worker), and an estimate when chunks queued behind each other.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from actgym import sqlite
from actgym.search.compare import Currency, compute_seconds, currencies
from actgym.search.store import FILENAME

Window = tuple[datetime, datetime]
RowKey = tuple[str, str, int, int]
"""An evaluation across a benchmark's runs: (agent, env_id, seed, id)."""
SPANS = """
SELECT e.agent, e.env_id, e.seed, e.id, e.wall_s, p.proposed_at, s.started_at, e.completed_at
FROM evaluations e
JOIN proposals p ON p.id = e.id
JOIN sessions s ON s.id = e.session
"""
STILL_PAUSED = datetime.max.replace(tzinfo=UTC)


class PauseLogError(ValueError):
    """The pause log cannot be read as STOP and CONT lines in time order."""


def read_windows(path: Path) -> list[Window]:
    """The pauses in a log, in order; a final STOP without CONT is a pause still going on.

    A STOP while stopped or a CONT while running changes nothing (a pause script may
    send both to be sure); a line that is not `<time> STOP|CONT`, or a time before the
    line above it, is refused by its line number.
    """
    windows: list[Window] = []
    stopped_at: datetime | None = None
    previous: datetime | None = None
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise PauseLogError(f"cannot read the pause log {path}: {error}") from None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        at, signal = _parse(line, f"{path}:{number}")
        if previous is not None and at < previous:
            raise PauseLogError(f"{path}:{number}: {at.isoformat()} is before the line above")
        previous = at
        if signal == "STOP" and stopped_at is None:
            stopped_at = at
        elif signal == "CONT" and stopped_at is not None:
            windows.append((stopped_at, at))
            stopped_at = None
    if stopped_at is not None:
        windows.append((stopped_at, STILL_PAUSED))
    return windows


def _parse(line: str, where: str) -> tuple[datetime, str]:
    fields = line.split()
    if len(fields) != 2 or fields[1] not in ("STOP", "CONT"):
        raise PauseLogError(f"{where}: expected '<ISO time> STOP|CONT', got {line[:80]!r}")
    try:
        at = datetime.fromisoformat(fields[0])
    except ValueError:
        raise PauseLogError(f"{where}: {fields[0][:40]!r} is not an ISO 8601 time") from None
    if at.tzinfo is None:
        raise PauseLogError(f"{where}: {fields[0]} has no UTC offset")
    return at, fields[1]


def paused_seconds(span: Window, windows: Sequence[Window]) -> float:
    """How many seconds of `span` the windows cover (they do not overlap)."""
    start, end = span
    return sum(
        max(0.0, (min(end, stop) - max(start, pause)).total_seconds()) for pause, stop in windows
    )


def pause_shares(directories: Sequence[Path], windows: Sequence[Window]) -> dict[RowKey, float]:
    """Per evaluation in the runs, the seconds of its `wall_s` that were logged pauses."""
    shares: dict[RowKey, float] = {}
    for directory in directories:
        path = Path(directory) / FILENAME
        with contextlib.closing(sqlite.connect_read_only(path)) as store:
            rows = store.execute(SPANS).fetchall()
        for agent, env_id, seed, row_id, wall_s, proposed, started, completed in rows:
            key = (agent, env_id, int(seed), int(row_id))
            if key in shares:
                raise ValueError(f"{directory} repeats evaluation {key} of another run")
            start = max(datetime.fromisoformat(proposed), datetime.fromisoformat(started))
            end = datetime.fromisoformat(completed)
            span = (end - start).total_seconds()
            covered = paused_seconds((start, end), windows)
            shares[key] = float(wall_s) * min(1.0, covered / span) if span > 0 else 0.0
    return shares


def unpaused_currencies(shares: Mapping[RowKey, float]) -> list[Currency]:
    """`currencies()`, with compute seconds less each evaluation's logged pause share."""
    return [
        Currency(c.name, c.label, c.amount, partial(_unpaused_seconds, shares))
        if c.name == "seconds"
        else c
        for c in currencies()
    ]


def _unpaused_seconds(shares: Mapping[RowKey, float], row: Mapping[str, Any]) -> float:
    key = (row["agent"], row["env_id"], int(row["seed"]), int(row["id"]))
    return compute_seconds(row) - shares.get(key, 0.0)
