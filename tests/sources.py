"""Candidate sources shared by several test modules."""

from __future__ import annotations


def activation(body: str, *, header: str = "import jax\nimport jax.numpy as jnp\n") -> str:
    """A module defining activation_function(x) that returns `body`."""
    return f"{header}\n\ndef activation_function(x):\n    return {body}\n"


RELU = activation("jnp.maximum(x, 0.0)")
GELU_SINE = activation("jax.nn.gelu(x) + 0.1 * jnp.sin(x)")
