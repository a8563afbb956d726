"""What the ranking is built from: finished verifications, their losses, where they ran.

Per family, instance, task seed and training seed losses are keyed by `Board`, as is
everything a verifier learns; the environments say which machine and packages produced
them. The rows are written by `VerificationQueue.finish` and `record_environment`.
"""

from __future__ import annotations

import json
import time
from typing import Any

from actgym.leaderboard.database import Database
from actgym.leaderboard.records import Board, parsed_environment


class Results:
    """The `results` and `environments` tables, and the finished `verifications`."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def record_environment(
        self, board: Board, profile: dict[str, Any], details: dict[str, Any]
    ) -> int:
        """Where a verifier session runs (profile settings, packages, CPU); its id."""
        with self.database.transaction() as connection:
            cursor = connection.execute(
                "INSERT INTO environments (version, profile, profile_json, details_json,"
                " started_at) VALUES (?, ?, ?, ?, ?)",
                (
                    *board.key,
                    json.dumps(profile, sort_keys=True),
                    json.dumps(details, sort_keys=True),
                    time.time(),
                ),
            )
            return int(cursor.lastrowid or 0)

    def environment(self, environment_id: int) -> dict[str, Any] | None:
        row = self.database.row("SELECT * FROM environments WHERE id = ?", (environment_id,))
        return parsed_environment(row) if row else None

    def revision(self, board: Board) -> tuple[int, float]:
        """Changes whenever a verification on `board` finishes: done count, last finish."""
        (row,) = self.database.rows(
            "SELECT COUNT(*), COALESCE(MAX(finished_at), 0) FROM verifications"
            " WHERE version = ? AND profile = ? AND state = 'done'",
            board.key,
        )
        return int(row[0]), float(row[1])

    def done_entries(self, board: Board) -> list[dict[str, Any]]:
        """Every submission verified on `board`, with what the ranking shows beside it."""
        return self.database.dicts(
            "SELECT s.id, s.name, s.author, s.reference, v.flops_per_element,"
            " v.locality, v.transfer_json, v.program_hash FROM verifications AS v"
            " JOIN submissions AS s"
            " ON s.id = v.submission_id WHERE v.version = ? AND v.profile = ?"
            " AND v.state = 'done' ORDER BY s.id",
            board.key,
        )

    def awaiting_rescore(self, board: Board) -> dict[str, int]:
        """Per other version, submissions verified there but not yet done on `board`."""
        rows = self.database.rows(
            "SELECT old.version, COUNT(DISTINCT old.submission_id) FROM verifications AS old"
            " WHERE old.version != ? AND old.profile = ? AND old.state = 'done'"
            " AND NOT EXISTS (SELECT 1 FROM verifications AS v"
            " WHERE v.submission_id = old.submission_id AND v.version = ?"
            " AND v.profile = ? AND v.state IN ('done', 'failed'))"
            " GROUP BY old.version ORDER BY old.version",
            (*board.key, *board.key),
        )
        return {str(row[0]): int(row[1]) for row in rows}

    def losses(self, board: Board) -> list[dict[str, Any]]:
        """One row per training run of every submission verified on `board`."""
        return self.database.dicts(
            "SELECT submission_id, seed_set, seed_index, family, instance_index, instance,"
            " train_seed, train_loss, id_loss, ood_loss FROM results"
            " WHERE version = ? AND profile = ?"
            " ORDER BY submission_id, seed_set, seed_index, family, instance_index,"
            " train_seed",
            board.key,
        )
