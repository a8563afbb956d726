"""The leaderboard's only state: one SQLite file, reached by concern.

`Store(path)` opens the file (`database`: WAL mode, one transaction per call, safe for
many threads and processes) and hands out one object per table group, all on that file:

- `submissions`: the immutable submissions and the canonical programs that make later
  copies duplicates (`submissions.py`);
- `tokens`: author tokens, as salted hashes, never exported (`tokens.py`);
- `queue`: verification states and the verifiers' leases on them
  (`verification_queue.py`);
- `results`: losses, finished verifications and verifier environments, what the
  ranking is built from (`results.py`).

The tables are in `schema`, the values passed in and out in `records`.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from actgym.leaderboard.database import Database
from actgym.leaderboard.records import (
    Board,
    parsed_environment,
    parsed_verification,
    public_submission,
)
from actgym.leaderboard.results import Results
from actgym.leaderboard.submissions import Submissions
from actgym.leaderboard.tokens import Tokens
from actgym.leaderboard.verification_queue import VerificationQueue

from actgym.versions import LEADERBOARD_SCHEMA


class Store:
    """One leaderboard file, its table groups as attributes, and the export of them all.

    Example:
        store = Store("leaderboard.db")
        submission_id = store.submissions.add(NewSubmission("relu-ish", "Ann", source))
        claim = store.queue.claim(Board(version, "official"), environment_id=None)
    """

    def __init__(self, path: Path | str) -> None:
        self.database = Database(path)
        self.submissions = Submissions(self.database)
        self.tokens = Tokens(self.database)
        self.queue = VerificationQueue(self.database)
        self.results = Results(self.database)

    def export(self, board: Board | None = None) -> dict[str, Any]:
        """Everything but author tokens as JSON-ready data (all boards unless one is given)."""
        where, args = "", ()
        if board is not None:
            where, args = "WHERE version = ? AND profile = ?", board.key
        with self.database.transaction("DEFERRED") as connection:
            submissions = connection.execute("SELECT * FROM submissions ORDER BY id").fetchall()
            environments = connection.execute(
                f"SELECT * FROM environments {where} ORDER BY id", args
            ).fetchall()
            verifications = connection.execute(
                f"SELECT * FROM verifications {where} ORDER BY version, profile, submission_id",
                args,
            ).fetchall()
            results = connection.execute(
                f"SELECT * FROM results {where} ORDER BY version, profile, submission_id,"
                " seed_set, seed_index, family, instance_index, train_seed",
                args,
            ).fetchall()
        return {
            "schema_version": LEADERBOARD_SCHEMA,
            "exported_at": time.time(),
            "submissions": [public_submission(row) for row in submissions],
            "environments": [parsed_environment(row) for row in environments],
            "verifications": [parsed_verification(row) for row in verifications],
            "results": [dict(row) for row in results],
        }
