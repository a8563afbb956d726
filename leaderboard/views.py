"""What the pages and the JSON API show, assembled once from the store and the ranking.

The server and the static site call the same functions, so a page and its JSON agree.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from actgym.leaderboard import environment
from actgym.leaderboard.profiles import Profile
from actgym.leaderboard.ranking import SCALE_REFERENCES, Entry, Leaderboard, build_leaderboard
from actgym.leaderboard.records import TRANSFER_TASKS_KEY, Board
from actgym.leaderboard.store import Store

_VERIFICATION_FIELDS = (
    "state",
    "reason",
    "message",
    "duplicate_of",
    "program_hash",
    "flops_per_element",
    "locality",
    "attempts",
    "queued_at",
    "started_at",
    "finished_at",
)


def flops(value: float | None) -> str:
    """FLOPs per element, one decimal for every entry, so a column reads evenly."""
    return "-" if value is None else f"{value:.1f}"


def gap(value: float | None) -> str:
    """The share of the gap from ReLU to exact extrapolation closed, as a percentage."""
    return "-" if value is None else f"{value:.1%}"


def locality(value: str | None) -> str:
    """The probe's label, or "-" for an entry verified before the label was stored."""
    return value or "-"


def transfer_tasks(entries: Iterable[Entry]) -> list[str]:
    """The downstream tasks any entry has transfer numbers for, in the tasks' order."""
    from actgym.transfer.downstream import DOWNSTREAM_TASKS

    shown = {task for e in entries if e.transfer for task in e.transfer.get(TRANSFER_TASKS_KEY, {})}
    return [task for task in DOWNSTREAM_TASKS if task in shown]


def transfer_cell(transfer: dict[str, Any] | None, task: str) -> str:
    """One downstream task's log-ratio to ReLU, "-" when not run, the reason code when rejected."""
    if not transfer:
        return "-"
    if transfer.get("status") != "ok":
        return str(transfer.get("status", "-"))
    score = transfer[TRANSFER_TASKS_KEY].get(task)
    return "-" if score is None else f"{score['mean']:+.2f}"


def leaderboard(store: Store, board: Board, profile: Profile) -> Leaderboard:
    ranking = build_leaderboard(
        board.version,
        profile.summary(),
        store.results.done_entries(board),
        store.results.losses(board),
    )
    notes = [ranking.note]
    failed = [row for row in store.queue.failed(board) if row["reference"] in SCALE_REFERENCES]
    if failed and not ranking.entries:
        names = ", ".join(f"#{row['id']} {row['name']} ({row['reason']})" for row in failed)
        notes = [
            f"No ranking: the reference entries {names} failed. The operator queues them "
            "again with `actgym leaderboard requeue` and runs verify."
        ]
    stale = store.results.awaiting_rescore(board)
    if stale:
        older = ", ".join(f"{count} under {version}" for version, count in stale.items())
        notes.append(
            f"Submissions scored under an older version ({older}) are not ranked here until "
            f"they are re-verified under {board.version} (actgym leaderboard verify)."
        )
    return dataclasses.replace(ranking, note=" ".join(filter(None, notes)))


class CachedRanking:
    """The ranking, recomputed only when a verification finished since the last one.

    The bootstrap is the expensive part of a page, and pages are polled while waiting.
    """

    def __init__(self, store: Store, board: Board, profile: Profile) -> None:
        self.store, self.board, self.profile = store, board, profile
        self._lock = threading.Lock()
        self._revision: tuple[int, float] | None = None
        self._ranking: Leaderboard | None = None

    def get(self) -> Leaderboard:
        with self._lock:
            revision = self.store.results.revision(self.board)
            if self._ranking is None or revision != self._revision:
                self._ranking = leaderboard(self.store, self.board, self.profile)
                self._revision = revision
            return self._ranking


def index_lists(
    store: Store, board: Board, ranking: Callable[[], Leaderboard]
) -> tuple[Leaderboard, list[dict[str, Any]]]:
    """The ranking, and the submissions not verified `done` and not in it (newest first).

    The queue is read before the ranking: a verification that finishes between the two
    reads is then in both, and is dropped from the queue. Read the other way round, it
    would be in neither list until the next poll.
    """
    queue = store.queue.unranked(board)
    ranked = ranking()
    shown = {entry.submission_id for entry in ranked.entries}
    return ranked, [row for row in queue if row["id"] not in shown]


def submission_details(
    store: Store, board: Board, ranking: Callable[[], Leaderboard], submission_id: int
) -> dict[str, Any] | None:
    """The submission, its verification on `board`, where it ran, and its ranked entry.

    `ranking` is asked for after the verification is read: a ranking taken first could
    predate the verification's finish, and show it done but unranked. An entry is shown
    only beside a done verification, so state and entry always agree.
    """
    submission = store.submissions.get(submission_id)
    if submission is None:
        return None
    verification = store.queue.verification(board, submission_id)
    entry = ranking().entry(submission_id) if verification.get("state") == "done" else None
    return {
        **submission,
        "version": board.version,
        "profile": board.profile,
        **{name: verification.get(name) for name in _VERIFICATION_FIELDS},
        "transfer": json.loads(verification.get("transfer_json") or "null"),
        "environment": _environment(store, verification.get("environment_id")),
        "entry": entry.to_dict(with_tasks=True) if entry else None,
        "has_plot": bool(verification.get("program_json")),
    }


def program_json(store: Store, board: Board, submission_id: int) -> str | None:
    return store.queue.verification(board, submission_id).get("program_json")


def _environment(store: Store, environment_id: int | None) -> dict[str, Any] | None:
    found = store.results.environment(environment_id) if environment_id is not None else None
    if found is None:
        return None
    return {"summary": environment.summary(found["details"]), "details": found["details"]}
