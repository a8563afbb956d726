"""Submissions and the canonical programs that make later copies duplicates.

Submissions are immutable rows. A program hash is per `Board` (hashes depend on the
layer width): the first submission to claim one owns it there, and every later copy is
a duplicate of that owner.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from actgym.leaderboard.database import Database
from actgym.leaderboard.rate_limit import RateLimit, enforce_rate_limit
from actgym.leaderboard.records import Board, NewSubmission, author_key, public_submission


class Duplicate(Exception):
    """The submitted function is already on the board, as submission `of`."""

    def __init__(self, of: int, name: str) -> None:
        self.of = of
        self.name = name
        super().__init__(f"duplicate of #{of} ({name})")


class Submissions:
    """The `submissions` and `programs` tables."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def add(
        self,
        new: NewSubmission,
        *,
        rate_limit: RateLimit | None = None,
        now: float | None = None,
        program: tuple[Board, str] | None = None,
    ) -> int:
        """Insert a submission; raise RateLimited if its author is over the limit.

        With `program` (a board and the source's canonical hash there), a program the board
        already knows raises Duplicate and nothing is stored; a new one is claimed for this
        submission in the same transaction, so two copies sent at once cannot both enter.
        """
        now = time.time() if now is None else now
        key = author_key(new.author)
        with self.database.transaction() as connection:
            if program is not None:
                _refuse_duplicate(connection, *program)
            if rate_limit is not None:
                enforce_rate_limit(connection, new.author, key, rate_limit, now)
            cursor = connection.execute(
                "INSERT INTO submissions (name, author, author_key, description, agent, model,"
                " run, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.name,
                    new.author,
                    key,
                    new.description,
                    new.agent,
                    new.model,
                    new.run,
                    new.source,
                    now,
                ),
            )
            submission_id = int(cursor.lastrowid or 0)
            if program is not None:
                board, program_hash = program
                connection.execute(
                    "INSERT INTO programs (version, profile, program_hash, submission_id)"
                    " VALUES (?, ?, ?, ?)",
                    (*board.key, program_hash, submission_id),
                )
            return submission_id

    def check_rate_limit(self, author: str, limit: RateLimit, now: float | None = None) -> None:
        """Raise RateLimited if `author` is over `limit`: asked before any work on a
        submission (`add` asks again, in its transaction, for submitters racing)."""
        now = time.time() if now is None else now
        with self.database.transaction("DEFERRED") as connection:
            enforce_rate_limit(connection, author, author_key(author), limit, now)

    def get(self, submission_id: int) -> dict[str, Any] | None:
        """The submission as the public sees it (no author key), None if there is none."""
        row = self.database.row("SELECT * FROM submissions WHERE id = ?", (submission_id,))
        return public_submission(row) if row else None

    def ids(self) -> list[int]:
        rows = self.database.rows("SELECT id FROM submissions ORDER BY id")
        return [int(row["id"]) for row in rows]

    def count(self) -> int:
        (row,) = self.database.rows("SELECT COUNT(*) FROM submissions")
        return int(row[0])

    def references(self) -> dict[int, str]:
        """The seeded reference activations: submission id -> source."""
        rows = self.database.rows(
            "SELECT id, source FROM submissions WHERE reference IS NOT NULL ORDER BY id"
        )
        return {int(row["id"]): str(row["source"]) for row in rows}

    def program_owners(self, board: Board) -> set[int]:
        """Submissions that own a canonical program on `board`."""
        rows = self.database.rows(
            "SELECT submission_id FROM programs WHERE version = ? AND profile = ?", board.key
        )
        return {int(row["submission_id"]) for row in rows}

    def claim_program(self, board: Board, program_hash: str, submission_id: int) -> int:
        """The submission that owns this canonical program on `board`: the first to claim it."""
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO programs (version, profile, program_hash, submission_id)"
                " VALUES (?, ?, ?, ?)",
                (*board.key, program_hash, submission_id),
            )
            row = connection.execute(
                "SELECT submission_id FROM programs WHERE version = ? AND profile = ?"
                " AND program_hash = ?",
                (*board.key, program_hash),
            ).fetchone()
        return int(row["submission_id"])


def _refuse_duplicate(connection: sqlite3.Connection, board: Board, program_hash: str) -> None:
    row = connection.execute(
        "SELECT s.id, s.name FROM programs AS p JOIN submissions AS s ON s.id = p.submission_id"
        " WHERE p.version = ? AND p.profile = ? AND p.program_hash = ?",
        (*board.key, program_hash),
    ).fetchone()
    if row is not None:
        raise Duplicate(int(row["id"]), str(row["name"]))
