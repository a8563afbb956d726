"""Vectorised sin/cos: accuracy against float64, derivatives, and the activation wrapper."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from actgym.vector_math import EXACT_RANGE, ULP_BOUND, cos, sin, with_vector_trig

CASES = [(sin, np.sin, jnp.sin), (cos, np.cos, jnp.cos)]


def ulps(values: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """Distance to the float64 result, in float32 units in the last place of that result."""
    spacing = np.spacing(np.abs(exact).astype(np.float32)).astype(np.float64)
    return np.abs(values.astype(np.float64) - exact) / spacing


def samples(low: float, high: float, count: int = 200_000) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = rng.uniform(low, high, count) * rng.choice([-1.0, 1.0], count)
    return x.astype(np.float32)


@pytest.mark.parametrize(("ours", "exact", "xla"), CASES)
def test_within_the_ulp_bound_where_pre_activations_live(ours, exact, xla) -> None:
    x = np.concatenate([samples(0, 8), samples(0, 4096)])
    error = ulps(np.asarray(jax.jit(ours)(x)), exact(x.astype(np.float64)))
    assert error.max() <= ULP_BOUND
    assert np.abs(np.asarray(xla(x)) - np.asarray(ours(x))).max() <= 2.5e-7


@pytest.mark.parametrize(("ours", "exact", "xla"), CASES)
def test_absolute_error_stays_small_beyond_the_exact_range(ours, exact, xla) -> None:
    x = samples(0, 16 * EXACT_RANGE)
    values = np.asarray(jax.jit(ours)(x))
    assert np.abs(values - exact(x.astype(np.float64))).max() <= 2e-7
    assert np.all(np.abs(values) <= 1.0)


@pytest.mark.parametrize(("ours", "exact", "xla"), CASES)
def test_non_finite_inputs_give_nan(ours, exact, xla) -> None:
    assert np.all(np.isnan(np.asarray(ours(jnp.array([jnp.inf, -jnp.inf, jnp.nan])))))


def test_derivatives_are_each_other() -> None:
    x = jnp.asarray(samples(0, 10, 1000))
    np.testing.assert_array_equal(jax.vmap(jax.grad(sin))(x), cos(x))
    np.testing.assert_array_equal(jax.vmap(jax.grad(cos))(x), -sin(x))
    np.testing.assert_allclose(jax.vmap(jax.grad(jax.grad(sin)))(x), -sin(x), atol=1e-6)


def test_wrapper_replaces_float32_sin_and_cos_only() -> None:
    def activation(x: jax.Array) -> jax.Array:
        return jax.nn.gelu(x) * jnp.sin(2.0 * x) + jnp.cos(x) ** 2

    wrapped = with_vector_trig(activation)
    x = jnp.asarray(samples(0, 6, 256)).reshape(4, 64)
    expected = jax.jit(jax.vmap(lambda x: jax.nn.gelu(x) * sin(2.0 * x) + cos(x) ** 2))(x)
    np.testing.assert_array_equal(jax.jit(jax.vmap(wrapped))(x), expected)
    primitives = {str(eqn.primitive) for eqn in jax.make_jaxpr(wrapped)(x).jaxpr.eqns}
    assert not {"sin", "cos"} & primitives
    gradient = jax.grad(lambda x: wrapped(x).sum())(x)
    np.testing.assert_allclose(gradient, jax.grad(lambda x: activation(x).sum())(x), rtol=1e-5)
    assert with_vector_trig(jnp.tanh)(x).dtype == jnp.float32
