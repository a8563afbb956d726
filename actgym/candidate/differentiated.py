"""Bounding an activation after differentiation, which training does to every candidate.

Derivative rules multiply operations (a `select_n` over k cases becomes about 3k of them,
a `cummax` of 64 elements about 390), and what training compiles is the differentiated
program. Reverse mode is compositional, so the program's VJP is bounded by the sum of its
equations' VJPs, each traced alone (abstractly: nothing is compiled or run) and cached by
its signature, plus one accumulating `add` per differentiated operand. Summing stops at
the limit, so a bomb is refused after a few cheap traces where tracing its whole VJP
would take minutes; an honest program's signatures are mostly cached, so this costs
little. tests/candidate/test_compile_bounds.py checks that the sum bounds JAX's own whole VJP.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.extend import core as jex_core

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.reasons import CandidateRejected, Reason

Aval = tuple[tuple[int, ...], str]


class Operation(NamedTuple):
    """One equation as the bound sees it; `depends` marks inputs computed from the input."""

    primitive: jex_core.Primitive
    params: Mapping[str, Any]
    inputs: Sequence[Aval]
    outputs: Sequence[Aval]
    depends: Sequence[bool]


def check(operations: Iterable[Operation], limits: CandidateLimits) -> None:
    """Reject the program once the summed size of its operations' VJPs passes the limits."""
    equations = operands = 0
    for operation in operations:
        operation_equations, operation_operands = _operation_size(operation)
        equations += operation_equations
        operands += operation_operands
        if (
            equations > limits.max_differentiated_equations
            or operands > limits.max_differentiated_operands
        ):
            raise CandidateRejected(
                Reason.PROGRAM_TOO_LARGE,
                f"Differentiated, the program would have more than "
                f"{limits.max_differentiated_equations} operations or "
                f"{limits.max_differentiated_operands} operands.",
            )


def _operation_size(operation: Operation) -> tuple[int, int]:
    wrt = tuple(
        mark and _is_float(dtype)
        for mark, (_, dtype) in zip(operation.depends, operation.inputs, strict=True)
    )
    if any(wrt) and any(_is_float(dtype) for _, dtype in operation.outputs):
        params = tuple(sorted(operation.params.items()))
        equations, operands = _vjp_size(operation.primitive, params, tuple(operation.inputs), wrt)
    else:
        equations, operands = 1, len(operation.inputs)
    accumulations = sum(wrt)  # adding this use's cotangent to the operand's others
    return equations + accumulations, operands + 2 * accumulations


def size(jaxpr: jex_core.Jaxpr) -> tuple[int, int]:
    """Equations and operands, counting those of nested jaxprs (derivative rules use jit)."""
    equations = operands = 0
    for eqn in jaxpr.eqns:
        equations += 1
        operands += len(eqn.invars)
        for value in eqn.params.values():
            inner = value.jaxpr if isinstance(value, jex_core.ClosedJaxpr) else value
            if isinstance(inner, jex_core.Jaxpr):
                inner_equations, inner_operands = size(inner)
                equations += inner_equations
                operands += inner_operands
    return equations, operands


def _is_float(dtype: str) -> bool:
    """Differentiable: floating or complex (an `fft`'s result carries the input's gradient)."""
    return jnp.issubdtype(jnp.dtype(dtype), jnp.inexact)


@functools.lru_cache(maxsize=4096)
def _vjp_size(
    primitive: jex_core.Primitive,
    params: tuple[tuple[str, Any], ...],
    inputs: tuple[Aval, ...],
    wrt: tuple[bool, ...],
) -> tuple[int, int]:
    """The size of one equation's VJP (forward included) with respect to the `wrt` inputs."""

    def pulled_back(*args: jax.Array) -> Any:
        def forward(*differentiated: jax.Array) -> list[jax.Array]:
            given = iter(differentiated)
            operands = [next(given) if mark else arg for arg, mark in zip(args, wrt, strict=True)]
            result = primitive.bind(*operands, **dict(params))
            results = result if primitive.multiple_results else [result]
            return [value for value in results if _is_float(str(value.dtype))]

        chosen = [arg for arg, mark in zip(args, wrt, strict=True) if mark]
        outputs, pullback = jax.vjp(forward, *chosen)
        return pullback(outputs)

    specs = [jax.ShapeDtypeStruct(shape, jnp.dtype(dtype)) for shape, dtype in inputs]
    try:
        return size(jax.make_jaxpr(pulled_back)(*specs).jaxpr)
    except Exception as error:  # no derivative rule; the text can quote host paths
        raise CandidateRejected(
            Reason.INVALID_PROGRAM,
            f"`{primitive.name}` cannot be differentiated ({type(error).__name__}).",
        ) from None
