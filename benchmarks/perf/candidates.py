"""The benchmark's fixed candidate set, written once for JAX and once for PyTorch.

Expressions use a shared vocabulary so both frameworks compute the same function; the
set is drawn with a fixed seed so numbers are comparable from run to run.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

TEMPLATES = (
    "relu(x) + {a} * sin(x)",
    "gelu(x) + {a} * sin({b} * x)",
    "silu(x) * (1.0 + {a} * cos(x))",
    "tanh({b} * x) * exp(-{a} * x * x) + {a} * x",
    "x * sigmoid({b} * x) + {a} * sin(x) * sin(x)",
    "softplus(x) - {a} * tanh(x)",
    "maximum(x, {a} * x) + {a} * cos({b} * x)",
    "gelu(x) * (1.0 + {a} * tanh(x * x))",
)

JAX_HEADER = """import jax
import jax.numpy as jnp

relu = jax.nn.relu
gelu = jax.nn.gelu
silu = jax.nn.silu
sigmoid = jax.nn.sigmoid
softplus = jax.nn.softplus
sin, cos, tanh, exp, maximum = jnp.sin, jnp.cos, jnp.tanh, jnp.exp, jnp.maximum


def activation_function(x):
    return """


def expressions(count: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    chosen = []
    for index in range(count):
        a, b = rng.uniform(0.05, 0.5), rng.uniform(0.5, 2.0)
        chosen.append(TEMPLATES[index % len(TEMPLATES)].format(a=f"{a:.3f}", b=f"{b:.3f}"))
    return chosen


def jax_source(expression: str) -> str:
    return f"{JAX_HEADER}{expression}\n"


def torch_function(expression: str) -> Callable:
    import torch
    import torch.nn.functional as functional

    namespace = {
        "relu": torch.relu,
        "gelu": lambda x: functional.gelu(x, approximate="tanh"),
        "silu": functional.silu,
        "sigmoid": torch.sigmoid,
        "softplus": functional.softplus,
        "sin": torch.sin,
        "cos": torch.cos,
        "tanh": torch.tanh,
        "exp": torch.exp,
        "maximum": lambda x, y: torch.maximum(x, y),
    }
    return eval(f"lambda x: {expression}", namespace)  # the benchmark's own fixed text
