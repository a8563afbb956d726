"""Several runs side by side: which agent finds better functions, for what it spent.

Runs are grouped by agent and environment (one group per agent, seeds being its runs).
For each group: the best reward so far against three currencies, averaged over the
group's runs with a 95% t-interval of that mean, and the best function's reward per
family, averaged likewise. The currencies are

- charged evaluations, in full evaluations' worth of budget (behavioural duplicates
  and unusable replies are free, so they are left out of this x-axis; a low-fidelity
  screen counts a quarter). Only full-fidelity rewards make the best so far, on every
  axis;
- compute seconds: every evaluation's `wall_s`, its share of the wall time its chunk
  took in the evaluating process, plus the seconds an in-process model spent generating
  its proposal (`local_generation_s` in the proposal's notes; a server's time is paid in
  tokens instead). Unlike `total_s` this includes training that crashed or missed its
  deadline (recorded with zero compile and train time), the probe, and the baseline's
  first training: all compute the run paid for;
- LLM tokens: the prompt and completion tokens in each evaluation's notes (the proposal's
  notes: LLM agents record them per proposal, unusable replies included), and dollars
  when a price per million tokens is given. A group whose runs record none (`random`)
  has no token curve: not applicable, rather than a flat line at zero cost.

Every row costs seconds and tokens, so those curves run over all evaluations in id
order. Best so far is a step function of what was spent; each run's is read at a
common grid up to the group's shortest run's total, so every point averages the same
runs (the evaluation curve is likewise cut to the shortest run). `actgym report RUN
RUN...` prints this; with `--out DIR` it also writes comparison.json and
comparison.png/.svg (one panel per currency) there.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from rich.table import Table
from scipy import stats

from actgym.reward import PENALTY
from actgym.search.report import (
    agent_label,
    best_so_far,
    local_generation_seconds,
    plot_label,
    save_figure,
    shown,
    top_distinct,
)
from actgym.search.store import RunStore, StoreError, charge, charged

Row = Mapping[str, Any]
CHECKPOINTS = (0.25, 0.5, 1.0)
GRID = 100
"""Points of the common grid of a continuous currency; the checkpoints fall on it."""
EVALUATIONS = "evaluations"


@dataclass(frozen=True)
class Band:
    """A mean over runs and the half-width of its 95% t-interval (None from one run)."""

    mean: float
    half_width: float | None

    def text(self) -> str:
        spread = "" if self.half_width is None else f" ± {self.half_width:.3f}"
        return f"{self.mean:+.3f}{spread}"


@dataclass(frozen=True)
class Currency:
    """What a run spends: its name in comparison.json, axis label, format and cost per row."""

    name: str
    label: str
    amount: str  # format of an amount, e.g. "{:.0f} s"
    cost: Callable[[Row], float]


@dataclass(frozen=True)
class Curve:
    """Best so far at amounts spent (`x`), as mean and band over a group's runs."""

    x: tuple[float, ...]
    bands: tuple[Band, ...]

    def at(self, share: float) -> Band | None:
        """The band at `share` of the curve's extent (a point of the grid), None if empty."""
        return self.bands[math.ceil(share * len(self.bands)) - 1] if self.bands else None


@dataclass(frozen=True)
class Group:
    """The runs of one agent on one environment, and what they found."""

    agent: str
    env_id: str
    runs: tuple[Path, ...]
    evaluations: Curve  # best so far after 1, 2, ... charged evaluations
    spent: Mapping[str, Curve | None]  # by currency name; None: the runs spent none of it
    families: Mapping[str, Band]  # the best function's reward per family

    def curves(self) -> dict[str, Curve | None]:
        """Every currency's curve by name, charged evaluations first."""
        return {EVALUATIONS: self.evaluations, **self.spent}


def band(values: Sequence[float]) -> Band:
    mean = float(np.mean(values))
    if len(values) < 2:
        return Band(mean, None)
    sem = float(np.std(values, ddof=1)) / math.sqrt(len(values))
    return Band(mean, float(stats.t.ppf(0.975, len(values) - 1)) * sem)


def currencies(usd_per_million: tuple[float, float] | None = None) -> list[Currency]:
    """Compute seconds and tokens; dollars too when prices (prompt, completion) are given."""
    spent = [
        Currency("seconds", "compute seconds", "{:.0f} s", compute_seconds),
        Currency("tokens", "LLM tokens", "{:,.0f}", lambda row: float(sum(tokens(row)))),
    ]
    if usd_per_million is not None:
        spent.append(Currency("usd", "dollars", "${:.4g}", partial(dollars, usd_per_million)))
    return spent


def compute_seconds(row: Row) -> float:
    """The row's evaluation seconds and its proposal's in-process generation seconds."""
    return float(row["wall_s"]) + local_generation_seconds(row)


def tokens(row: Row) -> tuple[int, int]:
    """Prompt and completion tokens of the row's proposal (0 where its agent records none)."""
    notes = json.loads(row["notes"])
    return _count(notes.get("prompt_tokens")), _count(notes.get("completion_tokens"))


def _count(value: Any) -> int:
    """A stored token count; anything but a non-negative number counts as none."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        return 0
    return int(value) if math.isfinite(value) else 0


def dollars(usd_per_million: tuple[float, float], row: Row) -> float:
    prompt, completion = tokens(row)
    return (prompt * usd_per_million[0] + completion * usd_per_million[1]) / 1e6


def compare(directories: Sequence[Path], spent: Sequence[Currency] | None = None) -> list[Group]:
    """The groups of the runs in `directories`, in order of first appearance."""
    grouped: dict[tuple[str, str], list[tuple[Path, list[Row]]]] = {}
    for directory in directories:
        with RunStore(directory) as store:
            run, rows = store.run(), store.evaluations()
        if run is None:
            raise StoreError(f"{directory} holds no run")
        grouped.setdefault((agent_label(run), run["env_id"]), []).append((Path(directory), rows))
    spent = currencies() if spent is None else spent
    return [_group(agent, env_id, runs, spent) for (agent, env_id), runs in grouped.items()]


def _group(
    agent: str, env_id: str, runs: list[tuple[Path, list[Row]]], spent: Sequence[Currency]
) -> Group:
    all_rows = [rows for _, rows in runs]
    bests = [top_distinct(rows, 1) for rows in all_rows]
    scores = [json.loads(best[0]["families"]) if best else {} for best in bests]
    names = sorted({name for score in scores for name in score})
    return Group(
        agent=agent,
        env_id=env_id,
        runs=tuple(directory for directory, _ in runs),
        evaluations=_evaluation_curve(all_rows),
        spent={currency.name: spending_curve(all_rows, currency.cost) for currency in spent},
        families={
            name: band([score[name]["reward"] for score in scores if name in score])
            for name in names
        },
    )


def best_by_budget(rows: Sequence[Row], points: int) -> list[float]:
    """The best full-fidelity reward after 1, 2, ... `points` full evaluations' worth of
    budget charged (a low-fidelity screen is charged a quarter of one; duplicates and
    unusable replies nothing), holding the last value past what the run spent."""
    paid = [row for row in rows if charged(row)]
    spent = np.cumsum([charge(row) for row in paid])
    return step_values(spent, best_so_far(paid), np.arange(1.0, points + 1.0)).tolist()


def _evaluation_curve(runs: Sequence[Sequence[Row]]) -> Curve:
    """Best so far by budget charged, up to the shortest run's spend."""
    length = math.floor(min(sum(charge(row) for row in rows) for rows in runs))
    values = [best_by_budget(rows, length) for rows in runs]
    return Curve(
        x=tuple(float(step) for step in range(1, length + 1)),
        bands=tuple(band([run[i] for run in values]) for i in range(length)),
    )


def spending_curve(runs: Sequence[Sequence[Row]], cost: Callable[[Row], float]) -> Curve | None:
    """Best so far at GRID even points up to the shortest run's total; None if it spent 0."""
    spending = [np.cumsum([cost(row) for row in rows]) for rows in runs]
    total = min((float(spent[-1]) if len(spent) else 0.0) for spent in spending)
    if total <= 0.0:
        return None
    grid = np.linspace(0.0, total, GRID + 1)[1:]
    values = [
        step_values(spent, best_so_far(rows), grid)
        for spent, rows in zip(spending, runs, strict=True)
    ]
    return Curve(
        x=tuple(grid.tolist()),
        bands=tuple(band([float(run[i]) for run in values]) for i in range(GRID)),
    )


def step_values(spent: np.ndarray, curve: Sequence[float], grid: np.ndarray) -> np.ndarray:
    """The step function `curve[i]` from `spent[i]` on, read at `grid` (PENALTY before)."""
    index = np.searchsorted(spent, grid, side="right") - 1
    padded = np.asarray([PENALTY, *curve])
    return padded[index + 1]


def comparison_table(groups: Sequence[Group]) -> Table:
    """Best so far at a quarter, half and all of each group's evaluations; family rewards."""
    families = sorted({name for group in groups for name in group.families})
    table = Table(title="agents compared: mean ± 95% interval over runs (ReLU scores 0)")
    for column in ("agent", "env", "runs", "evaluations"):
        table.add_column(column, justify="left" if column in ("agent", "env") else "right")
    for share in CHECKPOINTS:
        table.add_column(f"best at {share:.0%}", justify="right", no_wrap=True)
    for name in families:
        table.add_column(shown(name, 40), justify="right", no_wrap=True)
    for group in groups:
        curve = group.evaluations
        table.add_row(
            shown(group.agent),
            shown(group.env_id),
            str(len(group.runs)),
            str(len(curve.bands)),
            *[_text(curve.at(share)) for share in CHECKPOINTS],
            *[group.families[name].text() if name in group.families else "-" for name in families],
        )
    return table


def spending_table(groups: Sequence[Group], spent: Sequence[Currency]) -> Table:
    """Best so far at a quarter, half and all of what each group's shortest run spent."""
    table = Table(title="best so far by what was spent: mean ± 95% interval over runs")
    for column in ("agent", "env", "currency", "spent"):
        table.add_column(column, justify="right" if column == "spent" else "left")
    for share in CHECKPOINTS:
        table.add_column(f"best at {share:.0%}", justify="right", no_wrap=True)
    for group in groups:
        for currency in spent:
            curve = group.spent[currency.name]
            if curve is None:
                cells = ["n/a", *["-" for _ in CHECKPOINTS]]
            else:
                cells = [currency.amount.format(curve.x[-1])]
                cells += [_text(curve.at(share)) for share in CHECKPOINTS]
            table.add_row(shown(group.agent), shown(group.env_id), currency.label, *cells)
    return table


def _text(value: Band | None) -> str:
    return "-" if value is None else value.text()


def write_comparison(
    groups: Sequence[Group], directory: Path, spent: Sequence[Currency] | None = None
) -> list[Path]:
    """comparison.json (every number) and comparison.png/.svg (a panel per currency)."""
    spent = currencies() if spent is None else spent
    directory.mkdir(parents=True, exist_ok=True)
    summary = [
        {
            "agent": group.agent,
            "env_id": group.env_id,
            "runs": [str(run) for run in group.runs],
            "curves": {name: _curve_json(curve) for name, curve in group.curves().items()},
            "families": {name: [b.mean, b.half_width] for name, b in group.families.items()},
        }
        for group in groups
    ]
    path = directory / "comparison.json"
    path.write_text(json.dumps(summary, indent=2) + "\n")
    return [path, *_plot(groups, spent, directory / "comparison")]


def _curve_json(curve: Curve | None) -> dict[str, Any] | None:
    if curve is None:
        return None
    return {"x": list(curve.x), "best_so_far": [[b.mean, b.half_width] for b in curve.bands]}


REWARD_AXIS_FLOOR = -2.0


def _plot(groups: Sequence[Group], spent: Sequence[Currency], stem: Path) -> list[Path]:
    from matplotlib.figure import Figure

    labels = {EVALUATIONS: "charged evaluation", **{c.name: c.label for c in spent}}
    figure = Figure(figsize=(4.5 * len(labels), 4), layout="constrained")
    panels = figure.subplots(1, len(labels), sharey=True, squeeze=False)[0]
    for axes, (name, axis) in zip(panels, labels.items(), strict=True):
        for index, group in enumerate(groups):
            curve = group.curves()[name]
            if curve is not None and curve.bands:
                label = plot_label(f"{group.agent} on {group.env_id} ({len(group.runs)} runs)")
                _draw(axes, curve, f"C{index}", label)
        if not axes.has_data():
            axes.text(0.5, 0.5, "not applicable", ha="center", transform=axes.transAxes)
        axes.axhline(0.0, color="grey", linestyle="--", linewidth=1, label="ReLU")
        axes.set(xlabel=axis, title=f"against {axis}")
    panels[0].set(ylabel="best reward so far")
    # Rejected candidates score -10: a curve's start there would flatten every rank above.
    panels[0].set_ylim(bottom=max(panels[0].get_ylim()[0], REWARD_AXIS_FLOOR))
    legend: dict[str, Any] = {}  # a group may be missing from a panel: take each once
    for axes in panels:
        for handle, name in zip(*axes.get_legend_handles_labels(), strict=True):
            legend.setdefault(name, handle)
    figure.legend(
        legend.values(), legend.keys(), loc="outside lower center", ncols=3, fontsize="small"
    )
    figure.suptitle("agents compared")
    return save_figure(figure, stem)


def _draw(axes: Any, curve: Curve, color: str, label: str) -> None:
    x = np.asarray(curve.x)
    mean = np.asarray([b.mean for b in curve.bands])
    half = np.asarray([b.half_width or 0.0 for b in curve.bands])
    axes.step(x, mean, where="post", color=color, label=label)
    axes.fill_between(x, mean - half, mean + half, step="post", alpha=0.2, color=color)
