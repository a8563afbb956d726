"""Does the score mean what it says? Rank agreement, null models, headroom, external validity.

    python benchmarks/validity/run.py                     # default settings, task seeds 0 and 1
    python benchmarks/validity/run.py --task-seeds 2 3    # the second pair
    python benchmarks/validity/run.py --fast              # TrainerConfig.fast(): a quick look
    python benchmarks/validity/run.py --transfer benchmarks/transfer/last.json \\
        --extra runs/best.py --out benchmarks/validity/results-default.md

For two disjoint task seeds it scores, on the whole Suite, a panel of 13 well-known
activations, the identity (a linear network), four learn-nothing functions, the headroom
functions (polynomial and periodic units that extrapolate some families far better than the
panel), the paper's feature-coupled functions and any `--extra` sources, then reports per env
(every family env and the Suite):

- each function's reward under both task seeds, and the Kendall tau between the two
  rankings: of the panel, of everything that learns (panel, headroom, paper, extras), and
  of the top half of the latter (rankings must replicate, at the top too: tau >= 0.8);
  and in the top half, how many pairs that one task seed separates by more than two
  standard errors keep their order on the other (near-ties may swap, real gaps must not);
- the learn-nothing functions' best reward (it must stay below ReLU's 0);
- the scale's reference points (mean model, mean-model extrapolation, ceiling) and the
  share of the gap to the ceiling the best function closes;
- the no-ceiling rule checked on the measured instance rewards: on every instance, for every
  pair of candidates that both fit, ten times less (floored) OOD loss is at least 1.0 more
  reward;
- the top of the scale: the best functions' OOD loss against the mean model's, so one sees
  whether a function only stays bounded or really extrapolates;
- with `--transfer` (the JSON of benchmarks/transfer/run.py), the Spearman correlation of
  each env's reward with the mean transfer log-ratio to ReLU, with a bootstrap interval
  over functions: measured and disclosed, never tuned;
- the cost: wall seconds per Suite candidate, batched (cold unless `--cache` is warm).

A family env's reward is the family's reward inside the Suite (the losses are the same),
so one Suite evaluation per task seed serves all five envs.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from scipy.stats import kendalltau, spearmanr

from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.references import HEADROOM, LEARN_NOTHING, PANEL, PAPER, as_source
from actgym.reward import NOISE_FLOOR
from actgym.tasks import SUITE, TASKS, families_of, make_family
from actgym.tasks.null_models import family_null_losses
from actgym.trainer import TrainerConfig

TAU_GOAL = 0.8
COUPLED = {name: PAPER[name] for name in ("turbulent", "neighbour", "fisg")}
BASE_CANDIDATES = {
    **PANEL,
    "identity": as_source("x"),
    **LEARN_NOTHING,
    **HEADROOM,
    **COUPLED,
}
BOOTSTRAP_REPLICATES = 2000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task-seeds", type=int, nargs=2, default=(0, 1))
    parser.add_argument("--fast", action="store_true", help="TrainerConfig.fast()")
    parser.add_argument("--cache", type=Path, help="a result cache to reuse (default: cold)")
    parser.add_argument("--extra", type=Path, nargs="*", default=[], help="more candidates")
    parser.add_argument("--transfer", type=Path, help="benchmarks/transfer/run.py's JSON")
    parser.add_argument("--out", type=Path, help="also write the report (Markdown) here")
    parser.add_argument(
        "--json", type=Path, help="also write the numbers and every result (losses) here"
    )
    arguments = parser.parse_args()
    trainer = TrainerConfig.preset(fast=arguments.fast)
    candidates = {**BASE_CANDIDATES, **{path.stem: path.read_text() for path in arguments.extra}}
    learners = [name for name in candidates if name not in LEARN_NOTHING and name != "identity"]
    with tempfile.TemporaryDirectory() as cold:
        cache = arguments.cache or Path(cold)
        scored = {
            seed: score_all(seed, trainer, cache, candidates) for seed in arguments.task_seeds
        }
    transfer = _transfer(arguments.transfer) if arguments.transfer else {}
    report = {env: summarise(env, scored, learners, transfer) for env in TASKS}
    seconds = np.mean([value["seconds_per_candidate"] for value in scored.values()])
    cost = f"Cost: {seconds:.2f} s per Suite candidate (batched, wall" + (
        ", with a reused cache: not a cost measurement)." if arguments.cache else ", cold)."
    )
    text = markdown(report, arguments.task_seeds, trainer, cost, transfer)
    print(text)
    if arguments.out:
        arguments.out.write_text(text)
    if arguments.json:
        results = {
            seed: {name: result.to_dict() for name, result in value["results"].items()}
            for seed, value in scored.items()
        }
        arguments.json.write_text(
            json.dumps(
                {"trainer": trainer.__dict__, "envs": report, "results": results}, default=str
            )
        )


def score_all(task_seed: int, trainer: TrainerConfig, cache: Path, candidates: dict) -> dict:
    """Every candidate on the Suite under one task seed."""
    config = EvaluationConfig(families=SUITE, trainer=trainer, task_seed=task_seed)
    evaluator = Evaluator(config, cache=JsonCache(cache), programs_per_batch=len(candidates))
    started = time.perf_counter()
    results = dict(zip(candidates, evaluator.evaluate_many(list(candidates.values())), strict=True))
    seconds = time.perf_counter() - started
    evaluator.close()
    for name, result in results.items():
        if not result.ok:
            raise SystemExit(f"{name} was rejected: {result.status} {result.message}")
    nulls = {family: family_null_losses(make_family(family, seed=task_seed)) for family in SUITE}
    return {"results": results, "nulls": nulls, "seconds_per_candidate": seconds / len(results)}


def _reward(result: EvaluationResult, env: str) -> float:
    return result.reward if env == "Suite" else result.families[env].reward


def _stderr(result: EvaluationResult, env: str) -> float:
    return result.reward_stderr if env == "Suite" else result.families[env].stderr


def _gap_closed(result: EvaluationResult, env: str) -> float:
    return result.gap_closed if env == "Suite" else result.families[env].gap_closed


def _scale(result: EvaluationResult, env: str) -> dict:
    scale = result.scale if env == "Suite" else result.families[env].scale
    return {
        "mean_model": scale.mean_model,
        "mean_level": scale.mean_level,
        "ceiling": scale.ceiling,
    }


def _geomean_ood(result: EvaluationResult, env: str) -> float:
    per_instance = [
        np.mean(seeds) for family in families_of(env) for seeds in result.families[family].ood_loss
    ]
    return float(np.exp(np.mean(np.log(per_instance))))


def _mean_model_ood(nulls: dict, env: str) -> np.ndarray:
    return np.array([null.test for family in families_of(env) for null in nulls[family]["mean"]])


def _tau(rewards: dict, names: Sequence[str], seeds: Sequence[int]) -> float:
    return float(kendalltau(*([rewards[name][seed] for name in names] for seed in seeds)).statistic)


def separated_agreement(
    rewards: dict, stderrs: dict, names: Sequence[str], seeds: Sequence[int]
) -> tuple[int, int]:
    """Pairs whose rewards differ by more than two standard errors on the first task seed:
    how many there are, and how many keep their order on the second."""
    first, second = seeds
    separated = agreeing = 0
    for index, name in enumerate(names):
        for other in names[index + 1 :]:
            gap = rewards[name][first] - rewards[other][first]
            if abs(gap) > 2 * np.hypot(stderrs[name][first], stderrs[other][first]):
                separated += 1
                agreeing += gap * (rewards[name][second] - rewards[other][second]) > 0
    return separated, agreeing


def headroom_violations(results: dict[str, EvaluationResult], env: str) -> tuple[int, int]:
    """Pairs (candidate, candidate, instance), both fitted, one with >= 10x less floored OOD
    loss: how many were checked, and how many earned less than 1.0 more reward."""
    checked = violations = 0
    for family in families_of(env):
        scores = [result.families[family] for result in results.values()]
        for instance in range(len(scores[0].instances)):
            fitted = [
                (max(float(np.mean(score.ood_loss[instance])), NOISE_FLOOR), score)
                for score in scores
                if score.fitted[instance]
            ]
            for loss, score in fitted:
                for other_loss, other in fitted:
                    if loss * 10 <= other_loss:
                        checked += 1
                        gain = score.instance_rewards[instance] - other.instance_rewards[instance]
                        violations += gain < 1.0
    return checked, violations


def summarise(env: str, scored: dict, learners: list[str], transfer: dict[str, float]) -> dict:
    seeds = list(scored)
    results = {seed: scored[seed]["results"] for seed in seeds}
    names = list(results[seeds[0]])
    rewards = {name: {seed: _reward(results[seed][name], env) for seed in seeds} for name in names}
    stderrs = {name: {seed: _stderr(results[seed][name], env) for seed in seeds} for name in names}
    mean_reward = {name: float(np.mean(list(rewards[name].values()))) for name in names}
    top = sorted(learners, key=lambda name: -mean_reward[name])[: len(learners) // 2]
    mean_ood = {seed: _mean_model_ood(scored[seed]["nulls"], env) for seed in seeds}
    checks = [headroom_violations(results[seed], env) for seed in seeds]
    summary = {
        "rewards": rewards,
        "gap_closed": {
            name: {seed: _gap_closed(results[seed][name], env) for seed in seeds} for name in names
        },
        "ood_to_mean_model": {
            name: {
                seed: _geomean_ood(results[seed][name], env)
                / float(np.exp(np.mean(np.log(mean_ood[seed]))))
                for seed in seeds
            }
            for name in names
        },
        "tau_panel": _tau(rewards, list(PANEL), seeds),
        "tau_learners": _tau(rewards, learners, seeds),
        "tau_top": _tau(rewards, top, seeds),
        "top_separated": separated_agreement(rewards, stderrs, top, seeds),
        "top": top,
        "panel_spread": [float(np.std([rewards[name][seed] for name in PANEL])) for seed in seeds],
        "learn_nothing_best": max(rewards[name][seed] for name in LEARN_NOTHING for seed in seeds),
        "scale": {seed: _scale(results[seed]["relu"], env) for seed in seeds},
        "headroom_pairs": sum(checked for checked, _ in checks),
        "headroom_violations": sum(violations for _, violations in checks),
    }
    if transfer:
        summary["transfer"] = external_validity(mean_reward, transfer)
    return summary


def external_validity(mean_reward: dict[str, float], transfer: dict[str, float]) -> dict:
    """Spearman between reward and mean transfer log-ratio, bootstrap 95% over functions."""
    shared = [name for name in transfer if name in mean_reward]
    x = np.array([mean_reward[name] for name in shared])
    y = np.array([transfer[name] for name in shared])
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(shared), size=(BOOTSTRAP_REPLICATES, len(shared)))
    replicates = [spearmanr(x[draw], y[draw]).statistic for draw in draws]
    low, high = np.nanpercentile(replicates, [2.5, 97.5])
    return {
        "functions": len(shared),
        "spearman": float(spearmanr(x, y).statistic),
        "low": float(low),
        "high": float(high),
    }


def _transfer(path: Path) -> dict[str, float]:
    reports = json.loads(path.read_text())
    return {
        name: report["mean_log_ratio_to_relu"]
        for name, report in reports.items()
        if report.get("mean_log_ratio_to_relu") is not None
    }


def _row(cells: Sequence[object]) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _head(*columns: str) -> list[str]:
    return [_row(columns), "|" + " --- |" * len(columns)]


def markdown(
    report: dict, seeds: Sequence[int], trainer: TrainerConfig, cost: str, transfer: dict
) -> str:
    a, b = seeds
    settings = "fast" if trainer == TrainerConfig.fast() else "default"
    lines = [
        f"# Validity, {settings} trainer settings, task seeds {a} / {b}",
        "",
        *_checks_table(report),
        "",
        cost,
        "",
        *_scale_table(report, a),
    ]
    for env, summary in report.items():
        lines += _env_table(env, summary, seeds)
    if transfer:
        lines += _transfer_table(report)
    return "\n".join(lines) + "\n"


def _checks_table(report: dict) -> list[str]:
    """Per env, every check of the score at once: rank agreement, nulls, headroom, spread."""
    lines = _head(
        "env",
        "tau panel",
        "tau all learners",
        "tau top half",
        "top half: pairs apart by > 2 SE that keep their order",
        "best learn-nothing",
        "no-ceiling pairs (violations)",
        "panel spread",
    )
    for env, summary in report.items():
        taus = [summary[key] for key in ("tau_panel", "tau_learners", "tau_top")]
        lines.append(
            _row(
                [
                    env,
                    *(f"{tau:.2f}{'' if tau >= TAU_GOAL else ' (below 0.8)'}" for tau in taus),
                    "{1} of {0}".format(*summary["top_separated"]),
                    f"{summary['learn_nothing_best']:+.3f}"
                    + ("" if summary["learn_nothing_best"] < 0 else " (NOT below ReLU)"),
                    f"{summary['headroom_pairs']} ({summary['headroom_violations']})",
                    " / ".join(f"{value:.2f}" for value in summary["panel_spread"]),
                ]
            )
        )
    return lines


def _scale_table(report: dict, seed: int) -> list[str]:
    """Per env, the scale's reference points and how much of the gap the best function closes."""
    lines = ["## The scale (reward of each reference point; ReLU is 0)", ""]
    lines += _head(
        "env", "mean model", "bounded (mean-model OOD loss)", "ceiling", "best", "gap closed"
    )
    for env, summary in report.items():
        scale = summary["scale"][seed]
        best = summary["top"][0]
        lines.append(
            _row(
                [
                    env,
                    *(f"{scale[key]:+.2f}" for key in ("mean_model", "mean_level", "ceiling")),
                    best,
                    f"{summary['gap_closed'][best][seed]:.1%}",
                ]
            )
        )
    return lines


def _env_table(env: str, summary: dict, seeds: Sequence[int]) -> list[str]:
    """One env's functions, best first: rewards per task seed, gap closed, OOD loss."""
    first = seeds[0]
    lines = ["", f"## {env}", ""]
    lines += _head(
        "function",
        *(f"reward (seed {seed})" for seed in seeds),
        "gap closed",
        "OOD / mean model's",
    )
    for name, by_seed in sorted(
        summary["rewards"].items(), key=lambda item: -sum(item[1].values())
    ):
        lines.append(
            _row(
                [
                    name,
                    *(f"{by_seed[seed]:+.3f}" for seed in seeds),
                    f"{summary['gap_closed'][name][first]:.1%}",
                    f"{summary['ood_to_mean_model'][name][first]:.3g}",
                ]
            )
        )
    return lines


def _transfer_table(report: dict) -> list[str]:
    """Per env, the Spearman correlation of reward with the transfer log-ratio to ReLU."""
    lines = ["", "## External validity: reward against `actgym transfer`", ""]
    lines += _head("env", "functions", "Spearman", "95% bootstrap interval")
    for env, summary in report.items():
        value = summary["transfer"]
        lines.append(
            _row(
                [
                    env,
                    value["functions"],
                    f"{value['spearman']:+.2f}",
                    f"[{value['low']:+.2f}, {value['high']:+.2f}]",
                ]
            )
        )
    return lines


if __name__ == "__main__":
    main()
