"""Seeds to numbers: 95% intervals, the paper's log-ratio to ReLU, and a verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

ERROR_FLOOR = 1e-3
"""An error rate below 0.1% counts as 0.1%: a perfect score must not make a ratio infinite."""


@dataclass(frozen=True)
class SeedInterval:
    """A mean over seeds with its 95% Student-t interval."""

    mean: float
    low: float
    high: float

    def to_json(self) -> dict[str, float]:
        return {"mean": self.mean, "low": self.low, "high": self.high}

    def text(self, digits: int = 3, *, signed: bool = True) -> str:
        """`mean ± half-width` (the interval is symmetric)."""
        spec = f"{'+' if signed else ''}.{digits}f"
        return f"{self.mean:{spec}} ± {(self.high - self.low) / 2:.{digits}f}"


def interval(values: Sequence[float]) -> SeedInterval:
    """Mean and 95% interval of per-seed values (at least two)."""
    array = np.asarray(values, dtype=np.float64)
    mean = float(array.mean())
    half = float(stats.t.ppf(0.975, len(array) - 1) * array.std(ddof=1) / math.sqrt(len(array)))
    return SeedInterval(mean, mean - half, mean + half)


def log_ratio(candidate: Sequence[float], baseline: Sequence[float]) -> np.ndarray:
    """Per seed, log(baseline error / candidate error): 0 ties, above 0 beats the baseline.

    The paper's measure (log-ratio to ReLU) in the project's convention (docs/reward.md):
    errors are 1 - accuracy on the same seed and data, so the pairs share their noise.
    """
    errors = np.maximum(1.0 - np.asarray(candidate, np.float64), ERROR_FLOOR)
    reference = np.maximum(1.0 - np.asarray(baseline, np.float64), ERROR_FLOOR)
    return np.log(reference / errors)


def verdict(to_relu: SeedInterval, to_gelu: SeedInterval | None) -> str:
    """One line: does the candidate transfer, judged by the intervals of its log-ratios."""
    if to_relu.low > 0:
        line = "transfers: better than ReLU"
    elif to_relu.high < 0:
        line = "does not transfer: worse than ReLU"
    else:
        line = "no clear difference from ReLU"
    if to_gelu is not None:
        if to_gelu.low > 0:
            line += ", better than GELU"
        elif to_gelu.high < 0:
            line += ", worse than GELU"
        else:
            line += ", level with GELU"
    return line
