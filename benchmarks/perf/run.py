"""Evaluation throughput: actgym against a PyTorch eager loop and the FLOP-bound floor.

    python benchmarks/perf/run.py                 # default settings, whole suite
    python benchmarks/perf/run.py --fast --families Harmonics

For each family it evaluates a fixed, seeded set of distinct candidates three ways in
one invocation: one at a time, in batches (compiled together), and, for a sample of the
(instance, seed) models, with the PyTorch eager reference. It prints candidates per
minute, the compile / run / overhead split, peak memory, the speed-up over PyTorch, and
how far the compiled run is from the FLOP-bound floor of this machine.

Columns (seconds are per candidate): check = sandbox + validation + probe; compile and
run = compiling and running one candidate's training alone (all instances and seeds);
wall = wall time per candidate when the set is evaluated in batches (everything
included); wall/run = wall over the compiled run alone; torch = the PyTorch eager loop
(all seeds of the first instance timed, scaled to the family's instance count); floor =
training FLOPs / measured matmul throughput.
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from candidates import expressions, jax_source, torch_function
from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn
from rich.table import Table

from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.tasks import SUITE
from actgym.trainer import TrainerConfig

console = Console(width=160)


@dataclass
class Row:
    family: str
    models: int
    single_s: float
    batched_s: float
    check_s: float
    compile_s: float
    run_s: float
    torch_s: float
    floor_s: float
    server_rss_mb: float


def main() -> None:
    arguments = parse_arguments()
    trainer = TrainerConfig.preset(fast=arguments.fast)
    sources = [jax_source(expression) for expression in expressions(arguments.candidates)]
    throughput = matmul_flops_per_second()
    with Progress(*Progress.get_default_columns(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("families measured", total=len(arguments.families))
        rows = []
        for family in arguments.families:
            bar.update(task, description=f"{family}: single, batched, torch")
            rows.append(measure(family, trainer, sources, arguments, throughput))
            bar.advance(task)
    report(rows, trainer, arguments, throughput)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(SUITE), choices=SUITE)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--torch-candidates", type=int, default=2)
    parser.add_argument("--fast", action="store_true", help="TrainerConfig.fast()")
    return parser.parse_args()


def measure(
    family: str,
    trainer: TrainerConfig,
    sources: list[str],
    arguments: argparse.Namespace,
    throughput: float,
) -> Row:
    config = EvaluationConfig(families=(family,), trainer=trainer)
    with tempfile.TemporaryDirectory() as directory:
        single, single_results, _ = timed_evaluation(config, sources, Path(directory, "a"), 1)
        batched, batched_results, server_rss = timed_evaluation(
            config, sources, Path(directory, "b"), arguments.batch_size
        )
    assert single_results == batched_results, "batched results must equal single results"
    ok = [result for result in single_results if result.ok]
    evaluator = Evaluator(config, cache=JsonCache(tempfile.mkdtemp()))
    data = evaluator.family_data(family)
    models = len(data.instance_names) * len(trainer.seeds)
    torch_s = torch_seconds_per_candidate(arguments, data, trainer)
    flops = np.mean([result.flops_per_element for result in ok])
    evaluator.close()
    return Row(
        family=family,
        models=models,
        single_s=single / len(sources),
        batched_s=batched / len(sources),
        check_s=np.mean([result.timings.check_s for result in batched_results]),
        compile_s=np.mean([result.timings.compile_s for result in ok]),
        run_s=np.mean([result.timings.train_s for result in ok]),
        torch_s=torch_s,
        floor_s=training_flops(data, trainer, flops) / throughput,
        server_rss_mb=server_rss,
    )


def timed_evaluation(
    config: EvaluationConfig, sources: list[str], cache: Path, batch_size: int
) -> tuple[float, list[EvaluationResult], float]:
    """Seconds to score every source from cold (baseline and data preparation excluded)."""
    evaluator = Evaluator(config, cache=JsonCache(cache), batch_size=batch_size)
    evaluator.evaluate(evaluator_reference_source())
    started = time.perf_counter()
    if batch_size == 1:
        results = [evaluator.evaluate(source) for source in sources]
    else:
        results = evaluator.evaluate_many(sources)
    elapsed = time.perf_counter() - started
    server_rss = server_peak_rss_mb(evaluator)
    evaluator.close()
    return elapsed, results, server_rss


def evaluator_reference_source() -> str:
    from actgym.references import REFERENCES

    return REFERENCES["relu"]


def torch_seconds_per_candidate(
    arguments: argparse.Namespace, data: object, trainer: TrainerConfig
) -> float:
    """Time all seeds of the first instance and scale to the family's instance count."""
    import torch
    from torch_reference import train_one

    torch.set_num_threads(os.cpu_count() or 1)
    per_candidate = []
    for expression in expressions(arguments.torch_candidates):
        activation = torch_function(expression)
        seconds = [
            train_one(activation, data, trainer, 0, seed)[1] for seed in range(len(trainer.seeds))
        ]
        per_candidate.append(sum(seconds) * len(data.instance_names))
    return float(np.mean(per_candidate))


def training_flops(data: object, trainer: TrainerConfig, activation_flops: float) -> float:
    """Dense forward + backward (3x forward) plus the activation's cost, for every model."""
    inputs = data.arrays["x_train"].shape[-1]
    width, batch = trainer.width, trainer.batch_size
    dense = 2 * batch * (inputs * width + (trainer.depth - 1) * width * width + width)
    activation = activation_flops * batch * width * trainer.depth
    models = len(data.instance_names) * len(trainer.seeds)
    return 3.0 * (dense + activation) * trainer.steps * models


def matmul_flops_per_second(size: int = 512, repeats: int = 50) -> float:
    a = jnp.ones((size, size), jnp.float32)
    multiply = jax.jit(lambda m: m @ m)
    multiply(a).block_until_ready()
    started = time.perf_counter()
    for _ in range(repeats):
        multiply(a).block_until_ready()
    return 2.0 * size**3 * repeats / (time.perf_counter() - started)


def server_peak_rss_mb(evaluator: Evaluator) -> float:
    server = getattr(evaluator.sandbox, "_server", None)
    if server is None:
        return math.nan
    try:
        status = Path(f"/proc/{server.pid}/status").read_text()
    except OSError:
        return math.nan
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return math.nan


def report(
    rows: list[Row], trainer: TrainerConfig, arguments: argparse.Namespace, throughput: float
) -> None:
    table = Table(title=f"actgym evaluation throughput ({'fast' if arguments.fast else 'default'})")
    columns = (
        "family",
        "models",
        "cand/min single",
        "cand/min batched",
        "check s",
        "compile s",
        "run s",
        "wall s",
        "wall/run",
        "torch s",
        "x torch",
        "floor s",
        "run/floor",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for row in [*rows, suite_row(rows)]:
        table.add_row(
            row.family,
            str(row.models),
            f"{60 / row.single_s:.1f}",
            f"{60 / row.batched_s:.1f}",
            f"{row.check_s:.3f}",
            f"{row.compile_s:.2f}",
            f"{row.run_s:.2f}",
            f"{row.batched_s:.2f}",
            f"{row.batched_s / row.run_s:.2f}",
            f"{row.torch_s:.1f}",
            f"{row.torch_s / row.batched_s:.1f}",
            f"{row.floor_s:.3f}",
            f"{row.run_s / row.floor_s:.0f}",
        )
    console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    servers = max(row.server_rss_mb for row in rows)
    console.print(
        f"trainer {trainer}; {arguments.candidates} candidates, batches of "
        f"{arguments.batch_size}; matmul {throughput / 1e9:.1f} GFLOP/s; peak RSS: "
        f"trainer {peak:.0f} MiB, sandbox server {servers:.0f} MiB; jax {jax.__version__} "
        f"on {jax.default_backend()} with {os.cpu_count()} CPUs"
    )


def suite_row(rows: list[Row]) -> Row:
    """A Suite candidate is scored on every family: its times are the families' sums."""
    return Row(
        family="Suite",
        models=sum(row.models for row in rows),
        single_s=sum(row.single_s for row in rows),
        batched_s=sum(row.batched_s for row in rows),
        check_s=sum(row.check_s for row in rows),
        compile_s=sum(row.compile_s for row in rows),
        run_s=sum(row.run_s for row in rows),
        torch_s=sum(row.torch_s for row in rows),
        floor_s=sum(row.floor_s for row in rows),
        server_rss_mb=max(row.server_rss_mb for row in rows),
    )


if __name__ == "__main__":
    main()
