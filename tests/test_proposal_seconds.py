"""benchmarks/agents/proposal_seconds.py: proposing seconds recovered from a run store."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from benchmark_scripts import load_benchmark
from clocked_run import clocked_run

bench = load_benchmark("agents/run.py", "agent_benchmark_for_seconds")
seconds = load_benchmark("agents/proposal_seconds.py", "proposal_seconds")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real finished run of 4 batches of 2 (tests/clocked_run.py), its walls set by hand."""
    out = tmp_path_factory.mktemp("bench")
    with sqlite3.connect(clocked_run(out, bench.main)) as connection:
        connection.execute("update evaluations set wall_s = 2.0")
        connection.execute(
            "update evaluations set wall_s = 500.0 where batch = 3 and rowid % 2 = 0"
        )
    return out


def test_gaps_between_batches_are_proposing_and_pauses_count_at_the_median(store: Path) -> None:
    (run,) = [seconds.read_run(path, 300.0) for path in store.glob("*/*/seed-*/run.sqlite")]
    # batch 3's 1000 s gap is a pause: left out, and counted at the median of the others
    assert run.kept == pytest.approx([60.0, 70.0])
    assert run.batches == 3
    assert run.proposing_s == pytest.approx(60.0 + 70.0 + 65.0)


def test_walls_far_over_the_median_count_at_it_only_in_the_sensitivity_column(
    store: Path,
) -> None:
    (path,) = store.glob("*/*/seed-*/run.sqlite")
    run = seconds.read_run(path, 300.0)
    assert run.evaluation_s == pytest.approx(7 * 2.0 + 500.0)
    assert run.evaluation_s_without_outliers(10.0) == pytest.approx(8 * 2.0)
    assert run.evaluation_s_without_outliers(1000.0) == pytest.approx(run.evaluation_s)
    table = seconds.markdown([run], 10.0)
    assert "| random | ActSearch-Harmonics-v0 | 1 | 2/3 | 65.0 |" in table
    assert "| 195 | 514 | 16 | 92.4% |" in table


def test_reading_leaves_the_store_as_it_was(store: Path) -> None:
    (path,) = store.glob("*/*/seed-*/run.sqlite")
    before = path.read_bytes()
    seconds.main([str(store)])
    assert path.read_bytes() == before


def test_a_directory_without_run_stores_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        seconds.main([str(tmp_path)])


@pytest.mark.parametrize("content", [b"", b"not a database at all" * 100])
def test_a_file_that_is_not_a_run_store_is_refused_by_its_path(
    tmp_path: Path, content: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "random" / "ActSearch-Harmonics-v0" / "seed-0" / "run.sqlite"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with pytest.raises(SystemExit) as exit_info:
        seconds.main([str(tmp_path)])
    assert exit_info.value.code == 2
    assert f"{path} is not a readable run store" in capsys.readouterr().err
