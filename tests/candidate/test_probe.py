"""The probe's locality label is measured on values, never read from the source."""

from __future__ import annotations

import pytest
from sources import activation

from actgym.evaluation import Evaluator

PANEL = {
    "relu": ("jnp.maximum(x, 0.0)", "pointwise"),
    "position-dependent but elementwise": ("x * jnp.arange(x.shape[0]) / 10.0", "pointwise"),
    "neighbours by roll": (
        "x + 0.1 * jnp.tanh(jnp.roll(x, 1) + jnp.roll(x, -1) - 2.0 * x)",
        "feature-coupled",
    ),
    "statistics of the vector": (
        "jax.nn.gelu(x) + 0.2 * jnp.exp(-(((x - x.mean()) / (x.std() + 1e-6)) ** 2) / 2)",
        "feature-coupled",
    ),
    "coupled only under stop_gradient": (
        "x * jax.lax.stop_gradient(jnp.tanh(jnp.mean(x)))",
        "feature-coupled",
    ),
}


@pytest.mark.parametrize("name", PANEL)
def test_locality_labels(evaluator: Evaluator, name: str) -> None:
    body, expected = PANEL[name]
    assert evaluator.check(activation(body)).locality == expected
