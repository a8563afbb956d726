"""Reference activations, written as candidates so they are scored exactly like one.

ReLU anchors the reward (it scores 0); the others are the usual comparisons and the
functions found in "Mining Generalizable Activation Functions" (arXiv 2602.05688).
"""

from __future__ import annotations

_HEADER = "import jax\nimport jax.numpy as jnp\n\n\ndef activation_function(x):\n    return "

REFERENCE_EXPRESSIONS: dict[str, str] = {
    "relu": "jnp.maximum(x, 0.0)",
    "gelu": "jax.nn.gelu(x)",
    "silu": "jax.nn.silu(x)",
    "tanh": "jnp.tanh(x)",
    "elu": "jax.nn.elu(x)",
    "snake": "x + jnp.sin(x) ** 2",
    "gelu_sine": "jax.nn.gelu(x) + 0.1 * jnp.sin(x)",
    "gelu_sinc": "jax.nn.gelu(x) * (1.0 + 0.5 * jnp.sinc(x))",
    "gmtu": "jnp.tanh(1.5 * x) * jnp.exp(-0.2 * x**2) + 0.1 * x",
}

REFERENCES: dict[str, str] = {
    name: f"{_HEADER}{expression}\n" for name, expression in REFERENCE_EXPRESSIONS.items()
}

BASELINE = "relu"
