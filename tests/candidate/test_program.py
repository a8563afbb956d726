"""The data-only program boundary: round trips, canonical hashes, and hostile data."""

from __future__ import annotations

import copy
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from sources import GELU_SINE, RELU, activation

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.program import load_program
from actgym.candidate.program_writer import program_from_jaxpr
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.worker import analyse_source

WIDTH = 16


def traced(source: str) -> dict[str, Any]:
    reply = analyse_source(source, (WIDTH,), CandidateLimits())
    assert reply["status"] == "ok", reply
    return reply["program"]


def test_round_trip_computes_the_same_values() -> None:
    program = load_program(traced(GELU_SINE), shape=(WIDTH,))
    x = jnp.linspace(-6.0, 6.0, WIDTH, dtype=jnp.float32)
    expected = jax.nn.gelu(x) + 0.1 * jnp.sin(x)
    np.testing.assert_array_equal(np.asarray(program(x)), np.asarray(expected))
    gradient = jax.grad(lambda v: jnp.sum(program(v)))(x)
    expected_gradient = jax.grad(lambda v: jnp.sum(jax.nn.gelu(v) + 0.1 * jnp.sin(v)))(x)
    np.testing.assert_allclose(np.asarray(gradient), np.asarray(expected_gradient), rtol=1e-6)


def test_equivalent_sources_share_a_hash() -> None:
    spelled_differently = (
        "import jax.numpy as jnp\n\n# a comment\nSLOPE = 0.0\n\n"
        "def helper(value):\n    return jnp.maximum(value, SLOPE)\n\n"
        "def activation_function(inputs, unused=3):\n    dead = jnp.sin(inputs) * 2\n"
        "    return helper(inputs)\n"
    )
    assert traced(RELU) == traced(spelled_differently)
    assert (
        load_program(traced(RELU), shape=(WIDTH,)).digest
        != load_program(traced(GELU_SINE), shape=(WIDTH,)).digest
    )


def test_statistics_of_x_are_allowed() -> None:
    source = activation("(x - jnp.mean(x)) / (jnp.std(x) + 1e-3) + jnp.sort(x)")
    program = load_program(traced(source), shape=(WIDTH,))
    x = jnp.arange(WIDTH, dtype=jnp.float32)
    expected = (x - x.mean()) / (x.std() + 1e-3) + jnp.sort(x)
    np.testing.assert_allclose(np.asarray(program(x)), np.asarray(expected), rtol=1e-6)


def tampered(change: str) -> dict[str, Any]:
    data = copy.deepcopy(traced(activation("jnp.sin(x) * 2.0 + jnp.mean(x)")))
    if change == "primitive":
        data["eqns"][0]["primitive"] = "pure_callback"
    elif change == "undefined variable":
        data["eqns"][0]["inputs"] = [{"v": 999}]
    elif change == "forward reference":
        data["eqns"][0]["inputs"] = [{"v": 3}]
    elif change == "declared shape":
        data["eqns"][0]["outputs"][0]["shape"] = [WIDTH + 1]
    elif change == "huge declared shape":
        data["eqns"][0]["outputs"][0]["shape"] = [10**9]
    elif change == "width":
        data["input"]["shape"] = [WIDTH * 2]
    elif change == "format":
        data["format"] = "pickle"
    elif change == "float64 constant":
        data["consts"] = [{"shape": [1], "dtype": "float64", "data": "AAAAAAAA8D8="}]
    elif change == "bad base64":
        data["consts"] = [{"shape": [1], "dtype": "float32", "data": "!!!"}]
    elif change == "params not a dict":
        data["eqns"][0]["params"] = ["x"]
    elif change == "unknown param kind":
        data["eqns"][0]["params"] = {"y": {"object": "os.system"}}
    elif change == "not a dict":
        return ["eqns"]  # type: ignore[return-value]
    return data


TAMPERINGS = {
    "primitive": Reason.FORBIDDEN_PRIMITIVE,
    "undefined variable": Reason.INVALID_PROGRAM,
    "forward reference": Reason.INVALID_PROGRAM,
    "declared shape": Reason.INVALID_PROGRAM,
    "huge declared shape": Reason.PROGRAM_TOO_LARGE,
    "width": Reason.INVALID_PROGRAM,
    "format": Reason.INVALID_PROGRAM,
    "float64 constant": Reason.INVALID_PROGRAM,
    "bad base64": Reason.INVALID_PROGRAM,
    "params not a dict": Reason.INVALID_PROGRAM,
    "unknown param kind": Reason.INVALID_PROGRAM,
    "not a dict": Reason.INVALID_PROGRAM,
}


@pytest.mark.parametrize("change", sorted(TAMPERINGS))
def test_tampered_program_data_is_rejected(change: str) -> None:
    with pytest.raises(CandidateRejected) as error:
        load_program(tampered(change), shape=(WIDTH,))
    assert error.value.reason is TAMPERINGS[change]


def test_flops_count_transcendentals_more_than_arithmetic() -> None:
    relu = load_program(traced(RELU), shape=(WIDTH,))
    gelu_sine = load_program(traced(GELU_SINE), shape=(WIDTH,))
    assert relu.flops_per_element == 1.0
    assert 20.0 < gelu_sine.flops_per_element < 60.0


def test_writer_refuses_callbacks() -> None:
    def with_callback(x: jax.Array) -> jax.Array:
        return jax.pure_callback(np.sin, jax.ShapeDtypeStruct(x.shape, x.dtype), x)

    closed = jax.make_jaxpr(with_callback)(jax.ShapeDtypeStruct((WIDTH,), jnp.float32))
    with pytest.raises(CandidateRejected) as error:
        program_from_jaxpr(closed, CandidateLimits())
    assert error.value.reason is Reason.FORBIDDEN_PRIMITIVE
