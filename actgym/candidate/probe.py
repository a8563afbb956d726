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

from actgym.candidate.behaviour import BEHAVIOUR_POINTS, behaviour
from actgym.candidate.program import Program, as_calls
from actgym.candidate.reasons import CandidateRejected, Reason

PROBE_RANGE = 50.0
_PROBE_POINTS = 4096
_EDGE_MAGNITUDES = ((1e-7, 1e-6), (1e-4, 1e-3))
"""Near zero, where x / |x| and friends break: 0 and one point each side per range."""
_ANCHOR_RANGES = ((-20.0, -15.0), (-12.0, -10.0), (10.0, 12.0), (15.0, 20.0))

POINTWISE = "pointwise"
FEATURE_COUPLED = "feature-coupled"
BATCH_COUPLED = "batch-coupled"
LOCALITIES = (POINTWISE, FEATURE_COUPLED, BATCH_COUPLED)
_COUPLING_INPUTS = 8
_COUPLING_CHANGES = 8


@dataclass(frozen=True)
class ProbeResult:
    """The shape descriptors, locality label and behaviour of a function that passed the probe.

    `locality` is measured, never read from the source: one input element is changed at
    a time, on random inputs drawn from the program's hash, and every other output
    element is compared bit for bit. It is `pointwise` when none moves,
    `feature-coupled` when only other units of the same example move, and
    `batch-coupled` when units of other examples in the batch move (only a program that
    sees the batch, TrainerConfig.scope `batch`, can be).

    `behaviour` fingerprints the function's `outputs` on fixed points (see `behaviour`);
    `outputs` are those values (actgym.candidate.behaviour).
    """

    descriptors: dict[str, float]
    locality: str
    behaviour: str
    outputs: tuple[float, ...]


def probe(program: Program) -> ProbeResult:
    """Reject NaN/inf outputs or derivatives on the probe grid; describe the function's shape.

    The descriptors (for diversity-seeking agents) come free from the same values:
    `left_slope` and `right_slope`, secant slopes between two points in [-20, -10] and two
    in [10, 20], and `oscillation`, the number of sign changes of the derivative on
    [-10, 10]. The grid's offset, the points near zero and the slope points are drawn
    from the program's own hash: the same program always gets the same points, and no
    candidate can know them in advance to fake its descriptors. Every point (the grid's,
    and the fixed points of its behaviour) is fed in one order drawn from that hash, so
    no call is sorted or made of one kind of point: a program cannot tell the probe from
    training by the order of its inputs.
    """
    shape = program.input_shape
    rng = np.random.default_rng(int(program.digest[:16], 16))
    step = 2.0 * PROBE_RANGE / (_PROBE_POINTS - 1)
    grid = np.linspace(-PROBE_RANGE, PROBE_RANGE, _PROBE_POINTS) + rng.uniform(-step, step) / 2
    near_zero = [
        sign * rng.uniform(low, high) for low, high in _EDGE_MAGNITUDES for sign in (1, -1)
    ]
    anchors = [rng.uniform(low, high) for low, high in _ANCHOR_RANGES]
    checked = np.float32([*grid, 0.0, *near_zero, *anchors])
    points = np.concatenate([checked, BEHAVIOUR_POINTS])
    order = rng.permutation(points.size)
    calls = as_calls(points[order], shape)
    inputs, changed_inputs, changed = _coupling_inputs(rng, shape)
    outputs, gradients = _probe_values(
        program, jnp.asarray(np.concatenate([calls, inputs, changed_inputs]))
    )
    coupled_outputs = outputs[len(calls) :]
    values, slopes = (
        _in_point_order(result[: len(calls)], order) for result in (outputs, gradients)
    )
    for found, reason, what in (
        (values, Reason.NONFINITE_OUTPUT, "output"),
        (slopes, Reason.NONFINITE_GRADIENT, "derivative"),
    ):
        bad = ~np.isfinite(found[: checked.size])
        if bad.any():
            where = checked[bad][:3].tolist()
            raise CandidateRejected(
                reason, f"The {what} is NaN or inf at x = {', '.join(f'{v:g}' for v in where)}."
            )
    fixed_outputs = values[checked.size :]
    values, slopes = values[: checked.size].astype(np.float64), slopes[: grid.size]
    far_left, near_left, near_right, far_right = values[-4:]
    x = checked[-4:].astype(np.float64)
    central = slopes[np.abs(checked[: grid.size]) <= 10.0]
    signs = np.sign(central[np.abs(central) > 1e-6])
    descriptors = {
        "left_slope": float((near_left - far_left) / (x[1] - x[0])),
        "right_slope": float((far_right - near_right) / (x[3] - x[2])),
        "oscillation": float(np.count_nonzero(np.diff(signs))),
    }
    locality = _locality(coupled_outputs, changed, shape)
    return ProbeResult(
        descriptors, locality, behaviour(fixed_outputs), tuple(fixed_outputs.tolist())
    )


def _in_point_order(fed: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Values fed in `order` (cycled to fill whole calls), back in the points' order."""
    values = np.empty(order.size, dtype=fed.dtype)
    values[order] = fed.reshape(-1)[: order.size]
    return values


def _coupling_inputs(
    rng: np.random.Generator, shape: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Random inputs, and copies of each with one element changed (which, flat: `changed`).

    Besides random elements, each input's extremes are changed (largest and smallest
    value, largest and smallest magnitude): a function coupled only through a max or a
    min moves when those change, and rarely when a random element does.
    """
    inputs = rng.normal(0.0, 3.0, (_COUPLING_INPUTS, *shape)).astype(np.float32)
    flat = inputs.reshape(_COUPLING_INPUTS, -1)
    extremes = [flat.argmax(1), flat.argmin(1), np.abs(flat).argmax(1), np.abs(flat).argmin(1)]
    drawn = rng.integers(0, flat.shape[1], (_COUPLING_INPUTS, _COUPLING_CHANGES - len(extremes)))
    changed = np.concatenate([np.stack(extremes, axis=1), drawn], axis=1).reshape(-1)
    changed_inputs = np.repeat(inputs, _COUPLING_CHANGES, axis=0).reshape(changed.size, -1)
    changed_inputs[np.arange(changed.size), changed] += rng.uniform(0.5, 2.0, changed.size)
    return inputs, changed_inputs.reshape(-1, *shape), changed


def _locality(outputs: np.ndarray, changed: np.ndarray, shape: tuple[int, ...]) -> str:
    before = np.repeat(outputs[:_COUPLING_INPUTS], _COUPLING_CHANGES, axis=0)
    before = before.reshape(changed.size, -1)
    after = outputs[_COUPLING_INPUTS:].reshape(changed.size, -1)
    moved = np.abs(after - before) > 1e-6 * (1.0 + np.abs(before))
    moved[np.arange(changed.size), changed] = False
    example = np.arange(moved.shape[1]) // shape[-1]
    same_example = example[None, :] == (changed // shape[-1])[:, None]
    if (moved & ~same_example).any():
        return BATCH_COUPLED
    return FEATURE_COUPLED if moved.any() else POINTWISE


def _probe_values(program: Program, calls: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    gradient = jax.grad(lambda call: jnp.sum(program(call)))
    outputs, gradients = jax.jit(lambda c: (jax.vmap(program)(c), jax.vmap(gradient)(c)))(calls)
    return np.asarray(outputs), np.asarray(gradients)
