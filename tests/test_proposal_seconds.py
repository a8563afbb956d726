"""benchmarks/agents/proposal_seconds.py: proposing seconds recovered from a run store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from benchmark_scripts import load_benchmark

bench = load_benchmark("agents/run.py", "agent_benchmark_for_seconds")
seconds = load_benchmark("agents/proposal_seconds.py", "proposal_seconds")

START = datetime(2026, 1, 1, tzinfo=UTC)


def stamp(offset_s: float) -> str:
    return (START + timedelta(seconds=offset_s)).isoformat(timespec="milliseconds")


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real finished run of 4 batches of 2, its clock then set by hand."""
    out = tmp_path_factory.mktemp("bench")
    argv = ["--agents", "random", "--envs", "ActSearch-Harmonics-v0", "--fast", "--instances"]
    argv += ["1", "--budget", "8", "--batch-size", "2", "--seeds", "0", "--out", str(out)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ACTGYM_XLA_CACHE", "0")
        bench.main(argv)
    path = out / "random" / "ActSearch-Harmonics-v0" / "seed-0" / "run.sqlite"
    with sqlite3.connect(path) as connection:
        batches = [row[0] for row in connection.execute("select distinct batch from proposals")]
        assert batches == [0, 1, 2, 3]
        # (proposed, completed) per batch: gaps of 60 s and 70 s, then a 1000 s pause
        clock = {0: (0, 50), 1: (110, 150), 2: (220, 250), 3: (1250, 1300)}
        for batch, (proposed, completed) in clock.items():
            connection.execute(
                "update proposals set proposed_at = ? where batch = ?", (stamp(proposed), batch)
            )
            connection.execute(
                "update evaluations set completed_at = ? where batch = ?",
                (stamp(completed), batch),
            )
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
