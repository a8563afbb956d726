"""The program data format both sides of the sandbox boundary speak, and the limits both apply.

The sandboxed worker writes it (actgym.candidate.program_writer); the trainer reads and
validates it (actgym.candidate.program). Both check every intermediate against the same
limits, so a program the worker accepts is one the trainer accepts.

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

import enum
import math
from typing import Any

from jax import lax

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.primitives import INTERMEDIATE_DTYPES
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
"""Program data as `json` reads and writes it."""


def check_intermediate(shape: tuple[int, ...], dtype: str, limits: CandidateLimits) -> None:
    """Refuse an intermediate the trainer cannot bind (its dtype) or afford (its size)."""
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
