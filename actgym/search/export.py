"""A run's trajectories as JSON Lines: one self-contained record per evaluation.

Agent comparisons and training data for LLM mutators need every step of a search in
one place: what was asked (prompt), answered (reply), changed (edit), spent (tokens,
seconds) and scored (status, reward, per-seed losses). The store keeps these spread
over columns and the agent's notes; this module joins them, in id order, reading the
store only (no candidate source is run). The record's keys are documented in
docs/agents.md ("Trajectories").
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from actgym.search.store import RunStore, StoreError, charge

Row = Mapping[str, Any]
TIMINGS = ("check_s", "compile_s", "train_s", "total_s", "wall_s")


def read_trajectories(directory: Path | str) -> list[dict[str, Any]]:
    """The run's records, one per evaluation in id order; StoreError if there is no run."""
    with RunStore(directory) as store:
        run = store.run()
        rows = store.evaluations()
    if run is None:
        raise StoreError(f"{directory} holds no run")
    return list(trajectories(run, rows))


def write_jsonl(records: Iterable[Mapping[str, Any]], stream: TextIO) -> int:
    """One compact JSON object per line; return the number of lines."""
    count = 0
    for record in records:
        stream.write(json.dumps(record, sort_keys=True, allow_nan=False) + "\n")
        count += 1
    return count


def trajectories(run: Row, rows: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    """The records of `rows` (evaluations in id order) of `run`."""
    sources = {row["id"]: row["source"] for row in rows}
    for row in rows:
        notes = json.loads(row["notes"])
        parents = json.loads(row["parents"])
        parent = sources.get(parents[0]) if parents else None
        yield {
            "run": {"agent": run["agent"], "env_id": run["env_id"], "seed": run["seed"]},
            "id": row["id"],
            "batch": row["batch"],
            "generation": row["generation"],
            "parent_ids": parents,
            "prompt": notes.get("prompt"),
            "reply": notes.get("reply"),
            "edit": _edit(parent, row["source"]),
            "tokens": {
                "prompt": notes.get("prompt_tokens"),
                "completion": notes.get("completion_tokens"),
            },
            "source": row["source"],
            "program_hash": row["program_hash"],
            "behaviour": row.get("behaviour"),
            "duplicate_of": row.get("duplicate_of"),
            "fidelity": row.get("fidelity", "full"),
            "charge": charge(row),
            "status": row["status"],
            "message": row["message"],
            "reward": row["reward"],
            "reward_stderr": row.get("reward_stderr"),
            "losses": {key: row[f"{key}_loss"] for key in ("train", "id", "ood")},
            "families": json.loads(row["families"]),
            "timings": {
                **{key: row[key] for key in TIMINGS},
                "cached": bool(row["cached"]),
            },
            "notes": notes,
            "completed_at": row["completed_at"],
        }


def _edit(parent: str | None, source: str) -> str | None:
    """The unified diff from the first parent's source (None for a proposal without one)."""
    if parent is None:
        return None
    lines = difflib.unified_diff(
        parent.splitlines(keepends=True), source.splitlines(keepends=True), "parent", "child"
    )
    return "".join(lines)
