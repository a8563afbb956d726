"""Compare agents fairly: every agent on every task, same budget and seeds, with intervals.

Each (agent, env, seed) is an ordinary `actgym search` run under OUT/agent/env/seed-S, so
the benchmark resumes where it stopped if killed, and every run can be inspected with
`actgym report`. Results: the best reward found (mean and 95% t-interval over seeds), the
probability that one agent beats another, the best function's reward per family, what the
runs spent and wasted, and best-so-far curves against evaluations, compute seconds and
LLM tokens, as results.md, results.json, curves.png/.svg and comparison.json/.png/.svg
in OUT. See README.md here.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import platform
import shlex
import sys
import tomllib
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table
from scipy import stats

from actgym.agents_registry import available_agents
from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.search import RunStore, run_search
from actgym.search.backends import Backend, InProcess, ProcessPool
from actgym.search.compare import (
    REWARD_AXIS_FLOOR,
    Currency,
    Group,
    best_by_budget,
    compare,
    currencies,
    spending_table,
    write_comparison,
)
from actgym.search.runner import BackendFactory
from actgym.search.store import FILENAME, UNUSABLE, charged
from actgym.training_process import drain_shared_pools

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pauses import PauseLogError, pause_shares, read_windows, unpaused_currencies
from tables import CHECKPOINTS, cell, markdown

Row = Mapping[str, Any]
Runs = Mapping[tuple[str, str], Sequence[Sequence[Row]]]
"""The evaluation rows of each seed's run, per (agent, env)."""
FAMILY_ENVS = (
    "ActSearch-Harmonics-v0",
    "ActSearch-Poly1D-v0",
    "ActSearch-Poly20D-v0",
    "ActSearch-Feynman-v0",
)
RESAMPLES = 2000
console = Console()


def main(argv: Sequence[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = _arguments(argv)
    try:
        windows = read_windows(args.pauses) if args.pauses else []
    except PauseLogError as error:
        raise SystemExit(str(error)) from None
    os.environ["ACTGYM_XLA_CACHE"] = "0"  # every run compiles what it evaluates
    directories, failures = run_all(args, _agent_options(args.options))
    if not directories:
        reasons = "".join(f"\n  {failure}" for failure in failures)
        raise SystemExit(f"no finished run in {args.out} to report on:{reasons}")
    runs = {key: [_evaluations(path) for path in paths] for key, paths in directories.items()}
    paths = [path for paths in directories.values() for path in paths]
    shares = pause_shares(paths, windows) if args.pauses else {}
    spent = unpaused_currencies(shares) if args.pauses else currencies()
    groups = compare(paths, spent)
    results = summarise(runs, groups, args.budget, spent)
    report = {
        **provenance(argv, args),
        "pauses": None
        if args.pauses is None
        else {"log": str(args.pauses), "windows": len(windows), "seconds": sum(shares.values())},
        "results": results,
        "beats": beats_matrices(results),
        "failures": failures,
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "results.md").write_text(markdown(report))
    plot(results, args.out / "curves")
    write_comparison(groups, args.out)
    console.print(table(results))
    console.print(spending_table(groups, spent))
    console.print(f"wrote results.md, results.json, curves.*, comparison.* in {args.out}")


def run_all(
    args: argparse.Namespace, options: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[tuple[str, str], list[Path]], list[str]]:
    """The directories of the finished runs per (agent, env), and the runs that failed."""
    directories: dict[tuple[str, str], list[Path]] = {}
    failures: list[str] = []
    # Seed-major: a benchmark stopped part-way has given every agent the same seeds.
    for seed, env, agent in itertools.product(args.seeds, args.envs, args.agents):
        console.print(f"[bold]{agent}[/] on {env}, seed {seed}")
        config = _config(args, agent, env, seed, options.get(agent, {}))
        directory = args.out / agent / env / f"seed-{seed}"
        if args.report_only and not _has_run(directory):
            failures.append(f"{agent} on {env}, seed {seed}: not run")
            continue
        try:
            if not args.report_only:
                _run(directory, config, args.workers)
        except Exception as error:  # one agent's failure must not sink the others
            failures.append(f"{agent} on {env}, seed {seed}: {error}")
            console.print(f"[red]failed[/]: {failures[-1]}")
            continue
        directories.setdefault((agent, env), []).append(directory)
    return directories, failures


def _arguments(argv: Sequence[str]) -> argparse.Namespace:
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
    parser.add_argument(
        "--report-only", action="store_true", help="tables from the runs in OUT; run nothing"
    )
    parser.add_argument(
        "--pauses",
        type=Path,
        help="a log of SIGSTOP pauses ('<ISO time> STOP|CONT' lines): left out of compute seconds",
    )
    return parser.parse_args(argv)


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
        "proposals_per_call": args.batch_size,
        "fast": args.fast,
        "agent_options": dict(options),
    }
    return config if args.instances is None else {**config, "num_instances": args.instances}


def _run(directory: Path, config: Mapping[str, Any], workers: int) -> None:
    """Runs the search in `directory`, resuming a run found there: a killed benchmark goes on."""
    resume = _has_run(directory)
    run_search(
        directory,
        config,
        resume=resume,
        workers=workers,
        console=console,
        backend_factory=_cold(directory),
    )


def _cold(directory: Path) -> BackendFactory:
    """Each run pays for all it evaluates, whatever ran before it: a result cache of its
    own, fresh training processes (and no compilation cache, see `main`), so compute
    seconds compare across agents and do not depend on the order of the runs."""

    def factory(config: EvaluationConfig, workers: int) -> Backend:
        drain_shared_pools()
        cache = JsonCache(directory / "result-cache")
        if workers == 1:
            return InProcess(Evaluator(config, cache=cache))
        return ProcessPool(config, workers, cache)

    return factory


def _has_run(directory: Path) -> bool:
    if not (directory / FILENAME).exists():
        return False
    with RunStore(directory) as store:
        return store.run() is not None


def _evaluations(directory: Path) -> list[dict[str, Any]]:
    with RunStore(directory) as store:
        return store.evaluations()


def provenance(argv: Sequence[str], args: argparse.Namespace) -> dict[str, Any]:
    """What made the numbers (command, date, machine, scale), so they can be made again."""
    return {
        "command": shlex.join(["python", "benchmarks/agents/run.py", *argv]),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()} with {os.cpu_count()} CPUs",
        "report_only": args.report_only,
        "scale": {
            "budget": args.budget,
            "seeds": args.seeds,
            "batch_size": args.batch_size,
            "fast": args.fast,
            "instances": args.instances,
        },
    }


def interval(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval (nan with a single value)."""
    array = np.asarray(values, dtype=float)
    if array.size < 2:
        return float(array.mean()), math.nan
    half = stats.t.ppf(0.975, array.size - 1) * array.std(ddof=1) / math.sqrt(array.size)
    return float(array.mean()), float(half)


def summarise(
    runs: Runs, groups: Sequence[Group], budget: int, spent: Sequence[Currency]
) -> list[dict[str, Any]]:
    """Per (agent, env): rewards over evaluations, family rewards, spending, accounting."""
    by_key = {(group.agent, group.env_id): group for group in groups}
    return [
        {
            **rewards(agent, env, rows, budget),
            **spending(by_key[agent, env], rows, spent),
            "accounting": accounting(rows),
        }
        for (agent, env), rows in runs.items()
    ]


def rewards(agent: str, env: str, runs: Sequence[Sequence[Row]], budget: int) -> dict[str, Any]:
    """The best full-fidelity reward so far by budget charged, held to the budget, over seeds."""
    padded = np.asarray([best_by_budget(rows, budget) for rows in runs])
    mean_curve, half_curve = zip(*(interval(column) for column in padded.T), strict=True)
    return {
        "agent": agent,
        "env": env,
        "seeds": len(runs),
        "final_best": padded[:, -1].tolist(),
        "best": interval(padded[:, -1]),
        "checkpoints": {
            str(fraction): interval(padded[:, max(1, round(fraction * budget)) - 1])
            for fraction in CHECKPOINTS
        },
        "curve_mean": list(mean_curve),
        "curve_half_width": list(half_curve),
    }


def spending(
    group: Group, runs: Sequence[Sequence[Row]], spent: Sequence[Currency]
) -> dict[str, Any]:
    """The best function's reward per family, and the mean over seeds of what a run spent.

    A currency the group spent none of (tokens, for `random`) is None: not applicable.
    """
    return {
        "families": {name: [band.mean, band.half_width] for name, band in group.families.items()},
        "spent": {
            currency.name: None
            if group.spent[currency.name] is None
            else float(np.mean([sum(map(currency.cost, rows)) for rows in runs]))
            for currency in spent
        },
    }


def accounting(runs: Sequence[Sequence[Row]]) -> dict[str, float | None]:
    """Where the evaluations went: charged, behavioural duplicates and unusable replies
    (means over seeds), and the share of LLM replies that were usable new functions.

    LLM agents note tokens on every reply, unusable ones included, and never on seeds, so
    the replies are the rows whose notes hold them; the share is pooled over seeds and
    None for an agent that made no reply (`random`).
    """
    replies = [row for rows in runs for row in rows if "prompt_tokens" in json.loads(row["notes"])]
    usable = [row for row in replies if row["status"] == "ok" and row["duplicate_of"] is None]
    return {
        "charged": _mean_count(runs, charged),
        "duplicates": _mean_count(runs, lambda row: row["duplicate_of"] is not None),
        "unusable": _mean_count(runs, lambda row: row["status"] == UNUSABLE),
        "usable_share": len(usable) / len(replies) if replies else None,
    }


def _mean_count(runs: Sequence[Sequence[Row]], counted: Callable[[Row], bool]) -> float:
    return float(np.mean([sum(map(counted, rows)) for rows in runs]))


def beats(a: Sequence[float], b: Sequence[float]) -> float:
    """P(A beats B): the chance that a seed of A ends above a seed of B, ties counting half.

    The Vargha-Delaney A12: unlike a difference of means, it reads the same on every
    reward scale and says how often, not by how much.
    """
    left, right = np.asarray(a, dtype=float)[:, None], np.asarray(b, dtype=float)[None, :]
    return float(np.mean((left > right) + 0.5 * (left == right)))


def beats_interval(
    a: Sequence[float], b: Sequence[float], resamples: int = RESAMPLES
) -> tuple[float, float]:
    """95% percentile bootstrap interval of `beats`, each agent's seeds resampled apart.

    The generator is seeded with 0, so the same rewards give the same interval.
    """
    rng = np.random.default_rng(0)
    left, right = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    left = left[rng.integers(0, left.size, (resamples, left.size))][:, :, None]
    right = right[rng.integers(0, right.size, (resamples, right.size))][:, None, :]
    estimates = np.mean((left > right) + 0.5 * (left == right), axis=(1, 2))
    low, high = np.percentile(estimates, [2.5, 97.5])
    return float(low), float(high)


def rank_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of the Mann-Whitney U test (exact without ties): how surprising
    the split of wins would be if neither agent were better. With few seeds a bootstrap
    interval can shrink to a point; this says what that point is worth."""
    return float(stats.mannwhitneyu(a, b, alternative="two-sided").pvalue)


def beats_matrices(results: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, dict]]:
    """Per env: [P(row agent beats column agent), low, high, p-value] for every pair of
    agents; each pair is computed once, and its mirror is one minus it."""
    finals: dict[str, dict[str, list[float]]] = {}
    for result in results:
        finals.setdefault(result["env"], {})[result["agent"]] = result["final_best"]
    matrices: dict[str, dict[str, dict]] = {}
    for env, agents in finals.items():
        matrix: dict[str, dict] = {agent: {} for agent in agents}
        for row, column in itertools.combinations(agents, 2):
            mine, theirs = agents[row], agents[column]
            low, high = beats_interval(mine, theirs)
            probability, p_value = beats(mine, theirs), rank_test(mine, theirs)
            matrix[row][column] = [probability, low, high, p_value]
            matrix[column][row] = [1.0 - probability, 1.0 - high, 1.0 - low, p_value]
        matrices[env] = matrix
    return matrices


def table(results: Sequence[Mapping[str, Any]]) -> Table:
    view = Table(title="best reward found (mean ± 95% CI over seeds)")
    for column in ("agent", "env", "seeds", "best"):
        view.add_column(column, justify="left" if column in ("agent", "env") else "right")
    for result in results:
        view.add_row(result["agent"], result["env"], str(result["seeds"]), cell(*result["best"]))
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
        axes.set_ylim(bottom=max(axes.get_ylim()[0], REWARD_AXIS_FLOOR))
        axes.legend(fontsize="small")
    for suffix in ("png", "svg"):
        figure.savefig(stem.with_suffix(f".{suffix}"), dpi=120)


if __name__ == "__main__":
    main()
