"""The allow-list of JAX primitives a candidate may use, with their cost model.

An activation may only compute: elementwise math, comparisons and selection, and shape
bookkeeping and reductions over its own input. Anything that could run host code
(callbacks, debug printing, infeed), loop (while/scan) or draw randomness is absent from
this table and is therefore refused. Costs are FLOPs per output element (reductions: per
input element); transcendental functions count as several FLOPs because that is what
they cost a CPU or GPU, and the budget is meant to rule out expensive activations.
Primitives that take any number of operands (`select_n`, `sort`) are charged for every
operand, since compile time and memory grow with all of them.

Complex intermediates (`complex64` only, for spectral functions such as FISG) are allowed
between an `fft` and the float32 output. An `fft` of length n costs 5 n log2 n per
transform (the classic radix-2 count; real transforms are charged the same), and any other
operation that reads or writes a complex value costs `COMPLEX_FACTOR` times its real
counterpart (a complex multiply is four real ones and two adds; a complex `exp` an `exp`,
a `sin` and a `cos`): see `cost_of`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jax import lax
from jax.extend.core import Primitive

Shape = tuple[int, ...]
ALLOWED_DTYPES = frozenset({"float32", "float16", "bfloat16", "int32", "bool"})
"""Dtypes of constants, literals and intermediates (complex intermediates are below)."""
COMPLEX_DTYPES = frozenset({"complex64"})
"""Allowed for intermediates and scalar literals only; never complex128 or float64."""
INTERMEDIATE_DTYPES = ALLOWED_DTYPES | COMPLEX_DTYPES
COMPLEX_FACTOR = 4.0
MAX_RANK = 4
CostFn = Callable[[Sequence[Shape], Sequence[Shape], dict[str, Any]], float]


@dataclass(frozen=True)
class PrimitiveRule:
    primitive: Primitive
    cost: CostFn


def _numel(shape: Shape) -> int:
    return math.prod(shape)


def per_output(flops: float) -> CostFn:
    def cost(inputs: Sequence[Shape], outputs: Sequence[Shape], params: dict[str, Any]) -> float:
        return flops * sum(_numel(shape) for shape in outputs)

    return cost


def per_input(flops: float) -> CostFn:
    def cost(inputs: Sequence[Shape], outputs: Sequence[Shape], params: dict[str, Any]) -> float:
        return flops * sum(_numel(shape) for shape in inputs)

    return cost


def _integer_pow_cost(inputs: Sequence[Shape], outputs: Sequence[Shape], params: dict) -> float:
    exponent = abs(int(params.get("y", 1))) or 1
    multiplies = exponent.bit_length() + exponent.bit_count() - 1
    return (multiplies + (4 if params.get("y", 1) < 0 else 0)) * _numel(outputs[0])


def _select_n_cost(inputs: Sequence[Shape], outputs: Sequence[Shape], params: dict) -> float:
    """One per output element per case beyond the first: a 2-case `jnp.where` costs 1."""
    cases = len(inputs) - 1
    return max(1, cases - 1) * _numel(outputs[0])


def _sort_cost(inputs: Sequence[Shape], outputs: Sequence[Shape], params: dict) -> float:
    """`n log2 n` per operand moved and per key compared: `jnp.sort` keeps its `2 n log2 n`."""
    n = _numel(inputs[0])
    return (len(inputs) + params["num_keys"]) * n * max(1.0, math.log2(max(n, 2)))


def _dot_cost(inputs: Sequence[Shape], outputs: Sequence[Shape], params: dict) -> float:
    (contract_lhs, _), _ = params["dimension_numbers"]
    contracted = math.prod(inputs[0][axis] for axis in contract_lhs)
    return 2.0 * contracted * _numel(outputs[0])


def _fft_cost(inputs: Sequence[Shape], outputs: Sequence[Shape], params: dict) -> float:
    """5 n log2 n per transform of length n = `fft_lengths[-1]`, one per leading index."""
    n = int(params["fft_lengths"][-1])
    transforms = math.prod(inputs[0][:-1])
    return 5.0 * transforms * n * max(1.0, math.log2(max(n, 2)))


TRANSCENDENTALS_WITH_ACCURACY = (
    "exp",
    "exp2",
    "expm1",
    "log",
    "log1p",
    "tanh",
    "logistic",
    "sin",
    "cos",
    "tan",
)
"""Transcendental functions jax binds with an `accuracy` parameter (see param_schema)."""
OTHER_TRANSCENDENTALS = (
    "asin",
    "acos",
    "atan",
    "atan2",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "erf",
    "erfc",
    "erf_inv",
)
"""The other transcendental functions: they take no parameters."""

_CHEAP = 1.0
_DIVIDE = 4.0
_TRANSCENDENTAL = 10.0
_SPECIAL = 20.0

_COSTS: dict[str, CostFn] = {
    **{
        name: per_output(_CHEAP)
        for name in [
            "add",
            "sub",
            "mul",
            "neg",
            "max",
            "min",
            "abs",
            "sign",
            "floor",
            "ceil",
            "round",
            "eq",
            "ne",
            "lt",
            "le",
            "gt",
            "ge",
            "and",
            "or",
            "not",
            "xor",
            "convert_element_type",
            "copy",
            "square",
            "is_finite",
            "nextafter",
            "broadcast_in_dim",
            "reshape",
            "squeeze",
            "expand_dims",
            "concatenate",
            "stack",
            "slice",
            "rev",
            "iota",
            "transpose",
            "stop_gradient",
            "pad",
            "real",
            "imag",
            "complex",
            "conj",
        ]
    },
    "clamp": per_output(2.0),
    **{name: per_output(_DIVIDE) for name in ("div", "rem", "sqrt", "rsqrt")},
    "cbrt": per_output(2 * _DIVIDE),
    **{
        name: per_output(_TRANSCENDENTAL)
        for name in (*TRANSCENDENTALS_WITH_ACCURACY, *OTHER_TRANSCENDENTALS)
    },
    **{name: per_output(_SPECIAL) for name in ("pow", "lgamma", "digamma")},
    "integer_pow": _integer_pow_cost,
    **{
        name: per_input(_CHEAP)
        for name in [
            "reduce_sum",
            "reduce_max",
            "reduce_min",
            "reduce_prod",
            "argmax",
            "argmin",
            "cumsum",
            "cumprod",
            "cummax",
            "cummin",
        ]
    },
    "select_n": _select_n_cost,
    "sort": _sort_cost,
    "dot_general": _dot_cost,
    "fft": _fft_cost,
}
_NOT_SCALED = frozenset({"fft"})  # its cost already counts complex arithmetic


def _lookup(name: str) -> Primitive | None:
    return getattr(lax, f"{name}_p", None)


ALLOWED_PRIMITIVES: dict[str, PrimitiveRule] = {
    name: PrimitiveRule(primitive, cost)
    for name, cost in _COSTS.items()
    if (primitive := _lookup(name)) is not None
}


def cost_of(
    rule: PrimitiveRule,
    inputs: Sequence[tuple[Shape, str]],
    outputs: Sequence[tuple[Shape, str]],
    params: dict[str, Any],
) -> float:
    """The FLOPs of one equation: its rule, times COMPLEX_FACTOR if it touches a complex value."""
    flops = rule.cost([shape for shape, _ in inputs], [shape for shape, _ in outputs], params)
    touches_complex = any(dtype in COMPLEX_DTYPES for _, dtype in [*inputs, *outputs])
    if touches_complex and rule.primitive.name not in _NOT_SCALED:
        flops *= COMPLEX_FACTOR
    return flops


# Call-like primitives whose body is inlined; their custom differentiation rules are
# replaced by differentiating the inlined body (documented in docs/candidates.md).
INLINED_CALLS: dict[str, str] = {
    "jit": "jaxpr",
    "pjit": "jaxpr",
    "closed_call": "call_jaxpr",
    "core_call": "call_jaxpr",
    "custom_jvp_call": "call_jaxpr",
    "custom_vjp_call": "call_jaxpr",
    "custom_vjp_call_jaxpr": "fun_jaxpr",
    "remat": "jaxpr",
    "checkpoint": "jaxpr",
}
