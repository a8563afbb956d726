"""What a function computes, as the probe sees it: its outputs on fixed points.

Two sources are one function when their outputs on these points agree. The search marks
rewrites by a hash of the outputs (`behaviour`); the leaderboard, which must refuse every
rewrite of an entry, compares the outputs themselves within a tolerance (`same_outputs`).
Both tell apart only what differs on the points: functions equal on all of them are one.
"""

from __future__ import annotations

import hashlib

import numpy as np

BEHAVIOUR_POINTS = np.concatenate(
    [
        np.random.default_rng(0).uniform(-50.0, 50.0, 1001),
        np.random.default_rng(1).uniform(-5.0, 5.0, 256),
    ]
).astype(np.float32)
"""The same points for every program, unlike the probe's grid: behaviours must be
comparable. Drawn rather than spaced, so that no round value marks them."""
_DIGITS = 6
_FLOOR = 1e-6
SAME_OUTPUTS_RTOL = 1e-5
SAME_OUTPUTS_ATOL = 1e-6
"""Outputs closer than this on every point are one function: about 170 float32 ulps, so
rewrites that round differently match, and far below a coefficient change that could
move a score."""


def behaviour(values: np.ndarray) -> str:
    """A hash of outputs on the fixed points, each rounded to 6 significant digits.

    Two functions equal in behaviour up to float32 rounding (`x * sigmoid(x)` and
    `jax.nn.silu`, a program and its copy with a dead branch) usually get the same hash,
    so a search can tell a rewrite from a new function. Magnitudes below 1e-6 count as 0.
    A last-bit difference that crosses a rounding boundary on any point splits two
    writings of one function, which is likely when their operations fuse differently
    (`gelu(x) + 0.1 * sin(x)` and `0.1 * sin(x) + gelu(x)`): `same_outputs` does not.
    """
    flat = np.where(np.abs(values) < _FLOOR, 0.0, values.astype(np.float64))
    text = ",".join(f"{value:.{_DIGITS - 1}e}" for value in flat + 0.0)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def same_outputs(outputs: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Which rows of `known` (functions' outputs on the same points, one per row) are
    `outputs`' function: equal within SAME_OUTPUTS_RTOL and SAME_OUTPUTS_ATOL on every
    point, NaN matching NaN and an infinity the same infinity."""
    close = np.isclose(
        known, outputs, rtol=SAME_OUTPUTS_RTOL, atol=SAME_OUTPUTS_ATOL, equal_nan=True
    )
    return close.all(axis=1)
