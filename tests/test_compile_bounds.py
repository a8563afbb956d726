"""What a program may cost the trainer: FLOPs for every operand of every operation."""

from __future__ import annotations

import math
from typing import Any

import pytest
from sources import activation

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.program import Program, load_program
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
    reply = analyse_source(source, WIDTH, LIMITS)
    assert reply["status"] == "ok", reply
    return reply["program"]


def loaded(body: str, limits: CandidateLimits = LIMITS) -> Program:
    return load_program(traced(activation(body)), width=WIDTH, limits=limits)


@pytest.mark.parametrize("name", sorted(REFERENCE_FLOPS))
def test_reference_flops_are_unchanged(name: str) -> None:
    source = {**PANEL, **LEARN_NOTHING}[name]
    program = load_program(traced(source), width=WIDTH)
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
