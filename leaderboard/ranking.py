"""Ranking with honest statistics: per-task normalisation, interquartile mean, bootstrap CI.

A task is one instance of one family under one task seed. On each task the seed-mean
losses are put on the ReLU-to-GELU scale

    score = r(cand) / max(|log L_relu - log L_gelu|, MIN_GAP)

where L is the OOD loss and r the environments' instance reward (actgym.reward): the
log-ratio log L_relu - log L_cand of losses floored at the noise floor, never clipped
above, and capped below zero when the candidate did not fit the training region. So ReLU
scores 0 and GELU +1 where it beats ReLU (-1 where it loses), a function that learns
nothing cannot beat ReLU, and MIN_GAP keeps a task where ReLU and GELU nearly tie from
blowing scores up. A submission's score is the
interquartile mean (IQM) over the hidden-seed tasks; its 95% interval is the percentile
bootstrap of that IQM, each replicate drawing tasks with replacement and, for each drawn
task, training seeds with replacement (the same draws for every entry and reference,
from a fixed RNG seed, so pages are reproducible). Beside it, not in the rank, stands the
share of the gap from ReLU to exact extrapolation that the entry closes, computed as the
environments compute it. docs/leaderboard.md has the rules.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.stats import rankdata

from actgym.reward import aggregate, gated_log_ratio, instance_ceiling

MIN_GAP = 0.1
BOOTSTRAP_REPLICATES = 2000
BOOTSTRAP_SEED = 0
RANKED_SEED_SET = "hidden"
_TINY_LOSS = 1e-30

LOCALITIES = ("pointwise", "feature-coupled")
"""The labels actgym.candidate.probe measures (spelled out here, so ranking never imports JAX)."""

RULE = (
    "Ranked by the interquartile mean of per-task scores on the hidden task seeds "
    "(ReLU = 0, GELU = 1 on each task's log OOD loss), higher first; ties by average rank."
)


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True, order=True)
class Task:
    seed_set: str
    seed_index: int
    family: str
    instance_index: int
    instance: str


@dataclass(frozen=True)
class TaskResult:
    task: Task
    ood_loss: float
    relu_ood_loss: float
    gelu_ood_loss: float
    score: Interval


@dataclass(frozen=True)
class Entry:
    rank: int
    submission_id: int
    name: str
    author: str
    reference: str | None
    flops_per_element: float
    locality: str | None
    score: Interval
    public_score: Interval
    average_rank: float
    tasks: tuple[TaskResult, ...]
    transfer: dict[str, Any] | None = None
    """Downstream transfer (log-ratios to ReLU per downstream task): shown, never ranked."""
    gap_closed: float | None = None
    """The share of the way from ReLU to exact extrapolation (every OOD loss at the noise
    floor) covered on the hidden tasks, as the environments compute it (docs/reward.md)."""

    def to_dict(self, *, with_tasks: bool = False) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if not with_tasks:
            data.pop("tasks")
        return data


@dataclass(frozen=True)
class Leaderboard:
    version: str
    profile: dict[str, Any]
    entries: tuple[Entry, ...]
    task_counts: dict[str, int]
    note: str | None = None
    locality: str | None = None
    """The filter applied, if any: only entries of this locality are listed."""

    def entry(self, submission_id: int) -> Entry | None:
        return next((e for e in self.entries if e.submission_id == submission_id), None)

    def only(self, locality: str | None) -> Leaderboard:
        """The entries of one locality (all when None), each keeping its rank on the board.

        Ranks are not recomputed: a score is already relative to ReLU and GELU, and rank 3
        stays rank 3 whichever filter lists it. Raises ValueError for an unknown label.
        """
        if locality is None:
            return self
        if locality not in LOCALITIES:
            raise ValueError(
                f"Unknown locality {locality!r}: use {' or '.join(map(repr, LOCALITIES))}."
            )
        kept = tuple(e for e in self.entries if e.locality == locality)
        return dataclasses.replace(self, entries=kept, locality=locality)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "profile": self.profile,
            "rule": RULE,
            "statistics": {
                "aggregate": "interquartile mean over tasks",
                "interval": "95% percentile bootstrap over tasks and training seeds",
                "bootstrap_replicates": BOOTSTRAP_REPLICATES,
                "bootstrap_seed": BOOTSTRAP_SEED,
                "min_gap": MIN_GAP,
            },
            "tasks": self.task_counts,
            "note": self.note,
            "locality": self.locality,
            "entries": [entry.to_dict() for entry in self.entries],
        }


@dataclass(frozen=True)
class _Table:
    """Losses of every entry on one seed set, as (tasks, training seeds, [OOD, ID]) arrays."""

    tasks: tuple[Task, ...]
    losses: dict[int, np.ndarray]


@dataclass(frozen=True)
class _Scored:
    """Per entry on one seed set: the IQM with its interval, per-task scores, task results."""

    summaries: dict[int, Interval]
    per_task: dict[int, np.ndarray]
    results: dict[int, tuple[TaskResult, ...]]
    gap_closed: dict[int, float]


def normalise(candidate: np.ndarray, relu: np.ndarray, gelu: np.ndarray) -> np.ndarray:
    """Seed-mean losses (same shapes, last axis [OOD, ID]) to scores: ReLU = 0, GELU = +-1."""
    candidate, relu, gelu = (np.maximum(losses, _TINY_LOSS) for losses in (candidate, relu, gelu))
    reward, _, _ = gated_log_ratio(candidate[..., 1], candidate[..., 0], relu[..., 1], relu[..., 0])
    gap = np.abs(np.log(relu[..., 0]) - np.log(gelu[..., 0]))
    return reward / np.maximum(gap, MIN_GAP)


def gap_closed(candidate: np.ndarray, relu: np.ndarray) -> float:
    """Seed-mean losses (tasks, [OOD, ID]) to the share of ReLU's gap to the ceiling closed."""
    reward, _, _ = gated_log_ratio(candidate[:, 1], candidate[:, 0], relu[:, 1], relu[:, 0])
    return aggregate(reward) / aggregate(instance_ceiling(relu[:, 0]))


def interquartile_mean(scores: np.ndarray) -> np.ndarray:
    """Mean of the middle half along the last axis: floor(n/4) values cut from each end."""
    count = scores.shape[-1]
    cut = count // 4
    return np.sort(scores, axis=-1)[..., cut : count - cut].mean(axis=-1)


SCALE_REFERENCES = frozenset({"relu", "gelu"})
"""The references that set every score's scale: nothing is ranked before both are verified."""


def build_leaderboard(
    version: str,
    profile: dict[str, Any],
    entries: Sequence[dict[str, Any]],
    rows: Iterable[dict[str, Any]],
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int = BOOTSTRAP_SEED,
) -> Leaderboard:
    """Rank the `done` entries of one board from its stored per-seed results."""
    rows = list(rows)
    tables = {kind: _table(rows, kind) for kind in ("hidden", "public")}
    counts = {kind: len(table.tasks) for kind, table in tables.items()}
    complete = [e for e in entries if all(e["id"] in t.losses for t in tables.values())]
    references = {e["reference"]: e["id"] for e in complete if e["reference"]}
    if not SCALE_REFERENCES.issubset(references):
        note = "Waiting for the ReLU and GELU reference entries to be verified."
        return Leaderboard(version, profile, (), counts, note)
    ids = [entry["id"] for entry in complete]
    scored = {
        kind: _score_table(table, references, ids, replicates, seed)
        for kind, table in tables.items()
    }
    hidden, public = scored[RANKED_SEED_SET], scored["public"]
    ranks = _average_ranks(hidden.per_task)
    unranked = [
        Entry(
            rank=0,
            submission_id=entry["id"],
            name=entry["name"],
            author=entry["author"],
            reference=entry["reference"],
            flops_per_element=entry["flops_per_element"],
            locality=entry.get("locality"),
            score=hidden.summaries[entry["id"]],
            public_score=public.summaries[entry["id"]],
            average_rank=ranks[entry["id"]],
            tasks=hidden.results[entry["id"]] + public.results[entry["id"]],
            transfer=json.loads(entry["transfer_json"]) if entry.get("transfer_json") else None,
            gap_closed=hidden.gap_closed[entry["id"]],
        )
        for entry in complete
    ]
    unranked.sort(key=lambda e: (-e.score.value, e.average_rank, e.submission_id))
    ranked = tuple(dataclasses.replace(e, rank=i + 1) for i, e in enumerate(unranked))
    return Leaderboard(version, profile, ranked, counts)


def _table(rows: Sequence[dict[str, Any]], seed_set: str) -> _Table:
    losses: dict[int, dict[Task, dict[int, float]]] = {}
    for row in rows:
        if row["seed_set"] != seed_set:
            continue
        task = Task(
            seed_set, row["seed_index"], row["family"], row["instance_index"], row["instance"]
        )
        runs = losses.setdefault(row["submission_id"], {}).setdefault(task, {})
        runs[row["train_seed"]] = (row["ood_loss"], row["id_loss"])
    tasks = tuple(sorted({task for by_task in losses.values() for task in by_task}))
    seeds = sorted({s for by_task in losses.values() for run in by_task.values() for s in run})
    return _Table(
        tasks=tasks,
        losses={
            submission_id: np.array([[by_task[t][s] for s in seeds] for t in tasks])
            for submission_id, by_task in losses.items()
            if set(by_task) == set(tasks)
            and all(set(run) == set(seeds) for run in by_task.values())
        },
    )


def _score_table(
    table: _Table, references: dict[str, int], ids: Sequence[int], replicates: int, seed: int
) -> _Scored:
    relu, gelu = table.losses[references["relu"]], table.losses[references["gelu"]]
    count, seeds, _ = relu.shape
    rng = np.random.default_rng(seed)
    task_draws = rng.integers(0, count, size=(replicates, count))
    seed_draws = rng.integers(0, seeds, size=(replicates, count, seeds))

    def resampled(losses: np.ndarray, tasks: np.ndarray) -> np.ndarray:
        return losses[tasks[..., None], seed_draws].mean(axis=-2)

    every_task = np.broadcast_to(np.arange(count), (replicates, count))
    summaries: dict[int, Interval] = {}
    per_task: dict[int, np.ndarray] = {}
    results: dict[int, tuple[TaskResult, ...]] = {}
    closed: dict[int, float] = {}
    for submission_id in ids:
        losses = table.losses[submission_id]
        point = normalise(losses.mean(axis=1), relu.mean(axis=1), gelu.mean(axis=1))
        closed[submission_id] = gap_closed(losses.mean(axis=1), relu.mean(axis=1))
        boot = interquartile_mean(
            normalise(*(resampled(x, task_draws) for x in (losses, relu, gelu)))
        )
        summaries[submission_id] = _interval(interquartile_mean(point), boot)
        per_task[submission_id] = point
        within = normalise(*(resampled(x, every_task) for x in (losses, relu, gelu)))
        results[submission_id] = tuple(
            TaskResult(
                task=task,
                ood_loss=float(losses[index, :, 0].mean()),
                relu_ood_loss=float(relu[index, :, 0].mean()),
                gelu_ood_loss=float(gelu[index, :, 0].mean()),
                score=_interval(point[index], within[:, index]),
            )
            for index, task in enumerate(table.tasks)
        )
    return _Scored(summaries, per_task, results, closed)


def _interval(value: float | np.ndarray, replicates: np.ndarray) -> Interval:
    low, high = np.percentile(replicates, [2.5, 97.5])
    return Interval(value=float(value), low=float(low), high=float(high))


def _average_ranks(per_task: dict[int, np.ndarray]) -> dict[int, float]:
    """Rank 1 is the best score on a task (ties share the average rank); mean over tasks."""
    ids = list(per_task)
    if not ids:
        return {}
    ranks = rankdata(-np.stack([per_task[i] for i in ids]), axis=0, method="average")
    return {submission_id: float(ranks[row].mean()) for row, submission_id in enumerate(ids)}
