"""What the current protocol costs per Suite candidate, against the first suite's protocol.

    python benchmarks/validity/cost.py

Scoring version 0 trained 4 instances of each generated family and 13 Feynman equations
with 4 seeds on 512 training samples; version 1 trains more instances with 2 seeds on 4096
samples. Both protocols score the throughput benchmark's 8 candidates (benchmarks/perf) on
the whole Suite, batched, from a cold cache, in this one invocation, and the ratio of their
wall times is printed. The version-0 protocol is replayed with today's code (its task
design differs, which does not change the work per model).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "perf"))
from candidates import expressions, jax_source

from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.references import REFERENCES
from actgym.tasks import SUITE, TaskSizes
from actgym.trainer import TrainerConfig

_VERSION_0_PROTOCOL = {
    "trainer": TrainerConfig(seeds=(0, 1, 2, 3)),
    "sizes": TaskSizes(n_train=512, n_validation=256, n_test=256),
}
VERSION_0 = (
    EvaluationConfig(families=SUITE[:3], num_instances=4, **_VERSION_0_PROTOCOL),
    EvaluationConfig(families=("Feynman",), **_VERSION_0_PROTOCOL),
)
"""The generated families had 4 instances, Feynman all 13 equations."""


def seconds_per_candidate(config: EvaluationConfig, sources: list[str]) -> tuple[float, int]:
    with tempfile.TemporaryDirectory() as cache:
        evaluator = Evaluator(config, cache=JsonCache(Path(cache)), programs_per_batch=len(sources))
        evaluator.evaluate(REFERENCES["relu"])
        models = sum(
            len(evaluator.family_data(family).instance_names) for family in config.families
        ) * len(config.trainer.seeds)
        started = time.perf_counter()
        results = evaluator.evaluate_many(sources)
        elapsed = time.perf_counter() - started
        evaluator.close()
    assert all(result.ok for result in results), [r.message for r in results if not r.ok]
    return elapsed / len(sources), models


def main() -> None:
    os.environ["ACTGYM_XLA_CACHE"] = "0"  # every protocol compiles cold
    sources = [jax_source(expression) for expression in expressions(8)]
    parts = [seconds_per_candidate(config, sources) for config in VERSION_0]
    old_s, old_models = sum(part[0] for part in parts), sum(part[1] for part in parts)
    new_s, new_models = seconds_per_candidate(EvaluationConfig(families=SUITE), sources)
    table = Table(title="Suite cost per candidate (batched wall time, 8 candidates)")
    for column in ("protocol", "models", "seconds", "ratio"):
        table.add_column(column, justify="right")
    table.add_row("scoring version 0", str(old_models), f"{old_s:.2f}", "1.00")
    table.add_row("current", str(new_models), f"{new_s:.2f}", f"{new_s / old_s:.2f}")
    Console(width=100).print(table)


if __name__ == "__main__":
    main()
