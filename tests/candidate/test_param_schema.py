"""Primitive parameters: the schema matches what jax emits, and forged values are data errors.

A forged reply is a real program's JSON with one parameter edited, as a compromised worker
would send it; each must be refused by `load_program` (before it could fail inside
compilation or training) with a message naming the primitive and the parameter.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import jax.scipy.special as jss
import pytest
from jax import lax
from jax.extend import core as jex_core
from sources import activation

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.param_schema import SCHEMAS
from actgym.candidate.primitives import ALLOWED_PRIMITIVES, INLINED_CALLS
from actgym.candidate.program import load_program
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.worker import analyse_source

WIDTH = 16

# Between them these use every allow-listed primitive (checked below).
SAMPLES: list[Callable[[jax.Array], jax.Array]] = [
    lambda x: (x + 1 - x * 2) / 3 % 2,
    lambda x: jnp.maximum(-x, 0.0) + jnp.minimum(jnp.abs(x), jnp.sign(x)),
    lambda x: jnp.floor(x) + jnp.ceil(x) + jnp.round(x) + jnp.square(x) + x**3,
    lambda x: jnp.where((x == 0) | (x != 1) & ~(x < 2) ^ (x <= 3), x, 1.0),
    lambda x: jnp.where((x > 0) & (x >= 1) & jnp.isfinite(x), x, lax.copy_p.bind(x)),
    lambda x: lax.select_n(jnp.int32(x) % 3, x, x + 1, x + 2),
    lambda x: jnp.nextafter(x, 0.0) + lax.stop_gradient(x) + lax.clamp(-1.0, x, 1.0),
    lambda x: x.astype(jnp.int32).astype(jnp.float32) + jnp.sqrt(x) + lax.rsqrt(x),
    lambda x: jnp.cbrt(x) + jnp.exp(x) + jnp.exp2(x) + jnp.expm1(x) + jnp.log(x),
    lambda x: jnp.log1p(x) + jnp.tanh(x) + jax.nn.sigmoid(x) + jnp.sin(x) + jnp.cos(x),
    lambda x: jnp.tan(x) + jnp.arcsin(x) + jnp.arccos(x) + jnp.arctan(x) + jnp.arctan2(x, 1.0),
    lambda x: jnp.sinh(x) + jnp.cosh(x) + jnp.arcsinh(x) + jnp.arccosh(x) + jnp.arctanh(x),
    lambda x: jss.erf(x) + jss.erfc(x) + jss.erfinv(x) + x**x + jss.gammaln(x) + jss.digamma(x),
    lambda x: x * (jnp.sum(x) + jnp.max(x) + jnp.min(x) + jnp.prod(x) + jnp.argmax(x)),
    lambda x: x * jnp.argmin(x) + jnp.cumsum(x) + jnp.cumprod(x) + lax.cummax(x) + lax.cummin(x),
    lambda x: jnp.sort(x) + x * (x @ x) + jnp.broadcast_to(x[0], x.shape) + x[::-1],
    lambda x: jnp.concatenate([x[:8], x[8:]]) + jnp.arange(x.shape[0]),
    lambda x: jnp.max(jnp.stack([x, 0.5 * x], axis=-1), axis=-1),
    lambda x: x.reshape(4, -1).T.reshape(1, -1).squeeze(0),
    lambda x: (
        jnp.fft.irfft(jnp.conj(jnp.fft.rfft(x)), n=x.shape[0])
        + jnp.real(jnp.fft.ifft(jnp.fft.fft(x)))
        + jnp.imag(lax.complex(x, x))
    ),
]


def _equations(jaxpr: jex_core.Jaxpr) -> Iterator[jex_core.JaxprEqn]:
    """The equations the worker writes: call-like bodies inlined."""
    for eqn in jaxpr.eqns:
        body = eqn.params.get(INLINED_CALLS.get(eqn.primitive.name, ""))
        if body is None:
            yield eqn
        else:
            yield from _equations(getattr(body, "jaxpr", body))


def test_every_allowed_primitive_has_a_schema() -> None:
    assert set(SCHEMAS) == set(ALLOWED_PRIMITIVES)


def test_schema_keys_are_those_jax_emits() -> None:
    spec = jax.ShapeDtypeStruct((WIDTH,), jnp.float32)
    emitted: dict[str, set[str]] = {}
    for sample in SAMPLES:
        for eqn in _equations(jax.make_jaxpr(sample)(spec).jaxpr):
            emitted.setdefault(eqn.primitive.name, set()).update(eqn.params)
    assert set(ALLOWED_PRIMITIVES) <= set(emitted), "a sample is missing"
    for name in ALLOWED_PRIMITIVES:
        assert emitted[name] == set(SCHEMAS[name]), name


def traced(expression: str) -> dict[str, Any]:
    reply = analyse_source(activation(expression), (WIDTH,), CandidateLimits())
    assert reply["status"] == "ok", reply
    return reply["program"]


def lit_float(value: float) -> dict[str, str]:
    return {"float": value.hex()}


def tup(*items: Any) -> dict[str, Any]:
    return {"tuple": list(items)}


UNSET = object()
"""As a forged value: delete the key."""

STACK = "jnp.max(jnp.stack([x, 0.5 * x], axis=-1), axis=-1)"
RFFT = "jnp.fft.irfft(jnp.fft.rfft(x) * 0.5, n=16)"

# (expression traced, primitive edited, parameter, forged value as JSON)
FORGERIES: dict[str, tuple[str, str, str, Any]] = {
    "dot_general precision garbage": ("x * (x @ x)", "dot_general", "precision", 7),
    "dot_general precision tuple": ("x * (x @ x)", "dot_general", "precision", tup(1, 2)),
    "dot_general precision enum": (
        "x * (x @ x)",
        "dot_general",
        "precision",
        {"enum": "RoundingMethod", "value": "TO_NEAREST_EVEN"},
    ),
    "dot_general axis out of range": (
        "x * (x @ x)",
        "dot_general",
        "dimension_numbers",
        tup(tup(tup(1), tup(0)), tup(tup(), tup())),
    ),
    "dot_general unpaired axes": (
        "x * (x @ x)",
        "dot_general",
        "dimension_numbers",
        tup(tup(tup(0), tup()), tup(tup(), tup())),
    ),
    "dot_general dimension_numbers not nested": (
        "x * (x @ x)",
        "dot_general",
        "dimension_numbers",
        tup(0, 0),
    ),
    "dot_general preferred type bool": (
        "x * (x @ x)",
        "dot_general",
        "preferred_element_type",
        {"dtype": "bool"},
    ),
    "sort num_keys above operands": ("jnp.sort(x)", "sort", "num_keys", 5),
    "sort num_keys zero": ("jnp.sort(x)", "sort", "num_keys", 0),
    "sort num_keys negative": ("jnp.sort(x)", "sort", "num_keys", -1),
    "sort num_keys bool": ("jnp.sort(x)", "sort", "num_keys", True),
    "sort is_stable int": ("jnp.sort(x)", "sort", "is_stable", 1),
    "sort is_stable string": ("jnp.sort(x)", "sort", "is_stable", "yes"),
    "sort dimension out of range": ("jnp.sort(x)", "sort", "dimension", 1),
    "sort num_keys missing": ("jnp.sort(x)", "sort", "num_keys", UNSET),
    "cumsum float axis": ("jnp.cumsum(x)", "cumsum", "axis", lit_float(0.0)),
    "cumsum axis out of range": ("jnp.cumsum(x)", "cumsum", "axis", 1),
    "cumsum negative axis": ("jnp.cumsum(x)", "cumsum", "axis", -1),
    "cumsum reverse not bool": ("jnp.cumsum(x)", "cumsum", "reverse", 0),
    "round rounding_method 7": ("jnp.round(x)", "round", "rounding_method", 7),
    "round rounding_method string": (
        "jnp.round(x)",
        "round",
        "rounding_method",
        "TO_NEAREST_EVEN",
    ),
    "convert weak_type string": (
        "jnp.floor(x).astype(jnp.int32).astype(jnp.float32)",
        "convert_element_type",
        "weak_type",
        "false",
    ),
    "convert new_dtype string": (
        "jnp.floor(x).astype(jnp.int32).astype(jnp.float32)",
        "convert_element_type",
        "new_dtype",
        "float32",
    ),
    "convert sharding": (
        "jnp.floor(x).astype(jnp.int32).astype(jnp.float32)",
        "convert_element_type",
        "sharding",
        "cpu:0",
    ),
    "unknown extra param": ("jnp.sin(x) + 1.0", "add", "callback", "os.system"),
    "unknown param on sort": ("jnp.sort(x)", "sort", "comparator", 0),
    "exp accuracy": ("jnp.exp(x)", "exp", "accuracy", 3),
    "mul out_dtype": ("x * 2.0", "mul", "out_dtype", {"dtype": "int32"}),
    "reduce_sum axes out of range": ("x * jnp.sum(x)", "reduce_sum", "axes", tup(1)),
    "reduce_sum repeated axes": ("x * jnp.sum(x)", "reduce_sum", "axes", tup(0, 0)),
    "reduce_sum axes not a tuple": ("x * jnp.sum(x)", "reduce_sum", "axes", 0),
    "argmax no axis": ("x * jnp.argmax(x)", "argmax", "axes", tup()),
    "argmax index_dtype bool": ("x * jnp.argmax(x)", "argmax", "index_dtype", {"dtype": "bool"}),
    "integer_pow float exponent": ("x ** 3", "integer_pow", "y", lit_float(3.0)),
    "integer_pow bool exponent": ("x ** 3", "integer_pow", "y", True),
    "transpose not a permutation": (
        "x.reshape(4, -1).T.reshape(-1)",
        "transpose",
        "permutation",
        tup(0, 0),
    ),
    "reshape dimensions": (
        "x.reshape(4, -1).T.reshape(-1)",
        "reshape",
        "dimensions",
        tup(1, 0),
    ),
    "broadcast dimensions out of range": (
        "jnp.broadcast_to(x[0], x.shape) + jnp.sum(jnp.broadcast_to(x, (2, 16)), axis=0)",
        "broadcast_in_dim",
        "broadcast_dimensions",
        tup(5),
    ),
    "iota dimension out of range": ("x + jnp.arange(x.shape[0])", "iota", "dimension", 3),
    "iota dtype bool": ("x + jnp.arange(x.shape[0])", "iota", "dtype", {"dtype": "bool"}),
    "slice zero stride": ("jnp.concatenate([x[:8], x[8:]])", "slice", "strides", tup(0)),
    "slice negative start": ("jnp.concatenate([x[:8], x[8:]])", "slice", "start_indices", tup(-1)),
    "fft type an int": (RFFT, "fft", "fft_type", 2),
    "fft type a string": (RFFT, "fft", "fft_type", "RFFT"),
    "fft type another enum": (
        RFFT,
        "fft",
        "fft_type",
        {"enum": "RoundingMethod", "value": "TO_NEAREST_EVEN"},
    ),
    "fft type complex on a real operand": (
        RFFT,
        "fft",
        "fft_type",
        {"enum": "FftType", "value": "FFT"},
    ),
    "fft length not the operand's": (RFFT, "fft", "fft_lengths", tup(17)),
    "fft length huge": (RFFT, "fft", "fft_lengths", tup(2**30)),
    "fft length zero": (RFFT, "fft", "fft_lengths", tup(0)),
    "fft two dimensional": (RFFT, "fft", "fft_lengths", tup(4, 4)),
    "fft lengths an int": (RFFT, "fft", "fft_lengths", 16),
    "fft lengths missing": (RFFT, "fft", "fft_lengths", UNSET),
    "fft extra key": (RFFT, "fft", "norm", "ortho"),
    "pad negative interior": (RFFT, "pad", "padding_config", tup(tup(0, 0, -1))),
    "pad wrong rank": (RFFT, "pad", "padding_config", tup(tup(0, 0, 0), tup(0, 0, 0))),
    "pad not triples": (RFFT, "pad", "padding_config", tup(tup(0, 0))),
    "conj input_dtype real": (
        "jnp.fft.irfft(jnp.conj(jnp.fft.rfft(x)), n=16)",
        "conj",
        "input_dtype",
        {"dtype": "float32"},
    ),
    "concatenate dimension out of range": (
        "jnp.concatenate([x[:8], x[8:]])",
        "concatenate",
        "dimension",
        1,
    ),
    "stack axis out of range": (STACK, "stack", "axis", 2),
    "stack axis negative": (STACK, "stack", "axis", -1),
    "stack axis missing": (STACK, "stack", "axis", UNSET),
}


def forged(expression: str, primitive: str, key: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(traced(expression))
    params = next(eqn["params"] for eqn in data["eqns"] if eqn["primitive"] == primitive)
    if value is UNSET:
        del params[key]
    else:
        params[key] = value
    return data


@pytest.mark.parametrize("case", sorted(FORGERIES))
def test_forged_parameter_is_rejected(case: str) -> None:
    expression, primitive, key, value = FORGERIES[case]
    with pytest.raises(CandidateRejected) as error:
        load_program(forged(expression, primitive, key, value), shape=(WIDTH,))
    assert error.value.reason is Reason.INVALID_PROGRAM
    assert f"`{primitive}` parameter `{key}`" in error.value.message


@pytest.mark.parametrize("case", sorted({value[0] for value in FORGERIES.values()}))
def test_the_unforged_programs_load(case: str) -> None:
    load_program(traced(case), shape=(WIDTH,))


def test_a_hostile_key_is_shown_sanitised() -> None:
    data = forged("jnp.sin(x) + 1.0", "add", "\x1b[2J" + "k" * 500, 1)
    with pytest.raises(CandidateRejected) as error:
        load_program(data, shape=(WIDTH,))
    assert "\x1b" not in error.value.message and len(error.value.message) < 200
