"""Which low fidelity screens well: rank agreement with full fidelity, and what a cascade
that screens everything cheaply and promotes the best share recovers, at what cost.

    python benchmarks/fidelity/analyse.py runs/fidelity/full.jsonl runs/fidelity/low-*.jsonl \\
        --out benchmarks/fidelity/results.md

Reads the pools `pool.py` wrote (the first is full fidelity, the rest lower ones, all of
the same candidates) and prints per low fidelity: its compute share (its compute seconds
over full fidelity's, summed over the pool), the Spearman correlation of its rewards with
full fidelity's (95% bootstrap interval over candidates), and for each promoted share the
recall of the full-fidelity top 10 that the cascade reaches and the compute it uses
(screening everything, plus full fidelity on the promoted). The goal is a recall of at
least 0.8 at 35% or less of the compute of scoring everything at full fidelity.

Compute seconds measured while other work shares the machine are inflated. With
`--calibrate FULL LOW` (two pools of the same few candidates, scored on an idle machine)
a low fidelity's compute share is taken from that pair instead of from the big pools.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

TOP = 10
RECALL_GOAL = 0.8
COMPUTE_GOAL = 0.35
SHARES = (0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3)


@dataclass(frozen=True)
class Pool:
    name: str
    config: dict
    sources: list[str]
    rewards: np.ndarray
    compute_s: np.ndarray


def read_pool(path: Path) -> Pool:
    header, *rows = [json.loads(line) for line in path.read_text().splitlines() if line]
    trainer = header["config"]["trainer"]
    name = (
        f"{header['config']['num_instances'] or 'all'} instances, {len(trainer['seeds'])} "
        f"seed(s), {trainer['steps']} steps"
    )
    return Pool(
        name,
        header["config"],
        [row["source"] for row in rows],
        np.array([row["reward"] for row in rows]),
        np.array([row["compute_s"] for row in rows]),
    )


def spearman_interval(
    low: np.ndarray, full: np.ndarray, draws: int = 2000
) -> tuple[float, float, float]:
    rng = np.random.default_rng(0)
    value = float(spearmanr(low, full).statistic)
    indices = rng.integers(0, len(low), size=(draws, len(low)))
    samples = [float(spearmanr(low[i], full[i]).statistic) for i in indices]
    return value, float(np.percentile(samples, 2.5)), float(np.percentile(samples, 97.5))


def cascade(low: Pool, full: Pool, share: float, low_share: float) -> tuple[float, float]:
    """Recall of the full top 10 and compute share when the top `share` by low is promoted;
    screening everything costs `low_share` of scoring everything at full fidelity."""
    promoted = np.argsort(-low.rewards, kind="stable")[: int(np.ceil(share * len(low.rewards)))]
    best = set(np.argsort(-full.rewards, kind="stable")[:TOP].tolist())
    recall = len(best & set(promoted.tolist())) / TOP
    return recall, low_share + float(full.compute_s[promoted].sum() / full.compute_s.sum())


def report(full: Pool, lows: list[Pool], calibration: tuple[Pool, Pool] | None) -> str:
    lines = [
        f"Pool: {len(full.sources)} random-grammar candidates on the Suite, default trainer; "
        f"full fidelity = every instance, {len(full.config['trainer']['seeds'])} seeds.",
        "",
        "| low fidelity | compute share | Spearman with full (95% CI) | "
        + " | ".join(f"promote {share:.1%}: recall / compute" for share in SHARES)
        + " |",
        "| --- | ---: | --- | " + " | ".join("---:" for _ in SHARES) + " |",
    ]
    for low in lows:
        assert low.sources == full.sources, "pools must hold the same candidates"
        value, lower, upper = spearman_interval(low.rewards, full.rewards)
        low_share = low.compute_s.sum() / full.compute_s.sum()
        if calibration is not None and calibration[1].config == low.config:
            low_share = calibration[1].compute_s.sum() / calibration[0].compute_s.sum()
        cells = []
        for share in SHARES:
            recall, compute = cascade(low, full, share, low_share)
            mark = "**" if recall >= RECALL_GOAL and compute <= COMPUTE_GOAL else ""
            cells.append(f"{mark}{recall:.1f} / {compute:.0%}{mark}")
        lines.append(
            f"| {low.name} | {low_share:.0%} | {value:.2f} ({lower:.2f} to {upper:.2f}) | "
            + " | ".join(cells)
            + " |"
        )
    lines.append("")
    lines.append(
        f"Bold: the goal, a recall of the full top {TOP} of at least {RECALL_GOAL} at "
        f"{COMPUTE_GOAL:.0%} or less of the compute of scoring everything at full fidelity."
    )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("full", type=Path)
    parser.add_argument("lows", type=Path, nargs="+")
    parser.add_argument("--calibrate", type=Path, nargs=2, metavar=("FULL", "LOW"))
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    calibration = None
    if args.calibrate is not None:
        calibration = (read_pool(args.calibrate[0]), read_pool(args.calibrate[1]))
        assert calibration[0].sources == calibration[1].sources, "a calibration is paired"
    text = report(read_pool(args.full), [read_pool(path) for path in args.lows], calibration)
    print(text)
    if args.out is not None:
        args.out.write_text(text)


if __name__ == "__main__":
    main()
