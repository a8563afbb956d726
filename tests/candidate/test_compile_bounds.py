"""What a program may cost the trainer: FLOPs for every operand, and size after differentiation.

Compile bombs (a `select_n` over a thousand cases, a `sort` of a thousand operands, stacked
`cummax`) once passed validation cheaply and then took minutes and gigabytes to compile;
they must now be refused by `load_program` or by the FLOP budget, within seconds.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from actgym.agents.grammar import random_expression, to_source
from sources import activation

from actgym.candidate.differentiated import size
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.program import Program, load_program
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.worker import analyse_source
from actgym.references import LEARN_NOTHING, PANEL

WIDTH = 64
LIMITS = CandidateLimits()

# FLOPs per element at width 64; a change here changes scores (note it as a scoring version).
REFERENCE_FLOPS = {
    "relu": 1.0,
    "gelu": 19.0,
    "silu": 11.0,
    "tanh": 10.0,
    "elu": 16.015625,
    "snake": 13.0,
    "gelu_sine": 31.0,
    "gelu_sinc": 43.0,
    "gmtu": 27.0,
    "softplus": 28.0,
    "sigmoid": 10.0,
    "mish": 39.0,
    "leaky_relu": 3.015625,
    "zero": 1.0,
    "constant": 2.0,
    "tiny_scale": 1.0,
    "step": 4.0,
}


def traced(source: str) -> dict[str, Any]:
    reply = analyse_source(source, (WIDTH,), LIMITS)
    assert reply["status"] == "ok", reply
    return reply["program"]


def loaded(body: str, limits: CandidateLimits = LIMITS) -> Program:
    return load_program(traced(activation(body)), shape=(WIDTH,), limits=limits)


@pytest.mark.parametrize("name", sorted(REFERENCE_FLOPS))
def test_reference_flops_are_unchanged(name: str) -> None:
    source = {**PANEL, **LEARN_NOTHING}[name]
    program = load_program(traced(source), shape=(WIDTH,))
    assert program.flops_per_element == REFERENCE_FLOPS[name]


def test_select_n_is_charged_for_every_case() -> None:
    assert loaded("jnp.where(x > 0, x, x + 1.0)").flops_per_element == 3.0  # gt, add, select_n

    def select(cases: int) -> float:
        which = "jnp.clip(x, 0, 9).astype(jnp.int32)"
        return loaded(f"jax.lax.select_n({which}, *([x] * {cases}))").flops_per_element

    assert select(10) - select(2) == 8.0


def test_sort_is_charged_for_every_operand() -> None:
    log_n = math.log2(WIDTH)
    assert loaded("jnp.sort(x)").flops_per_element == 2 * log_n
    many = loaded("jax.lax.sort([x] * 8, num_keys=2)[0]").flops_per_element
    assert many == (8 + 2) * log_n


def whole_vjp_size(program: Program) -> tuple[int, int]:
    """JAX's own VJP of the whole program, traced abstractly."""
    spec = jax.ShapeDtypeStruct(program.input_shape, jnp.float32)
    return size(jax.make_jaxpr(lambda x: jax.vjp(program, x)[1](x))(spec).jaxpr)


def _grammar_samples(count: int) -> dict[str, str]:
    rng = np.random.default_rng(7)
    return {f"grammar_{i}": to_source(random_expression(rng, 1 + i % 6)) for i in range(count)}


HONEST = {
    **PANEL,
    **LEARN_NOTHING,
    **_grammar_samples(12),
    "statistics": activation("(x - jnp.mean(x)) / (jnp.std(x) + 1e-3) + jnp.sort(x)"),
    "piecewise": activation("jnp.piecewise(x, [x > 0], [lambda v: v, lambda v: -v])"),
    "argsort": activation("x * jnp.argsort(x)"),
    "cumulative": activation("jnp.cumprod(jnp.tanh(x)) + jax.lax.cummax(x)"),
    "select": activation("jax.lax.select_n(jnp.clip(x, 0, 2).astype(jnp.int32), x, -x, 1.0 + x)"),
}


@pytest.mark.parametrize("name", sorted(HONEST))
def test_the_estimate_bounds_the_whole_vjp(name: str) -> None:
    """Honest programs load, and any limit their real VJP exceeds refuses them."""
    data = traced(HONEST[name])
    equations, operands = whole_vjp_size(load_program(data, shape=(WIDTH,)))
    for tighter in (
        dataclasses.replace(LIMITS, max_differentiated_equations=equations - 1),
        dataclasses.replace(LIMITS, max_differentiated_operands=operands - 1),
    ):
        with pytest.raises(CandidateRejected) as error:
            load_program(data, shape=(WIDTH,), limits=tighter)
        assert error.value.reason is Reason.PROGRAM_TOO_LARGE


BOMBS = {
    "select_n of 1023 cases, 12 times": (
        "    idx = jnp.clip(x, 0.0, 1022.0).astype(jnp.int32)\n"
        "    for _ in range(12):\n"
        "        x = jax.lax.select_n(idx, *([x] * 1023))\n"
        "    return x\n"
    ),
    "select_n of 1023 cases, twice": (
        "    idx = jnp.clip(x, 0.0, 1022.0).astype(jnp.int32)\n"
        "    return jax.lax.select_n(idx, *([jax.lax.select_n(idx, *([x] * 1023))] * 1023))\n"
    ),
    "select_n of 1023 cases": (
        "    idx = jnp.clip(x, 0.0, 1022.0).astype(jnp.int32)\n"
        "    return jax.lax.select_n(idx, *([x] * 1023))\n"
    ),
    "sort of 1023 operands": "    return jax.lax.sort([x] * 1023, num_keys=1)[0]\n",
    "900 cumprods": "    for _ in range(900):\n        x = jnp.cumprod(x)\n    return x\n",
    "cummax of a (1024, 64) array, 300 times": (
        "    y = jnp.broadcast_to(x, (1024, 64))\n"
        "    for _ in range(300):\n"
        "        y = jax.lax.cummax(y, axis=0)\n"
        "    return y[0]\n"
    ),
}


@pytest.mark.parametrize("name", sorted(BOMBS))
def test_compile_bombs_are_refused_within_seconds(name: str) -> None:
    header = "import jax\nimport jax.numpy as jnp\n\n\ndef activation_function(x):\n"
    data = traced(header + BOMBS[name])
    started = time.perf_counter()
    try:
        program = load_program(data, shape=(WIDTH,))
    except CandidateRejected as error:
        assert error.reason is Reason.PROGRAM_TOO_LARGE
    else:
        assert program.flops_per_element > LIMITS.flops_budget  # Evaluator.check refuses it
    assert time.perf_counter() - started < 20.0


def test_operands_are_limited_in_all() -> None:
    tight = dataclasses.replace(LIMITS, max_operands=40)
    with pytest.raises(CandidateRejected) as error:
        loaded("sum([x * i for i in range(20)])", limits=tight)
    assert error.value.reason is Reason.PROGRAM_TOO_LARGE
    assert "40 operands" in error.value.message


def test_a_program_without_a_derivative_is_invalid() -> None:
    with pytest.raises(CandidateRejected) as error:
        loaded("jnp.nextafter(x, x + 1.0)")
    assert error.value.reason is Reason.INVALID_PROGRAM
    assert "`nextafter` cannot be differentiated (NotImplementedError)" in error.value.message
