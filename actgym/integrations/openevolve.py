"""OpenEvolve's evaluator contract, ready to import (OpenEvolve 0.4.x).

A task directory's `evaluator.py` needs no glue:

    from actgym.integrations.openevolve import stages
    evaluate, evaluate_stage1, evaluate_stage2, evaluate_stage3 = stages(task="Suite")

or, without a cascade, `from actgym.integrations.openevolve import evaluate` with
OpenEvolve's `evaluator_args` (`task`, `fast`, `instances`, `task_seed`; see
`settings.EvaluatorSettings`). OpenEvolve passes `evaluator_args` to `evaluate` only,
never to the cascade's stages, hence `stages(...)` binds them once for all four.

The cascade (`cascade_evaluation: true`, `cascade_thresholds: [0.5, 0.8]`):
  stage 1  the check stage only (sandboxed trace, validation, cost, probe): combined
           score 1 if the source passes, 0 if not; nothing is trained.
  stage 2  the low fidelity (actgym.fidelity.LOW: 4 instances per family, one seed,
           against ReLU under the same cut), about a quarter of the full cost.
  stage 3  the full evaluation, whose metrics replace stage 2's.
The combined score is exp(reward) (`actgym.integrations.scoring`), so 0.8 lets a
candidate through whose low-fidelity OOD loss is at most 1.25 times ReLU's. A candidate
stopped at stage 2 keeps its low-fidelity score; the metric `full` says which it is.

OpenEvolve is imported when a result is built, so this module imports without it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.integrations.scoring import artifacts, metrics
from actgym.integrations.settings import EvaluatorSettings, process_evaluator, program_source
from actgym.result import EvaluationResult

Stage = Callable[..., Any]
CASCADE_THRESHOLDS = (0.5, 0.8)
"""Stage 1 passes a source that passes the check (score 1); stage 2 passes a candidate
whose low-fidelity combined score is at least 0.8 (OOD loss at most 1.25 x ReLU's)."""


def evaluate(program_path: str, **evaluator_args: Any) -> Any:
    """The full evaluation, as OpenEvolve's `evaluate(program_path, **evaluator_args)`."""
    return _full(EvaluatorSettings.from_args(evaluator_args), program_path)


def stages(**evaluator_args: Any) -> tuple[Stage, Stage, Stage, Stage]:
    """`evaluate` and the three cascade stages, all with these settings."""
    settings = EvaluatorSettings.from_args(evaluator_args)

    def full(program_path: str, **overrides: Any) -> Any:
        if overrides and EvaluatorSettings.from_args(overrides) != settings:
            raise ValueError(
                "evaluator_args differ from the settings given to stages(); OpenEvolve "
                "passes them to evaluate() only, so set them in stages(...)"
            )
        return _full(settings, program_path)

    def stage1(program_path: str) -> Any:
        return _checked(settings, program_path)

    def stage2(program_path: str) -> Any:
        return _scored(settings, program_path, "low")

    def stage3(program_path: str) -> Any:
        return _full(settings, program_path)

    return full, stage1, stage2, stage3


def _full(settings: EvaluatorSettings, program_path: str) -> Any:
    return _scored(settings, program_path, "full")


def _scored(settings: EvaluatorSettings, program_path: str, fidelity: str) -> Any:
    result = process_evaluator(settings, fidelity).evaluate(program_source(program_path))
    return _openevolve_result(
        metrics(result) | {"full": 1.0 if fidelity == "full" else 0.0}, artifacts(result)
    )


def _checked(settings: EvaluatorSettings, program_path: str) -> Any:
    try:
        checked = process_evaluator(settings).check(program_source(program_path))
    except CandidateRejected as rejection:
        failed = EvaluationResult.rejected(rejection)
        return _openevolve_result(metrics(failed) | {"passed_check": 0.0}, artifacts(failed))
    return _openevolve_result(
        {
            "combined_score": 1.0,
            "passed_check": 1.0,
            "flops_per_element": checked.flops_per_element,
        },
        {"status": Reason.OK.value, "message": f"Passed the check ({checked.locality})."},
    )


def _openevolve_result(found: dict[str, float], texts: dict[str, str]) -> Any:
    try:
        from openevolve.evaluation_result import EvaluationResult as OpenEvolveResult
    except ImportError as missing:
        raise ImportError(
            "actgym.integrations.openevolve builds OpenEvolve results: "
            "pip install 'actgym[openevolve]'"
        ) from missing
    return OpenEvolveResult(metrics=found, artifacts=dict(texts))
