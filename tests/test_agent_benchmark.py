"""benchmarks/agents/run.py: who beats whom, with intervals, and the files a benchmark writes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from benchmark_scripts import load_benchmark

from actgym.search import RunStore

bench = load_benchmark("agents/run.py", "agent_benchmark")


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        ([3.0, 4.0], [1.0, 2.0], 1.0),  # every seed of A above every seed of B
        ([1.0, 2.0], [3.0, 4.0], 0.0),
        ([1.0, 1.0], [1.0], 0.5),  # all ties
        ([1.0, 3.0], [2.0], 0.5),  # one win, one loss
        ([1.0, 2.0, 3.0], [2.0, 2.0], 0.5),  # (0 + 0 + 0.5 + 0.5 + 1 + 1) / 6
        ([2.0, 3.0], [1.0, 2.0, 4.0], 3.5 / 6),  # (1 + 0.5 + 0 + 1 + 1 + 0) / 6
        ([5.0, 1.0, 2.0], [0.0, 2.0], 4.5 / 6),  # (1 + 1 + 1 + 0 + 1 + 0.5) / 6
    ],
)
def test_beats_is_the_share_of_pairs_won_with_ties_counting_half(
    a: list[float], b: list[float], expected: float
) -> None:
    assert bench.beats(a, b) == pytest.approx(expected)
    assert bench.beats(b, a) == pytest.approx(1.0 - expected)


def test_bootstrap_interval_holds_the_estimate_within_0_and_1_reproducibly() -> None:
    a, b = [0.3, 1.2, -0.4, 0.9, 0.8], [0.1, -0.2, 0.5, -1.0, 0.0]
    low, high = bench.beats_interval(a, b)
    assert 0.0 <= low <= bench.beats(a, b) <= high <= 1.0
    assert low < high
    assert bench.beats_interval(a, b) == (low, high)
    assert bench.beats_interval([3.0, 4.0], [1.0, 2.0]) == (1.0, 1.0)


def test_the_rank_test_is_exact_for_few_seeds() -> None:
    # every seed of one agent above every seed of the other: 2 of the 252 splits are as extreme
    assert bench.rank_test([5, 6, 7, 8, 9], [0, 1, 2, 3, 4]) == pytest.approx(2 / 252)
    assert bench.rank_test([0, 2, 4, 6, 8], [1, 3, 5, 7, 9]) > 0.5


def test_beats_matrices_pair_every_two_agents_of_an_env() -> None:
    results = [
        {"agent": "a", "env": "E", "final_best": [2.0, 3.0]},
        {"agent": "b", "env": "E", "final_best": [0.0, 1.0]},
        {"agent": "a", "env": "F", "final_best": [1.0]},
    ]
    matrices = bench.beats_matrices(results)
    assert matrices["E"]["a"]["b"] == pytest.approx([1.0, 1.0, 1.0, 1 / 3])  # exact U test
    assert matrices["E"]["b"]["a"] == pytest.approx([0.0, 0.0, 0.0, 1 / 3])
    assert matrices["F"] == {"a": {}}
    assert "| a | — | 1.00 [1.00, 1.00] p=0.333 |" in bench.markdown(
        {
            "command": "python benchmarks/agents/run.py",
            "date": "today",
            "machine": "here",
            "scale": {"budget": 1, "seeds": [0], "batch_size": 1, "fast": True, "instances": 1},
            "results": [],
            "beats": matrices,
            "failures": [],
        }
    )


def test_a_small_benchmark_writes_tables_probabilities_and_curves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACTGYM_XLA_CACHE", "0")  # main() sets it; restored after the test
    # the same agent under a second name (a direct reference): two agents offline
    twin = "actgym.agents.random_search:RandomGrammarAgent"
    argv = ["--agents", "random", twin, "--envs", "ActSearch-Harmonics-v0", "--fast"]
    argv += ["--instances", "1", "--budget", "3", "--seeds", "0", "1", "--out", str(tmp_path)]
    bench.main(argv)

    for name in ("results.md", "results.json", "comparison.json", "comparison.png", "curves.png"):
        assert (tmp_path / name).is_file(), name
    report = json.loads((tmp_path / "results.json").read_text())
    assert report["command"] == "python benchmarks/agents/run.py " + " ".join(argv)
    assert report["scale"]["seeds"] == [0, 1]
    probability, low, high, p_value = report["beats"]["ActSearch-Harmonics-v0"]["random"][twin]
    assert p_value == pytest.approx(1.0)
    assert probability == 0.5  # the same draws: identical samples win as often as they lose
    assert 0.0 <= low <= probability <= high <= 1.0
    for result in report["results"]:
        assert result["seeds"] == 2 and "Harmonics" in result["families"]
        assert result["accounting"]["charged"] == 3
        assert result["accounting"]["usable_share"] is None  # no LLM
        assert result["spent"]["seconds"] > 0 and result["spent"]["tokens"] is None
    text = (tmp_path / "results.md").read_text()
    assert text.startswith(f"`{report['command']}`")
    assert "| random | — |" in text and "n/a" in text
    comparison = json.loads((tmp_path / "comparison.json").read_text())
    assert {group["agent"] for group in comparison} == {"random", twin}
    # the tables can be rebuilt from the finished runs alone
    (tmp_path / "results.md").unlink()
    bench.main([*argv, "--report-only"])
    rebuilt = json.loads((tmp_path / "results.json").read_text())
    assert rebuilt["beats"] == report["beats"] and rebuilt["report_only"]
    assert "rebuilt from the finished runs" in (tmp_path / "results.md").read_text()
    # every run pays for what it evaluates: the twin finds no result cached by `random`
    for seed in (0, 1):
        with RunStore(tmp_path / twin / "ActSearch-Harmonics-v0" / f"seed-{seed}") as store:
            assert not any(row["cached"] for row in store.evaluations())


def test_reporting_on_a_directory_without_runs_says_so(tmp_path: Path) -> None:
    argv = ["--agents", "random", "--envs", "ActSearch-Harmonics-v0", "--seeds", "0"]
    with pytest.raises(SystemExit, match=r"(?s)no finished run in .*random on .*seed 0: not run"):
        bench.main([*argv, "--out", str(tmp_path), "--report-only"])
    assert not (tmp_path / "results.md").exists()
