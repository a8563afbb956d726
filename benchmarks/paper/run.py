"""The paper's functions against ReLU and GELU, per family and on the Suite, under each protocol.

    python benchmarks/paper/run.py                 # default settings, about 30 min on 2 cores
    python benchmarks/paper/run.py --fast          # the fast trainer, for a quick look

Protocols: actgym's suite in example scope (the default) and in batch scope (the function
sees the (batch, width) tensor, as in the paper's code), and the paper's unverified
details (every generated family trained on [0, 0.5] and tested on (0.5, 1], 50 steps of
batch 128) in both scopes. For each function: the OOD loss (geometric mean over
instances of the seed-mean MSE), the reward with its 95% interval, its rank among the
functions here, the training loss, and the probe's locality label. Prints Markdown tables
and writes them, with the raw numbers, next to this script (results-default or results-fast;
--out chooses another stem).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.references import NAMED, PAPER
from actgym.result import EvaluationResult
from actgym.reward import summary_loss
from actgym.tasks import SUITE
from actgym.tasks.base import DEFAULT_REGION, UNIT_HALVES
from actgym.trainer import BATCH_SCOPE, EXAMPLE_SCOPE, TrainerConfig

FUNCTIONS = ("relu", "gelu", *PAPER)
HERE = Path(__file__).resolve().parent
Z_95 = 1.96


@dataclass(frozen=True)
class Protocol:
    name: str
    scope: str
    region: str
    steps: int | None = None
    unverified: bool = False


PROTOCOLS = (
    Protocol("actgym suite, example scope", EXAMPLE_SCOPE, DEFAULT_REGION),
    Protocol("actgym suite, batch scope", BATCH_SCOPE, DEFAULT_REGION),
    Protocol("UNVERIFIED paper protocol, example scope", EXAMPLE_SCOPE, UNIT_HALVES, 50, True),
    Protocol("UNVERIFIED paper protocol, batch scope", BATCH_SCOPE, UNIT_HALVES, 50, True),
)


def evaluate(protocol: Protocol, *, fast: bool, task_seed: int) -> dict[str, EvaluationResult]:
    trainer = TrainerConfig.preset(fast=fast, scope=protocol.scope, steps=protocol.steps)
    if protocol.unverified:
        trainer = dataclasses.replace(trainer, batch_size=128)
    config = EvaluationConfig(
        families=SUITE, trainer=trainer, task_seed=task_seed, region=protocol.region
    )
    evaluator = Evaluator(config)
    try:
        outcomes = evaluator.evaluate_many([NAMED[name] for name in FUNCTIONS])
        return dict(zip(FUNCTIONS, outcomes, strict=True))
    finally:
        evaluator.close()


def rows(results: Mapping[str, EvaluationResult], family: str | None) -> list[dict]:
    """One row per function, for one family (None: the Suite), ranked by reward."""
    table = []
    for name, result in results.items():
        row: dict = {"function": name, "status": result.status, "locality": result.locality}
        if result.ok:
            score = result.families[family] if family else None
            reward = score.reward if score else result.reward
            stderr = score.stderr if score else result.reward_stderr or 0.0
            scores = [result.families[family]] if family else list(result.families.values())
            row |= {
                "reward": reward,
                "low": reward - Z_95 * stderr,
                "high": reward + Z_95 * stderr,
                "ood_loss": summary_loss([np.asarray(s.ood_loss) for s in scores]),
                "train_loss": summary_loss([np.asarray(s.train_loss) for s in scores]),
            }
        table.append(row)
    ranked = sorted((r for r in table if "reward" in r), key=lambda r: -r["reward"])
    for rank, row in enumerate(ranked, start=1):
        row["rank"] = rank
    return sorted(table, key=lambda r: r.get("rank", len(table) + 1))


def markdown(title: str, table: Sequence[dict]) -> str:
    lines = [
        f"**{title}**",
        "",
        "| rank | function | locality | reward [95% CI] | OOD loss | train loss |",
        "| ---: | --- | --- | --- | ---: | ---: |",
    ]
    for row in table:
        if "reward" not in row:
            lines.append(f"| - | {row['function']} | - | rejected: {row['status']} | - | - |")
            continue
        lines.append(
            f"| {row['rank']} | {row['function']} | {row['locality']} | "
            f"{row['reward']:+.2f} [{row['low']:+.2f}, {row['high']:+.2f}] | "
            f"{row['ood_loss']:.4g} | {row['train_loss']:.3g} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="the fast trainer preset")
    parser.add_argument("--task-seed", type=int, default=0)
    parser.add_argument(
        "--protocols", nargs="*", type=int, help="indices into PROTOCOLS (default: all)"
    )
    parser.add_argument(
        "--out", type=Path, help="output stem (default: results-default or results-fast here)"
    )
    args = parser.parse_args(argv)
    out = args.out or HERE / f"results-{'fast' if args.fast else 'default'}"
    chosen = [PROTOCOLS[i] for i in args.protocols] if args.protocols else list(PROTOCOLS)
    settings = "fast" if args.fast else "default"
    sections = [f"Settings: {settings} trainer, task seed {args.task_seed}.\n"]
    raw: dict[str, dict] = {}
    for protocol in chosen:
        started = time.perf_counter()
        results = evaluate(protocol, fast=args.fast, task_seed=args.task_seed)
        seconds = time.perf_counter() - started
        sections.append(f"### {protocol.name} ({seconds:.0f} s)\n")
        raw[protocol.name] = {}
        for family in (None, *SUITE):
            table = rows(results, family)
            raw[protocol.name][family or "Suite"] = table
            sections.append(markdown(family or "Suite", table) + "\n")
        print("\n".join(sections[-len(SUITE) - 2 :]), flush=True)
    out.with_suffix(".md").write_text("\n".join(sections), encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(raw, indent=1), encoding="utf-8")
    print(f"wrote {out.with_suffix('.md')} and .json")


if __name__ == "__main__":
    main()
