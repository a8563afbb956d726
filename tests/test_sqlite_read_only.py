"""`sqlite.connect_read_only`: the benchmark scripts' way into a live run store."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from actgym import sqlite


@pytest.mark.parametrize("folder", ["plain", "a#b", "100%41", "with space?x=1"])
def test_it_reads_the_named_file_and_cannot_write_it(tmp_path: Path, folder: str) -> None:
    path = tmp_path / folder / "run.sqlite"
    path.parent.mkdir()
    with closing(sqlite3.connect(path)) as writer:
        writer.execute("CREATE TABLE t (x INTEGER)")
        writer.execute("INSERT INTO t VALUES (7)")
        writer.commit()
    before = sorted(p.name for p in tmp_path.rglob("*"))
    with closing(sqlite.connect_read_only(path)) as reader:
        assert reader.execute("SELECT x FROM t").fetchall() == [(7,)]
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            reader.execute("DELETE FROM t")
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no stray file created
