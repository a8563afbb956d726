"""Fingerprint the losses of the perf candidates, to show a refactor moved no score.

    python benchmarks/perf/losses.py --out before.json            # on the old commit
    python benchmarks/perf/losses.py --out after.json --compare before.json

Every candidate of the perf benchmark (and ReLU and GELU) is evaluated through the public
`Evaluator` with a fresh cache; each family's train, validation and test losses are
written as the hex of their float64 values, so two runs agree only if every loss is
bit-identical. `--compare` prints a table per candidate and exits 1 on any difference.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from candidates import expressions, jax_source
from rich.console import Console
from rich.table import Table

from actgym import EvaluationConfig, Evaluator, TrainerConfig
from actgym.cache import JsonCache
from actgym.references import REFERENCES
from actgym.tasks import SUITE


def fingerprints(families: tuple[str, ...], count: int, fast: bool) -> dict[str, Any]:
    """Per candidate: status, reward and every loss as float hex, fresh from training."""
    config = EvaluationConfig(families=families, trainer=TrainerConfig.preset(fast=fast))
    named = {name: REFERENCES[name] for name in ("relu", "gelu")}
    named |= {expression: jax_source(expression) for expression in expressions(count)}
    with tempfile.TemporaryDirectory() as directory:
        evaluator = Evaluator(config, cache=JsonCache(Path(directory)))
        try:
            results = evaluator.evaluate_many(list(named.values()))
        finally:
            evaluator.close()
    return {
        name: {
            "status": result.status,
            "reward": float(result.reward).hex(),
            "losses": {
                family: [
                    [float(loss).hex() for seeds in getattr(score, split) for loss in seeds]
                    for split in ("train_loss", "id_loss", "ood_loss")
                ]
                for family, score in result.families.items()
            },
        }
        for name, result in zip(named, results, strict=True)
    }


def compare(before: dict[str, Any], after: dict[str, Any]) -> bool:
    table = Table(title="Losses before and after, bit for bit")
    for column in ("candidate", "status", "reward", "losses compared", "identical"):
        table.add_column(column, justify="left" if column == "candidate" else "right")
    same_everywhere = before.keys() == after.keys()
    for name in before.keys() & after.keys():
        old, new = before[name], after[name]
        count = sum(len(split) for family in old["losses"].values() for split in family)
        same = old == new
        same_everywhere &= same
        table.add_row(
            name, new["status"], f"{float.fromhex(new['reward']):+.4f}", str(count), str(same)
        )
    Console(width=120).print(table)
    return same_everywhere


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(SUITE), choices=SUITE)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--fast", action="store_true", help="TrainerConfig.fast()")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--compare", type=Path, help="an earlier --out to compare with")
    args = parser.parse_args()
    measured = fingerprints(tuple(args.families), args.candidates, args.fast)
    args.out.write_text(json.dumps(measured, indent=1, sort_keys=True) + "\n")
    if args.compare is not None:
        identical = compare(json.loads(args.compare.read_text()), measured)
        print("bit-identical" if identical else "LOSSES MOVED")
        sys.exit(0 if identical else 1)


if __name__ == "__main__":
    main()
