"""What goes into the leaderboard store and how its rows come out.

The frozen dataclasses are what callers hand the store; rows leave it as plain dicts,
with the author key dropped and JSON columns parsed, ready for the API and for export.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Board:
    """One leaderboard: results of one env version under one evaluation profile."""

    version: str
    profile: str

    @property
    def key(self) -> tuple[str, str]:
        """(version, profile): how every per-board row in the store is keyed."""
        return (self.version, self.profile)


@dataclass(frozen=True, eq=False)
class Function:
    """What makes two submissions one entry on a board: the same canonical program, or
    the same outputs on the probe's fixed points (actgym.candidate.behaviour)."""

    program_hash: str
    outputs: np.ndarray

    @classmethod
    def of(cls, program_hash: str, outputs: Sequence[float]) -> Function:
        return cls(program_hash, np.asarray(outputs, dtype=np.float32))


@dataclass(frozen=True)
class NewSubmission:
    name: str
    author: str
    source: str
    description: str = ""
    agent: str | None = None
    model: str | None = None
    run: str | None = None


@dataclass(frozen=True)
class ResultRow:
    """One training run: a task instance under one task seed, trained with one seed."""

    seed_set: str
    seed_index: int
    family: str
    instance_index: int
    instance: str
    train_seed: int
    train_loss: float
    id_loss: float
    ood_loss: float


@dataclass(frozen=True)
class Verdict:
    """How a verification ended: `done` with result rows, or `failed` with a reason."""

    state: str
    reason: str
    message: str
    program_hash: str | None = None
    program_json: str | None = None
    flops_per_element: float | None = None
    duplicate_of: int | None = None
    rows: tuple[ResultRow, ...] = field(default=(), repr=False)
    locality: str | None = None
    """`pointwise` or `feature-coupled`, as the probe measured it (None before the check)."""
    transfer_json: str | None = None
    """Downstream transfer (actgym.transfer) on a hidden data seed: shown, never ranked."""


TRANSFER_TASKS_KEY = "probes"
"""Where `transfer_json` keeps its scores per downstream task. The tasks were once called
probes, and stored rows, the JSON API and submission.html keep that key."""


@dataclass(frozen=True)
class Claim:
    """A verification lease: `owner` (host:pid) verifies `submission_id` until it finishes."""

    submission_id: int
    source: str
    owner: str | None = None
    reference: str | None = None
    """The reference key (`relu`...) when the submission is a seeded reference."""
    attempt: int = 1


def author_key(author: str) -> str:
    """Authors are one person whatever the case or surrounding spaces."""
    return author.strip().casefold()


def public_submission(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data.pop("author_key")
    return data


PRIVATE_ENVIRONMENT_DETAILS = ("platform",)
"""Details older verifiers stored that say too much in public (`platform.platform()`
names the exact kernel build): dropped from every public view and export."""


def parsed_environment(row: sqlite3.Row) -> dict[str, Any]:
    data = dict(row)
    data["profile_settings"] = json.loads(data.pop("profile_json"))
    details = json.loads(data.pop("details_json"))
    data["details"] = {
        key: value for key, value in details.items() if key not in PRIVATE_ENVIRONMENT_DETAILS
    }
    return data


def parsed_verification(row: sqlite3.Row) -> dict[str, Any]:
    """A verification as the public sees it: without its lease owner (host:pid)."""
    data = dict(row)
    data.pop("owner", None)
    program = data.pop("program_json")
    data["program"] = json.loads(program) if program else None
    transfer = data.pop("transfer_json", None)
    data["transfer"] = json.loads(transfer) if transfer else None
    return data
