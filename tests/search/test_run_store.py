"""The run store: schema, WAL durability, all-or-nothing writes, one writer at a time."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fakes import stored_count

from actgym.search.store import FILENAME, SCHEMA, RunStore, Snapshot, StoreError
from actgym.versions import RUN_STORE_SCHEMA

RUN = {
    "agent": "random",
    "env_id": "ActSearch-Harmonics-v0",
    "seed": 0,
    "budget": 4,
    "config": "{}",
    "evaluation_config": "{}",
    "fingerprint": "f",
    "versions": "{}",
    "created_at": "now",
}
SNAPSHOT = Snapshot(batch=0, phase="proposed", issued=2, rng={"state": 1}, state={"k": [1]})


def proposal(identifier: int, session: int) -> dict[str, Any]:
    return {
        "id": identifier,
        "batch": 0,
        "source": f"# {identifier}",
        "generation": 0,
        "parents": "[]",
        "notes": "{}",
        "session": session,
    }


def evaluation(identifier: int, session: int) -> dict[str, Any]:
    row = {**proposal(identifier, session), "status": "ok", "message": "", "reward": 0.5}
    constants = {"agent": "random", "env_id": "e", "env_version": "v0", "scoring_version": "0"}
    numbers = dict.fromkeys(("check_s", "compile_s", "train_s", "total_s", "wall_s"), 1.0)
    return {
        **row,
        **constants,
        **numbers,
        "fingerprint": "f",
        "seed": 0,
        "task_seed": 0,
        "trainer_seeds": "[0]",
        "families": "{}",
        "descriptors": "{}",
        "cached": 0,
        "versions": "{}",
    }


@pytest.fixture
def store(tmp_path: Path) -> Iterator[RunStore]:
    opened = RunStore(tmp_path, writer=True)
    opened.create_run(RUN)
    yield opened
    opened.close()


def test_schema_tables_columns_and_pragmas(store: RunStore) -> None:
    tables = {
        row[0]
        for row in store.connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
    }
    assert {"run", "sessions", "proposals", "evaluations", "agent_state"} <= tables
    columns = {row[1] for row in store.connection.execute("PRAGMA table_info(evaluations)")}
    wanted = {"source", "program_hash", "program", "agent", "generation", "parents", "notes"}
    wanted |= {"reward", "status", "message", "ood_loss", "id_loss", "train_loss", "families"}
    wanted |= {"flops_per_element", "descriptors", "check_s", "compile_s", "train_s", "wall_s"}
    wanted |= {"env_id", "env_version", "seed", "task_seed", "trainer_seeds", "versions"}
    assert wanted <= columns
    assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert store.run()["schema_version"] == RUN_STORE_SCHEMA


def test_a_schema_1_store_gains_the_new_columns(tmp_path: Path) -> None:
    old_schema = SCHEMA.replace("    reward_stderr REAL,\n", "")
    old_schema = old_schema.replace("    fit_share REAL,\n", "").replace("    locality TEXT,\n", "")
    old_schema = old_schema.replace("    behaviour TEXT,\n    duplicate_of INTEGER,\n", "")
    assert "behaviour" not in old_schema and "fit_share" not in old_schema
    with sqlite3.connect(tmp_path / FILENAME) as connection:
        connection.executescript(old_schema)
    with RunStore(tmp_path, writer=True) as store:
        columns = {row[1] for row in store.connection.execute("PRAGMA table_info(evaluations)")}
    assert {"reward_stderr", "fit_share", "locality", "behaviour", "duplicate_of"} <= columns


def test_a_schema_2_store_reads_as_full_fidelity_charged_one_each(tmp_path: Path) -> None:
    fidelity_columns = (
        "    fidelity TEXT NOT NULL DEFAULT 'full',\n    charge REAL NOT NULL DEFAULT 1.0,\n"
    )
    old_schema = SCHEMA.replace(fidelity_columns, "")
    assert "charge" not in old_schema
    with closing(sqlite3.connect(tmp_path / FILENAME)) as connection, connection:
        connection.executescript(old_schema)
        connection.execute("INSERT INTO sessions VALUES (1, 1, 1, '{}', 'now')")
        for identifier in range(3):
            row = evaluation(identifier, 1)
            for table, values in (("proposals", proposal(identifier, 1)), ("evaluations", row)):
                stamp = "proposed_at" if table == "proposals" else "completed_at"
                names = ", ".join([*values, stamp])
                marks = ", ".join("?" for _ in range(len(values) + 1))
                connection.execute(
                    f"INSERT INTO {table} ({names}) VALUES ({marks})", (*values.values(), "now")
                )
    with RunStore(tmp_path, writer=True) as store:
        rows = store.evaluations()
        assert {(row["fidelity"], row["charge"]) for row in rows} == {("full", 1.0)}
        assert store.spent() == 3.0 and store.issued_charge() == 3.0


def test_proposals_and_snapshot_commit_together_or_not_at_all(store: RunStore) -> None:
    session = store.start_session(1, {})
    duplicate = [proposal(0, session), proposal(0, session)]
    with pytest.raises(sqlite3.IntegrityError):
        store.record_proposals(duplicate, SNAPSHOT)
    assert store.proposals() == [] and store.snapshot() is None
    store.record_proposals([proposal(0, session), proposal(1, session)], SNAPSHOT)
    assert [row["id"] for row in store.proposals(batch=0)] == [0, 1]
    assert store.snapshot() == SNAPSHOT


def test_an_evaluation_is_stored_once_and_only_for_a_proposal(store: RunStore) -> None:
    session = store.start_session(1, {})
    store.record_proposals([proposal(0, session)], SNAPSHOT)
    store.record_evaluation(evaluation(0, session))
    with pytest.raises(sqlite3.IntegrityError):
        store.record_evaluation(evaluation(0, session))
    with pytest.raises(sqlite3.IntegrityError):
        store.record_evaluation(evaluation(1, session))  # never proposed
    assert store.count() == 1 and store.evaluations()[0]["completed_at"]


def test_one_writer_many_readers(store: RunStore, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="another process"):
        RunStore(tmp_path, writer=True)
    with RunStore(tmp_path) as reader:
        assert reader.run()["agent"] == "random"
    with pytest.raises(StoreError, match="no run store"):
        RunStore(tmp_path / "elsewhere")


WRITER = textwrap.dedent(
    """
    import sys
    from actgym.search.store import RunStore, Snapshot
    from test_run_store import RUN, evaluation, proposal

    store = RunStore(sys.argv[1], writer=True)
    store.create_run({**RUN, "budget": 10**6})
    session = store.start_session(1, {})
    for identifier in range(10**6):
        snapshot = Snapshot(identifier, "proposed", identifier + 1, {}, {"n": identifier})
        store.record_proposals([proposal(identifier, session)], snapshot)
        store.record_evaluation(evaluation(identifier, session))
    """
)


def test_sigkill_while_writing_leaves_a_consistent_store(tmp_path: Path) -> None:
    here = Path(__file__).parent
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(here), str(here.parent)])}
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path)], env=environment)
    deadline = time.monotonic() + 60
    while not (tmp_path / FILENAME).exists() or stored_count(tmp_path) < 50:
        assert writer.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    with RunStore(tmp_path, writer=True) as store:
        assert store.connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        evaluated = [row["id"] for row in store.evaluations()]
        proposed = [row["id"] for row in store.proposals()]
        snapshot = store.snapshot()
    assert evaluated == list(range(len(evaluated))) and len(evaluated) >= 50
    assert proposed == list(range(len(proposed)))
    assert len(proposed) - len(evaluated) in (0, 1)
    assert snapshot is not None and snapshot.issued == len(proposed)
