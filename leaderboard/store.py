"""The leaderboard's only state: one SQLite file in WAL mode, safe for many threads and processes.

Submissions are immutable rows. Everything the verifier learns is keyed by a `Board`
(env version, profile): the queue state, the program hash that makes later copies
duplicates, and per family, instance, task seed and training seed losses. A new version
or profile therefore starts every submission over as pending without touching old
scores. Every write is one IMMEDIATE transaction, so concurrent submitters and
verifiers can neither lose nor double a row. Author tokens live here too, as salted
hashes (`tokens`); they are never exported. The tables are in `schema`, the values
passed in and out in `records`.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from actgym.leaderboard import schema, tokens
from actgym.leaderboard.rate_limit import RateLimit, RateLimited, enforce_rate_limit
from actgym.leaderboard.records import (
    Board,
    Claim,
    NewSubmission,
    ResultRow,
    Verdict,
    parsed_environment,
    parsed_verification,
    public_submission,
)
from actgym.leaderboard.schema import REFERENCE_AUTHOR
from actgym.leaderboard.tokens import InvalidToken

from actgym import sqlite
from actgym.candidate.untrusted_text import sanitise
from actgym.versions import LEADERBOARD_SCHEMA

__all__ = [
    "MAX_ATTEMPTS",
    "REFERENCE_AUTHOR",
    "Board",
    "Claim",
    "Duplicate",
    "InvalidToken",
    "NewSubmission",
    "RateLimit",
    "RateLimited",
    "ResultRow",
    "Store",
    "Verdict",
]

DURABILITY = sqlite.Durability.NORMAL
"""Many short writes from requests and verifiers: a crash loses none, a power cut the last."""
MAX_ATTEMPTS = 3
"""A submission whose verification was interrupted this often fails as `verifier_crashed`."""
LEASE_S = 3600.0
"""A verification still running this long after its claim is taken over by another verifier."""
MAX_STORED_MESSAGE_CHARS = 2_000
"""Messages are public: stored sanitised, so no candidate-chosen text can fail a write."""


class Duplicate(Exception):
    """The submitted function is already on the board, as submission `of`."""

    def __init__(self, of: int, name: str) -> None:
        self.of = of
        self.name = name
        super().__init__(f"duplicate of #{of} ({name})")


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._transaction() as connection:
            schema.prepare(connection)

    # -- connections ---------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        return sqlite.connect(self.path, DURABILITY, timeout_s=60.0, any_thread=True)

    @contextmanager
    def _transaction(
        self, mode: sqlite.TransactionMode = "IMMEDIATE"
    ) -> Iterator[sqlite3.Connection]:
        """A connection of its own per transaction: IMMEDIATE writes, DEFERRED reads."""
        with closing(self._connect()) as connection, sqlite.transaction(connection, mode):
            yield connection

    # -- submissions ---------------------------------------------------------------------

    def submit(
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
        author_key = _author_key(new.author)
        with self._transaction() as connection:
            if program is not None:
                _refuse_duplicate(connection, *program)
            if rate_limit is not None:
                enforce_rate_limit(connection, new.author, author_key, rate_limit, now)
            cursor = connection.execute(
                "INSERT INTO submissions (name, author, author_key, description, agent, model,"
                " run, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    new.name,
                    new.author,
                    author_key,
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
                    (board.version, board.profile, program_hash, submission_id),
                )
            return submission_id

    def references(self) -> dict[int, str]:
        """The seeded reference activations: submission id -> source."""
        with self._transaction("DEFERRED") as connection:
            rows = connection.execute(
                "SELECT id, source FROM submissions WHERE reference IS NOT NULL ORDER BY id"
            ).fetchall()
        return {int(row["id"]): str(row["source"]) for row in rows}

    def program_owners(self, board: Board) -> set[int]:
        """Submissions that own a canonical program on `board`."""
        with self._transaction("DEFERRED") as connection:
            rows = connection.execute(
                "SELECT submission_id FROM programs WHERE version = ? AND profile = ?",
                (board.version, board.profile),
            ).fetchall()
        return {int(row["submission_id"]) for row in rows}

    def submission(self, submission_id: int) -> dict[str, Any] | None:
        with self._transaction("DEFERRED") as connection:
            row = connection.execute(
                "SELECT * FROM submissions WHERE id = ?", (submission_id,)
            ).fetchone()
        return public_submission(row) if row else None

    def submission_ids(self) -> list[int]:
        with self._transaction("DEFERRED") as connection:
            rows = connection.execute("SELECT id FROM submissions ORDER BY id").fetchall()
        return [int(row["id"]) for row in rows]

    def submission_count(self) -> int:
        with self._transaction("DEFERRED") as connection:
            return int(connection.execute("SELECT COUNT(*) FROM submissions").fetchone()[0])

    # -- author tokens -------------------------------------------------------------------

    def add_token(self, name: str) -> str:
        """Issue a token for author `name`, returned once: only its salted hash is kept."""
        name_key = _author_key(name)
        if name_key == _author_key(REFERENCE_AUTHOR):
            raise ValueError(f"{name!r} is reserved for the reference activations")
        issued = tokens.issue()
        with self._transaction() as connection:
            live = connection.execute(
                "SELECT 1 FROM tokens WHERE name_key = ? AND revoked_at IS NULL", (name_key,)
            ).fetchone()
            if live is not None:
                raise ValueError(f"{name!r} already has a token; revoke it first")
            connection.execute(
                "INSERT INTO tokens (token_id, name, name_key, salt, digest, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (issued.token_id, name, name_key, issued.salt, issued.digest, time.time()),
            )
        return issued.token

    def revoke_token(self, name: str) -> bool:
        """Revoke the author's live token; False if there was none."""
        with self._transaction() as connection:
            cursor = connection.execute(
                "UPDATE tokens SET revoked_at = ? WHERE name_key = ? AND revoked_at IS NULL",
                (time.time(), _author_key(name)),
            )
            return cursor.rowcount > 0

    def list_tokens(self) -> list[dict[str, Any]]:
        """Every token ever issued, without its hash: name, id, issue and revocation times."""
        with self._transaction("DEFERRED") as connection:
            rows = connection.execute(
                "SELECT name, token_id, created_at, revoked_at FROM tokens ORDER BY created_at"
            ).fetchall()
        return [dict(row) for row in rows]

    def token_author(self, token: str) -> str:
        """The author name a token was issued to; raise InvalidToken if it is not live."""
        token_id = tokens.token_id(token)
        with self._transaction("DEFERRED") as connection:
            row = connection.execute(
                "SELECT name, salt, digest, revoked_at FROM tokens WHERE token_id = ?",
                (token_id,),
            ).fetchone()
        if row is None or not tokens.matches(token, row["salt"], row["digest"]):
            raise InvalidToken("The author token is not valid: check that it was copied whole.")
        if row["revoked_at"] is not None:
            raise InvalidToken("The author token was revoked: ask the operator for a new one.")
        return str(row["name"])

    # -- the queue -----------------------------------------------------------------------

    def verification(self, board: Board, submission_id: int) -> dict[str, Any]:
        """The submission's verification on `board`; `pending` until a verifier queues it."""
        with self._transaction("DEFERRED") as connection:
            row = connection.execute(
                "SELECT * FROM verifications WHERE submission_id = ? AND version = ?"
                " AND profile = ?",
                (submission_id, board.version, board.profile),
            ).fetchone()
        if row is None:
            return {"state": "pending", "attempts": 0}
        return dict(row)

    def reset_running(self, board: Board) -> int:
        """At verifier start: rows whose verifier died go back to pending (or fail after
        MAX_ATTEMPTS). Rows of verifiers that still run, here or on other hosts, are left to
        them; a row whose owner cannot be checked is taken over when its lease expires."""
        scope = (board.version, board.profile)
        with self._transaction() as connection:
            running = connection.execute(
                "SELECT submission_id, owner FROM verifications"
                " WHERE version = ? AND profile = ? AND state = 'running'",
                scope,
            ).fetchall()
            orphans = [row["submission_id"] for row in running if _owner_is_gone(row["owner"])]
            _fail_exhausted(connection, scope, orphans)
            cursor = connection.executemany(
                "UPDATE verifications SET state = 'pending', started_at = NULL, owner = NULL"
                " WHERE submission_id = ? AND version = ? AND profile = ? AND state = 'running'",
                [(submission_id, *scope) for submission_id in orphans],
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
        scope = (board.version, board.profile)
        with self._transaction() as connection:
            connection.execute(
                "INSERT INTO verifications (submission_id, version, profile, state, queued_at)"
                " SELECT id, ?, ?, 'pending', ? FROM submissions AS s WHERE NOT EXISTS"
                " (SELECT 1 FROM verifications AS v WHERE v.submission_id = s.id"
                " AND v.version = ? AND v.profile = ?)",
                (*scope, now, *scope),
            )
            expired = [
                row["submission_id"]
                for row in connection.execute(
                    "SELECT submission_id FROM verifications WHERE version = ? AND profile = ?"
                    " AND state = 'running' AND started_at < ?",
                    (*scope, now - lease_s),
                )
            ]
            _fail_exhausted(connection, scope, expired)
            row = connection.execute(
                "SELECT s.id, s.source FROM verifications AS v JOIN submissions AS s"
                " ON s.id = v.submission_id WHERE v.version = ? AND v.profile = ?"
                " AND (v.state = 'pending' OR (v.state = 'running' AND v.started_at < ?))"
                " ORDER BY s.reference IS NULL, s.id LIMIT 1",
                (*scope, now - lease_s),
            ).fetchone()
            if row is None:
                return None
            connection.execute(
                "UPDATE verifications SET state = 'running', started_at = ?,"
                " attempts = attempts + 1, environment_id = ?, owner = ?"
                " WHERE submission_id = ? AND version = ? AND profile = ?",
                (now, environment_id, owner, row["id"], *scope),
            )
            return Claim(submission_id=int(row["id"]), source=str(row["source"]))

    def release(self, board: Board, submission_id: int) -> None:
        """Put a claim back as it was: the verifier could not run it, not the submission's fault."""
        with self._transaction() as connection:
            connection.execute(
                "UPDATE verifications SET state = 'pending', started_at = NULL, owner = NULL,"
                " attempts = MAX(attempts - 1, 0) WHERE submission_id = ? AND version = ?"
                " AND profile = ? AND state = 'running'",
                (submission_id, board.version, board.profile),
            )

    def claim_program(self, board: Board, program_hash: str, submission_id: int) -> int:
        """The submission that owns this canonical program on `board`: the first to claim it."""
        scope = (board.version, board.profile)
        with self._transaction() as connection:
            connection.execute(
                "INSERT OR IGNORE INTO programs (version, profile, program_hash, submission_id)"
                " VALUES (?, ?, ?, ?)",
                (*scope, program_hash, submission_id),
            )
            row = connection.execute(
                "SELECT submission_id FROM programs WHERE version = ? AND profile = ?"
                " AND program_hash = ?",
                (*scope, program_hash),
            ).fetchone()
        return int(row["submission_id"])

    def finish(self, board: Board, submission_id: int, outcome: Verdict) -> None:
        """Record an outcome; result rows replace any from an interrupted earlier attempt."""
        key = (submission_id, board.version, board.profile)
        with self._transaction() as connection:
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

    def revision(self, board: Board) -> tuple[int, float]:
        """Changes whenever a verification on `board` finishes: done count, last finish."""
        with self._transaction("DEFERRED") as connection:
            row = connection.execute(
                "SELECT COUNT(*), COALESCE(MAX(finished_at), 0) FROM verifications"
                " WHERE version = ? AND profile = ? AND state = 'done'",
                (board.version, board.profile),
            ).fetchone()
        return int(row[0]), float(row[1])

    def queue(self, board: Board, limit: int = 100) -> list[dict[str, Any]]:
        """The most recent submissions not (yet) ranked on `board`, newest first."""
        with self._transaction("DEFERRED") as connection:
            rows = connection.execute(
                "SELECT s.id, s.name, s.author, s.created_at, COALESCE(v.state, 'pending')"
                " AS state, v.reason, v.message, v.duplicate_of FROM submissions AS s"
                " LEFT JOIN verifications AS v ON v.submission_id = s.id AND v.version = ?"
                " AND v.profile = ? WHERE v.state IS NULL OR v.state != 'done'"
                " ORDER BY s.id DESC LIMIT ?",
                (board.version, board.profile, limit),
            ).fetchall()
        return [dict(row) for row in rows]

    def waiting(self, board: Board) -> list[dict[str, Any]]:
        """Submissions a verifier of `board` has still to finish (references first)."""
        with self._transaction("DEFERRED") as connection:
            rows = connection.execute(
                "SELECT s.id, s.name, s.reference FROM submissions AS s"
                " LEFT JOIN verifications AS v ON v.submission_id = s.id AND v.version = ?"
                " AND v.profile = ? WHERE v.state IS NULL OR v.state IN ('pending', 'running')"
                " ORDER BY s.reference IS NULL, s.id",
                (board.version, board.profile),
            ).fetchall()
        return [dict(row) for row in rows]

    # -- environments and results ----------------------------------------------------------

    def record_environment(
        self, board: Board, profile: dict[str, Any], details: dict[str, Any]
    ) -> int:
        with self._transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO environments (version, profile, profile_json, details_json,"
                " started_at) VALUES (?, ?, ?, ?, ?)",
                (
                    board.version,
                    board.profile,
                    json.dumps(profile, sort_keys=True),
                    json.dumps(details, sort_keys=True),
                    time.time(),
                ),
            )
            return int(cursor.lastrowid or 0)

    def environment(self, environment_id: int) -> dict[str, Any] | None:
        with self._transaction("DEFERRED") as connection:
            row = connection.execute(
                "SELECT * FROM environments WHERE id = ?", (environment_id,)
            ).fetchone()
        return parsed_environment(row) if row else None

    def done_entries(self, board: Board) -> list[dict[str, Any]]:
        """Every submission verified on `board`, with what the ranking shows beside it."""
        with self._transaction("DEFERRED") as connection:
            rows = connection.execute(
                "SELECT s.id, s.name, s.author, s.reference, v.flops_per_element,"
                " v.locality, v.transfer_json, v.program_hash FROM verifications AS v"
                " JOIN submissions AS s"
                " ON s.id = v.submission_id WHERE v.version = ? AND v.profile = ?"
                " AND v.state = 'done' ORDER BY s.id",
                (board.version, board.profile),
            ).fetchall()
        return [dict(row) for row in rows]

    def awaiting_rescore(self, board: Board) -> dict[str, int]:
        """Per other version, submissions verified there but not yet done on `board`."""
        with self._transaction("DEFERRED") as connection:
            rows = connection.execute(
                "SELECT old.version, COUNT(DISTINCT old.submission_id) FROM verifications AS old"
                " WHERE old.version != ? AND old.profile = ? AND old.state = 'done'"
                " AND NOT EXISTS (SELECT 1 FROM verifications AS v"
                " WHERE v.submission_id = old.submission_id AND v.version = ?"
                " AND v.profile = ? AND v.state IN ('done', 'failed'))"
                " GROUP BY old.version ORDER BY old.version",
                (board.version, board.profile, board.version, board.profile),
            ).fetchall()
        return {str(row[0]): int(row[1]) for row in rows}

    def results(self, board: Board) -> list[dict[str, Any]]:
        with self._transaction("DEFERRED") as connection:
            rows = connection.execute(
                "SELECT submission_id, seed_set, seed_index, family, instance_index, instance,"
                " train_seed, train_loss, id_loss, ood_loss FROM results"
                " WHERE version = ? AND profile = ?"
                " ORDER BY submission_id, seed_set, seed_index, family, instance_index,"
                " train_seed",
                (board.version, board.profile),
            ).fetchall()
        return [dict(row) for row in rows]

    # -- export --------------------------------------------------------------------------

    def export(self, board: Board | None = None) -> dict[str, Any]:
        """Everything but author tokens as JSON-ready data (all boards unless one is given)."""
        where, args = "", ()
        if board is not None:
            where, args = "WHERE version = ? AND profile = ?", (board.version, board.profile)
        with self._transaction("DEFERRED") as connection:
            submissions = connection.execute("SELECT * FROM submissions ORDER BY id").fetchall()
            environments = connection.execute(
                f"SELECT * FROM environments {where} ORDER BY id", args
            ).fetchall()
            verifications = connection.execute(
                f"SELECT * FROM verifications {where} ORDER BY version, profile, submission_id",
                args,
            ).fetchall()
            results = connection.execute(
                f"SELECT * FROM results {where} ORDER BY version, profile, submission_id,"
                " seed_set, seed_index, family, instance_index, train_seed",
                args,
            ).fetchall()
        return {
            "schema_version": LEADERBOARD_SCHEMA,
            "exported_at": time.time(),
            "submissions": [public_submission(row) for row in submissions],
            "environments": [parsed_environment(row) for row in environments],
            "verifications": [parsed_verification(row) for row in verifications],
            "results": [dict(row) for row in results],
        }


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
    connection: sqlite3.Connection, scope: tuple[str, str], submission_ids: list[int]
) -> None:
    """Running rows among `submission_ids` that used up their attempts end as failed."""
    connection.executemany(
        "UPDATE verifications SET state = 'failed', reason = 'verifier_crashed',"
        " message = ?, finished_at = ?, owner = NULL WHERE submission_id = ? AND version = ?"
        " AND profile = ? AND state = 'running' AND attempts >= ?",
        [
            (
                f"The verifier stopped {MAX_ATTEMPTS} times while scoring this submission.",
                time.time(),
                submission_id,
                *scope,
                MAX_ATTEMPTS,
            )
            for submission_id in submission_ids
        ],
    )


def _refuse_duplicate(connection: sqlite3.Connection, board: Board, program_hash: str) -> None:
    row = connection.execute(
        "SELECT s.id, s.name FROM programs AS p JOIN submissions AS s ON s.id = p.submission_id"
        " WHERE p.version = ? AND p.profile = ? AND p.program_hash = ?",
        (board.version, board.profile, program_hash),
    ).fetchone()
    if row is not None:
        raise Duplicate(int(row["id"]), str(row["name"]))


def _author_key(author: str) -> str:
    """Authors are one person whatever the case or surrounding spaces."""
    return author.strip().casefold()
