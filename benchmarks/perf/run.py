"""Evaluation throughput: actgym against PyTorch eager loops and the FLOP-bound floor.

    python benchmarks/perf/run.py                 # default settings, whole suite
    python benchmarks/perf/run.py --fast --families Harmonics

For each family, and for the Suite (the families scored together, as a Suite candidate
is), it evaluates a fixed, seeded set of distinct candidates in one invocation: one at a
time, and in batches, each mode from cold (fresh training processes, no compilation
cache). The same candidates train with two PyTorch eager references of the same
protocol (torch_reference.py): one model at a time, and every model of the family at
once in batched matmuls with one Adam. It prints candidates per minute, the compile /
run / overhead split, the speed-ups over both references, how far ReLU's compiled run is
from the FLOP-bound floor of this machine, and what sin/cos cost. A second table
(scaled.py) reads the last row's batched wall time against two Ray nodes and the
cascade's screening, in full-fidelity-equivalent candidates per minute.

Columns (seconds are per candidate): check = sandbox + validation + probe; compile and
run = compiling and running one candidate's training alone (all instances and seeds);
wall = wall time per candidate when the set is evaluated in batches (everything
included); overhead = the share of that wall time spent outside training (checks,
probe, sandbox, Python); torch 1 = the one-model-at-a-time loop (the first instance's
first seed timed, scaled to the family's model count); torch B = the batched loop (all
models); the Suite's torch times are the families' sums; floor = ReLU's training FLOPs /
the matmul throughput of one large matmul in a compiled loop; relu/floor = ReLU's
compiled run alone over it; trig/relu = the run of candidates using sin or cos over
ReLU's.
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
import psutil
from candidates import expressions, jax_source, torch_function
from rich.console import Console
from rich.progress import Progress, TimeElapsedColumn
from rich.table import Table
from scaled import ScaledRow, cascade_row, ray_row

from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.tasks import SUITE
from actgym.trainer import TrainerConfig
from actgym.training_process import close_shared_pools

console = Console(width=200)


@dataclass
class Row:
    family: str
    models: int
    single_s: float
    batched_s: float
    overhead_s: float
    check_s: float
    compile_s: float
    run_s: float
    torch_one_s: float
    torch_batched_s: float
    relu_run_s: float
    relu_floor_s: float
    trig_run_s: float
    server_rss_mb: float
    training_rss_mb: float


class SpanTimedEvaluator(Evaluator):
    """Records the time spent getting losses, so the rest of the wall time is overhead."""

    training_s = 0.0

    def _ensure_losses(self, programs: list) -> dict:
        started = time.perf_counter()
        try:
            return super()._ensure_losses(programs)
        finally:
            self.training_s += time.perf_counter() - started


def main() -> None:
    arguments = parse_arguments()
    os.environ["ACTGYM_XLA_CACHE"] = "0"  # every mode compiles cold, as a new candidate does
    trainer = TrainerConfig.preset(fast=arguments.fast)
    sources = [jax_source(expression) for expression in expressions(arguments.candidates)]
    throughput = matmul_flops_per_second()
    measured = [(family,) for family in arguments.families]
    if len(arguments.families) > 1:
        measured.append(tuple(arguments.families))
    with Progress(*Progress.get_default_columns(), TimeElapsedColumn(), console=console) as bar:
        task = bar.add_task("families measured", total=len(measured))
        torch_times: dict[str, tuple[float, float]] = {}
        rows = []
        for families in measured:
            name = families[0] if len(families) == 1 else "Suite"
            bar.update(task, description=f"{name}: single, batched, torch (2 ways)")
            rows.append(measure(families, trainer, sources, arguments, throughput, torch_times))
            bar.console.print(f"{name} measured: {rows[-1]}")  # kept if a later one fails
            bar.advance(task)
        scaled = []
        if arguments.scaled:
            bar.update(task, description="Ray and cascade rows")
            scaled = scaled_rows(measured[-1], trainer, sources, rows[-1].batched_s, arguments)
    report(rows, trainer, arguments, throughput)
    if scaled:
        report_scaled(rows[-1], scaled)


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(SUITE), choices=SUITE)
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--fast", action="store_true", help="TrainerConfig.fast()")
    parser.add_argument(
        "--scaled",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="the Ray (2 local nodes) and cascade rows, on the last row's families",
    )
    return parser.parse_args()


def scaled_rows(
    families: tuple[str, ...],
    trainer: TrainerConfig,
    sources: list[str],
    full_seconds: float,
    arguments: argparse.Namespace,
) -> list[ScaledRow]:
    config = EvaluationConfig(families=families, trainer=trainer)

    def batched(cut: EvaluationConfig, cut_sources: list[str]) -> float:
        timed = timed_evaluation(cut, cut_sources, arguments.batch_size)
        return timed.wall_s / len(cut_sources)

    cascade = cascade_row(config, sources, full_seconds, batched)
    close_shared_pools()
    return [ray_row(config, sources), cascade]


def report_scaled(reference: Row, scaled: list[ScaledRow]) -> None:
    table = Table(title=f"{reference.family}: beyond one process, full-fidelity equivalent")
    for column in ("mode", "cand/min", "x batched", "how"):
        table.add_column(column, justify="right")
    table.add_row("batched, this process", f"{60 / reference.batched_s:.1f}", "1.00", "run.py")
    for row in scaled:
        table.add_row(
            row.mode,
            f"{60 / row.seconds_per_candidate:.1f}",
            f"{reference.batched_s / row.seconds_per_candidate:.2f}",
            row.note,
        )
    console.print(table)


def measure(
    families: tuple[str, ...],
    trainer: TrainerConfig,
    sources: list[str],
    arguments: argparse.Namespace,
    throughput: float,
    torch_times: dict[str, tuple[float, float]],
) -> Row:
    """One row: a family, or several scored together (the Suite) with torch times summed."""
    config = EvaluationConfig(families=families, trainer=trainer)
    single = timed_evaluation(config, sources, 1)
    batched = timed_evaluation(config, sources, arguments.batch_size)
    assert single.results == batched.results, "batched results must equal single results"
    ok = [result for result in single.results if result.ok]
    trig = [
        result.timings.train_s
        for result, expression in zip(single.results, expressions(len(sources)), strict=True)
        if result.ok and ("sin(" in expression or "cos(" in expression)
    ]
    evaluator = Evaluator(config, cache=JsonCache(tempfile.mkdtemp()))
    data = {family: evaluator.family_data(family) for family in families}
    evaluator.close()
    for family in families:
        if family not in torch_times:
            torch_times[family] = torch_seconds_per_candidate(len(sources), data[family], trainer)
    relu = single.baseline
    flops = sum(training_flops(data[f], trainer, relu.flops_per_element) for f in families)
    return Row(
        family=families[0] if len(families) == 1 else "Suite",
        models=sum(len(data[family].instance_names) * len(trainer.seeds) for family in families),
        single_s=single.wall_s / len(sources),
        batched_s=batched.wall_s / len(sources),
        overhead_s=(batched.wall_s - batched.training_s) / len(sources),
        check_s=np.mean([result.timings.check_s for result in batched.results]),
        compile_s=np.mean([result.timings.compile_s for result in ok]),
        run_s=np.mean([result.timings.train_s for result in ok]),
        torch_one_s=sum(torch_times[family][0] for family in families),
        torch_batched_s=sum(torch_times[family][1] for family in families),
        relu_run_s=relu.timings.train_s,
        relu_floor_s=flops / throughput,
        trig_run_s=float(np.mean(trig)) if trig else math.nan,
        server_rss_mb=max(single.server_rss_mb, batched.server_rss_mb),
        training_rss_mb=max(single.training_rss_mb, batched.training_rss_mb),
    )


@dataclass
class Evaluation:
    wall_s: float
    training_s: float
    results: list[EvaluationResult]
    baseline: EvaluationResult
    server_rss_mb: float
    training_rss_mb: float


def timed_evaluation(config: EvaluationConfig, sources: list[str], batch_size: int) -> Evaluation:
    """Score every source from cold (baseline and data preparation excluded from wall_s).

    Fresh training processes and no compilation cache: nothing compiled by an earlier
    mode is reused.
    """
    close_shared_pools()
    evaluator = SpanTimedEvaluator(
        config, cache=JsonCache(tempfile.mkdtemp()), programs_per_batch=batch_size
    )
    baseline = evaluator.evaluate(evaluator_reference_source())
    evaluator.training_s = 0.0
    started = time.perf_counter()
    if batch_size == 1:
        results = [evaluator.evaluate(source) for source in sources]
    else:
        results = evaluator.evaluate_many(sources)
    elapsed = time.perf_counter() - started
    server = getattr(evaluator.sandbox, "_server", None)
    server_pid = None if server is None else server.pid
    server_rss = math.nan if server_pid is None else peak_rss_mb(server_pid)
    training_rss = training_peak_rss_mb(exclude=server_pid)
    evaluator.close()
    return Evaluation(elapsed, evaluator.training_s, results, baseline, server_rss, training_rss)


def evaluator_reference_source() -> str:
    from actgym.references import REFERENCES

    return REFERENCES["relu"]


def torch_seconds_per_candidate(
    count: int, data: object, trainer: TrainerConfig
) -> tuple[float, float]:
    """Both references' mean seconds per candidate over the same candidates as actgym.

    One at a time: the first instance's first seed, scaled to the family's model count
    (eager time is linear in the number of models). Batched: every model at once.
    """
    import torch
    from torch_reference import train_family, train_one

    torch.set_num_threads(os.cpu_count() or 1)
    models = len(data.instance_names) * len(trainer.seeds)
    one, batched = [], []
    for expression in expressions(count):
        activation = torch_function(expression)
        one.append(train_one(activation, data, trainer, 0, 0)[1] * models)
        batched.append(train_family(activation, data, trainer)[1])
    return float(np.mean(one)), float(np.mean(batched))


def training_flops(data: object, trainer: TrainerConfig, activation_flops: float) -> float:
    """Dense forward + backward (3x forward) plus the activation's cost, for every model."""
    inputs = data.arrays["x_train"].shape[-1]
    width, batch = trainer.width, trainer.batch_size
    dense = 2 * batch * (inputs * width + (trainer.depth - 1) * width * width + width)
    activation = activation_flops * batch * width * trainer.depth
    models = len(data.instance_names) * len(trainer.seeds)
    return 3.0 * (dense + activation) * trainer.steps * models


def matmul_flops_per_second(size: int = 512, repeats: int = 50) -> float:
    """The machine's matmul throughput: one large matmul repeated inside one program."""
    a = jnp.ones((size, size), jnp.float32)
    scale = jnp.float32(1.0 / size)
    multiply = jax.jit(lambda m: jax.lax.fori_loop(0, repeats, lambda _, c: (c @ m) * scale, m))
    multiply(a).block_until_ready()
    best = math.inf
    for _ in range(3):
        started = time.perf_counter()
        multiply(a).block_until_ready()
        best = min(best, time.perf_counter() - started)
    return 2.0 * size**3 * repeats / best


def training_peak_rss_mb(exclude: int | None) -> float:
    """Peak RSS of the largest training process: live children (but the sandbox server),
    and reaped ones."""
    reaped = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    live = [peak_rss_mb(child.pid) for child in psutil.Process().children() if child.pid != exclude]
    return max([reaped, *live])


def peak_rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
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
        "overhead",
        "torch 1 s",
        "x torch 1",
        "torch B s",
        "x torch B",
        "relu run s",
        "floor s",
        "relu/floor",
        "trig/relu",
    )
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            row.family,
            str(row.models),
            f"{60 / row.single_s:.1f}",
            f"{60 / row.batched_s:.1f}",
            f"{row.check_s:.3f}",
            f"{row.compile_s:.2f}",
            f"{row.run_s:.2f}",
            f"{row.batched_s:.2f}",
            f"{row.overhead_s / row.batched_s:.1%}",
            f"{row.torch_one_s:.1f}",
            f"{row.torch_one_s / row.batched_s:.1f}",
            f"{row.torch_batched_s:.2f}",
            f"{row.torch_batched_s / row.batched_s:.2f}",
            f"{row.relu_run_s:.2f}",
            f"{row.relu_floor_s:.2f}",
            f"{row.relu_run_s / row.relu_floor_s:.2f}",
            f"{row.trig_run_s / row.relu_run_s:.2f}",
        )
    console.print(table)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    console.print(
        f"trainer {trainer}; {arguments.candidates} candidates, batches of "
        f"{arguments.batch_size}; matmul {throughput / 1e9:.1f} GFLOP/s; peak RSS: "
        f"evaluating process {peak:.0f} MiB, largest training process "
        f"{max(row.training_rss_mb for row in rows):.0f} MiB, sandbox server "
        f"{max(row.server_rss_mb for row in rows):.0f} MiB; jax {jax.__version__} on "
        f"{jax.default_backend()} with {os.cpu_count()} CPUs"
    )


if __name__ == "__main__":
    main()
