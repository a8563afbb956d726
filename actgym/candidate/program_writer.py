"""A traced activation written as program data; runs in the sandboxed worker.

The worker traces the candidate's Python to a jaxpr and flattens it here into the
allow-listed JSON format (actgym.candidate.program_format): call-like primitives are
inlined, anything off the allow-list or over the limits is refused, and dead code is
dropped and the variables renumbered, so equal functions give equal data and one hash.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from jax.extend import core as jex_core

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.primitives import (
    ALLOWED_DTYPES,
    ALLOWED_PRIMITIVES,
    COMPLEX_DTYPES,
    INLINED_CALLS,
)
from actgym.candidate.program_format import (
    ENUMS,
    FORMAT,
    INPUT_DTYPE,
    JSON,
    MAX_ABS_INT,
    MAX_OPERANDS,
    check_intermediate,
)
from actgym.candidate.reasons import CandidateRejected, Reason


def program_from_jaxpr(closed: jex_core.ClosedJaxpr, limits: CandidateLimits) -> JSON:
    """Flatten a traced activation into the allow-listed JSON program."""
    jaxpr = closed.jaxpr
    if len(jaxpr.invars) != 1 or len(jaxpr.outvars) != 1:
        raise CandidateRejected(Reason.BAD_OUTPUT, "The function must return a single array.")
    input_aval = jaxpr.invars[0].aval
    output_aval = jaxpr.outvars[0].aval
    if getattr(output_aval, "shape", None) != input_aval.shape or str(
        getattr(output_aval, "dtype", "")
    ) != str(input_aval.dtype):
        raise CandidateRejected(
            Reason.BAD_OUTPUT,
            f"The output is {_describe_aval(output_aval)}; it must be "
            f"{_describe_aval(input_aval)} like the input.",
        )
    writer = _Writer(limits)
    (output,) = writer.emit(jaxpr, closed.consts, [{"v": 0}])
    return _eliminate_dead_code(
        {
            "format": FORMAT,
            "input": {"shape": list(input_aval.shape), "dtype": INPUT_DTYPE},
            "consts": writer.consts,
            "eqns": writer.eqns,
            "output": output,
        }
    )


def _describe_aval(aval: Any) -> str:
    return f"{getattr(aval, 'dtype', '?')}{list(getattr(aval, 'shape', ()))}"


class _Writer:
    def __init__(self, limits: CandidateLimits) -> None:
        self.limits = limits
        self.consts: list[JSON] = []
        self.eqns: list[JSON] = []
        self.next_id = 1
        self.constant_elements = 0

    def emit(self, jaxpr: jex_core.Jaxpr, consts: Sequence[Any], args: Sequence[JSON]) -> list:
        env: dict[Any, JSON] = {}
        for var, value in zip(jaxpr.constvars, consts, strict=True):
            env[var] = self._constant(value)
        for var, atom in zip(jaxpr.invars, args, strict=True):
            env[var] = atom
        for eqn in jaxpr.eqns:
            inputs = [self._read(env, var) for var in eqn.invars]
            outputs = self._equation(eqn, inputs)
            for var, atom in zip(eqn.outvars, outputs, strict=True):
                env[var] = atom
        return [self._read(env, var) for var in jaxpr.outvars]

    def _equation(self, eqn: jex_core.JaxprEqn, inputs: list[JSON]) -> list[JSON]:
        name = eqn.primitive.name
        if name in INLINED_CALLS:
            body = eqn.params.get(INLINED_CALLS[name])
            if isinstance(body, jex_core.ClosedJaxpr):
                return self.emit(body.jaxpr, body.consts, inputs)
            if isinstance(body, jex_core.Jaxpr):
                return self.emit(body, (), inputs)
        if name not in ALLOWED_PRIMITIVES:
            raise CandidateRejected(
                Reason.FORBIDDEN_PRIMITIVE, f"The primitive `{name}` is not allowed."
            )
        if len(inputs) > MAX_OPERANDS:
            raise CandidateRejected(
                Reason.PROGRAM_TOO_LARGE, f"`{name}` has more than {MAX_OPERANDS} operands."
            )
        if len(self.eqns) >= self.limits.max_equations:
            raise CandidateRejected(
                Reason.PROGRAM_TOO_LARGE,
                f"The traced program exceeds {self.limits.max_equations} operations.",
            )
        outputs = []
        for var in eqn.outvars:
            aval = var.aval
            check_intermediate(tuple(aval.shape), str(aval.dtype), self.limits)
            outputs.append({"shape": list(aval.shape), "dtype": str(aval.dtype)})
        params = {key: _encode_param(name, key, value) for key, value in eqn.params.items()}
        self.eqns.append(
            {"primitive": name, "params": params, "inputs": inputs, "outputs": outputs}
        )
        first = self.next_id
        self.next_id += len(outputs)
        return [{"v": first + index} for index in range(len(outputs))]

    def _constant(self, value: Any) -> JSON:
        array = np.asarray(value)
        dtype = str(array.dtype)
        if dtype not in ALLOWED_DTYPES:
            raise CandidateRejected(
                Reason.BAD_OUTPUT, f"A constant has dtype {dtype}; use float32 (or int32/bool)."
            )
        self.constant_elements += array.size
        if self.constant_elements > self.limits.max_constant_elements:
            raise CandidateRejected(
                Reason.PROGRAM_TOO_LARGE,
                f"Constants hold more than {self.limits.max_constant_elements} elements.",
            )
        raw = np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes()
        self.consts.append(
            {"shape": list(array.shape), "dtype": dtype, "data": base64.b64encode(raw).decode()}
        )
        atom = {"v": self.next_id}
        self.next_id += 1
        return atom

    def _read(self, env: dict[Any, JSON], var: Any) -> JSON:
        if isinstance(var, jex_core.Literal):
            return _literal_atom(var.val, str(var.aval.dtype))
        return env[var]


def _literal_atom(value: Any, dtype: str) -> JSON:
    array = np.asarray(value)
    if array.shape != ():
        raise CandidateRejected(Reason.INVALID_PROGRAM, "A literal is not a scalar.")
    if dtype not in ALLOWED_DTYPES | COMPLEX_DTYPES:
        raise CandidateRejected(Reason.BAD_OUTPUT, f"A literal has unsupported dtype {dtype}.")
    if dtype in COMPLEX_DTYPES:
        value = complex(array.item())
        return {"lit": {"complex": [value.real.hex(), value.imag.hex()]}, "dtype": dtype}
    return {"lit": _encode_param("literal", "value", array.item()), "dtype": dtype}


def _encode_param(primitive: str, key: str, value: Any) -> JSON:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, enum.Enum):
        for enum_name, enum_type in ENUMS.items():
            if isinstance(value, enum_type):
                return {"enum": enum_name, "value": value.name}
    if isinstance(value, int | np.integer):
        if abs(int(value)) > MAX_ABS_INT:
            raise CandidateRejected(Reason.PROGRAM_TOO_LARGE, f"`{primitive}` uses a huge integer.")
        return int(value)
    if isinstance(value, float | np.floating):
        return {"float": float(value).hex()}
    if isinstance(value, tuple | list):
        return {"tuple": [_encode_param(primitive, key, item) for item in value]}
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return {"dtype": str(np.dtype(value))}
    raise CandidateRejected(
        Reason.FORBIDDEN_PRIMITIVE,
        f"`{primitive}` has a parameter `{key}` of unsupported type {type(value).__name__}.",
    )


def _eliminate_dead_code(data: JSON) -> JSON:
    """Drop unused constants and equations and renumber, so equal functions hash equally."""
    n_consts = len(data["consts"])
    first_ids: list[int] = []
    producer: dict[int, int] = {}
    next_id = 1 + n_consts
    for index, eqn in enumerate(data["eqns"]):
        first_ids.append(next_id)
        for _ in eqn["outputs"]:
            producer[next_id] = index
            next_id += 1
    live_eqns: set[int] = set()
    live_consts: set[int] = set()
    pending = [data["output"]]
    while pending:
        atom = pending.pop()
        var = atom.get("v", 0)
        if var == 0:
            continue
        if var <= n_consts:
            live_consts.add(var)
        elif producer[var] not in live_eqns:
            live_eqns.add(producer[var])
            pending.extend(data["eqns"][producer[var]]["inputs"])
    renumber: dict[int, int] = {0: 0}
    consts = []
    for var in sorted(live_consts):
        consts.append(data["consts"][var - 1])
        renumber[var] = len(consts)
    eqns = []
    new_id = 1 + len(consts)
    for index in sorted(live_eqns):
        eqn = data["eqns"][index]
        for position in range(len(eqn["outputs"])):
            renumber[first_ids[index] + position] = new_id
            new_id += 1
        eqns.append({**eqn, "inputs": [_renumbered(atom, renumber) for atom in eqn["inputs"]]})
    return {
        **data,
        "consts": consts,
        "eqns": eqns,
        "output": _renumbered(data["output"], renumber),
    }


def _renumbered(atom: JSON, renumber: Mapping[int, int]) -> JSON:
    return {"v": renumber[atom["v"]]} if "v" in atom else atom
