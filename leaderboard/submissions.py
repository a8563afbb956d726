"""Submissions, and the functions that make later copies duplicates.

Submissions are immutable rows. A function (`records.Function`) is claimed per `Board`
(hashes and outputs depend on the layer width): the first submission to claim one owns
it there, and every later submission with the same canonical program, or with the same
outputs on the probe's fixed points, is a duplicate of that owner.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

import numpy as np
from actgym.leaderboard.database import Database
from actgym.leaderboard.rate_limit import RateLimit, enforce_rate_limit
from actgym.leaderboard.records import (
    Board,
    Function,
    NewSubmission,
    author_key,
    public_submission,
)

from actgym.candidate.behaviour import same_outputs


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
        function: tuple[Board, Function] | None = None,
    ) -> int:
        """Insert a submission; raise RateLimited if its author is over the limit.

        With `function` (a board and the source's function there), a function the board
        already has raises Duplicate and nothing is stored; a new one is claimed for this
        submission in the same transaction, so two copies sent at once cannot both enter.
        """
        now = time.time() if now is None else now
        key = author_key(new.author)
        with self.database.transaction() as connection:
            if function is not None:
                _refuse_duplicate(connection, *function)
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
            if function is not None:
                _record(connection, *function, owner=submission_id)
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

    def owns_a_function(self, board: Board, submission_id: int) -> bool:
        """Whether the submission's function, outputs included, is claimed on `board`."""
        row = self.database.row(
            "SELECT 1 FROM behaviours WHERE version = ? AND profile = ? AND submission_id = ?",
            (*board.key, submission_id),
        )
        return row is not None

    def claim_function(self, board: Board, function: Function, submission_id: int) -> int:
        """The submission that owns `function` on `board`: the first to claim it.

        A later claim of the same program or the same outputs gets that first owner, and its
        own program hash is recorded for the owner too: copies of a copy name the original.
        """
        with self.database.transaction() as connection:
            found = _owner(connection, board, function)
            owner = submission_id if found is None else found[0]
            _record(connection, board, function, owner=owner)
        return owner


def _owner(
    connection: sqlite3.Connection, board: Board, function: Function
) -> tuple[int, str] | None:
    """(id, name) of the submission owning `function`'s program or outputs on `board`."""
    row = connection.execute(
        "SELECT s.id, s.name FROM programs AS p JOIN submissions AS s ON s.id = p.submission_id"
        " WHERE p.version = ? AND p.profile = ? AND p.program_hash = ?",
        (*board.key, function.program_hash),
    ).fetchone()
    if row is not None:
        return int(row["id"]), str(row["name"])
    rows = connection.execute(
        "SELECT s.id, s.name, b.outputs FROM behaviours AS b"
        " JOIN submissions AS s ON s.id = b.submission_id"
        " WHERE b.version = ? AND b.profile = ? ORDER BY s.id",
        board.key,
    ).fetchall()
    width = function.outputs.size
    known = [row for row in rows if len(row["outputs"]) == 4 * width]
    if not known:
        return None
    outputs = np.stack([np.frombuffer(row["outputs"], dtype="<f4") for row in known])
    same = [
        (int(row["id"]), str(row["name"]))
        for row, matches in zip(known, same_outputs(function.outputs, outputs), strict=True)
        if matches
    ]
    return same[0] if same else None


def _record(
    connection: sqlite3.Connection, board: Board, function: Function, *, owner: int
) -> None:
    """Point `function`'s program at `owner`; its outputs too, when it owns them."""
    connection.execute(
        "INSERT OR IGNORE INTO programs (version, profile, program_hash, submission_id)"
        " VALUES (?, ?, ?, ?)",
        (*board.key, function.program_hash, owner),
    )
    connection.execute(
        "INSERT OR IGNORE INTO behaviours (version, profile, submission_id, outputs)"
        " VALUES (?, ?, ?, ?)",
        (*board.key, owner, function.outputs.astype("<f4").tobytes()),
    )


def _refuse_duplicate(connection: sqlite3.Connection, board: Board, function: Function) -> None:
    found = _owner(connection, board, function)
    if found is not None:
        raise Duplicate(*found)
