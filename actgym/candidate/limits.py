"""The bounds a candidate must stay inside; one place, so docs and checks agree."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

MAX_SOURCE_CHARS = 16_384
MAX_MESSAGE_CHARS = 600
"""The longest message a candidate can cause; longer text is cut and marked."""


@dataclass(frozen=True)
class CandidateLimits:
    """Defaults keep one check well under a second and bound training cost per candidate."""

    max_source_chars: int = MAX_SOURCE_CHARS
    max_source_lines: int = 400
    max_ast_nodes: int = 4_000
    max_equations: int = 1_000
    max_operands: int = 3_000
    max_differentiated_equations: int = 5_000
    max_differentiated_operands: int = 10_000
    max_constant_elements: int = 4_096
    max_intermediate_elements: int = 65_536
    flops_budget: float = 250.0
    trace_timeout_s: float = 10.0
    cpu_seconds: int = 15
    memory_bytes: int = 4 * 1024**3

    def __post_init__(self) -> None:
        for item in dataclasses.fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"CandidateLimits.{item.name} must be a number, not {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"CandidateLimits.{item.name} must be positive, not {value!r}")

    def looser_than(self, other: CandidateLimits) -> list[str]:
        """The bounds that let a candidate do more than under `other`."""
        return [
            item.name
            for item in dataclasses.fields(self)
            if getattr(self, item.name) > getattr(other, item.name)
        ]
