"""Transfer columns: stored per verification, shown beside the rank, never part of it."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
from actgym.leaderboard.pages import Links, Pages
from actgym.leaderboard.profiles import env_version
from actgym.leaderboard.ranking import build_leaderboard
from actgym.leaderboard.records import Board, ResultRow, Verdict
from actgym.leaderboard.seeds import hidden_task_seeds
from actgym.leaderboard.store import Store
from actgym.leaderboard.verifier import Scorer
from actgym.leaderboard.views import submission_details, transfer_cell, transfer_tasks
from leaderboard_support import PROFILE, SECRET, layers_here
from typer.testing import CliRunner

from actgym.cli import app
from actgym.references import NAMED
from actgym.transfer.downstream import TransferConfig

BOARD = Board(version="test-version", profile="smoke")
TRANSFER = {
    "status": "ok",
    "seeds": 2,
    "mean_log_ratio": 0.1,
    "probes": {"vision": {"mean": 0.1, "low": -0.2, "high": 0.4, "verdict": "no clear ..."}},
}


def test_transfer_is_stored_exported_and_added_to_old_stores(tmp_path: Path) -> None:
    path = tmp_path / "lb.db"
    store = Store(path)
    claim = store.queue.claim(BOARD, None)
    outcome = Verdict("done", "ok", "", "abc", "{}", 1.0, transfer_json=json.dumps(TRANSFER))
    store.queue.finish(BOARD, claim.submission_id, outcome)
    assert (
        json.loads(store.queue.verification(BOARD, claim.submission_id)["transfer_json"])
        == TRANSFER
    )
    ranking = build_leaderboard(BOARD.version, {}, [], [])
    details = submission_details(store, BOARD, lambda: ranking, claim.submission_id)
    assert details is not None and details["transfer"] == TRANSFER
    page = Pages(PROFILE).submission(details, ranking, Links())
    assert '<dd id="transfer">vision +0.10 [-0.20, +0.40]</dd>' in page
    (entry,) = store.results.done_entries(BOARD)
    assert json.loads(entry["transfer_json"]) == TRANSFER
    assert store.export(BOARD)["verifications"][0]["transfer"] == TRANSFER
    with closing(sqlite3.connect(path)) as old:  # the layout before the column existed
        old.execute("ALTER TABLE verifications DROP COLUMN transfer_json")
        old.commit()
    reopened = Store(path)
    (entry,) = reopened.results.done_entries(BOARD)
    assert entry["transfer_json"] is None
    later = reopened.queue.claim(BOARD, None)
    reopened.queue.finish(BOARD, later.submission_id, Verdict("done", "ok", "", transfer_json="{}"))
    assert reopened.queue.verification(BOARD, later.submission_id)["transfer_json"] == "{}"


def _rows(losses: dict[int, np.ndarray]) -> list[dict]:
    return [
        {
            "submission_id": submission_id,
            "seed_set": seed_set,
            "seed_index": 0,
            "family": "Harmonics",
            "instance_index": task,
            "instance": f"h{task}",
            "train_seed": seed,
            "train_loss": 1e-4,
            "id_loss": 1e-4,
            "ood_loss": float(loss),
        }
        for submission_id, table in losses.items()
        for seed_set in ("public", "hidden")
        for task, per_seed in enumerate(table)
        for seed, loss in enumerate(per_seed)
    ]


def test_transfer_is_shown_but_does_not_change_ranks() -> None:
    relu = np.random.default_rng(0).uniform(1.0, 2.0, size=(8, 2))
    losses = {1: relu, 2: relu / 2.0, 3: relu / 3.0}
    entries = [
        {"id": i, "name": f"e{i}", "author": "t", "reference": r, "flops_per_element": 1.0}
        for i, r in ((1, "relu"), (2, "gelu"), (3, None))
    ]
    plain = build_leaderboard("v", {}, entries, _rows(losses))
    worst_transfer = {**TRANSFER, "probes": {"vision": {**TRANSFER["probes"]["vision"]}}}
    worst_transfer["probes"]["vision"]["mean"] = -5.0
    entries[2]["transfer_json"] = json.dumps(worst_transfer)
    shown = build_leaderboard("v", {}, entries, _rows(losses))
    assert [(e.submission_id, e.rank) for e in shown.entries] == [
        (e.submission_id, e.rank) for e in plain.entries
    ]
    assert shown.entry(3).transfer == worst_transfer and shown.entry(1).transfer is None
    assert shown.to_dict()["entries"][0]["transfer"] == worst_transfer
    assert transfer_tasks(shown.entries) == ["vision"]
    assert transfer_cell(shown.entry(3).transfer, "vision") == "-5.00"
    assert transfer_cell(shown.entry(1).transfer, "vision") == "-"
    assert transfer_cell({"status": "policy_violation", "probes": {}}, "vision") == (
        "policy_violation"
    )
    page = Pages(PROFILE).index(shown, [], Links())
    assert '<th class="transfer"' in page and ">vision</th>" in page
    assert '<td class="num transfer">-5.00</td>' in page and 'id="transfer-legend"' in page
    assert "transfer" not in Pages(PROFILE).index(plain, [], Links()).split("<h2>")[0].lower()


def test_the_scorer_runs_transfer_on_a_hidden_data_seed() -> None:
    config = TransferConfig.fast(tasks=("structure",))
    scorer = Scorer.from_secret(
        PROFILE, SECRET, env_version(), required_layers=layers_here(), transfer=config
    )
    try:
        (expected,) = hidden_task_seeds(SECRET, f"{env_version()}|transfer", 1)
        assert scorer._transfer is not None
        assert scorer._transfer.config.data_seed == expected != config.data_seed
        shown = json.loads(scorer.transfer_json(NAMED["gelusine"]))
        assert shown["status"] == "ok" and shown["seeds"] == 2
        assert set(shown["probes"]) == {"structure"}
        score = shown["probes"]["structure"]
        assert score["low"] <= score["mean"] <= score["high"] and score["verdict"]
        assert str(expected) not in json.dumps(shown)  # the hidden seed is never shown
        rejected = json.loads(scorer.transfer_json("import os\n"))
        assert rejected["status"] == "policy_violation" and rejected["probes"] == {}
    finally:
        scorer.close()


def test_show_adds_transfer_columns_and_the_legend(tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    store = Store(db)
    board = Board(env_version(), PROFILE.name)
    scale = {"relu": 1.0, "gelu": 0.5}
    while (claim := store.queue.claim(board, None)) is not None:
        name = store.submissions.get(claim.submission_id)["reference"]
        if name not in scale:
            store.queue.finish(board, claim.submission_id, Verdict("failed", "timeout", "skipped"))
            continue
        rows = tuple(
            ResultRow(seed_set, 0, "Harmonics", task, f"h{task}", seed, 1e-4, 1e-4, scale[name])
            for seed_set in ("public", "hidden")
            for task in range(4)
            for seed in range(2)
        )
        transfer = json.dumps(TRANSFER) if name == "gelu" else None
        outcome = Verdict("done", "ok", "", name, "{}", 1.0, rows=rows, transfer_json=transfer)
        store.queue.finish(board, claim.submission_id, outcome)
    result = CliRunner().invoke(
        app, ["leaderboard", "show", "--db", str(db), "--profile", PROFILE.name]
    )
    assert result.exit_code == 0, result.output
    assert "vision" in result.output and "+0.10" in result.output
    assert "shown, not ranked" in result.output
