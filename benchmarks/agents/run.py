"""Compare agents fairly: every agent on every task, same budget and seeds, with intervals.

Each (agent, env, seed) is an ordinary `actgym search` run under OUT/agent/env/seed-S, so
the benchmark resumes where it stopped if killed, and every run can be inspected with
`actgym report`. Results: the best reward found (mean and 95% t-interval over seeds) and
the best-so-far curve, as results.md, results.json and curves.png/.svg in OUT.
See README.md here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy import stats

from actgym.agents_registry import available_agents
from actgym.search import RunStore, run_search
from actgym.search.report import best_so_far
from actgym.search.store import FILENAME, charged

FAMILY_ENVS = (
    "ActSearch-Harmonics-v0",
    "ActSearch-Poly1D-v0",
    "ActSearch-Poly20D-v0",
    "ActSearch-Feynman-v0",
)
CHECKPOINTS = (0.1, 0.25, 0.5, 1.0)
console = Console()


def main() -> None:
    args = _arguments()
    curves, failures = run_all(args, _agent_options(args.options))
    results = summarise(curves, args.budget)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(results, args, failures))
    plot(results, args.out / "curves")
    console.print(table(results))
    console.print(f"wrote results.md, results.json, curves.png, curves.svg in {args.out}")


def run_all(
    args: argparse.Namespace, options: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[tuple[str, str], list[list[float]]], list[str]]:
    """Best-so-far curves per (agent, env), one per seed, and the runs that failed."""
    curves: dict[tuple[str, str], list[list[float]]] = {}
    failures: list[str] = []
    for agent, env, seed in itertools.product(args.agents, args.envs, args.seeds):
        console.print(f"[bold]{agent}[/] on {env}, seed {seed}")
        config = _config(args, agent, env, seed, options.get(agent, {}))
        try:
            curve = _run(args.out / agent / env / f"seed-{seed}", config, args.workers)
        except Exception as error:  # one agent's failure must not sink the others
            failures.append(f"{agent} on {env}, seed {seed}: {error}")
            console.print(f"[red]failed[/]: {failures[-1]}")
            continue
        curves.setdefault((agent, env), []).append(curve)
    return curves, failures


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", nargs="+", default=list(available_agents()))
    parser.add_argument("--envs", nargs="+", default=list(FAMILY_ENVS))
    parser.add_argument("--budget", type=int, default=64)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--fast", action="store_true", help="small trainer settings")
    parser.add_argument("--instances", type=int, help="task instances per family")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--options", type=Path, help="TOML: a table of agent_options per agent")
    parser.add_argument("--out", type=Path, default=Path("runs/bench-agents"))
    return parser.parse_args()


def _agent_options(path: Path | None) -> dict[str, dict[str, Any]]:
    return tomllib.loads(path.read_text()) if path else {}


def _config(
    args: argparse.Namespace, agent: str, env: str, seed: int, options: Mapping[str, Any]
) -> dict[str, Any]:
    config = {
        "agent": agent,
        "env": env,
        "budget": args.budget,
        "seed": seed,
        "batch_size": args.batch_size,
        "fast": args.fast,
        "agent_options": dict(options),
    }
    return config if args.instances is None else {**config, "instances": args.instances}


def _run(directory: Path, config: Mapping[str, Any], workers: int) -> list[float]:
    """The run's best-so-far curve over charged evaluations, running or resuming it first."""
    resume = (directory / FILENAME).exists() and _has_run(directory)
    run_search(directory, config, resume=resume, workers=workers, console=console)
    with RunStore(directory) as store:
        return best_so_far([row for row in store.evaluations() if charged(row)])


def _has_run(directory: Path) -> bool:
    with RunStore(directory) as store:
        return store.run() is not None


def interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval (nan with a single value)."""
    array = np.asarray(values, dtype=float)
    if array.size < 2:
        return float(array.mean()), math.nan
    half = stats.t.ppf(0.975, array.size - 1) * array.std(ddof=1) / math.sqrt(array.size)
    return float(array.mean()), float(half)


def summarise(curves: Mapping[tuple[str, str], list[list[float]]], budget: int) -> list[dict]:
    results = []
    for (agent, env), runs in curves.items():
        padded = np.asarray([curve + curve[-1:] * (budget - len(curve)) for curve in runs])
        mean_curve, half_curve = zip(*(interval(column) for column in padded.T), strict=True)
        results.append(
            {
                "agent": agent,
                "env": env,
                "seeds": len(runs),
                "best": interval(padded[:, -1]),
                "checkpoints": {
                    str(fraction): interval(padded[:, max(1, round(fraction * budget)) - 1])
                    for fraction in CHECKPOINTS
                },
                "curve_mean": list(mean_curve),
                "curve_half_width": list(half_curve),
            }
        )
    return results


def _cell(mean: float, half: float) -> str:
    return f"{mean:+.3f}" + ("" if math.isnan(half) else f" ± {half:.3f}")


def markdown(
    results: Sequence[Mapping[str, Any]], args: argparse.Namespace, failures: Sequence[str]
) -> str:
    header = ["agent", "env", "seeds", "best reward (95% CI)"]
    header += [f"best after {fraction:.0%}" for fraction in CHECKPOINTS[:-1]]
    lines = [
        f"Budget {args.budget}, seeds {args.seeds}, batch size {args.batch_size}, "
        f"fast={args.fast}, instances={args.instances or 'all'}. Rewards: ReLU = 0, "
        "higher is better; ± is the half-width of the 95% t-interval over seeds.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * 2 + " ---: |" * (len(header) - 2),
    ]
    for result in results:
        cells = [result["agent"], result["env"], str(result["seeds"]), _cell(*result["best"])]
        cells += [_cell(*result["checkpoints"][str(f)]) for f in CHECKPOINTS[:-1]]
        lines.append("| " + " | ".join(cells) + " |")
    if failures:
        lines += ["", "Runs that failed (not in the table):", *(f"- {line}" for line in failures)]
    return "\n".join(lines) + "\n"


def table(results: Sequence[Mapping[str, Any]]) -> Table:
    view = Table(title="best reward found (mean ± 95% CI over seeds)")
    for column in ("agent", "env", "seeds", "best"):
        view.add_column(column, justify="left" if column in ("agent", "env") else "right")
    for result in results:
        view.add_row(result["agent"], result["env"], str(result["seeds"]), _cell(*result["best"]))
    return view


def plot(results: Sequence[Mapping[str, Any]], stem: Path) -> None:
    from matplotlib.figure import Figure

    envs = list(dict.fromkeys(result["env"] for result in results))
    figure = Figure(figsize=(4.5 * len(envs), 3.8), layout="constrained")
    axes_by_env = dict(zip(envs, np.atleast_1d(figure.subplots(1, len(envs))), strict=True))
    for result in results:
        axes = axes_by_env[result["env"]]
        mean = np.asarray(result["curve_mean"])
        half = np.nan_to_num(np.asarray(result["curve_half_width"]))
        steps = np.arange(1, mean.size + 1)
        axes.plot(steps, mean, label=result["agent"])
        axes.fill_between(steps, mean - half, mean + half, alpha=0.2)
    for env, axes in axes_by_env.items():
        axes.axhline(0.0, color="grey", linestyle="--", linewidth=1)
        axes.set(title=env, xlabel="evaluations", ylabel="best reward so far")
        axes.set_ylim(bottom=max(axes.get_ylim()[0], -2.0))
        axes.legend(fontsize="small")
    for suffix in ("png", "svg"):
        figure.savefig(stem.with_suffix(f".{suffix}"), dpi=120)


if __name__ == "__main__":
    main()
