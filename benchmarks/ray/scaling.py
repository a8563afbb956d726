"""How evaluation on a Ray cluster scales with its nodes, measured on local nodes.

    python benchmarks/ray/scaling.py                      # Harmonics, default trainer
    python benchmarks/ray/scaling.py --fast --candidates 8 --nodes 1 2

For each node count it starts a real Ray cluster on this machine (Ray's
`cluster_utils.Cluster`: a head without CPUs and `n` worker nodes of one CPU each, so each
node holds one actor that trains on one core), lets the actors start and train ReLU, then
times `RayEvaluator.evaluate_many` on the perf benchmark's fixed candidates with cold
result and compilation caches. The reference is the same candidates through a local
`Evaluator` on one thread, measured in the same run (and on two threads, to show what
two cores of this machine give without Ray); results must equal it bit for bit.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import ray
from ray.cluster_utils import Cluster
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "perf"))
from candidates import expressions, jax_source

from actgym.cache import JsonCache
from actgym.config import EvaluationConfig
from actgym.evaluation import Evaluator
from actgym.ray_evaluation import RayEvaluator
from actgym.trainer import TrainerConfig


def local_seconds(config: EvaluationConfig, sources: list[str], threads: int) -> tuple[float, list]:
    with tempfile.TemporaryDirectory() as directory:
        evaluator = Evaluator(config, cache=JsonCache(Path(directory)), threads=threads)
        try:
            evaluator.reference("relu")
            started = time.perf_counter()
            results = evaluator.evaluate_many(sources)
            return time.perf_counter() - started, results
        finally:
            evaluator.close()


def cluster_seconds(config: EvaluationConfig, sources: list[str], nodes: int) -> tuple[float, list]:
    with tempfile.TemporaryDirectory() as directory:
        os.environ["ACTGYM_CACHE_DIR"] = directory  # the nodes' workers inherit it
        cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
        for _ in range(nodes):
            cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        try:
            evaluator = RayEvaluator(config, address=cluster.address, cpus_per_actor=1)
            evaluator.evaluate_many([sources[0]] * evaluator.actors)  # start every actor
            started = time.perf_counter()
            results = evaluator.evaluate_many(sources[1:])
            elapsed = time.perf_counter() - started
            evaluator.close()
        finally:
            ray.shutdown()
            cluster.shutdown()
    return elapsed, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=9, help="the first warms the actors")
    parser.add_argument("--nodes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--fast", action="store_true", help="TrainerConfig.fast()")
    args = parser.parse_args()
    os.environ["ACTGYM_XLA_CACHE"] = "0"  # every candidate compiles, as a new one would
    config = EvaluationConfig(trainer=TrainerConfig.preset(fast=args.fast))
    sources = [jax_source(expression) for expression in expressions(args.candidates)]
    timed = sources[1:]
    local = [local_seconds(config, timed, threads=1) for _ in range(args.repeats)]
    reference_s, expected = [s for s, _ in local], [results for _, results in local]
    rows = [("local Evaluator, 1 thread", statistics.median(reference_s))]
    cores = [local_seconds(config, timed, threads=2) for _ in range(args.repeats)]
    assert all(results == expected[0] for _, results in cores), "results must be equal"
    rows.append(("local Evaluator, 2 threads", statistics.median(s for s, _ in cores)))
    for nodes in args.nodes:
        measured = [cluster_seconds(config, sources, nodes) for _ in range(args.repeats)]
        assert all(results == expected[0] for _, results in measured), "results must be equal"
        rows.append((f"Ray, {nodes} node(s) x 1 CPU", statistics.median(s for s, _ in measured)))
    table = Table(
        title=f"{len(timed)} candidates, Harmonics, {'fast' if args.fast else 'default'} "
        f"trainer, {os.cpu_count()} CPUs, median of {args.repeats}"
    )
    for column in ("where", "wall s", "candidates/min", "speed-up vs local"):
        table.add_column(column, justify="right")
    for name, seconds in rows:
        ratio = rows[0][1] / seconds
        table.add_row(name, f"{seconds:.1f}", f"{60 * len(timed) / seconds:.1f}", f"{ratio:.2f}")
    Console(width=110).print(table)


if __name__ == "__main__":
    main()
