"""The run store: one SQLite file per run, written so that `kill -9` loses nothing completed.

Every completed evaluation is one row committed on its own; proposals are committed
together with the agent's state snapshot taken right after proposing them, and the
snapshot is replaced again once the batch has been observed. WAL journaling with
`synchronous=FULL` makes each commit durable the moment it returns, and a reader (such
as `actgym report` on a live run) never blocks the writer. A lock file keeps two
processes from driving the same run. The schema is documented in docs/agents.md.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actgym import sqlite
from actgym.search.stored_rows import StoreError, bound_reads, checked, refuse_code_in_schema
from actgym.versions import RUN_STORE_SCHEMA

UNUSABLE = "unusable_reply"
"""The status of a proposal recorded without evaluation: its notes say it holds no code."""
FILENAME = "run.sqlite"
LOCKNAME = "run.lock"
DURABILITY = sqlite.Durability.FULL
"""An evaluation costs minutes of training: once recorded it must outlive a power cut."""
READ_BUDGET_S = 120.0
"""How long a reader (report, export, compare) may spend on one store's SQL, all told."""

SCHEMA = """
CREATE TABLE IF NOT EXISTS run (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    schema_version INTEGER NOT NULL,
    agent TEXT NOT NULL,
    env_id TEXT NOT NULL,
    seed INTEGER NOT NULL,
    budget INTEGER NOT NULL,
    config TEXT NOT NULL,
    evaluation_config TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    versions TEXT NOT NULL,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    pid INTEGER NOT NULL,
    workers INTEGER NOT NULL,
    versions TEXT NOT NULL,
    started_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS proposals (
    id INTEGER PRIMARY KEY,
    batch INTEGER NOT NULL,
    source TEXT NOT NULL,
    generation INTEGER NOT NULL,
    parents TEXT NOT NULL,
    notes TEXT NOT NULL,
    fidelity TEXT NOT NULL DEFAULT 'full',
    charge REAL NOT NULL DEFAULT 1.0,
    session INTEGER NOT NULL REFERENCES sessions(id),
    proposed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS evaluations (
    id INTEGER PRIMARY KEY REFERENCES proposals(id),
    batch INTEGER NOT NULL,
    agent TEXT NOT NULL,
    env_id TEXT NOT NULL,
    env_version TEXT NOT NULL,
    scoring_version TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    seed INTEGER NOT NULL,
    task_seed INTEGER NOT NULL,
    trainer_seeds TEXT NOT NULL,
    source TEXT NOT NULL,
    program_hash TEXT,
    locality TEXT,
    program TEXT,
    behaviour TEXT,
    duplicate_of INTEGER,
    generation INTEGER NOT NULL,
    parents TEXT NOT NULL,
    notes TEXT NOT NULL,
    fidelity TEXT NOT NULL DEFAULT 'full',
    charge REAL NOT NULL DEFAULT 1.0,
    status TEXT NOT NULL,
    message TEXT NOT NULL,
    reward REAL NOT NULL,
    reward_stderr REAL,
    fit_share REAL,
    ood_loss REAL,
    id_loss REAL,
    train_loss REAL,
    flops_per_element REAL,
    families TEXT NOT NULL,
    descriptors TEXT NOT NULL,
    check_s REAL NOT NULL,
    compile_s REAL NOT NULL,
    train_s REAL NOT NULL,
    total_s REAL NOT NULL,
    cached INTEGER NOT NULL,
    wall_s REAL NOT NULL,
    versions TEXT NOT NULL,
    session INTEGER NOT NULL REFERENCES sessions(id),
    completed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS evaluations_by_reward ON evaluations(reward);
CREATE INDEX IF NOT EXISTS evaluations_by_hash ON evaluations(program_hash);
CREATE TABLE IF NOT EXISTS agent_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    batch INTEGER NOT NULL,
    phase TEXT NOT NULL CHECK (phase IN ('proposed', 'observed')),
    issued INTEGER NOT NULL,
    rng TEXT NOT NULL,
    state TEXT NOT NULL,
    saved_at TEXT NOT NULL
);
"""


def charged(row: Mapping[str, Any]) -> bool:
    """Whether an evaluation row counts against the budget (the rule `spent` applies).

    Behavioural duplicates and unusable replies are free; rows of stores from before
    deduplication have no `duplicate_of` and are all charged, as they were.
    """
    return row.get("duplicate_of") is None and row["status"] != UNUSABLE


def charge(row: Mapping[str, Any]) -> float:
    """What an evaluation row cost the budget, in full evaluations (0 if free)."""
    return float(row.get("charge", 1.0)) if charged(row) else 0.0


def full_fidelity(row: Mapping[str, Any]) -> bool:
    """Whether a row's reward may rank: only full-fidelity ones do (older rows all are)."""
    return row.get("fidelity", "full") == "full"


@dataclass(frozen=True)
class Snapshot:
    """The agent as of a batch boundary: `phase` says whether `batch` was observed yet."""

    batch: int
    phase: str
    issued: int
    rng: dict[str, Any]
    state: dict[str, Any]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


class RunStore:
    """A run's SQLite file; `writer=True` takes the directory's lock for this process."""

    def __init__(self, directory: Path | str, *, writer: bool = False) -> None:
        self.directory = Path(directory)
        self.path = self.directory / FILENAME
        self._lock: int | None = None
        if writer:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._lock = _take_lock(self.directory / LOCKNAME)
        elif not self.path.exists():
            raise StoreError(f"no run store in {self.directory} (expected {FILENAME})")
        try:
            self.connection = sqlite.connect(self.path, DURABILITY, timeout_s=30.0)
        except sqlite3.DatabaseError as error:  # not SQLite: refused before anything is read
            self._unlock()
            raise _unreadable(self.path, error) from None
        try:
            self.connection.execute("PRAGMA trusted_schema = OFF")
            if not writer:
                bound_reads(self.connection, READ_BUDGET_S)
            refuse_code_in_schema(self.connection)
            if writer:
                with self.transaction() as connection:
                    sqlite.execute_each(connection, SCHEMA)
                    _add_missing_columns(connection)
        except (StoreError, sqlite3.DatabaseError) as error:
            self.close()
            raise _unreadable(self.path, error) from None

    def close(self) -> None:
        self.connection.close()
        self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            os.close(self._lock)
            self._lock = None

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        """All statements inside commit together or not at all."""
        return sqlite.transaction(self.connection)

    # -- the run ------------------------------------------------------------------------

    def run(self) -> dict[str, Any] | None:
        try:
            self.connection.execute("SELECT 1 FROM run LIMIT 0")
        except sqlite3.OperationalError:  # an empty file: the schema was never written
            return None
        rows = self._read("run", "SELECT * FROM run")
        return rows[0] if rows else None

    def create_run(self, row: Mapping[str, Any]) -> None:
        with self.transaction() as connection:
            _insert(connection, "run", {"id": 1, "schema_version": RUN_STORE_SCHEMA, **row})

    def start_session(self, workers: int, versions: Mapping[str, str]) -> int:
        with self.transaction() as connection:
            cursor = _insert(
                connection,
                "sessions",
                {"pid": os.getpid(), "workers": workers, "versions": to_json(versions)},
                started_at=now(),
            )
        return int(cursor.lastrowid or 0)

    def extend_budget(self, budget: int, config: str) -> None:
        """A resumed run given a larger budget: store it, and the run is unfinished again."""
        with self.transaction() as connection:
            connection.execute(
                "UPDATE run SET budget = ?, config = ?, finished_at = NULL WHERE id = 1",
                (budget, config),
            )

    def mark_finished(self) -> None:
        with self.transaction() as connection:
            connection.execute("UPDATE run SET finished_at = ? WHERE id = 1", (now(),))

    # -- proposals, evaluations and the agent --------------------------------------------

    def record_proposals(self, rows: Sequence[Mapping[str, Any]], snapshot: Snapshot) -> None:
        """A batch's proposals and the agent's state after proposing them, atomically."""
        with self.transaction() as connection:
            for row in rows:
                _insert(connection, "proposals", row, proposed_at=now())
            _save_snapshot(connection, snapshot)

    def record_evaluation(self, row: Mapping[str, Any]) -> None:
        """One completed evaluation; a second row for the same id is refused."""
        with self.transaction() as connection:
            _insert(connection, "evaluations", row, completed_at=now())

    def save_snapshot(
        self, snapshot: Snapshot, duplicates: Mapping[int, int] | None = None
    ) -> None:
        """The agent's state, and which evaluations duplicate an earlier one's behaviour."""
        marks = [(original, identifier) for identifier, original in (duplicates or {}).items()]
        with self.transaction() as connection:
            connection.executemany("UPDATE evaluations SET duplicate_of = ? WHERE id = ?", marks)
            _save_snapshot(connection, snapshot)

    def snapshot(self) -> Snapshot | None:
        rows = self._read("agent_state", "SELECT * FROM agent_state")
        if not rows:
            return None
        if len(rows) > 1:
            raise StoreError(f"{self.path} holds {len(rows)} agent states; a run has one")
        (row,) = rows
        return Snapshot(
            batch=row["batch"],
            phase=row["phase"],
            issued=row["issued"],
            rng=json.loads(row["rng"]),
            state=json.loads(row["state"]),
        )

    def proposals(self, batch: int | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT * FROM proposals", ()
        if batch is not None:
            query, args = query + " WHERE batch = ?", (batch,)
        return self._read("proposals", query + " ORDER BY id", args)

    def evaluations(self, batch: int | None = None) -> list[dict[str, Any]]:
        query, args = "SELECT * FROM evaluations", ()
        if batch is not None:
            query, args = query + " WHERE batch = ?", (batch,)
        return self._read("evaluations", query + " ORDER BY id", args)

    def _read(self, table: str, query: str, args: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """The rows, each checked (actgym.search.stored_rows); StoreError if any is not sound."""
        try:
            return [checked(table, row) for row in self.connection.execute(query, args)]
        except sqlite3.DatabaseError as error:
            raise _unreadable(self.path, error) from None

    def count(self) -> int:
        return int(self.connection.execute("SELECT COUNT(*) FROM evaluations").fetchone()[0])

    def duplicate_count(self) -> int:
        """Evaluations marked as behavioural duplicates: they are not charged to the budget."""
        query = "SELECT COUNT(*) FROM evaluations WHERE duplicate_of IS NOT NULL"
        return int(self.connection.execute(query).fetchone()[0])

    def issued_charge(self) -> float:
        """The charges of every proposal issued, evaluated yet or not, in full evaluations."""
        query = "SELECT COALESCE(SUM(charge), 0) FROM proposals"
        return float(self.connection.execute(query).fetchone()[0])

    def spent(self) -> float:
        """The budget used, in full evaluations: the issued proposals' charges less those
        of behavioural duplicates and unusable replies, which are free."""
        query = (
            "SELECT COALESCE(SUM(charge), 0) FROM evaluations"
            " WHERE duplicate_of IS NOT NULL OR status = ?"
        )
        free = float(self.connection.execute(query, (UNUSABLE,)).fetchone()[0])
        return self.issued_charge() - free

    def first_by_behaviour(self, before_batch: int) -> dict[tuple[str, str], int]:
        """The first evaluation id of each (fidelity, behaviour) seen in the batches before
        `before_batch`: a full evaluation of a screened behaviour is no duplicate."""
        rows = self.connection.execute(
            "SELECT fidelity, behaviour, MIN(id) FROM evaluations"
            " WHERE behaviour IS NOT NULL AND batch < ? GROUP BY fidelity, behaviour",
            (before_batch,),
        )
        return {(row[0], row[1]): int(row[2]) for row in rows}


def _insert(
    connection: sqlite3.Connection, table: str, row: Mapping[str, Any], **extra: Any
) -> sqlite3.Cursor:
    values = {**row, **extra}
    columns = ", ".join(values)
    marks = ", ".join("?" for _ in values)
    return connection.execute(
        f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(values.values())
    )


def _save_snapshot(connection: sqlite3.Connection, snapshot: Snapshot) -> None:
    connection.execute(
        "INSERT OR REPLACE INTO agent_state (id, batch, phase, issued, rng, state, saved_at)"
        " VALUES (1, ?, ?, ?, ?, ?, ?)",
        (
            snapshot.batch,
            snapshot.phase,
            snapshot.issued,
            to_json(snapshot.rng),
            to_json(snapshot.state),
            now(),
        ),
    )


def _unreadable(path: Path, error: Exception) -> StoreError:
    if isinstance(error, StoreError):
        return StoreError(f"{path} is not a usable run store: {error}")
    if "interrupted" in str(error):
        return StoreError(f"{path}: reading took over {READ_BUDGET_S:g} s and was stopped")
    return StoreError(f"{path} is not a usable run store ({type(error).__name__}: {error})")


def _take_lock(path: Path) -> int:
    handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(handle)
        raise StoreError(
            f"another process is running a search in {path.parent}; wait for it or stop it"
        ) from None
    return handle


FIDELITY_COLUMNS = (
    ("fidelity", "TEXT NOT NULL DEFAULT 'full'"),
    ("charge", "REAL NOT NULL DEFAULT 1.0"),
)
ADDED_COLUMNS = {
    "evaluations": (
        *(("reward_stderr", "REAL"), ("fit_share", "REAL"), ("locality", "TEXT")),
        *(("behaviour", "TEXT"), ("duplicate_of", "INTEGER")),
        *FIDELITY_COLUMNS,
    ),
    "proposals": FIDELITY_COLUMNS,
}


def _add_missing_columns(connection: sqlite3.Connection) -> None:
    """Older stores gain the columns added since, left NULL or at their default.

    Schema 1 (before 2026-11-29) lacks reward_stderr, fit_share and locality; any store
    before behavioural deduplication lacks behaviour and duplicate_of (an old run's
    evaluations are then all charged, as they were); schema 2 lacks fidelity and charge
    (its rows are all full fidelity, charged 1).
    """
    for table, columns in ADDED_COLUMNS.items():
        present = {row["name"] for row in connection.execute(f"PRAGMA table_info({table})")}
        for column, kind in columns:
            if column not in present:
                connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
