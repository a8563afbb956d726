"""Several runs side by side: which agent finds better functions, with how many evaluations.

Runs are grouped by agent and environment (one group per agent, seeds being its runs).
For each group: the best reward after each charged evaluation (behavioural duplicates
and unusable replies are free, so they are left out of the x-axis), averaged over the
group's runs with a 95% t-interval of that mean, and the best function's reward per
family, averaged likewise. Curves are cut to the group's shortest run, so every point
averages the same runs. `actgym report RUN RUN...` prints this; with `--out DIR` it also writes
comparison.json and comparison.png/.svg there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table
from scipy import stats

from actgym.search.report import best_so_far, save_figure, top_distinct
from actgym.search.store import RunStore, StoreError, charged

Row = Mapping[str, Any]
CHECKPOINTS = (0.25, 0.5, 1.0)


@dataclass(frozen=True)
class Band:
    """A mean over runs and the half-width of its 95% t-interval (None from one run)."""

    mean: float
    half_width: float | None

    def text(self) -> str:
        spread = "" if self.half_width is None else f" ± {self.half_width:.3f}"
        return f"{self.mean:+.3f}{spread}"


@dataclass(frozen=True)
class Group:
    """The runs of one agent on one environment, and what they found."""

    agent: str
    env_id: str
    runs: tuple[Path, ...]
    curve: tuple[Band, ...]  # best so far after 1, 2, ... charged evaluations
    families: Mapping[str, Band]  # the best function's reward per family


def band(values: Sequence[float]) -> Band:
    mean = float(np.mean(values))
    if len(values) < 2:
        return Band(mean, None)
    sem = float(np.std(values, ddof=1)) / math.sqrt(len(values))
    return Band(mean, float(stats.t.ppf(0.975, len(values) - 1)) * sem)


def compare(directories: Sequence[Path]) -> list[Group]:
    """The groups of the runs in `directories`, in order of first appearance."""
    grouped: dict[tuple[str, str], list[tuple[Path, list[Row]]]] = {}
    for directory in directories:
        with RunStore(directory) as store:
            run, rows = store.run(), store.evaluations()
        if run is None:
            raise StoreError(f"{directory} holds no run")
        grouped.setdefault((run["agent"], run["env_id"]), []).append((Path(directory), rows))
    return [_group(agent, env_id, runs) for (agent, env_id), runs in grouped.items()]


def _group(agent: str, env_id: str, runs: list[tuple[Path, list[Row]]]) -> Group:
    curves = [best_so_far([row for row in rows if charged(row)]) for _, rows in runs]
    length = min(len(curve) for curve in curves)
    bests = [top_distinct(rows, 1) for _, rows in runs]
    scores = [json.loads(best[0]["families"]) if best else {} for best in bests]
    names = sorted({name for score in scores for name in score})
    return Group(
        agent=agent,
        env_id=env_id,
        runs=tuple(directory for directory, _ in runs),
        curve=tuple(band([curve[i] for curve in curves]) for i in range(length)),
        families={
            name: band([score[name]["reward"] for score in scores if name in score])
            for name in names
        },
    )


def comparison_table(groups: Sequence[Group]) -> Table:
    """Best so far at a quarter, half and all of each group's evaluations; family rewards."""
    families = sorted({name for group in groups for name in group.families})
    table = Table(title="agents compared: mean ± 95% interval over runs (ReLU scores 0)")
    for column in ("agent", "env", "runs", "evaluations"):
        table.add_column(column, justify="left" if column in ("agent", "env") else "right")
    for share in CHECKPOINTS:
        table.add_column(f"best at {share:.0%}", justify="right", no_wrap=True)
    for name in families:
        table.add_column(name, justify="right", no_wrap=True)
    for group in groups:
        length = len(group.curve)
        points = [
            group.curve[math.ceil(share * length) - 1].text() if length else "-"
            for share in CHECKPOINTS
        ]
        table.add_row(
            group.agent,
            group.env_id,
            str(len(group.runs)),
            str(length),
            *points,
            *[group.families[name].text() if name in group.families else "-" for name in families],
        )
    return table


def write_comparison(groups: Sequence[Group], directory: Path) -> list[Path]:
    """comparison.json (every number) and comparison.png/.svg (the mean curves and bands)."""
    directory.mkdir(parents=True, exist_ok=True)
    summary = [
        {
            "agent": group.agent,
            "env_id": group.env_id,
            "runs": [str(run) for run in group.runs],
            "best_so_far": [[b.mean, b.half_width] for b in group.curve],
            "families": {name: [b.mean, b.half_width] for name, b in group.families.items()},
        }
        for group in groups
    ]
    path = directory / "comparison.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return [path, *_plot(groups, directory / "comparison")]


def _plot(groups: Sequence[Group], stem: Path) -> list[Path]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4), layout="constrained")
    axes = figure.add_subplot()
    for group in groups:
        steps = np.arange(1, len(group.curve) + 1)
        mean = np.asarray([b.mean for b in group.curve])
        half = np.asarray([b.half_width or 0.0 for b in group.curve])
        label = f"{group.agent} on {group.env_id} ({len(group.runs)} runs)"
        (line,) = axes.step(steps, mean, where="post", label=label)
        axes.fill_between(
            steps, mean - half, mean + half, step="post", alpha=0.2, color=line.get_color()
        )
    axes.axhline(0.0, color="grey", linestyle="--", linewidth=1, label="ReLU")
    axes.set(xlabel="charged evaluation", ylabel="best reward so far", title="agents compared")
    axes.legend(loc="best", fontsize="small")
    return save_figure(figure, stem)
