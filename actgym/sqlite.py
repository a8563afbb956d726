"""SQLite as both stores use it: WAL files, explicit durability, all-or-nothing transactions.

WAL lets readers (a report on a live run, the leaderboard's pages) run beside the one
writer. How much a commit survives is each store's own choice, so `connect` takes it as
an argument instead of hiding a default.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import Literal

TransactionMode = Literal["IMMEDIATE", "DEFERRED"]


class Durability(Enum):
    """What a returned commit survives under WAL (`PRAGMA synchronous`)."""

    FULL = "FULL"
    """A process crash and a power cut: the commit is on disk when it returns."""
    NORMAL = "NORMAL"
    """A process crash; a power cut may undo the last commits, never corrupt the file."""


def connect(
    path: Path | str, durability: Durability, *, timeout_s: float, any_thread: bool = False
) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), rows readable by name,
    foreign keys enforced, waiting up to `timeout_s` for another writer's lock."""
    connection = sqlite3.connect(
        path, timeout=timeout_s, isolation_level=None, check_same_thread=not any_thread
    )
    connection.row_factory = sqlite3.Row
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute(f"PRAGMA synchronous = {durability.value}")
    connection.execute("PRAGMA foreign_keys = ON")
    return connection


def connect_read_only(path: Path | str) -> sqlite3.Connection:
    """A connection that cannot write, for reading a store another process may be writing.
    The path goes in as a file URI, percent-encoded: a raw `#` or `%` would cut off
    `mode=ro` or name another file."""
    return sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True)


@contextmanager
def transaction(
    connection: sqlite3.Connection, mode: TransactionMode = "IMMEDIATE"
) -> Iterator[sqlite3.Connection]:
    """Statements inside commit together or not at all. IMMEDIATE takes the write lock up
    front, so a writer waits its turn instead of failing busy halfway; DEFERRED reads one
    consistent snapshot."""
    connection.execute(f"BEGIN {mode}")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def execute_each(connection: sqlite3.Connection, script: str) -> None:
    """Run a `;`-separated script inside the open transaction, which `executescript` would
    commit first."""
    for statement in script.split(";"):
        if statement.strip():
            connection.execute(statement)
