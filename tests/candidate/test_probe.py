"""The probe measures values, never reads the source: locality labels, and shape and
behaviour a program cannot fake by recognising the probe's inputs."""

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


SORTED = "jnp.min(x[1:] - x[:-1]) >= 0.0"
"""True on a sorted input: how a program would recognise an ordered probe grid."""
ROUND = "jnp.max(jnp.where((jnp.abs(x) == 50.0) | (jnp.abs(x) == 1e-6), 1.0, 0.0)) > 0.0"
"""True where the probe's points were round values, in earlier releases."""


@pytest.mark.parametrize("tell", [SORTED, ROUND])
def test_a_program_that_recognises_the_probe_shows_its_training_behaviour(
    evaluator: Evaluator, tell: str
) -> None:
    honest = evaluator.check(activation("jnp.tanh(x)"))
    forger = evaluator.check(activation(f"jnp.where({tell}, jnp.maximum(x, 0.0), jnp.tanh(x))"))
    assert forger.behaviour == honest.behaviour
    assert forger.descriptors == pytest.approx(honest.descriptors)
