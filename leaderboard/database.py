"""The leaderboard's one SQLite file, and the transactions every table group runs in.

WAL mode, safe for many threads and processes: each transaction opens a connection of
its own, so request handlers and verifiers share nothing but the file. Every write is
one IMMEDIATE transaction, so concurrent submitters and verifiers can neither lose nor
double a row; reads are DEFERRED and see one consistent snapshot.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from actgym.leaderboard import schema

from actgym import sqlite

DURABILITY = sqlite.Durability.NORMAL
"""Many short writes from requests and verifiers: a crash loses none, a power cut the last."""


FILE_FAULTS = {
    sqlite3.SQLITE_NOTADB: "it is not an SQLite file",
    sqlite3.SQLITE_CORRUPT: "it is damaged (the database disk image is malformed)",
    sqlite3.SQLITE_CANTOPEN: "it cannot be opened (a directory, or no access)",
    sqlite3.SQLITE_READONLY: "it is read-only",
}
"""SQLite errors that are the file's fault, not a passing one (a busy lock is not here)."""


class Database:
    """Opens (creating or migrating) the file once, then hands out transactions."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=60.0)) as untouched:
                schema.refuse_unusable(untouched)
            with self.transaction() as connection:
                schema.prepare(connection)
        except sqlite3.DatabaseError as error:
            code = getattr(error, "sqlite_errorcode", None)
            if code not in FILE_FAULTS:
                raise
            reason = FILE_FAULTS[code]
        except (schema.LeaderboardFileError, OSError) as error:
            reason = str(error)
        else:
            return
        message = f"{self.path} cannot be opened as a leaderboard: {reason}"
        raise schema.LeaderboardFileError(message)

    @contextmanager
    def transaction(
        self, mode: sqlite.TransactionMode = "IMMEDIATE"
    ) -> Iterator[sqlite3.Connection]:
        """A connection of its own per transaction: IMMEDIATE writes, DEFERRED reads."""
        connection = sqlite.connect(self.path, DURABILITY, timeout_s=60.0, any_thread=True)
        with closing(connection), sqlite.transaction(connection, mode):
            yield connection

    def rows(self, query: str, parameters: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Every row of one read."""
        with self.transaction("DEFERRED") as connection:
            return connection.execute(query, parameters).fetchall()

    def dicts(self, query: str, parameters: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Every row of one read as a plain dict, as the API and the ranking take them."""
        return [dict(row) for row in self.rows(query, parameters)]

    def row(self, query: str, parameters: Sequence[Any] = ()) -> sqlite3.Row | None:
        """The first row of one read, None when there is none."""
        with self.transaction("DEFERRED") as connection:
            return connection.execute(query, parameters).fetchone()
