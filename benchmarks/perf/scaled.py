"""Throughput beyond one process at full fidelity: two Ray nodes, and the cascade.

Both rows are measured on the same candidates and settings as run.py's last row (the
Suite by default), cold, in the same invocation, and read against its batched wall time.

- Ray: a real 2-node cluster on this machine (benchmarks/ray/scaling.py's
  `cluster_seconds`: a head without CPUs, two nodes of one CPU, one actor each), the
  first candidate warming the actors, the rest timed.
- Cascade: the candidates scored batched at `actgym.fidelity.LOW`, then full-fidelity
  equivalent candidates per minute = 60 / (low wall + PROMOTED_SHARE x full wall): each
  candidate screened, the promoted share also scored at full fidelity.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from actgym.config import EvaluationConfig
from actgym.fidelity import LOW

PROMOTED_SHARE = 16 / 200
"""What `actgym search --cascade` (5%) promoted of the 200-candidate pool, online:
benchmarks/fidelity/cascade.md."""


@dataclass(frozen=True)
class ScaledRow:
    mode: str
    seconds_per_candidate: float  # full-fidelity equivalent
    note: str


def ray_row(config: EvaluationConfig, sources: list[str]) -> ScaledRow:
    if importlib.util.find_spec("ray") is None:
        return ScaledRow(
            "Ray, 2 nodes x 1 CPU", float("nan"), "not measured: pip install 'actgym[ray]'"
        )
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ray"))
    from scaling import cluster_seconds

    elapsed, _ = cluster_seconds(config, sources, nodes=2)
    return ScaledRow(
        "Ray, 2 nodes x 1 CPU",
        elapsed / (len(sources) - 1),
        f"{len(sources) - 1} candidates after one that warms the actors",
    )


def cascade_row(
    config: EvaluationConfig,
    sources: list[str],
    full_seconds: float,
    batched: Callable[[EvaluationConfig, list[str]], float],
) -> ScaledRow:
    """`batched(config, sources)` is run.py's cold batched wall time per candidate."""
    low = batched(LOW.applied(config), sources)
    return ScaledRow(
        "cascade, LOW screen + 5% promoted",
        low + PROMOTED_SHARE * full_seconds,
        f"low {low:.2f} s per candidate + {PROMOTED_SHARE:.0%} of full {full_seconds:.2f} s",
    )
