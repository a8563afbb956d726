"""An activation as data: the validated program the trainer runs, and how it is loaded.

The sandboxed worker writes the candidate as program data (actgym.candidate.program_writer,
format in actgym.candidate.program_format); the trainer, which holds the OOD split, never
runs candidate Python. It validates the data from scratch (the worker is untrusted:
whatever it sends is at most another program) and re-evaluates it by binding allow-listed
`jax.lax` primitives. The score therefore depends only on what the function computes, and
the canonical JSON gives a hash for caching and de-duplication.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np
from jax import lax

from actgym.candidate import differentiated
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.param_schema import check_params
from actgym.candidate.primitives import (
    ALLOWED_DTYPES,
    ALLOWED_PRIMITIVES,
    COMPLEX_DTYPES,
    INTERMEDIATE_DTYPES,
    MAX_RANK,
    PrimitiveRule,
    cost_of,
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


def canonical_json(data: JSON) -> str:
    """Program data as one string: equal data, equal text (sorted keys, no spaces)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def program_digest(data: JSON) -> str:
    """The hash that caches and de-duplicates programs."""
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


@dataclass(frozen=True)
class Equation:
    """One validated operation: its rule, decoded parameters, operands and declared outputs."""

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
        check_intermediate(shape, output["dtype"], limits)
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
