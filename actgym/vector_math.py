"""Vectorisable sine and cosine, and an activation wrapper that trains with them.

XLA's CPU backend lowers `sin` and `cos` to a scalar library call per element (about
10 ns, against 1 ns for `exp`), and sin/cos are the most common ingredient of
candidates; a training step evaluates them on every hidden unit of every model, forward
and backward. Written with multiplies, adds and selects, they fuse into the activation's
loop and vectorise.

Accuracy (tests/test_vector_math.py): within `ULP_BOUND` units in the last place of the
correctly rounded result for |x| <= `EXACT_RANGE`, which no honest pre-activation
reaches; beyond it the reduction loses bits gradually and results stay in [-1, 1].
Non-finite inputs give NaN, as `jnp.sin` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from jax.extend.core import Literal

ULP_BOUND = 3
EXACT_RANGE = 65536.0

# pi/2 in four float32 parts; the first three have at most 8 significant bits, so
# k * part is exact for every quadrant index k < 2**16 (Cody and Waite's reduction
# without fused multiply-adds, which XLA does not form).
_PIO2 = (1.5703125, 4.84466552734375e-04, -6.407499313354492e-07, 9.92093629470503e-10)
_TWO_OVER_PI = 0.6366197723675814
# Cephes' minimax polynomials for sin and cos on [-pi/4, pi/4].
_SIN = (-1.9515295891e-4, 8.3321608736e-3, -1.6666654611e-1)
_COS = (2.443315711809948e-5, -1.388731625493765e-3, 4.166664568298827e-2)


def _reduced(x: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """(sin r, cos r, quadrant) with x = r + quadrant * pi/2 and |r| <= pi/4."""
    k = jnp.round(x * _TWO_OVER_PI)
    r = x
    for part in _PIO2:
        r = r - k * part
    z = r * r
    sin_r = ((_SIN[0] * z + _SIN[1]) * z + _SIN[2]) * z * r + r
    cos_r = ((_COS[0] * z + _COS[1]) * z + _COS[2]) * z * z - 0.5 * z + 1.0
    quadrant = k - 4.0 * jnp.floor(k * 0.25)
    return sin_r, cos_r, quadrant


def _by_quadrant(quadrant: jax.Array, values: tuple[jax.Array, ...]) -> jax.Array:
    return jnp.where(
        quadrant < 2.0,
        jnp.where(quadrant < 1.0, values[0], values[1]),
        jnp.where(quadrant < 3.0, values[2], values[3]),
    )


@jax.custom_jvp
def sin(x: jax.Array) -> jax.Array:
    s, c, quadrant = _reduced(x)
    return _by_quadrant(quadrant, (s, c, -s, -c))


@jax.custom_jvp
def cos(x: jax.Array) -> jax.Array:
    s, c, quadrant = _reduced(x)
    return _by_quadrant(quadrant, (c, -s, -c, s))


@sin.defjvp
def _sin_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    (x,), (dx,) = primals, tangents
    return sin(x), cos(x) * dx


@cos.defjvp
def _cos_jvp(primals: tuple, tangents: tuple) -> tuple[jax.Array, jax.Array]:
    (x,), (dx,) = primals, tangents
    return cos(x), -sin(x) * dx


_REPLACEMENTS: dict[Any, Callable[[jax.Array], jax.Array]] = {
    jax.lax.sin_p: sin,
    jax.lax.cos_p: cos,
}


def with_vector_trig(activation: Callable[[jax.Array], jax.Array]) -> Callable:
    """`activation` with its float32 sin and cos computed by this module.

    The function is traced once per input shape and its top-level equations re-bound,
    replacing `sin` and `cos` of float32 operands (without a requested accuracy); every
    other equation is bound as traced.
    """

    def replaced(x: jax.Array) -> jax.Array:
        closed = jax.make_jaxpr(activation)(jax.ShapeDtypeStruct(x.shape, x.dtype))
        env: dict[Any, Any] = dict(zip(closed.jaxpr.constvars, closed.consts, strict=True))
        env.update(zip(closed.jaxpr.invars, [x], strict=True))

        def read(atom: Any) -> Any:
            return atom.val if isinstance(atom, Literal) else env[atom]

        for eqn in closed.jaxpr.eqns:
            args = [read(atom) for atom in eqn.invars]
            replacement = _REPLACEMENTS.get(eqn.primitive)
            if (
                replacement is not None
                and eqn.params.get("accuracy") is None
                and args[0].dtype == jnp.float32
            ):
                outputs = [replacement(*args)]
            else:
                params = eqn.primitive.get_bind_params(eqn.params)
                result = eqn.primitive.bind(*args, **params)
                outputs = result if eqn.primitive.multiple_results else [result]
            env.update(zip(eqn.outvars, outputs, strict=True))
        (output,) = [read(atom) for atom in closed.jaxpr.outvars]
        return output

    return replaced
