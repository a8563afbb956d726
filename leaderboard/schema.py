"""What a leaderboard file holds before its first submission: the tables and the references.

Opening a store brings a leaderboard file to the current layout (added columns, older rows NULL)
and refuses, before changing anything, a file written under another schema version or by another
program (a run store given as --db must not grow leaderboard tables). The reference activations of
`actgym.references` are seeded as submissions, so they are queued and scored like any.
"""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing

from actgym.leaderboard.records import author_key

from actgym import sqlite
from actgym.references import REFERENCE_EXPRESSIONS, REFERENCES
from actgym.versions import LEADERBOARD_SCHEMA

REFERENCE_AUTHOR = "actgym (reference)"
REFERENCE_NAMES: dict[str, str] = {
    "relu": "ReLU",
    "gelu": "GELU",
    "silu": "SiLU (Swish)",
    "tanh": "tanh",
    "elu": "ELU",
    "snake": "Snake",
    "gelu_sine": "GELUSine",
    "gelu_sinc": "GELU-Sinc",
    "gmtu": "GMTU",
}
"""Display names of the references; one missing here is shown under its key."""

TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    author TEXT NOT NULL,
    author_key TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    agent TEXT,
    model TEXT,
    run TEXT,
    source TEXT NOT NULL,
    reference TEXT UNIQUE,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS submissions_by_author ON submissions (author_key, created_at);
CREATE TABLE IF NOT EXISTS environments (
    id INTEGER PRIMARY KEY,
    version TEXT NOT NULL,
    profile TEXT NOT NULL,
    profile_json TEXT NOT NULL,
    details_json TEXT NOT NULL,
    started_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS verifications (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    version TEXT NOT NULL,
    profile TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed')),
    reason TEXT,
    message TEXT,
    program_hash TEXT,
    program_json TEXT,
    flops_per_element REAL,
    locality TEXT,
    transfer_json TEXT,
    duplicate_of INTEGER REFERENCES submissions (id),
    environment_id INTEGER REFERENCES environments (id),
    attempts INTEGER NOT NULL DEFAULT 0,
    queued_at REAL NOT NULL,
    started_at REAL,
    finished_at REAL,
    owner TEXT,
    PRIMARY KEY (submission_id, version, profile)
);
CREATE INDEX IF NOT EXISTS verifications_by_state ON verifications (version, profile, state);
CREATE TABLE IF NOT EXISTS programs (
    version TEXT NOT NULL,
    profile TEXT NOT NULL,
    program_hash TEXT NOT NULL,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    PRIMARY KEY (version, profile, program_hash)
);
CREATE TABLE IF NOT EXISTS behaviours (
    version TEXT NOT NULL,
    profile TEXT NOT NULL,
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    outputs BLOB NOT NULL,
    PRIMARY KEY (version, profile, submission_id)
);
CREATE TABLE IF NOT EXISTS results (
    submission_id INTEGER NOT NULL REFERENCES submissions (id),
    version TEXT NOT NULL,
    profile TEXT NOT NULL,
    seed_set TEXT NOT NULL CHECK (seed_set IN ('public', 'hidden')),
    seed_index INTEGER NOT NULL,
    family TEXT NOT NULL,
    instance_index INTEGER NOT NULL,
    instance TEXT NOT NULL,
    train_seed INTEGER NOT NULL,
    train_loss REAL NOT NULL,
    id_loss REAL NOT NULL,
    ood_loss REAL NOT NULL,
    PRIMARY KEY (
        submission_id, version, profile, seed_set, seed_index, family, instance_index, train_seed
    )
);
CREATE TABLE IF NOT EXISTS tokens (
    token_id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL,
    salt BLOB NOT NULL,
    digest BLOB NOT NULL,
    created_at REAL NOT NULL,
    revoked_at REAL
);
CREATE UNIQUE INDEX IF NOT EXISTS live_token_by_name ON tokens (name_key) WHERE revoked_at IS NULL;
"""


ADDED_COLUMNS: dict[tuple[str, str], str] = {
    ("verifications", "owner"): "TEXT",  # before verifiers could share a database
    ("verifications", "locality"): "TEXT",  # before the probe measured locality: NULL
    ("verifications", "transfer_json"): "TEXT",  # before downstream transfer: NULL
}
"""Columns a file of this schema version may lack: opening adds them, older rows NULL."""


class LeaderboardFileError(RuntimeError):
    """The file cannot be opened as a leaderboard; the message says why."""


def refuse_unusable(connection: sqlite3.Connection) -> None:
    """Refuse another program's database, another schema version or a table missing a
    column, on a connection that has changed nothing yet (not even the journal mode)."""
    tables = _table_names(connection)
    if not tables:
        return
    version = _stored_version(connection, tables)
    if version is None:  # every leaderboard file has had one since the first
        raise LeaderboardFileError(
            f"it holds tables ({', '.join(sorted(tables))}) but no leaderboard schema version:"
            " another program's database, left as it was"
        )
    if version != LEADERBOARD_SCHEMA:
        raise LeaderboardFileError(
            f"leaderboard schema {version} is not {LEADERBOARD_SCHEMA}; export and re-import"
        )
    with closing(sqlite3.connect(":memory:")) as reference:
        sqlite.execute_each(reference, TABLES)
        for table in sorted(_table_names(reference) & tables):
            missing = {
                column
                for column in _columns(reference, table) - _columns(connection, table)
                if (table, column) not in ADDED_COLUMNS
            }
            if missing:
                named = ", ".join(sorted(missing))
                raise LeaderboardFileError(f"table {table} lacks columns {named}")


def prepare(connection: sqlite3.Connection) -> None:
    """Create or migrate the tables and seed the references, inside the open transaction,
    on a file `refuse_unusable` has passed."""
    sqlite.execute_each(connection, TABLES)
    for (table, column), kind in ADDED_COLUMNS.items():
        if column not in _columns(connection, table):
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    connection.execute(
        "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
        (LEADERBOARD_SCHEMA,),
    )
    _seed_references(connection)


def _table_names(connection: sqlite3.Connection) -> set[str]:
    query = "SELECT name FROM sqlite_master WHERE type = 'table'"
    return {row[0] for row in connection.execute(query)}


def _columns(connection: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}


def _stored_version(connection: sqlite3.Connection, tables: set[str]) -> str | None:
    if "meta" not in tables or not {"key", "value"} <= _columns(connection, "meta"):
        return None
    found = connection.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if found is None else str(found[0])


def _seed_references(connection: sqlite3.Connection) -> None:
    for key, source in REFERENCES.items():
        connection.execute(
            "INSERT OR IGNORE INTO submissions (name, author, author_key, description, source,"
            " reference, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                REFERENCE_NAMES.get(key, key),
                REFERENCE_AUTHOR,
                author_key(REFERENCE_AUTHOR),
                f"Reference activation: {REFERENCE_EXPRESSIONS[key]}",
                source,
                key,
                time.time(),
            ),
        )
