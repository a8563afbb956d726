"""Does the score mean what it says? Rank agreement across task seeds, null models, learn-nothing.

    python benchmarks/validity/run.py                # default settings, task seeds 0 and 1
    python benchmarks/validity/run.py --fast         # TrainerConfig.fast(): a quick look

For two disjoint task seeds it scores a panel of 13 well-known activations, the identity
(a linear network) and four learn-nothing functions on the whole Suite, then prints per env
(every family env and the Suite):

- each function's reward and standard error under both task seeds, and the Kendall tau
  between the panel's two rankings (the rankings must replicate: tau >= 0.8);
- the learn-nothing functions' best reward (it must stay below ReLU's 0) and their fit;
- the OOD loss (geometric mean over instances) of the two closed-form null models, the
  training mean and a least-squares linear fit, beside ReLU's and GELU's, so the headroom
  shows;
- the panel's spread (standard deviation of its rewards) per env and task seed: the
  family spreads at default settings on task seed 0 are the Suite's SUITE_SCALES;
- the cost: wall seconds per Suite candidate, batched (the second task seed reuses compiled
  programs; benchmarks/validity/cost.py compares costs properly).

A family env's reward is the family's reward inside the Suite (the losses are the same),
so one Suite evaluation per task seed serves all five envs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn
from rich.table import Table
from scipy.stats import kendalltau

from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.references import LEARN_NOTHING, PANEL, as_source
from actgym.tasks import SUITE, TASKS, families_of, make_family
from actgym.tasks.null_models import NULL_MODELS, family_null_losses
from actgym.trainer import TrainerConfig

TAU_GOAL = 0.8
CANDIDATES = {**PANEL, "identity": as_source("x"), **LEARN_NOTHING}
ENVS = TASKS
console = Console(width=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task-seeds", type=int, nargs=2, default=(0, 1))
    parser.add_argument("--fast", action="store_true", help="TrainerConfig.fast()")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    arguments = parser.parse_args()
    trainer = TrainerConfig.preset(fast=arguments.fast)
    with (
        tempfile.TemporaryDirectory() as cache,
        Progress(*Progress.get_default_columns(), TimeElapsedColumn(), console=console) as bar,
    ):
        task = bar.add_task("task seeds scored", total=len(arguments.task_seeds))
        scored = {}
        for seed in arguments.task_seeds:
            bar.update(task, description=f"task seed {seed}: {len(CANDIDATES)} on the Suite")
            scored[seed] = score_all(seed, trainer, Path(cache))
            bar.advance(task)
    report = {env: summarise(env, scored) for env in ENVS}
    for env, summary in report.items():
        show(env, summary, arguments.task_seeds)
    show_overview(report, scored)
    if arguments.json:
        arguments.json.write_text(json.dumps({"trainer": trainer.__dict__, "envs": report}))


def score_all(task_seed: int, trainer: TrainerConfig, cache: Path) -> dict:
    """Every candidate on the Suite under one task seed, with a cold score cache."""
    config = EvaluationConfig(families=SUITE, trainer=trainer, task_seed=task_seed)
    evaluator = Evaluator(config, cache=JsonCache(cache), batch_size=len(CANDIDATES))
    started = time.perf_counter()
    results = dict(zip(CANDIDATES, evaluator.evaluate_many(list(CANDIDATES.values())), strict=True))
    seconds = time.perf_counter() - started
    evaluator.close()
    for name, result in results.items():
        if not result.ok:
            raise SystemExit(f"{name} was rejected: {result.status} {result.message}")
    nulls = {family: family_null_losses(make_family(family, seed=task_seed)) for family in SUITE}
    console.print(f"task seed {task_seed}: {len(CANDIDATES)} candidates in {seconds:.0f} s")
    return {"results": results, "nulls": nulls, "seconds_per_candidate": seconds / len(CANDIDATES)}


def _reward(result: EvaluationResult, env: str) -> tuple[float, float, float]:
    """Reward, standard error and share of fitted instances of one result on one env."""
    if env == "Suite":
        return result.reward, result.reward_stderr, result.fit_share
    family = result.families[env]
    return family.reward, family.stderr, float(np.mean(family.fitted))


def _geomean_ood(result: EvaluationResult, env: str) -> float:
    families = families_of(env)
    per_instance = [np.mean(seeds) for f in families for seeds in result.families[f].ood_loss]
    return float(np.exp(np.mean(np.log(per_instance))))


def _null_ood(nulls: dict, env: str, model: str) -> float:
    families = families_of(env)
    losses = [null.test for family in families for null in nulls[family][model]]
    return float(np.exp(np.mean(np.log(losses))))


def summarise(env: str, scored: dict) -> dict:
    seeds = list(scored)
    rewards = {
        name: {seed: _reward(scored[seed]["results"][name], env) for seed in seeds}
        for name in CANDIDATES
    }
    panel = [[rewards[name][seed][0] for name in PANEL] for seed in seeds]
    tau = float(kendalltau(panel[0], panel[1]).statistic)
    learn_nothing = max(rewards[name][seed][0] for name in LEARN_NOTHING for seed in seeds)
    ood = {
        **{
            f"{model} model": [_null_ood(scored[seed]["nulls"], env, model) for seed in seeds]
            for model in NULL_MODELS
        },
        **{
            name: [_geomean_ood(scored[seed]["results"][name], env) for seed in seeds]
            for name in ("relu", "gelu")
        },
    }
    spread = [float(np.std(rewards_of_seed)) for rewards_of_seed in panel]
    return {
        "rewards": rewards,
        "tau": tau,
        "panel_spread": spread,
        "learn_nothing_best": learn_nothing,
        "ood": ood,
    }


def show(env: str, summary: dict, seeds: tuple[int, int]) -> None:
    table = Table(title=f"{env}: Kendall tau {summary['tau']:.2f}")
    table.add_column("activation")
    for seed in seeds:
        table.add_column(f"reward (seed {seed})", justify="right")
        table.add_column("rank", justify="right")
        table.add_column("fit", justify="right")
    ranks = {
        seed: {
            name: position + 1
            for position, name in enumerate(
                sorted(PANEL, key=lambda n: -summary["rewards"][n][seed][0])
            )
        }
        for seed in seeds
    }
    for name, by_seed in summary["rewards"].items():
        cells = [name]
        for seed in seeds:
            reward, stderr, fit = by_seed[seed]
            cells += [
                f"{reward:+.3f} ± {stderr:.3f}",
                str(ranks[seed].get(name, "-")),
                f"{fit:.2f}",
            ]
        table.add_row(*cells, end_section=name == list(PANEL)[-1])
    console.print(table)
    losses = ", ".join(
        f"{name} {' / '.join(f'{value:.3g}' for value in values)}"
        for name, values in summary["ood"].items()
    )
    console.print(f"OOD loss (geometric mean, seed {seeds[0]} / {seeds[1]}): {losses}\n")


def show_overview(report: dict, scored: dict) -> None:
    table = Table(title="Validity overview")
    for column in ("env", "tau", "goal", "best learn-nothing", "below ReLU", "panel spread"):
        table.add_column(column, justify="right")
    for env, summary in report.items():
        table.add_row(
            env,
            f"{summary['tau']:.2f}",
            "yes" if summary["tau"] >= TAU_GOAL else "NO",
            f"{summary['learn_nothing_best']:+.3f}",
            "yes" if summary["learn_nothing_best"] < 0 else "NO",
            " / ".join(f"{value:.2f}" for value in summary["panel_spread"]),
        )
    console.print(table)
    cost = [value["seconds_per_candidate"] for value in scored.values()]
    console.print(f"cost: {np.mean(cost):.2f} s per Suite candidate (batched, wall)")


if __name__ == "__main__":
    main()
