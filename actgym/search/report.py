"""What a search run found: a summary table, the best-so-far curve, the best functions.

Reads a run store (also while the search is still writing it) and writes, next to it:
  best_so_far.png/.svg     the best reward after each evaluation, and every reward
  best_functions.png/.svg  the top distinct functions and their derivatives
  best.py                  the best candidate's source, ready for `actgym eval`
  summary.json             the numbers behind the table and the curve
Evaluations are numbered from 1 in text and plots (evaluation n is stored id n - 1);
summary.json keeps the stored ids.
Functions are plotted from the validated program JSON the search stored, through
`load_program` (allow-listed primitives bound to data) within the check stage's static
bounds and FLOP budget: candidate source is never run in the reporting process. A run
store is untrusted input (actgym.search.stored_rows): every text it holds is shown as
plain text, never as Rich markup or terminal escapes.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from actgym.candidate.untrusted_text import sanitise, visible_code
from actgym.reward import PENALTY
from actgym.search.store import RunStore, StoreError, charge, full_fidelity

Row = Mapping[str, Any]
X_RANGE = (-5.0, 5.0)
POINTS = 801
FORMATS = ("png", "svg")

LOCAL_GENERATION = "local_generation_s"
"""The notes key of the seconds this machine spent generating a proposal: an in-process
model's compute, which the run paid for beside its evaluations (docs/agents.md)."""


@dataclass(frozen=True)
class Report:
    directory: Path
    files: tuple[Path, ...]
    best: Row | None


def write_report(directory: Path | str, *, top: int = 4, console: Console | None = None) -> Report:
    """Print the summary and write the plots, best.py and summary.json into `directory`."""
    directory = Path(directory)
    console = console or Console()
    with RunStore(directory) as store:
        run = store.run()
        rows = store.evaluations()
    if run is None:
        raise StoreError(f"{directory} holds no run")
    leaders = top_distinct(rows, top)
    console.print(summary_table(run, rows))
    if leaders:
        console.print(leaders_table(leaders, _families(run, leaders), console.width))
        best = leaders[0]
        console.print(
            Panel(
                Syntax(visible_code(best["source"]), "python"),
                title=f"best function: evaluation {best['id'] + 1}, reward {best['reward']:+.4f}",
            )
        )
    files = [
        *plot_best_so_far(rows, directory / "best_so_far"),
        *plot_functions(leaders, directory / "best_functions"),
        _write_summary(run, rows, leaders, directory / "summary.json"),
    ]
    if leaders:
        files.append(_write_best(run, leaders[0], directory / "best.py"))
    return Report(directory, tuple(files), leaders[0] if leaders else None)


# -- numbers ---------------------------------------------------------------------------


def best_so_far(rows: Sequence[Row]) -> list[float]:
    """The best full-fidelity reward among the first i + 1 evaluations, for each i
    (PENALTY before any): screening rewards never rank."""
    curve, best = [], PENALTY
    for row in rows:
        if row["status"] == "ok" and full_fidelity(row):
            best = max(best, row["reward"])
        curve.append(best)
    return curve


def top_distinct(rows: Sequence[Row], k: int) -> list[Row]:
    """The k best accepted full-fidelity evaluations, one per program hash, highest first."""
    ranked = sorted(
        (row for row in rows if row["status"] == "ok" and full_fidelity(row)),
        key=lambda row: (-row["reward"], row["id"]),
    )
    leaders: list[Row] = []
    seen: set[str] = set()
    for row in ranked:
        if row["program_hash"] not in seen and len(leaders) < k:
            seen.add(row["program_hash"])
            leaders.append(row)
    return leaders


def agent_label(run: Row) -> str:
    """The run's agent, marked when a cascade screened its proposals: a different searcher."""
    share = json.loads(run["config"]).get("cascade")
    if share is None:
        return sanitise(run["agent"])
    share = f"{share:g}" if isinstance(share, int | float) else sanitise(share)
    return sanitise(f"{run['agent']}+cascade({share})")


def shown(value: object, limit: int = 120) -> Text:
    """Stored text for a terminal table: one plain line, never markup or escapes."""
    return Text(sanitise(value, limit))


def _fidelities(rows: Sequence[Row]) -> str:
    """How many evaluations ran at each fidelity, and what they were charged."""
    counts = Counter(row.get("fidelity", "full") for row in rows)
    charges: Counter[str] = Counter()
    for row in rows:
        charges[row.get("fidelity", "full")] += charge(row)
    return ", ".join(
        f"{name} {count} (charged {charges[name]:g})" for name, count in sorted(counts.items())
    )


def _duplicates(rows: Sequence[Row]) -> int:
    """Rows marked as computing what an earlier evaluation did (None in older stores)."""
    return sum(row.get("duplicate_of") is not None for row in rows)


# -- tables ----------------------------------------------------------------------------


def summary_table(run: Row, rows: Sequence[Row]) -> Table:
    table = Table(title=shown(f"{agent_label(run)} on {run['env_id']}"), show_header=False)
    table.add_column("key", style="bold")
    table.add_column("value")
    statuses = Counter(row["status"] for row in rows)
    best = top_distinct(rows, 1)
    entries = {
        "seed / budget": f"{run['seed']} / {run['budget']}",
        "evaluations": f"{len(rows)} of {run['budget']}"
        + ("" if run["finished_at"] else " (unfinished)"),
        "behavioural duplicates": f"{_duplicates(rows)} (not charged to the budget)",
        "fidelities": _fidelities(rows),
        "statuses": ", ".join(f"{name} {count}" for name, count in statuses.most_common()),
        "best reward": f"{best[0]['reward']:+.4f} (evaluation {best[0]['id'] + 1})"
        if best
        else "-",
        "evaluation time": f"{sum(row['wall_s'] for row in rows):.0f} s",
        "in-process generation": f"{sum(map(local_generation_seconds, rows)):.0f} s",
    }
    for key, value in entries.items():
        table.add_row(key, shown(value, 400))
    return table


def local_generation_seconds(row: Row) -> float:
    """What the notes say an in-process model spent generating the proposal (0 if none)."""
    value = json.loads(row["notes"]).get(LOCAL_GENERATION)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0.0
    return float(value) if math.isfinite(value) and value >= 0 else 0.0


def leaders_table(leaders: Sequence[Row], families: Sequence[str], width: int = 80) -> Table:
    """Reward overall and per family; losses and hash only where `width` leaves room."""

    def build(extras: bool) -> Table:
        table = Table(title="best distinct functions (ReLU scores 0)")
        table.add_column("rank", justify="right")
        table.add_column("evaluation", justify="right")
        table.add_column("reward", justify="right", no_wrap=True)
        for family in families:
            table.add_column(shown(family, 40), justify="right", no_wrap=True)
        table.add_column("FLOPs/elem", justify="right")
        if extras:
            for column in ("OOD loss", "ID loss", "locality", "hash"):
                table.add_column(column, justify="right")
        for rank, row in enumerate(leaders, start=1):
            scores = json.loads(row["families"])
            cells = [
                f"{scores[family]['reward']:+.3f}" if family in scores else "-"
                for family in families
            ]
            cells.append(flops(row["flops_per_element"]))
            if extras:
                cells += [
                    loss(row["ood_loss"]),
                    loss(row["id_loss"]),
                    shown(_stored(row, "locality") or "-", 20),
                    shown((row["program_hash"] or "")[:10]),
                ]
            table.add_row(
                str(rank),
                str(row["id"] + 1),
                reward_text(row["reward"], row["reward_stderr"]),
                *cells,
            )
        return table

    return fitting([build(True), build(False)], width)


def reward_text(reward: float, stderr: float | None) -> str:
    """The reward with its standard error, three decimals: the precision that matters."""
    return f"{reward:+.3f}" if stderr is None else f"{reward:+.3f} ± {stderr:.3f}"


def loss(value: float | None) -> str:
    """A loss to four significant digits ("-" where a row has none)."""
    return "-" if value is None else f"{value:.4g}"


def flops(value: float | None) -> str:
    """FLOPs per element, one decimal for every row so columns compare at a glance."""
    return "-" if value is None else f"{value:.1f}"


def _stored(row: Row, column: str) -> Any:
    """A column that runs stored before it existed lack (schema 1)."""
    return row[column] if column in set(row.keys()) else None


def fitting(tables: Sequence[Table], width: int) -> Table:
    """The first table (fullest first) whose natural width fits `width`, else the last."""
    measuring = Console(width=10_000)
    for table in tables:
        if measuring.measure(table).maximum <= width:
            return table
    return tables[-1]


def _families(run: Row, leaders: Sequence[Row]) -> list[str]:
    """The run's families in suite order (as stored rows name them if the env is unknown)."""
    from actgym.tasks import ENV_IDS, families_of

    task = ENV_IDS.get(run["env_id"])
    if task is not None:
        return list(families_of(task))
    return sorted({name for row in leaders for name in json.loads(row["families"])})


# -- plots -----------------------------------------------------------------------------


def plot_best_so_far(rows: Sequence[Row], stem: Path) -> list[Path]:
    """Best-so-far steps over every accepted reward; far-off low rewards sit on the floor."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(7, 4), layout="constrained")
    axes = figure.add_subplot()
    curve = np.asarray(best_so_far(rows))
    start = int(np.argmax(curve > PENALTY)) if (curve > PENALTY).any() else len(curve)
    ranked = [row for row in rows if row["status"] == "ok" and full_fidelity(row)]
    accepted = np.asarray([(row["id"] + 1, row["reward"]) for row in ranked])
    if start < len(curve):
        low, high = min(0.0, curve[start]), max(0.0, curve[-1])
        floor = low - 0.15 * max(high - low, 0.5)
        rewards = np.maximum(accepted[:, 1], floor)
        below = accepted[:, 1] < floor
        axes.scatter(accepted[~below, 0], rewards[~below], s=12, alpha=0.4, label="candidate")
        if below.any():  # rewards far below the rest, drawn at the floor to keep the scale
            axes.scatter(
                accepted[below, 0],
                rewards[below],
                s=12,
                marker="v",
                alpha=0.4,
                color="tab:blue",
                label=f"{below.sum()} lower, drawn at the floor",
            )
        steps = np.arange(start + 1, len(curve) + 1)
        axes.step(steps, curve[start:], where="post", color="tab:red", label="best so far")
        axes.set_ylim(floor - 0.05 * (high - floor), high + 0.1 * (high - floor))
    axes.axhline(0.0, color="grey", linestyle="--", linewidth=1, label="ReLU")
    axes.set(xlabel="evaluation", ylabel="reward (higher is better)", title="best so far")
    axes.set_xlim(0.5, len(rows) + 0.5)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.legend(loc="best", fontsize="small")
    return save_figure(figure, stem)


def plot_functions(leaders: Sequence[Row], stem: Path) -> list[Path]:
    """f and f' of the leaders beside ReLU; y-limits leave out the sharpest spikes."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 5), layout="constrained")
    value_axes, slope_axes = figure.subplots(1, 2)
    x = np.linspace(*X_RANGE, POINTS, dtype=np.float32)
    drawn: list[list[np.ndarray]] = [[np.maximum(x, 0)], [(x > 0) * 1.0]]
    for axes, (reference,) in zip((value_axes, slope_axes), drawn, strict=True):
        axes.plot(x, reference, color="grey", linestyle="--", linewidth=1, label="ReLU")
    for row in leaders:
        curves = _curves(row, x)
        if curves is None:
            continue
        label = f"{function_label(row)} (evaluation {row['id'] + 1}, {row['reward']:+.3f})"
        for axes, values, seen in zip((value_axes, slope_axes), curves, drawn, strict=True):
            axes.plot(x, values, label=label)
            seen.append(values)
    for axes, seen in zip((value_axes, slope_axes), drawn, strict=True):
        axes.set_ylim(*_robust_limits(np.concatenate(seen)))
    value_axes.set(xlabel="x", ylabel="f(x)", title="best functions")
    slope_axes.set(xlabel="x", ylabel="f'(x)", title="their derivatives")
    handles, labels = value_axes.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower center", ncols=2, fontsize="small")
    return save_figure(figure, stem)


def function_label(row: Row, limit: int = 40) -> str:
    """A legend name: the agent's `name` note, else the formula the function returns."""
    try:
        notes = json.loads(row["notes"])
    except (KeyError, TypeError, ValueError):
        notes = {}
    name = notes.get("name") if isinstance(notes, dict) else None
    return plot_label(name if name else _returned_formula(row["source"]), limit)


def plot_label(text: object, limit: int = 120) -> str:
    """Stored text for a figure: one sanitised line, `$` escaped from matplotlib's mathtext."""
    return sanitise(text, limit).replace("$", r"\$")


def _returned_formula(source: str) -> str:
    """What activation_function returns, read as text, never run.

    A returned name is followed back to its definition: the `# name = formula` comment
    the grammar writes, else the assignment `name = ...`.
    """
    lines = [line.strip() for line in source.splitlines()]
    returns = [line.removeprefix("return ").strip() for line in lines if line.startswith("return ")]
    if not returns:
        return "activation_function"
    formula = returns[-1]
    if formula.isidentifier():
        for prefix in (f"# {formula} = ", f"{formula} = "):
            for line in reversed(lines):
                if line.startswith(prefix):
                    return line.removeprefix(prefix)
    return formula


def _robust_limits(values: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(values, [1, 99])
    pad = 0.08 * max(float(high - low), 1e-3)
    return float(low - pad), float(high + pad)


def _curves(row: Row, x: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    from actgym.candidate.reasons import CandidateRejected

    if row["program"] is None:
        return None
    try:
        return program_values(json.loads(row["program"]), x)
    except (CandidateRejected, ValueError, KeyError, TypeError, RecursionError):
        return None  # a damaged or over-budget row is left out of the plot, not fatal


def program_values(data: Mapping[str, Any], x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f(x) and f'(x) from stored program JSON, validated again, fed in calls of its shape.

    The check stage's static bounds and FLOP budget (default CandidateLimits) hold here
    too: a stored program past them raises CandidateRejected and is not evaluated.
    Evaluated eagerly (nothing is compiled per program); f' is the gradient of the row's
    sum, which is the elementwise slope for the elementwise functions activations are.
    """
    import jax
    import jax.numpy as jnp

    from actgym.candidate.limits import CandidateLimits
    from actgym.candidate.program import as_calls, load_program
    from actgym.candidate.reasons import CandidateRejected, Reason

    limits = CandidateLimits()
    program = load_program(data, shape=tuple(data["input"]["shape"]), limits=limits)
    if program.flops_per_element > limits.flops_budget:
        raise CandidateRejected(
            Reason.COST_OVER_BUDGET,
            f"{program.flops_per_element:.1f} FLOPs per element; the budget is "
            f"{limits.flops_budget:g}",
        )
    calls = jnp.asarray(as_calls(x, program.input_shape))
    slope = jax.grad(lambda call: jnp.sum(program(call)))
    values = np.asarray(jax.vmap(program)(calls)).reshape(-1)[: x.size]
    slopes = np.asarray(jax.vmap(slope)(calls)).reshape(-1)[: x.size]
    return values, slopes


def save_figure(figure: Any, stem: Path) -> list[Path]:
    """PNG and SVG; the SVG without a date, so an unchanged figure writes the same file."""
    paths = [stem.with_suffix(f".{suffix}") for suffix in FORMATS]
    for path in paths:
        figure.savefig(path, dpi=120, metadata={"Date": None} if path.suffix == ".svg" else None)
    return paths


# -- files -----------------------------------------------------------------------------


def _write_best(run: Row, best: Row, path: Path) -> Path:
    header = (  # one comment line: stored names cannot break out of it
        f"# Best of a {sanitise(run['agent'])} search on {sanitise(run['env_id'])} "
        f"(seed {run['seed']}): "
        f"evaluation {best['id'] + 1}, reward {best['reward']:+.4f}, "
        f"OOD loss {loss(best['ood_loss'])}.\n"
    )
    path.write_text(header + best["source"], encoding="utf-8")
    return path


def _write_summary(run: Row, rows: Sequence[Row], leaders: Sequence[Row], path: Path) -> Path:
    summary = {
        "agent": run["agent"],
        "env_id": run["env_id"],
        "seed": run["seed"],
        "budget": run["budget"],
        "completed": len(rows),
        "duplicates": _duplicates(rows),
        "spent": sum(charge(row) for row in rows),
        "fidelities": dict(Counter(row.get("fidelity", "full") for row in rows)),
        "finished": run["finished_at"] is not None,
        "statuses": dict(Counter(row["status"] for row in rows)),
        "best_so_far": best_so_far(rows),
        "top": [
            {key: row[key] for key in ("id", "reward", "ood_loss", "id_loss", "program_hash")}
            for row in leaders
        ],
    }
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return path
