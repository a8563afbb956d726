"""An activation as data: a flat, allow-listed program that crosses the sandbox boundary.

The sandboxed worker traces the candidate's Python to a jaxpr and writes it out in this
JSON format; the trainer, which holds the OOD split, never runs candidate Python. It
validates the data from scratch (the worker is untrusted: whatever it sends is at most
another program) and re-evaluates it by binding allow-listed `jax.lax` primitives. The
score therefore depends only on what the function computes, and the canonical JSON gives
a hash for caching and de-duplication.

Format `actgym.program/1`, variables numbered in order of definition:
  0                the input (float32 vector of the layer width)
  1 .. k           constants (`consts`, raw little-endian bytes in base64)
  k+1 ..           the outputs of each equation, in order
An atom is `{"v": id}` or a scalar literal `{"lit": value, "dtype": name}`; a complex64
literal's value is `{"complex": [real, imaginary]}`, each part a float in hex.
Intermediates may be complex64 (spectral functions); constants, the input and the output
are real.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax import lax
from jax.extend import core as jex_core

from actgym.candidate import differentiated
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.param_schema import check_params
from actgym.candidate.primitives import (
    ALLOWED_DTYPES,
    ALLOWED_PRIMITIVES,
    COMPLEX_DTYPES,
    INLINED_CALLS,
    INTERMEDIATE_DTYPES,
    MAX_RANK,
    PrimitiveRule,
    cost_of,
)
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.versions import PROGRAM_FORMAT

FORMAT = PROGRAM_FORMAT
INPUT_DTYPE = "float32"
ENUMS: dict[str, type[enum.Enum]] = {
    "RoundingMethod": lax.RoundingMethod,
    "FftType": lax.FftType,
}
MAX_ABS_INT = 2**31
# Operands of one operation (concatenate, select_n...); a forged reply with 10**6 of them
# would cost the trainer seconds of shape checking.
MAX_OPERANDS = 1024

JSON = Any


def canonical_json(data: JSON) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def program_digest(data: JSON) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


# ----------------------------------------------------------------------------------------
# Writing (runs in the sandboxed worker)


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
            _check_intermediate(tuple(aval.shape), str(aval.dtype), self.limits)
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


def _check_intermediate(shape: tuple[int, ...], dtype: str, limits: CandidateLimits) -> None:
    if dtype not in INTERMEDIATE_DTYPES:
        raise CandidateRejected(
            Reason.BAD_OUTPUT,
            f"An intermediate has dtype {dtype}; only {sorted(INTERMEDIATE_DTYPES)} are supported.",
        )
    if math.prod(shape) > limits.max_intermediate_elements:
        raise CandidateRejected(
            Reason.PROGRAM_TOO_LARGE,
            f"An intermediate of shape {list(shape)} exceeds "
            f"{limits.max_intermediate_elements} elements.",
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


# ----------------------------------------------------------------------------------------
# Reading (runs in the trusted trainer process; the data is untrusted)


@dataclass(frozen=True)
class Equation:
    rule: PrimitiveRule
    params: dict[str, Any]
    inputs: tuple[Any, ...]  # int variable ids or numpy scalars
    outputs: tuple[tuple[tuple[int, ...], str], ...]


@dataclass(frozen=True, eq=False)
class Program:
    """A validated activation; calling it binds allow-listed primitives only."""

    input_shape: tuple[int, ...]
    consts: tuple[np.ndarray, ...]
    equations: tuple[Equation, ...]
    output: Any
    digest: str
    flops_per_element: float
    data: JSON

    def __call__(self, x: jax.Array) -> jax.Array:
        return self._run(x, verify=False)

    def _run(self, x: Any, *, verify: bool) -> Any:
        env: list[Any] = [x, *self.consts]
        for equation in self.equations:
            args = [env[atom] if isinstance(atom, int) else atom for atom in equation.inputs]
            result = equation.rule.primitive.bind(*args, **equation.params)
            results = result if equation.rule.primitive.multiple_results else [result]
            if verify:
                _verify_avals(equation, results)
            env.extend(results)
        return env[self.output] if isinstance(self.output, int) else self.output


MAX_INPUT_ELEMENTS = 1 << 16
"""The largest input a program may be traced for (a batch of 1024 at width 64)."""


def as_calls(values: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Flat values, cycled to fill whole calls, as `(calls, *shape)` in order."""
    size = math.prod(shape)
    return np.resize(values, -(-values.size // size) * size).reshape(-1, *shape)


def load_program(
    data: JSON, *, shape: tuple[int, ...], limits: CandidateLimits | None = None
) -> Program:
    """Validate untrusted program data traced for a float32 input of `shape`."""
    try:
        return _load(data, tuple(shape), limits or CandidateLimits())
    except CandidateRejected:
        raise
    except Exception as error:  # malformed data of any shape ends here, as data
        raise CandidateRejected(
            Reason.INVALID_PROGRAM, f"Malformed program data ({type(error).__name__}: {error})."
        ) from None


def _load(data: JSON, shape: tuple[int, ...], limits: CandidateLimits) -> Program:
    _require(isinstance(data, dict) and data.get("format") == FORMAT, "unknown program format")
    _require(
        len(shape) in (1, 2)
        and all(isinstance(size, int) and size > 0 for size in shape)
        and math.prod(shape) <= MAX_INPUT_ELEMENTS,
        f"the input must be (width,) or (batch, width), of at most {MAX_INPUT_ELEMENTS} elements",
    )
    _require(
        data["input"] == {"shape": list(shape), "dtype": INPUT_DTYPE},
        f"the input must be float32{list(shape)}",
    )
    consts = tuple(_decode_constant(item, limits) for item in data["consts"])
    _require(
        sum(const.size for const in consts) <= limits.max_constant_elements,
        "constants are too large",
    )
    eqns = data["eqns"]
    _require(isinstance(eqns, list), "eqns must be a list")
    if len(eqns) > limits.max_equations:
        raise CandidateRejected(
            Reason.PROGRAM_TOO_LARGE, f"The program exceeds {limits.max_equations} operations."
        )
    defined = 1 + len(consts)
    avals: list[differentiated.Aval] = [
        (shape, INPUT_DTYPE),
        *((const.shape, str(const.dtype)) for const in consts),
    ]
    depends_on_input = [True] + [False] * len(consts)
    operations: list[differentiated.Operation] = []
    equations = []
    flops = 0.0
    operands = 0
    for eqn in eqns:
        equation = _decode_equation(eqn, defined, limits)
        equations.append(equation)
        operands += len(equation.inputs)
        if operands > limits.max_operands:
            raise CandidateRejected(
                Reason.PROGRAM_TOO_LARGE,
                f"The program's operations take more than {limits.max_operands} operands in all.",
            )
        inputs = [
            avals[atom] if isinstance(atom, int) else ((), str(atom.dtype))
            for atom in equation.inputs
        ]
        input_shapes = [shape for shape, _ in inputs]
        check_params(equation.rule.primitive.name, equation.params, input_shapes)
        _check_operand_dtypes(equation, [dtype for _, dtype in inputs])
        flops += cost_of(equation.rule, inputs, equation.outputs, equation.params)
        depends = [isinstance(atom, int) and depends_on_input[atom] for atom in equation.inputs]
        operations.append(
            differentiated.Operation(
                equation.rule.primitive, equation.params, inputs, equation.outputs, depends
            )
        )
        avals.extend(equation.outputs)
        depends_on_input.extend([any(depends)] * len(equation.outputs))
        defined += len(equation.outputs)
    output = _decode_atom(data["output"], defined)
    program = Program(
        input_shape=shape,
        consts=consts,
        equations=tuple(equations),
        output=output,
        digest=program_digest(data),
        flops_per_element=flops / math.prod(shape),
        data=data,
    )
    _verify_abstract(program)
    differentiated.check(operations, limits)
    return program


def _require(condition: bool, message: str) -> None:
    if not condition:
        raise CandidateRejected(Reason.INVALID_PROGRAM, f"Invalid program: {message}.")


_FFT_INPUT_DTYPES = {
    lax.FftType.FFT: "complex64",
    lax.FftType.IFFT: "complex64",
    lax.FftType.RFFT: "float32",
    lax.FftType.IRFFT: "complex64",
}


def _check_operand_dtypes(equation: Equation, dtypes: Sequence[str]) -> None:
    """Parameters that restate an operand's dtype must agree with it (the schema sees shapes)."""
    name = equation.rule.primitive.name
    if name == "conj":
        _require(
            dtypes == [str(equation.params["input_dtype"])],
            "`conj` parameter `input_dtype` must be its operand's dtype",
        )
    if name == "fft":
        _require(
            dtypes == [_FFT_INPUT_DTYPES[equation.params["fft_type"]]],
            "`fft` parameter `fft_type` does not fit its operand's dtype",
        )


def _decode_constant(item: JSON, limits: CandidateLimits) -> np.ndarray:
    dtype = item["dtype"]
    _require(dtype in ALLOWED_DTYPES, f"constant dtype {dtype!r} is not allowed")
    shape = tuple(int(size) for size in item["shape"])
    _require(all(size >= 0 for size in shape), "negative constant shape")
    _require(math.prod(shape) <= limits.max_constant_elements, "constant too large")
    raw = base64.b64decode(item["data"], validate=True)
    array = np.frombuffer(raw, dtype=np.dtype(_numpy_dtype(dtype)).newbyteorder("<"))
    _require(array.size == math.prod(shape), "constant data does not match its shape")
    return array.reshape(shape).astype(_numpy_dtype(dtype))


def _numpy_dtype(name: str) -> Any:
    return jax.numpy.dtype(name)


def _decode_equation(eqn: JSON, defined: int, limits: CandidateLimits) -> Equation:
    name = eqn["primitive"]
    if name not in ALLOWED_PRIMITIVES:
        raise CandidateRejected(
            Reason.FORBIDDEN_PRIMITIVE, f"The primitive `{name}` is not allowed."
        )
    _require(isinstance(eqn["params"], dict), "params must be an object")
    params = {str(key): _decode_param(value) for key, value in eqn["params"].items()}
    _require(len(eqn["inputs"]) <= MAX_OPERANDS, "too many operands")
    inputs = tuple(_decode_atom(atom, defined) for atom in eqn["inputs"])
    outputs = []
    for output in eqn["outputs"]:
        shape = tuple(int(size) for size in output["shape"])
        _require(all(size >= 0 for size in shape) and len(shape) <= MAX_RANK, "bad output shape")
        _check_intermediate(shape, output["dtype"], limits)
        outputs.append((shape, str(output["dtype"])))
    _require(len(outputs) >= 1, "an equation must have an output")
    return Equation(ALLOWED_PRIMITIVES[name], params, inputs, tuple(outputs))


def _decode_atom(atom: JSON, defined: int) -> Any:
    if "v" in atom:
        var = atom["v"]
        _require(type(var) is int and 0 <= var < defined, "reference to an undefined value")
        return var
    dtype = atom["dtype"]
    _require(dtype in ALLOWED_DTYPES | COMPLEX_DTYPES, f"literal dtype {dtype!r} is not allowed")
    if dtype in COMPLEX_DTYPES:
        return np.asarray(_decode_complex(atom["lit"]), dtype=_numpy_dtype(dtype))
    value = _decode_param(atom["lit"])
    _require(isinstance(value, bool | int | float), "a literal must be a number")
    return np.asarray(value, dtype=_numpy_dtype(dtype))


def _decode_complex(value: JSON) -> complex:
    _require(isinstance(value, dict) and list(value) == ["complex"], "bad complex literal")
    parts = value["complex"]
    _require(
        isinstance(parts, list) and len(parts) == 2 and all(isinstance(p, str) for p in parts),
        "a complex literal must be two floats in hex",
    )
    _require(all(len(part) <= 32 for part in parts), "bad complex literal")
    return complex(float.fromhex(parts[0]), float.fromhex(parts[1]))


def _decode_param(value: JSON) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        _require(abs(value) <= MAX_ABS_INT, "integer parameter out of range")
        return value
    _require(isinstance(value, dict) and len(value) in (1, 2), "bad parameter")
    if "float" in value:
        return float.fromhex(value["float"])
    if "tuple" in value:
        _require(len(value["tuple"]) <= 8, "parameter tuple too long")
        return tuple(_decode_param(item) for item in value["tuple"])
    if "dtype" in value:
        _require(value["dtype"] in INTERMEDIATE_DTYPES, f"dtype {value['dtype']!r} is not allowed")
        return _numpy_dtype(value["dtype"])
    if "enum" in value:
        return ENUMS[value["enum"]][value["value"]]
    raise CandidateRejected(Reason.INVALID_PROGRAM, "Invalid program: unknown parameter kind.")


def _verify_avals(equation: Equation, results: Iterable[Any]) -> None:
    actual = [(tuple(r.shape), str(r.dtype)) for r in results]
    _require(actual == list(equation.outputs), "declared shapes do not match the computation")


def _verify_abstract(program: Program) -> None:
    """Evaluate abstractly (no data, no compute) to check every declared shape and dtype."""
    spec = jax.ShapeDtypeStruct(program.input_shape, jax.numpy.float32)
    result = jax.eval_shape(lambda x: program._run(x, verify=True), spec)
    _require(
        tuple(result.shape) == program.input_shape and str(result.dtype) == INPUT_DTYPE,
        "the output must have the input's shape and dtype float32",
    )
