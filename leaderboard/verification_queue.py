"""The verification queue: which submission a verifier takes next, and how its lease ends.

Queue state is per `Board` (env version, profile), so a new version or profile starts
every submission over as pending without touching old scores. A claim is a lease held
by one verifier (`host:pid`): several verifiers can share a database, a lease that runs
past LEASE_S is taken over, and a submission whose verification was interrupted
MAX_ATTEMPTS times fails as `verifier_crashed` instead of stopping the queue. No state is
final for the machine's faults: `requeue` puts failed verifications back.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
from dataclasses import asdict
from typing import Any

from actgym.leaderboard.database import Database
from actgym.leaderboard.records import Board, Claim, Verdict

from actgym.candidate.reasons import Reason
from actgym.candidate.untrusted_text import sanitise

MAX_ATTEMPTS = 3
"""A submission whose verification was interrupted this often fails as `verifier_crashed`."""
INTERNAL_ERROR = "internal_error"
DUPLICATE = "duplicate"
"""The same function as a submission that claimed it first (`duplicate_of`)."""
VERIFIER_CRASHED = "verifier_crashed"
MACHINE_FAILURES = frozenset(
    {Reason.PROCESS_DIED.value, Reason.WORKER_CRASHED.value, INTERNAL_ERROR, VERIFIER_CRASHED}
)
"""Failures the machine may have caused, not the submission: their function is released for a
resubmission, and `actgym leaderboard requeue --failed-infrastructure` queues them again."""
LEASE_S = 3600.0
"""A verification still running this long after its claim is taken over by another verifier."""
MAX_STORED_MESSAGE_CHARS = 2_000
"""Messages are public: stored sanitised, so no candidate-chosen text can fail a write."""


class VerificationQueue:
    """The `verifications` table's states, and `finish`, which also writes the results."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def verification(self, board: Board, submission_id: int) -> dict[str, Any]:
        """The submission's verification on `board`; `pending` until a verifier queues it."""
        row = self.database.row(
            "SELECT * FROM verifications WHERE submission_id = ? AND version = ? AND profile = ?",
            (submission_id, *board.key),
        )
        if row is None:
            return {"state": "pending", "attempts": 0}
        return dict(row)

    def reset_running(self, board: Board) -> int:
        """At verifier start: rows whose verifier died go back to pending (or fail after
        MAX_ATTEMPTS). Rows of verifiers that still run, here or on other hosts, are left to
        them; a row whose owner cannot be checked is taken over when its lease expires."""
        with self.database.transaction() as connection:
            running = connection.execute(
                "SELECT submission_id, owner FROM verifications"
                " WHERE version = ? AND profile = ? AND state = 'running'",
                board.key,
            ).fetchall()
            orphans = [row["submission_id"] for row in running if _owner_is_gone(row["owner"])]
            _fail_exhausted(connection, board, orphans)
            cursor = connection.executemany(
                "UPDATE verifications SET state = 'pending', started_at = NULL, owner = NULL"
                " WHERE submission_id = ? AND version = ? AND profile = ? AND state = 'running'",
                [(submission_id, *board.key) for submission_id in orphans],
            )
            return cursor.rowcount

    def claim(
        self,
        board: Board,
        environment_id: int | None,
        *,
        owner: str | None = None,
        lease_s: float = LEASE_S,
    ) -> Claim | None:
        """Queue every submission new to `board`, then take the next one (references first).

        Pending rows are taken, and so are running rows whose lease expired (their verifier
        is gone or stuck), so several verifiers can share one database.
        """
        now = time.time()
        owner = owner or verifier_identity()
        with self.database.transaction() as connection:
            connection.execute(
                "INSERT INTO verifications (submission_id, version, profile, state, queued_at)"
                " SELECT id, ?, ?, 'pending', ? FROM submissions AS s WHERE NOT EXISTS"
                " (SELECT 1 FROM verifications AS v WHERE v.submission_id = s.id"
                " AND v.version = ? AND v.profile = ?)",
                (*board.key, now, *board.key),
            )
            expired = [
                row["submission_id"]
                for row in connection.execute(
                    "SELECT submission_id FROM verifications WHERE version = ? AND profile = ?"
                    " AND state = 'running' AND started_at < ?",
                    (*board.key, now - lease_s),
                )
            ]
            _fail_exhausted(connection, board, expired)
            row = connection.execute(
                "SELECT s.id, s.source, s.reference, v.attempts FROM verifications AS v"
                " JOIN submissions AS s"
                " ON s.id = v.submission_id WHERE v.version = ? AND v.profile = ?"
                " AND (v.state = 'pending' OR (v.state = 'running' AND v.started_at < ?))"
                " ORDER BY s.reference IS NULL, s.id LIMIT 1",
                (*board.key, now - lease_s),
            ).fetchone()
            if row is None:
                return None
            connection.execute(
                "UPDATE verifications SET state = 'running', started_at = ?,"
                " attempts = attempts + 1, environment_id = ?, owner = ?"
                " WHERE submission_id = ? AND version = ? AND profile = ?",
                (now, environment_id, owner, row["id"], *board.key),
            )
            return Claim(
                submission_id=int(row["id"]),
                source=str(row["source"]),
                owner=owner,
                reference=row["reference"],
                attempt=int(row["attempts"]) + 1,
            )

    def release(self, board: Board, submission_id: int) -> None:
        """Put a claim back as it was: the verifier could not run it, not the submission's fault."""
        with self.database.transaction() as connection:
            connection.execute(
                "UPDATE verifications SET state = 'pending', started_at = NULL, owner = NULL,"
                " attempts = MAX(attempts - 1, 0) WHERE submission_id = ? AND version = ?"
                " AND profile = ? AND state = 'running'",
                (submission_id, *board.key),
            )

    def retry_later(self, board: Board, submission_id: int, *, owner: str | None = None) -> None:
        """Put a claim back as pending, its attempt counted: it failed in a way that may
        pass next time (e.g. the verifier raised), and `claim` stops after MAX_ATTEMPTS."""
        with self.database.transaction() as connection:
            connection.execute(
                "UPDATE verifications SET state = 'pending', started_at = NULL, owner = NULL"
                " WHERE submission_id = ? AND version = ? AND profile = ? AND state = 'running'"
                " AND (? IS NULL OR owner = ?)",
                (submission_id, *board.key, owner, owner),
            )

    def requeue(self, board: Board, submission_ids: list[int]) -> list[int]:
        """Failed verifications among `submission_ids` back to pending with no attempts, no
        results and no function claimed (the verifier claims it again); the ids requeued.
        Submissions failed as their duplicates are queued again too (not among the ids)."""
        with self.database.transaction() as connection:
            failed = [
                submission_id
                for submission_id in submission_ids
                if connection.execute(
                    "SELECT 1 FROM verifications WHERE submission_id = ? AND version = ?"
                    " AND profile = ? AND state = 'failed'",
                    (submission_id, *board.key),
                ).fetchone()
            ]
            for submission_id in failed:
                _back_to_pending(connection, board, submission_id)
                _release_function(connection, board, submission_id)
        return failed

    def failed(self, board: Board, reasons: frozenset[str] | None = None) -> list[dict[str, Any]]:
        """Failed verifications on `board` (with one of `reasons`, if given), by id."""
        rows = self.database.dicts(
            "SELECT s.id, s.name, s.reference, v.reason FROM verifications AS v"
            " JOIN submissions AS s ON s.id = v.submission_id"
            " WHERE v.version = ? AND v.profile = ? AND v.state = 'failed' ORDER BY s.id",
            board.key,
        )
        return [row for row in rows if reasons is None or row["reason"] in reasons]

    def finish(
        self, board: Board, submission_id: int, outcome: Verdict, *, owner: str | None = None
    ) -> bool:
        """Record an outcome; result rows replace any from an interrupted earlier attempt.

        With `owner`, only the holder of a running lease may finish, so a verification
        ends once: a verifier whose lease another took over records nothing (False). A
        failure the machine may have caused gives up the submission's function, so sending
        the same function again is not refused as a duplicate of a failure; a duplicate
        verdict naming an owner that has since given its function up goes back to pending.
        """
        key = (submission_id, *board.key)
        with self.database.transaction() as connection:
            if owner is not None:
                held = connection.execute(
                    "SELECT 1 FROM verifications WHERE submission_id = ? AND version = ?"
                    " AND profile = ? AND state = 'running' AND owner = ?",
                    (*key, owner),
                ).fetchone()
                if held is None:
                    return False
            if outcome.reason == DUPLICATE and not _owns_a_function(
                connection, board, outcome.duplicate_of
            ):
                _back_to_pending(connection, board, submission_id)
                return True
            connection.execute(
                "DELETE FROM results WHERE submission_id = ? AND version = ? AND profile = ?", key
            )
            connection.executemany(
                "INSERT INTO results (submission_id, version, profile, seed_set, seed_index,"
                " family, instance_index, instance, train_seed, train_loss, id_loss, ood_loss)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(*key, *asdict(row).values()) for row in outcome.rows],
            )
            connection.execute(
                "UPDATE verifications SET state = ?, reason = ?, message = ?, program_hash = ?,"
                " program_json = ?, flops_per_element = ?, locality = ?, transfer_json = ?,"
                " duplicate_of = ?, finished_at = ?"
                " WHERE submission_id = ? AND version = ? AND profile = ?",
                (
                    outcome.state,
                    outcome.reason,
                    sanitise(outcome.message, limit=MAX_STORED_MESSAGE_CHARS),
                    outcome.program_hash,
                    outcome.program_json,
                    outcome.flops_per_element,
                    outcome.locality,
                    outcome.transfer_json,
                    outcome.duplicate_of,
                    time.time(),
                    *key,
                ),
            )
            if outcome.state == "failed" and outcome.reason in MACHINE_FAILURES:
                _release_function(connection, board, submission_id)
        return True

    def unranked(self, board: Board, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent submissions not (yet) verified `done` on `board` (pending, running
        or failed), newest first."""
        return self.database.dicts(
            "SELECT s.id, s.name, s.author, s.created_at, COALESCE(v.state, 'pending')"
            " AS state, v.reason, v.message, v.duplicate_of FROM submissions AS s"
            " LEFT JOIN verifications AS v ON v.submission_id = s.id AND v.version = ?"
            " AND v.profile = ? WHERE v.state IS NULL OR v.state != 'done'"
            " ORDER BY s.id DESC LIMIT ?",
            (*board.key, limit),
        )

    def waiting(self, board: Board) -> list[dict[str, Any]]:
        """Submissions a verifier of `board` has still to finish (references first)."""
        return self.database.dicts(
            "SELECT s.id, s.name, s.reference FROM submissions AS s"
            " LEFT JOIN verifications AS v ON v.submission_id = s.id AND v.version = ?"
            " AND v.profile = ? WHERE v.state IS NULL OR v.state IN ('pending', 'running')"
            " ORDER BY s.reference IS NULL, s.id",
            board.key,
        )


def verifier_identity() -> str:
    """Who holds a claim: this host and process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_is_gone(owner: str | None) -> bool:
    """True when the owner ran on this host and its process no longer exists."""
    host, _, pid = (owner or "").rpartition(":")
    if owner is None or host != socket.gethostname() or not pid.isdigit():
        return owner is None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _fail_exhausted(
    connection: sqlite3.Connection, board: Board, submission_ids: list[int]
) -> None:
    """Running rows among `submission_ids` that used up their attempts end as failed."""
    for submission_id in submission_ids:
        cursor = connection.execute(
            "UPDATE verifications SET state = 'failed', reason = ?, message = ?,"
            " finished_at = ?, owner = NULL WHERE submission_id = ? AND version = ?"
            " AND profile = ? AND state = 'running' AND attempts >= ?",
            (
                VERIFIER_CRASHED,
                f"The verifier stopped {MAX_ATTEMPTS} times while scoring this submission.",
                time.time(),
                submission_id,
                *board.key,
                MAX_ATTEMPTS,
            ),
        )
        if cursor.rowcount:
            _release_function(connection, board, submission_id)


def _release_function(connection: sqlite3.Connection, board: Board, submission_id: int) -> None:
    """The submission no longer owns a function on `board`: a copy sent later is new, and
    copies already failed as its duplicates are queued again (the first to be verified
    claims the function). A reference keeps its function: its rewrites stay duplicates of
    it, and requeued, it claims it again."""
    reference = connection.execute(
        "SELECT 1 FROM submissions WHERE id = ? AND reference IS NOT NULL", (submission_id,)
    ).fetchone()
    if reference is not None:
        return
    for table in ("programs", "behaviours"):
        connection.execute(
            f"DELETE FROM {table} WHERE version = ? AND profile = ? AND submission_id = ?",
            (*board.key, submission_id),
        )
    copies = connection.execute(
        "SELECT submission_id FROM verifications WHERE version = ? AND profile = ?"
        " AND state = 'failed' AND reason = ? AND duplicate_of = ?",
        (*board.key, DUPLICATE, submission_id),
    ).fetchall()
    for (copy,) in copies:
        _back_to_pending(connection, board, int(copy))


def _owns_a_function(connection: sqlite3.Connection, board: Board, owner: int | None) -> bool:
    return owner is not None and any(
        connection.execute(
            f"SELECT 1 FROM {table} WHERE version = ? AND profile = ? AND submission_id = ?",
            (*board.key, owner),
        ).fetchone()
        for table in ("programs", "behaviours")
    )


def _back_to_pending(connection: sqlite3.Connection, board: Board, submission_id: int) -> None:
    """The verification as if never run: pending, no attempts, no results."""
    key = (submission_id, *board.key)
    connection.execute(
        "DELETE FROM results WHERE submission_id = ? AND version = ? AND profile = ?", key
    )
    connection.execute(
        "UPDATE verifications SET state = 'pending', reason = NULL, message = NULL,"
        " program_hash = NULL, program_json = NULL, flops_per_element = NULL,"
        " locality = NULL, transfer_json = NULL, duplicate_of = NULL, attempts = 0,"
        " started_at = NULL, finished_at = NULL, owner = NULL, queued_at = ?"
        " WHERE submission_id = ? AND version = ? AND profile = ?",
        (time.time(), *key),
    )
