"""The evaluator contract every entry point takes: one machine (`Evaluator`) or a Ray
cluster (`RayEvaluator`), with the same results.

The env, the vector env, `actgym search` and `actgym leaderboard verify` hold an
`EvaluatorProtocol` and nothing more specific, so a user who outgrows one machine swaps
the evaluator, not the entry point.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from actgym.config import EvaluationConfig
from actgym.result import EvaluationResult


@dataclass(frozen=True)
class Assessment:
    """A result with what its check learned: the validated program JSON and the probe's
    behaviour fingerprint (both None when the candidate was rejected before them).

    Plain data, so it crosses process and node boundaries unchanged.
    """

    result: EvaluationResult
    program: dict[str, Any] | None = None
    behaviour: str | None = None


@runtime_checkable
class EvaluatorProtocol(Protocol):
    """Scores sources under one `EvaluationConfig`; results do not depend on where."""

    @property
    def config(self) -> EvaluationConfig: ...

    def evaluate(self, source: object) -> EvaluationResult: ...

    def evaluate_many(self, sources: Sequence[object]) -> list[EvaluationResult]: ...

    def assess_many(self, sources: Sequence[object]) -> list[Assessment]: ...

    def reference(self, name: str) -> EvaluationResult: ...

    def close(self) -> None: ...
