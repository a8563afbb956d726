"""The ranking's statistics and the hidden seeds, on hand-made numbers (no training)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import numpy as np
import pytest
from actgym.leaderboard.profiles import PUBLIC_TASK_SEED, env_version, get_profile
from actgym.leaderboard.ranking import (
    LOCALITIES,
    MIN_GAP,
    build_leaderboard,
    gap_closed,
    interquartile_mean,
    normalise,
)
from actgym.leaderboard.seeds import SECRET_ENV, hidden_task_seeds, load_secret

from actgym.candidate.probe import FEATURE_COUPLED, POINTWISE

FITTED_ID_LOSS = 1e-4


def _fitted(ood: np.ndarray) -> np.ndarray:
    """Seed-mean [OOD, ID] pairs of a candidate that fits the training region well."""
    return np.stack([ood, np.full_like(ood, FITTED_ID_LOSS)], axis=-1)


def test_normalise_puts_relu_at_zero_and_gelu_at_one() -> None:
    relu, gelu = _fitted(np.array([4.0, 9.0])), _fitted(np.array([2.0, 3.0]))
    assert normalise(relu, relu, gelu) == pytest.approx([0.0, 0.0])
    assert normalise(gelu, relu, gelu) == pytest.approx([1.0, 1.0])
    assert normalise(_fitted(np.array([1.0, 1.0])), relu, gelu) == pytest.approx([2.0, 2.0])


def test_normalise_never_ranks_an_unfitted_candidate_above_relu() -> None:
    relu, gelu = _fitted(np.array([4.0])), _fitted(np.array([2.0]))
    learned_nothing = np.array([[0.5, 1.0]])
    nearly_fitted = np.array([[0.5, 0.02]])
    assert normalise(learned_nothing, relu, gelu)[0] < 0.0
    assert normalise(learned_nothing, relu, gelu) < normalise(nearly_fitted, relu, gelu) < 0.0


def test_normalise_keeps_better_than_relu_positive_where_gelu_loses() -> None:
    relu, gelu = _fitted(np.array([2.0])), _fitted(np.array([8.0]))
    assert normalise(gelu, relu, gelu) == pytest.approx([-1.0])
    assert normalise(_fitted(np.array([0.5])), relu, gelu) == pytest.approx([1.0])


def test_normalise_floors_the_gap_where_relu_and_gelu_tie() -> None:
    relu = _fitted(np.array([1.0]))
    candidate = _fitted(np.exp(-np.array([0.05])))
    score = normalise(candidate, relu, _fitted(np.array([1.0001])))
    assert score == pytest.approx([0.05 / MIN_GAP])


def test_gap_closed_runs_from_relu_to_exact_extrapolation_without_a_ceiling_below_it() -> None:
    relu = _fitted(np.array([4.0, 9.0]))
    assert gap_closed(relu, relu) == 0.0
    assert gap_closed(_fitted(np.array([1e-4, 1e-4])), relu) == pytest.approx(1.0)
    assert gap_closed(_fitted(np.array([1e-9, 1e-9])), relu) == pytest.approx(1.0)
    tenth, hundredth = (gap_closed(_fitted(relu[:, 0] * factor), relu) for factor in (0.1, 0.01))
    assert 0.0 < tenth < hundredth < 1.0
    assert gap_closed(np.array([[0.5, 1.0], [0.5, 1.0]]), relu) < 0.0  # learned nothing


def test_interquartile_mean_cuts_a_quarter_from_each_end() -> None:
    assert interquartile_mean(np.array([0.0, 1.0, 2.0, 100.0])) == pytest.approx(1.5)
    assert interquartile_mean(np.array([3.0])) == pytest.approx(3.0)
    scores = np.array([-50.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 50.0])
    assert interquartile_mean(scores) == pytest.approx(3.5)


def _rows(entry_losses: dict[int, np.ndarray]) -> list[dict]:
    rows = []
    for submission_id, losses in entry_losses.items():
        for seed_set in ("public", "hidden"):
            for task, per_seed in enumerate(losses):
                for train_seed, loss in enumerate(per_seed):
                    rows.append(
                        {
                            "submission_id": submission_id,
                            "seed_set": seed_set,
                            "seed_index": 0,
                            "family": "Harmonics",
                            "instance_index": task,
                            "instance": f"harmonics-{task}",
                            "train_seed": train_seed,
                            "ood_loss": float(loss),
                            "id_loss": FITTED_ID_LOSS,
                        }
                    )
    return rows


def _entries(ids: list[int]) -> list[dict]:
    references = {1: "relu", 2: "gelu"}
    return [
        {
            "id": i,
            "name": f"entry {i}",
            "author": "test",
            "reference": references.get(i),
            "flops_per_element": 1.0,
        }
        for i in ids
    ]


def test_leaderboard_ranks_by_iqm_with_reproducible_intervals() -> None:
    rng = np.random.default_rng(1)
    relu = rng.uniform(1.0, 2.0, size=(8, 3))
    losses = {1: relu, 2: relu / 2.0, 3: relu / 4.0, 4: relu * 2.0}
    board = build_leaderboard("v", {}, _entries([1, 2, 3, 4]), _rows(losses))
    assert [entry.submission_id for entry in board.entries] == [3, 2, 1, 4]
    best = board.entries[0]
    assert best.score.value == pytest.approx(2.0)
    assert best.score.low <= best.score.value <= best.score.high
    assert best.average_rank == pytest.approx(1.0)
    assert board.entry(1).score.value == pytest.approx(0.0)
    again = build_leaderboard("v", {}, _entries([1, 2, 3, 4]), _rows(losses))
    assert again == board


def test_bootstrap_interval_widens_with_disagreeing_tasks() -> None:
    relu = np.ones((8, 2))
    mixed = relu * np.exp(-np.linspace(-3.0, 3.0, 8))[:, None]
    losses = {1: relu, 2: relu / np.e, 3: mixed}
    board = build_leaderboard("v", {}, _entries([1, 2, 3]), _rows(losses))
    steady, noisy = board.entry(2).score, board.entry(3).score
    assert noisy.high - noisy.low > steady.high - steady.low


def test_leaderboard_waits_for_both_anchors() -> None:
    board = build_leaderboard("v", {}, _entries([1, 3]), _rows({1: np.ones((2, 2))}))
    assert board.entries == ()
    assert board.note is not None and "GELU" in board.note


def test_hidden_seeds_depend_on_secret_and_version_only() -> None:
    seeds = hidden_task_seeds(b"secret", "v1", 3)
    assert seeds == hidden_task_seeds(b"secret", "v1", 3)
    assert len(set(seeds)) == 3 and PUBLIC_TASK_SEED not in seeds
    assert seeds != hidden_task_seeds(b"other", "v1", 3)
    assert seeds != hidden_task_seeds(b"secret", "v2", 3)


def test_secret_comes_from_env_or_a_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    db = tmp_path / "lb.db"
    first = load_secret(db)
    assert first == load_secret(db)
    secret_file = tmp_path / "lb.db.secret"
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    monkeypatch.setenv(SECRET_ENV, "from-the-environment")
    assert load_secret(db) == b"from-the-environment"


def test_env_version_names_the_environments_and_scoring() -> None:
    assert env_version().startswith("ActSearch-v0+scoring.")
    with pytest.raises(ValueError, match="official"):
        get_profile("nonsense")


def test_a_locality_filter_lists_only_matching_entries_with_their_board_ranks() -> None:
    relu = np.random.default_rng(2).uniform(1.0, 2.0, size=(8, 3))
    losses = {1: relu, 2: relu / 2.0, 3: relu / 4.0, 4: relu * 2.0}
    entries = _entries([1, 2, 3, 4])
    for entry in entries:
        entry["locality"] = "feature-coupled" if entry["id"] == 3 else "pointwise"
    entries[3]["locality"] = None  # verified before the label was stored
    board = build_leaderboard("v", {}, entries, _rows(losses))
    assert board.entry(3).locality == "feature-coupled" and board.locality is None
    coupled = board.only("feature-coupled")
    assert [(e.submission_id, e.rank) for e in coupled.entries] == [(3, 1)]
    pointwise = board.only("pointwise")
    assert [(e.submission_id, e.rank) for e in pointwise.entries] == [(2, 2), (1, 3)]
    assert pointwise.to_dict()["locality"] == "pointwise"
    assert board.only(None) is board
    with pytest.raises(ValueError, match="'pointwise' or 'feature-coupled'"):
        board.only("local")


def test_the_locality_labels_are_the_probes() -> None:
    assert LOCALITIES == (POINTWISE, FEATURE_COUPLED)
