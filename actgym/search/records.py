"""Rows of the run store to and from the agent contract's Proposal and Evaluation.

An agent sees exactly what the store holds: the live loop builds each Evaluation from
the row it has just written, and a resumed loop from the rows it reads back, so both
agents observe identical values.
"""

from __future__ import annotations

import dataclasses
import json
import platform
from collections.abc import Mapping, Sequence
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from actgym.agent import Evaluation, Proposal
from actgym.fidelity import get_fidelity
from actgym.result import EvaluationResult
from actgym.search.backends import Outcome
from actgym.search.store import to_json

PACKAGES = ("actgym", "jax", "jaxlib", "flax", "optax", "gymnasium", "numpy")


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def proposal_row(identifier: int, batch: int, proposal: Proposal, session: int) -> dict[str, Any]:
    return {
        "id": identifier,
        "batch": batch,
        "source": proposal.source,
        "generation": batch if proposal.generation is None else proposal.generation,
        "parents": to_json(list(proposal.parents)),
        "notes": to_json(dict(proposal.notes)),
        "fidelity": proposal.fidelity,
        "charge": get_fidelity(proposal.fidelity).charge,
        "session": session,
    }


_FROM_PROPOSAL = ("id", "batch", "source", "generation", "parents", "notes", "fidelity", "charge")
"""Columns an evaluation row copies from its proposal's row."""


def evaluation_row(
    proposal: Mapping[str, Any], outcome: Outcome, constants: Mapping[str, Any]
) -> dict[str, Any]:
    """The store row of a completed evaluation; `constants` are the run-wide columns."""
    result = outcome.result
    timings = result.timings
    return {
        **constants,
        **{key: proposal[key] for key in _FROM_PROPOSAL},
        "program_hash": result.program_hash,
        "locality": result.locality,
        "program": to_json(outcome.program) if outcome.program is not None else None,
        "behaviour": outcome.behaviour,
        "status": result.status,
        "message": result.message,
        "reward": float(result.reward),
        "reward_stderr": _optional_float(result.reward_stderr),
        "fit_share": _optional_float(result.fit_share),
        "ood_loss": _optional_float(result.ood_loss),
        "id_loss": _optional_float(result.id_loss),
        "train_loss": _optional_float(result.train_loss),
        "flops_per_element": _optional_float(result.flops_per_element),
        "families": to_json(
            {name: dataclasses.asdict(score) for name, score in result.families.items()}
        ),
        "descriptors": to_json(result.descriptors),
        "check_s": timings.check_s,
        "compile_s": timings.compile_s,
        "train_s": timings.train_s,
        "total_s": timings.total_s,
        "cached": int(timings.cached),
        "wall_s": outcome.wall_s,
    }


def to_proposal(row: Mapping[str, Any]) -> Proposal:
    return Proposal(
        source=row["source"],
        parents=tuple(json.loads(row["parents"])),
        generation=row["generation"],
        notes=json.loads(row["notes"]),
        fidelity=row.get("fidelity", "full"),
    )


def to_result(row: Mapping[str, Any]) -> EvaluationResult:
    """The result record a row was written from (timings as stored)."""
    columns = (
        *("status", "message", "reward", "reward_stderr", "fit_share", "ood_loss", "id_loss"),
        *("train_loss", "flops_per_element", "program_hash", "locality"),
    )
    stored = set(row.keys())  # a schema 1 row lacks reward_stderr and fit_share
    return EvaluationResult.from_dict(
        {
            **{column: row[column] if column in stored else None for column in columns},
            "families": json.loads(row["families"]),
            "descriptors": json.loads(row["descriptors"]),
            "timings": {
                **{key: row[key] for key in ("check_s", "compile_s", "train_s", "total_s")},
                "cached": bool(row["cached"]),
            },
        }
    )


def to_evaluation(row: Mapping[str, Any]) -> Evaluation:
    return Evaluation.from_result(row["id"], to_proposal(row), to_result(row), row["wall_s"])


def to_evaluations(rows: Sequence[Mapping[str, Any]]) -> list[Evaluation]:
    return [to_evaluation(row) for row in rows]


def _optional_float(value: float | None) -> float | None:
    return None if value is None else float(value)
