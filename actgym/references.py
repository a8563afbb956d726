"""Reference activations, written as candidates so they are scored exactly like one.

ReLU anchors the reward (it scores 0); the others are the usual comparisons and the
functions found in "Mining Generalizable Activation Functions" (arXiv 2602.05688). The
validity panel adds more well-known activations, so that rank agreement across task seeds
is measured on a panel of 13; the learn-nothing functions are what a benchmark must never
reward (networks built from them cannot fit the training region). `PAPER` holds the
paper's functions under the paper's names, as the paper wrote them (docs/evaluation.md,
"Reference activations"); `NAMED` is every name `actgym eval --reference` accepts.
"""

from __future__ import annotations

_HEADER = "import jax\nimport jax.numpy as jnp\n\n\ndef activation_function(x):\n    return "


def as_source(expression: str) -> str:
    """A candidate whose activation returns `expression` (jax and jnp imported)."""
    return f"{_HEADER}{expression}\n"


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

PANEL_EXPRESSIONS: dict[str, str] = {
    **REFERENCE_EXPRESSIONS,
    "softplus": "jax.nn.softplus(x)",
    "sigmoid": "jax.nn.sigmoid(x)",
    "mish": "x * jnp.tanh(jax.nn.softplus(x))",
    "leaky_relu": "jax.nn.leaky_relu(x, 0.01)",
}
"""The 13 well-known activations whose ranking must replicate across task seeds."""

LEARN_NOTHING_EXPRESSIONS: dict[str, str] = {
    "zero": "0.0 * x",
    "constant": "0.0 * x + 1.0",
    "tiny_scale": "1e-4 * x",
    "step": "jnp.where(x > 0, 1.0, 0.0)",
}
"""Activations with which a network cannot fit its training data: they must never win."""

HEADROOM_EXPRESSIONS: dict[str, str] = {
    "square": "x * x",
    "x_plus_0.1x2": "x + 0.1 * x * x",
    "relu2": "jnp.maximum(x, 0.0) ** 2",
    "snake_0.5": "x + jnp.sin(0.5 * x) ** 2 / 0.5",
    "snake_2": "x + jnp.sin(2.0 * x) ** 2 / 2.0",
    "snake_5": "x + jnp.sin(5.0 * x) ** 2 / 5.0",
    "snake_pi": "x + jnp.sin(jnp.pi * x) ** 2 / jnp.pi",
    "sin_pi": "jnp.sin(jnp.pi * x)",
    "sin": "jnp.sin(x)",
}
"""Polynomial and periodic activations that extrapolate some families far better than the
panel: the top of the scale must keep ordering them (benchmarks/validity)."""

REFERENCES: dict[str, str] = {
    name: as_source(expression) for name, expression in REFERENCE_EXPRESSIONS.items()
}
PANEL: dict[str, str] = {
    name: as_source(expression) for name, expression in PANEL_EXPRESSIONS.items()
}
LEARN_NOTHING: dict[str, str] = {
    name: as_source(expression) for name, expression in LEARN_NOTHING_EXPRESSIONS.items()
}
HEADROOM: dict[str, str] = {
    name: as_source(expression) for name, expression in HEADROOM_EXPRESSIONS.items()
}

PAPER: dict[str, str] = {
    "gelusine": as_source("jax.nn.gelu(x) + 0.1 * jnp.sin(x)"),
    "gelu_sinc": as_source("jax.nn.gelu(x) * (1.0 + 0.5 * jnp.sinc(x))"),
    "gmtu": as_source("jnp.tanh(1.5 * x) * jnp.exp(-0.2 * x**2) + 0.1 * x"),
    # The listing's `base` is cut off; GELU is our choice (docs/evaluation.md says why).
    # Statistics are over the whole input the function sees: one example's hidden vector
    # in example scope, the (batch, width) tensor in batch scope (as in the paper's code).
    "turbulent": (
        "import jax\n"
        "import jax.numpy as jnp\n"
        "\n"
        "\n"
        "def activation_function(x):\n"
        "    base = jax.nn.gelu(x)\n"
        "    z = (x - jnp.mean(x)) / (jnp.std(x) + 1e-6)\n"
        "    return base + 0.2 * jnp.exp(-(z**2) / 2) * jnp.sin(2 * x)\n"
    ),
    # In the spirit of the paper's chaotic-wave listing (cut off), not its code: each unit
    # is nudged by a discrete Laplacian over its neighbours in the hidden vector.
    "neighbour": as_source(
        "x + 0.1 * jnp.tanh(jnp.roll(x, 1, axis=-1) + jnp.roll(x, -1, axis=-1) - 2 * x)"
    ),
    # Fourier-Informed Spectral Gating as the appendix describes it; the listing names no
    # frequency split or k: the upper half of the rfft bins is "high", and k = 4. The FFT
    # runs along the feature axis; the energy share, like Turbulent's statistics, is over
    # the whole input (in batch scope, the batch: the paper counts FISG among its
    # batch-statistics functions).
    "fisg": (
        "import jax\n"
        "import jax.numpy as jnp\n"
        "\n"
        "\n"
        "def activation_function(x):\n"
        "    spectrum = jnp.fft.rfft(x)\n"
        "    cut = spectrum.shape[-1] // 2\n"
        "    power = jnp.abs(spectrum) ** 2\n"
        "    high = jnp.sum(power[..., cut:])\n"
        "    imbalance = jax.lax.stop_gradient(high / (jnp.sum(power) + 1e-6))\n"
        "    gate = jnp.exp(-4.0 * imbalance)\n"
        "    low, high_bins = spectrum[..., :cut], spectrum[..., cut:]\n"
        "    modified = jnp.concatenate([low, jnp.conj(high_bins)], axis=-1)\n"
        "    modified_x = jnp.fft.irfft(modified, n=x.shape[-1])\n"
        "    return gate * x + (1 - gate) * modified_x\n"
    ),
}
"""The paper's functions under its names (its other listings, cut off, are not here)."""

FEATURE_COUPLED: frozenset[str] = frozenset({"turbulent", "neighbour", "fisg"})
"""References whose output at a unit depends on other units of the same example (in batch
scope Turbulent and FISG also depend on the other examples: batch-coupled)."""

NAMED: dict[str, str] = {**PANEL, **PAPER}
"""Every reference by name (`actgym eval --reference NAME`); `gelu_sine` is `gelusine`."""

BASELINE = "relu"
