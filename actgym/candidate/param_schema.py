"""Exactly which parameters each allow-listed primitive takes, and which values they may hold.

Program data comes from an untrusted worker. Binding a primitive abstractly checks few of
its parameters; the rest (a precision, a sort's `num_keys`, a rounding method, an extra
key) would only fail later, inside compilation or training, where a failure costs a
batch. So every parameter is checked here first, against the keys `jax.make_jaxpr` emits
for the primitive in the installed jax (tests/candidate/test_param_schema.py compares the two) and
the ranks of the equation's operands. Values arrive as `program._decode_param` returns
them: None, bool, int, float, tuple, numpy dtype or enum member.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from jax import lax

from actgym.candidate.primitives import (
    ALLOWED_DTYPES,
    ALLOWED_PRIMITIVES,
    COMPLEX_DTYPES,
    INTERMEDIATE_DTYPES,
    MAX_RANK,
    TRANSCENDENTALS_WITH_ACCURACY,
)
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.untrusted_text import sanitise

Shape = tuple[int, ...]
Check = Callable[[Any, Sequence[Shape], Mapping[str, Any]], str | None]
"""(value, operand shapes, all params) -> what is wrong with the value, or None."""

NUMERIC_DTYPES = ALLOWED_DTYPES - {"bool"}


def _describe(value: Any) -> str:
    """The value, briefly (it is untrusted): numbers as such, anything else by its kind."""
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, tuple) and all(_is_int(item) for item in value):
        return repr(value)
    if isinstance(value, tuple):
        return f"a tuple of {len(value)} items"
    if isinstance(value, np.dtype):
        return f"dtype {value}"
    return f"a {type(value).__name__}"


def _is_int(value: Any) -> bool:
    return type(value) is int


def _rank(shapes: Sequence[Shape], operand: int) -> int:
    return len(shapes[operand]) if operand < len(shapes) else 0


def _none(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    return None if value is None else f"must be null, got {_describe(value)}"


def _bool(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    return None if type(value) is bool else f"must be a bool, got {_describe(value)}"


def _int(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    return None if _is_int(value) else f"must be an int, got {_describe(value)}"


def _int_in(value: Any, low: int, high: int) -> str | None:
    """None if `value` is an int in [low, high)."""
    if _is_int(value) and low <= value < high:
        return None
    return f"must be an int in [{low}, {high - 1}], got {_describe(value)}"


def _ints(value: Any, length: int, low: int, high: int) -> str | None:
    """None if `value` is a tuple of `length` ints in [low, high)."""
    if (
        isinstance(value, tuple)
        and len(value) == length
        and all(_is_int(item) and low <= item < high for item in value)
    ):
        return None
    return f"must be a tuple of {length} ints in [{low}, {high - 1}], got {_describe(value)}"


def _axis(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    """An axis of the first operand."""
    return _int_in(value, 0, _rank(shapes, 0))


def _new_axis(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    """Where `stack` puts its new axis: before any axis of the operands, or after the last."""
    return _int_in(value, 0, _rank(shapes, 0) + 1)


def _axes(*, exactly: int | None = None) -> Check:
    """Distinct axes of the first operand (`exactly` of them if given)."""

    def check(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
        rank = _rank(shapes, 0)
        length = len(value) if isinstance(value, tuple) else 0
        if exactly is not None and length != exactly:
            return f"must name exactly {exactly} axis, got {_describe(value)}"
        if length > rank or _ints(value, length, 0, rank) or len(set(value)) != length:
            return f"must be distinct axes of a rank-{rank} operand, got {_describe(value)}"
        return None

    return check


def _dtype(allowed: frozenset[str]) -> Check:
    def check(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
        if isinstance(value, np.dtype) and str(value) in allowed:
            return None
        return f"must be one of the dtypes {sorted(allowed)}, got {_describe(value)}"

    return check


def _optional(check: Check) -> Check:
    def optional(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
        return None if value is None else check(value, shapes, params)

    return optional


def _shape(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    if isinstance(value, tuple) and len(value) <= MAX_RANK:
        return _ints(value, len(value), 0, 2**31)
    return f"must be a shape of at most {MAX_RANK} sizes, got {_describe(value)}"


def _broadcast_dimensions(
    value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]
) -> str | None:
    shape = params.get("shape")
    return _ints(value, _rank(shapes, 0), 0, len(shape) if isinstance(shape, tuple) else 0)


def _iota_dimension(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    shape = params.get("shape")
    return _int_in(value, 0, len(shape) if isinstance(shape, tuple) else 0)


def _permutation(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    rank = _rank(shapes, 0)
    if _ints(value, rank, 0, rank) or len(set(value)) != rank:
        return f"must be a permutation of the {rank} axes, got {_describe(value)}"
    return None


def _slice_bounds(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    return _ints(value, _rank(shapes, 0), 0, 2**31)


def _strides(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    return None if value is None else _ints(value, _rank(shapes, 0), 1, 2**31)


def _num_keys(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    return _int_in(value, 1, len(shapes) + 1)


def _dimension_numbers(
    value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]
) -> str | None:
    """((lhs contracting, rhs contracting), (lhs batch, rhs batch)), distinct axes, paired."""
    try:
        (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = value
    except (TypeError, ValueError):
        return f"must be ((lhs, rhs) contracting, (lhs, rhs) batch) axes, got {_describe(value)}"
    lhs_rank, rhs_rank = _rank(shapes, 0), _rank(shapes, 1)
    for name, axes, rank in (
        ("lhs contracting", lhs_contract, lhs_rank),
        ("rhs contracting", rhs_contract, rhs_rank),
        ("lhs batch", lhs_batch, lhs_rank),
        ("rhs batch", rhs_batch, rhs_rank),
    ):
        if not isinstance(axes, tuple) or len(axes) > rank:
            return f"{name} axes must be a tuple of at most {rank} axes"
        if problem := _ints(axes, len(axes), 0, rank):
            return f"{name} axes {problem}"
    if len(set(lhs_contract) | set(lhs_batch)) != len(lhs_contract) + len(lhs_batch):
        return "repeats an lhs axis"
    if len(set(rhs_contract) | set(rhs_batch)) != len(rhs_contract) + len(rhs_batch):
        return "repeats an rhs axis"
    if len(lhs_contract) != len(rhs_contract) or len(lhs_batch) != len(rhs_batch):
        return "pairs a different number of lhs and rhs axes"
    return None


def _rounding_method(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    if isinstance(value, lax.RoundingMethod):
        return None
    return f"must be a RoundingMethod, got {_describe(value)}"


def _fft_type(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    if isinstance(value, lax.FftType):
        return None
    return f"must be an FftType, got {_describe(value)}"


def _fft_lengths(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    """One length (transforms along the last axis only) that fits the operand's last axis."""
    if _ints(value, 1, 1, 2**31) or _rank(shapes, 0) < 1:
        return f"must be a tuple of one length for the last axis, got {_describe(value)}"
    (n,) = value
    last = shapes[0][-1]
    expected = n // 2 + 1 if params.get("fft_type") == lax.FftType.IRFFT else n
    if last != expected:
        return f"does not fit an operand whose last axis has {last} elements, got {value!r}"
    return None


def _padding_config(value: Any, shapes: Sequence[Shape], params: Mapping[str, Any]) -> str | None:
    """(low, high, interior) per axis of the operand; the padding value is a scalar."""
    rank = _rank(shapes, 0)
    if (
        not isinstance(value, tuple)
        or len(value) != rank
        or any(
            _ints(triple, 3, -(2**31), 2**31) or triple[2] < 0 or triple[2] >= 2**31
            for triple in value
        )
    ):
        return f"must be a (low, high, interior >= 0) triple per axis, got {_describe(value)}"
    if len(shapes) != 2 or shapes[1] != ():
        return "must come with a scalar padding value"
    return None


_ACCURACY = {"accuracy": _none}
_CUMULATIVE = {"axis": _axis, "reverse": _bool}
_REDUCTION = {"axes": _axes()}
_ARG_REDUCTION = {"axes": _axes(exactly=1), "index_dtype": _dtype(frozenset({"int32"}))}

_WITH_PARAMETERS: dict[str, dict[str, Check]] = {
    **{name: _ACCURACY for name in ("sqrt", "rsqrt", "cbrt", *TRANSCENDENTALS_WITH_ACCURACY)},
    "mul": {"out_dtype": _none},
    "round": {"rounding_method": _rounding_method},
    "integer_pow": {"y": _int},
    "convert_element_type": {
        "new_dtype": _dtype(INTERMEDIATE_DTYPES),
        "weak_type": _bool,
        "sharding": _none,
    },
    "broadcast_in_dim": {
        "shape": _shape,
        "broadcast_dimensions": _broadcast_dimensions,
        "sharding": _none,
    },
    "reshape": {"new_sizes": _shape, "dimensions": _none, "sharding": _none},
    "squeeze": {"dimensions": _axes()},
    "rev": {"dimensions": _axes()},
    "transpose": {"permutation": _permutation},
    "concatenate": {"dimension": _axis},
    "stack": {"axis": _new_axis},
    "slice": {"start_indices": _slice_bounds, "limit_indices": _slice_bounds, "strides": _strides},
    "iota": {
        "dtype": _dtype(NUMERIC_DTYPES),
        "shape": _shape,
        "dimension": _iota_dimension,
        "sharding": _none,
    },
    "reduce_sum": {**_REDUCTION, "out_sharding": _none},
    "reduce_max": _REDUCTION,
    "reduce_min": _REDUCTION,
    "reduce_prod": _REDUCTION,
    "argmax": _ARG_REDUCTION,
    "argmin": _ARG_REDUCTION,
    **{name: _CUMULATIVE for name in ("cumsum", "cumprod", "cummax", "cummin")},
    "sort": {"dimension": _axis, "is_stable": _bool, "num_keys": _num_keys},
    "dot_general": {
        "dimension_numbers": _dimension_numbers,
        "precision": _none,
        "preferred_element_type": _optional(_dtype(NUMERIC_DTYPES)),
        "out_sharding": _none,
    },
    "pad": {"padding_config": _padding_config},
    "conj": {"input_dtype": _dtype(COMPLEX_DTYPES)},
    "fft": {"fft_type": _fft_type, "fft_lengths": _fft_lengths},
}

SCHEMAS: dict[str, dict[str, Check]] = {
    name: _WITH_PARAMETERS.get(name, {}) for name in ALLOWED_PRIMITIVES
}
"""Every allow-listed primitive's parameters: none unless `_WITH_PARAMETERS` lists it."""


def check_params(primitive: str, params: Mapping[str, Any], shapes: Sequence[Shape]) -> None:
    """Reject unless `params` has exactly the primitive's keys, each with an allowed value."""
    schema = SCHEMAS[primitive]
    unknown = sorted(set(params) - set(schema))
    if unknown:
        _reject(primitive, unknown[0], "is not a parameter of this primitive")
    missing = sorted(set(schema) - set(params))
    if missing:
        _reject(primitive, missing[0], "is missing")
    for key, check in schema.items():
        if problem := check(params[key], shapes, params):
            _reject(primitive, key, problem)


def _reject(primitive: str, key: str, problem: str) -> None:
    raise CandidateRejected(
        Reason.INVALID_PROGRAM,
        f"Invalid program: `{primitive}` parameter `{sanitise(key, limit=40)}` {problem}.",
    )
