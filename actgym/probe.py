"""The probe: a candidate's values and derivatives on a wide grid, before any training.

It rejects functions whose output or derivative is NaN/inf somewhere a network could
reach, and describes the function's shape for diversity-seeking agents. It compiles the
program, so it runs in the training process (actgym.training_process), never in the
process that drives evaluation.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from actgym.candidate.program import Program
from actgym.candidate.reasons import CandidateRejected, Reason

PROBE_RANGE = 50.0
_PROBE_POINTS = 4096
_EDGE_POINTS = np.float32([0.0, 1e-6, -1e-6, 1e-3, -1e-3])
_ANCHOR_RANGES = ((-20.0, -15.0), (-12.0, -10.0), (10.0, 12.0), (15.0, 20.0))


POINTWISE = "pointwise"
FEATURE_COUPLED = "feature-coupled"
_COUPLING_ROWS = 8
_COUPLING_UNITS = 4


@dataclass(frozen=True)
class ProbeResult:
    """The shape descriptors and the locality label of a function that passed the probe.

    `locality` is `pointwise` when each output unit depends on its own input unit only,
    `feature-coupled` when it also depends on other units of the same example (batch
    statistics cannot occur: the function sees one example at a time). It is measured,
    never read from the source: changing one input unit must leave every other output
    unit bit-identical, on random rows drawn from the program's hash.
    """

    descriptors: dict[str, float]
    locality: str


def probe(program: Program) -> ProbeResult:
    """Reject NaN/inf outputs or derivatives on the probe grid; describe the function's shape.

    The descriptors (for diversity-seeking agents) come free from the same values:
    `left_slope` and `right_slope`, secant slopes between two points in [-20, -10] and two
    in [10, 20], and `oscillation`, the number of sign changes of the derivative on
    [-10, 10]. The grid's offset and the slope points are drawn from the program's own
    hash: the same program always gets the same points, and no candidate can know them in
    advance to fake its descriptors.
    """
    width = program.input_shape[0]
    rng = np.random.default_rng(int(program.digest[:16], 16))
    step = 2.0 * PROBE_RANGE / (_PROBE_POINTS - 1)
    grid = np.linspace(-PROBE_RANGE, PROBE_RANGE, _PROBE_POINTS) + rng.uniform(-step, step) / 2
    grid = grid.astype(np.float32)
    anchors = np.float32([rng.uniform(low, high) for low, high in _ANCHOR_RANGES])
    points = np.concatenate([grid, _EDGE_POINTS, anchors])
    padded = np.resize(points, (-(-points.size // width)) * width).reshape(-1, width)
    rows, perturbed, units = _coupling_rows(rng, width)
    outputs, gradients = _probe_values(
        program, jnp.asarray(np.concatenate([padded, rows, perturbed]))
    )
    coupled_outputs = outputs[len(padded) :]
    outputs, gradients = outputs[: len(padded)], gradients[: len(padded)]
    for values, reason, what in (
        (outputs, Reason.NONFINITE_OUTPUT, "output"),
        (gradients, Reason.NONFINITE_GRADIENT, "derivative"),
    ):
        bad = ~np.isfinite(values)
        if bad.any():
            where = padded[bad][:3].tolist()
            raise CandidateRejected(
                reason, f"The {what} is NaN or inf at x = {', '.join(f'{v:g}' for v in where)}."
            )
    values = outputs.reshape(-1)[: points.size].astype(np.float64)
    slopes = gradients.reshape(-1)[: grid.size]
    far_left, near_left, near_right, far_right = values[-4:]
    x = anchors.astype(np.float64)
    central = slopes[np.abs(grid) <= 10.0]
    signs = np.sign(central[np.abs(central) > 1e-6])
    descriptors = {
        "left_slope": float((near_left - far_left) / (x[1] - x[0])),
        "right_slope": float((far_right - near_right) / (x[3] - x[2])),
        "oscillation": float(np.count_nonzero(np.diff(signs))),
    }
    return ProbeResult(descriptors, _locality(coupled_outputs, len(rows), units))


def _coupling_rows(
    rng: np.random.Generator, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random rows, and copies of each with one unit changed (which unit: `units`)."""
    rows = rng.normal(0.0, 3.0, (_COUPLING_ROWS, width)).astype(np.float32)
    units = rng.integers(0, width, (_COUPLING_ROWS, _COUPLING_UNITS))
    perturbed = np.repeat(rows, _COUPLING_UNITS, axis=0)
    changed = units.reshape(-1)
    perturbed[np.arange(perturbed.shape[0]), changed] += rng.uniform(0.5, 2.0, changed.size)
    return rows, perturbed, units


def _locality(outputs: np.ndarray, count: int, units: np.ndarray) -> str:
    base = np.repeat(outputs[:count], _COUPLING_UNITS, axis=0)
    after = outputs[count:]
    others = np.ones_like(after, dtype=bool)
    others[np.arange(after.shape[0]), units.reshape(-1)] = False
    scale = 1e-6 * (1.0 + np.abs(base))
    return FEATURE_COUPLED if (np.abs(after - base) > scale)[others].any() else POINTWISE


def _probe_values(program: Program, rows: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    gradient = jax.grad(lambda row: jnp.sum(program(row)))
    outputs, gradients = jax.jit(lambda r: (jax.vmap(program)(r), jax.vmap(gradient)(r)))(rows)
    return np.asarray(outputs), np.asarray(gradients)
