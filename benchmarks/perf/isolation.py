"""What training in a killable, memory-limited process costs next to training in-process.

    python benchmarks/perf/isolation.py                     # default settings, Harmonics
    python benchmarks/perf/isolation.py --fast --families Harmonics Poly1D

The same checked batch of candidates is trained the two ways, alternately, `--repeats`
times in one invocation: in this process with `trainer.train_many` (what the Evaluator
did before training processes), and through `actgym.training_process` (validate again,
compile, run, send the losses back as JSON). Losses must be bit-identical; the table
prints the median wall time of each and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from candidates import expressions, jax_source
from rich.console import Console
from rich.table import Table

from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.tasks import SUITE
from actgym.trainer import TrainerConfig, train_many


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=["Harmonics"], choices=SUITE)
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--fast", action="store_true", help="TrainerConfig.fast()")
    args = parser.parse_args()
    os.environ["ACTGYM_XLA_CACHE"] = "0"  # both ways compile every repeat, as a new candidate
    trainer = TrainerConfig.preset(fast=args.fast)
    config = EvaluationConfig(families=tuple(args.families), trainer=trainer)
    console = Console(width=100)
    with tempfile.TemporaryDirectory() as directory:
        evaluator = Evaluator(config, cache=JsonCache(Path(directory)))
        programs = [
            evaluator.check(jax_source(expression)).program
            for expression in expressions(args.candidates)
        ]
        data = {family: evaluator.family_data(family) for family in config.families}
        evaluator.training.train(programs[:1], config, {})  # start a process
        timings: dict[str, list[float]] = {"in-process": [], "training process": []}
        for _ in range(args.repeats):
            started = time.perf_counter()
            local = {family: train_many(programs, data[family], trainer) for family in data}
            timings["in-process"].append(time.perf_counter() - started)
            started = time.perf_counter()
            isolated = evaluator.training.train(programs, config, {})
            timings["training process"].append(time.perf_counter() - started)
            for index, losses in enumerate(isolated):
                for family, loss in losses.items():
                    expected = local[family][index]
                    assert np.array_equal(loss.test, expected.test), "losses must be identical"
        evaluator.close()
    reference = statistics.median(timings["in-process"])
    table = Table(
        title=f"{len(programs)} candidates, {', '.join(config.families)}, "
        f"{'fast' if args.fast else 'default'} settings, median of {args.repeats}"
    )
    for column in ("where", "wall s", "ratio"):
        table.add_column(column, justify="right")
    for name, values in timings.items():
        median = statistics.median(values)
        table.add_row(name, f"{median:.2f}", f"{median / reference:.3f}")
    console.print(table)


if __name__ == "__main__":
    main()
