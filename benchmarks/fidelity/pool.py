"""A pool of random-grammar candidates scored at one fidelity, resumable through a cache.

    python benchmarks/fidelity/pool.py --size 240 --cache runs/fidelity-cache \\
        --out runs/fidelity/full.jsonl

Draws `--size` distinct sources from the random baseline's search space (agents/grammar.py,
depth 1 to 3, seed `--seed`) and scores them on the Suite with the default trainer, or with
`--num-instances`, `--seeds` and `--steps` replaced (a lower fidelity). Results land in
the JSON Lines file one per candidate: the reward, the status and the compute seconds
(compile and train, summed over families, read from the cached losses, so a re-run
reports the first measurement). Killed, it resumes from the cache.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
from actgym.agents.grammar import random_expression, to_source

from actgym.cache import JsonCache
from actgym.config import EvaluationConfig
from actgym.evaluation import Evaluator
from actgym.tasks import SUITE
from actgym.trainer import Losses


def draw_pool(size: int, seed: int) -> list[str]:
    """`size` distinct sources, as the random agent draws them (depth uniform in 1..3)."""
    rng = np.random.default_rng(seed)
    pool: dict[str, None] = {}
    while len(pool) < size:
        depth = int(rng.integers(1, 4))
        pool[to_source(random_expression(rng, depth))] = None
    return list(pool)


def config_for(num_instances: int | None, seeds: int | None, steps: int | None) -> EvaluationConfig:
    config = EvaluationConfig(families=SUITE)
    trainer = config.trainer
    if seeds is not None:
        trainer = dataclasses.replace(trainer, seeds=tuple(range(seeds)))
    if steps is not None:
        trainer = dataclasses.replace(trainer, steps=steps)
    return dataclasses.replace(config, trainer=trainer, num_instances=num_instances)


def compute_seconds(evaluator: Evaluator, digest: str) -> float:
    stored = evaluator.cache.get(f"{evaluator.config.fingerprint()}-{digest}")
    if stored is None:
        return 0.0
    losses = [Losses.from_json(value) for value in stored.values()]
    return sum(loss.compile_s + loss.run_s for loss in losses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=240)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-instances", type=int)
    parser.add_argument("--seeds", type=int, help="training seeds (default: the trainer's 2)")
    parser.add_argument("--steps", type=int)
    parser.add_argument("--chunk", type=int, default=8)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    config = config_for(args.num_instances, args.seeds, args.steps)
    pool = draw_pool(args.size, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    evaluator = Evaluator(config, cache=JsonCache(args.cache))
    started = time.perf_counter()
    try:
        baseline = evaluator.reference("relu")
        rows = []
        for start in range(0, len(pool), args.chunk):
            chunk = pool[start : start + args.chunk]
            for source, result in zip(chunk, evaluator.evaluate_many(chunk), strict=True):
                rows.append(
                    {
                        "index": len(rows),
                        "source": source,
                        "status": result.status,
                        "reward": result.reward,
                        "compute_s": compute_seconds(evaluator, result.program_hash)
                        if result.program_hash
                        else 0.0,
                    }
                )
            elapsed = time.perf_counter() - started
            print(f"{len(rows)}/{len(pool)} scored, {elapsed:.0f} s", file=sys.stderr, flush=True)
        relu_s = compute_seconds(evaluator, baseline.program_hash)
    finally:
        evaluator.close()
    header = {"config": dataclasses.asdict(config), "relu_compute_s": relu_s, "size": len(pool)}
    lines = [json.dumps(header)] + [json.dumps(row) for row in rows]
    args.out.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
