"""The cascade as `actgym search --cascade` runs it, on the pool analyse.py measured.

    python benchmarks/fidelity/cascade.py runs/fidelity/full.jsonl runs/fidelity/low-4x1.jsonl \\
        --calibrate calib-full.jsonl calib-low-4x1.jsonl --cache runs/fidelity-cache \\
        --out benchmarks/fidelity/cascade.md

analyse.py ranks the whole pool before promoting; the search cannot: it promotes a
screened candidate as soon as its low-fidelity reward is in the top share of all screened
so far (actgym.search.cascade). This runs the real search loop on the Suite with a replay
agent that proposes pool.py's candidates in pool order, `--cascade` at each share, with
the pools' result cache, so every evaluation is a cache hit and only the sandbox check
runs. It reports the recall of the full-fidelity top 10 among the promoted candidates,
the compute share (screening everything at the low fidelity's calibrated share, plus
the promoted candidates' full-fidelity compute seconds over the whole pool's) and the
budget the search was charged, in full evaluations.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from actgym.agent import Agent, AgentContext, Evaluation, History, Proposal
from actgym.cache import JsonCache
from actgym.config import EvaluationConfig
from actgym.evaluation import Evaluator
from actgym.search import run_search
from actgym.search.backends import Backend, InProcess
from actgym.search.store import RunStore, charge

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analyse import COMPUTE_GOAL, RECALL_GOAL, TOP, Pool, read_pool
from pool import draw_pool

SHARES = (0.05, 0.1, 0.15)


class Replay(Agent):
    """Proposes pool.py's candidates in pool order, then stops."""

    def __init__(self, context: AgentContext) -> None:
        super().__init__(context)
        self.pool = draw_pool(int(context.options["size"]), int(context.options["seed"]))

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        start = len(history)
        return self.pool[start : start + count]

    def observe(self, evaluations: Sequence[Evaluation]) -> None:
        return None


def run(share: float, size: int, cache: Path, directory: Path) -> list[dict[str, Any]]:
    """The evaluation rows of a cascade over the pool, promoting `share`."""

    def cached(config: EvaluationConfig, workers: int) -> Backend:
        return InProcess(Evaluator(config, cache=JsonCache(cache)))

    config = {
        "agent": f"{Path(__file__).resolve()}:Replay",
        "env": "ActSearch-Suite-v0",
        "budget": size,  # never binding: the run ends when the pool is screened
        "proposals_per_call": 8,
        "agent_options": {"size": size, "seed": 0},
        "cascade": share,
    }
    run_search(directory, config, backend_factory=cached, show_progress=False)
    with RunStore(directory) as store:
        return store.evaluations()


def measure(rows: Sequence[Mapping[str, Any]], full: Pool, low_share: float) -> dict[str, float]:
    index = {source: position for position, source in enumerate(full.sources)}
    promoted = [index[row["source"]] for row in rows if row["fidelity"] == "full"]
    best = set(np.argsort(-full.rewards, kind="stable")[:TOP].tolist())
    return {
        "screened": sum(row["fidelity"] == "low" for row in rows),
        "promoted": len(promoted),
        "recall": len(best & set(promoted)) / TOP,
        "compute": low_share + float(full.compute_s[promoted].sum() / full.compute_s.sum()),
        "charged": sum(charge(row) for row in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("full", type=Path)
    parser.add_argument("low", type=Path)
    parser.add_argument("--calibrate", type=Path, nargs=2, metavar=("FULL", "LOW"), required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    full, low = read_pool(args.full), read_pool(args.low)
    assert full.sources == low.sources == draw_pool(len(full.sources), 0), "pool.py's pool"
    idle_full, idle_low = (read_pool(path) for path in args.calibrate)
    low_share = float(idle_low.compute_s.sum() / idle_full.compute_s.sum())
    lines = [
        f"`actgym search --cascade` over the {len(full.sources)} pool candidates in pool order "
        f"(Suite, default trainer; screening costs {low_share:.0%} of full fidelity):",
        "",
        "| promoted share | screened | promoted | charged (full evaluations) "
        f"| recall of the full top {TOP} | compute share |",
        "| ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for share in SHARES:
        with tempfile.TemporaryDirectory() as directory:
            numbers = measure(
                run(share, len(full.sources), args.cache, Path(directory)), full, low_share
            )
        mark = (
            "**" if numbers["recall"] >= RECALL_GOAL and numbers["compute"] <= COMPUTE_GOAL else ""
        )
        lines.append(
            f"| {share:.0%} | {numbers['screened']} | {numbers['promoted']} | "
            f"{numbers['charged']:g} | {mark}{numbers['recall']:.1f}{mark} | "
            f"{mark}{numbers['compute']:.0%}{mark} |"
        )
        print(lines[-1], flush=True)
    lines += ["", f"Bold: the goal, recall ≥ {RECALL_GOAL} at ≤ {COMPUTE_GOAL:.0%} of the compute."]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
