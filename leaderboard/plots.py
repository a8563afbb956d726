"""A picture of a submission: the function and its derivative, drawn from its stored program.

The server never runs submitted Python. It plots the validated program JSON the sandbox
produced, rebuilt with `load_program` (allow-listed primitives only), on a grid fed in
vectors of the layer width as in training; the derivative is the gradient of the sum of
outputs, which is f'(x) for an elementwise function.
"""

from __future__ import annotations

import functools
import io
import json

import jax
import jax.numpy as jnp
import numpy as np
from matplotlib.figure import Figure

from actgym.candidate.program import as_calls, load_program

X_RANGE = 6.0
_POINTS = 601


@functools.lru_cache(maxsize=256)
def function_plot(program_json: str, title: str) -> bytes:
    """PNG bytes; cached per program, since a page view should not recompile it."""
    x, y, slope = sample(program_json)
    figure = Figure(figsize=(8.0, 3.0), dpi=100, layout="constrained")
    for axes, values, label in zip(
        figure.subplots(1, 2), (y, slope), ("f(x)", "f'(x)"), strict=True
    ):
        axes.axhline(0.0, color="0.8", linewidth=0.8)
        axes.axvline(0.0, color="0.8", linewidth=0.8)
        axes.plot(x, values, color="#1f5fa8", linewidth=1.8)
        axes.set_xlabel("x")
        axes.set_title(label, fontsize=10)
        axes.set_xlim(-X_RANGE, X_RANGE)
    figure.suptitle(title.replace("$", r"\$"), fontsize=11)  # no mathtext from names
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def sample(program_json: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = json.loads(program_json)
    program = load_program(data, shape=tuple(data["input"]["shape"]))
    x = np.linspace(-X_RANGE, X_RANGE, _POINTS, dtype=np.float32)
    calls = as_calls(x, program.input_shape)
    gradient = jax.grad(lambda call: jnp.sum(program(call)))
    values, slopes = jax.jit(lambda c: (jax.vmap(program)(c), jax.vmap(gradient)(c)))(calls)
    flat = (np.asarray(values).reshape(-1)[: x.size], np.asarray(slopes).reshape(-1)[: x.size])
    return x, *flat
