"""Why a candidate was turned away, in words an agent can act on.

Every failure anywhere in the pipeline (static policy, sandboxed tracing, program
validation, probing, training) ends as one `Reason` plus a message. Agents learn from
the message, so each code carries a default hint saying what to change.
"""

from __future__ import annotations

import enum


class Reason(enum.StrEnum):
    OK = "ok"
    INVALID_ACTION = "invalid_action"
    EMPTY_SOURCE = "empty_source"
    SOURCE_TOO_LARGE = "source_too_large"
    SYNTAX_ERROR = "syntax_error"
    POLICY_VIOLATION = "policy_violation"
    MISSING_FUNCTION = "missing_function"
    BAD_SIGNATURE = "bad_signature"
    RUNTIME_ERROR = "runtime_error"
    FORBIDDEN_PRIMITIVE = "forbidden_primitive"
    BAD_OUTPUT = "bad_output"
    PROGRAM_TOO_LARGE = "program_too_large"
    COST_OVER_BUDGET = "cost_over_budget"
    NONFINITE_OUTPUT = "nonfinite_output"
    NONFINITE_GRADIENT = "nonfinite_gradient"
    NONFINITE_LOSS = "nonfinite_loss"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    WORKER_CRASHED = "worker_crashed"
    INVALID_PROGRAM = "invalid_program"
    COMPILE_TIMEOUT = "compile_timeout"
    RESOURCE_LIMIT = "resource_limit"
    PROCESS_DIED = "process_died"
    SHAPE_DEPENDENT = "shape_dependent"
    CONFINEMENT_MISSING = "confinement_missing"


HINTS: dict[Reason, str] = {
    Reason.OK: "The candidate was trained and scored.",
    Reason.INVALID_ACTION: "The action must be a str holding Python source.",
    Reason.EMPTY_SOURCE: "Send Python source that defines `def activation_function(x):`.",
    Reason.SOURCE_TOO_LARGE: "Shorten the source; see the size limits in docs/candidates.md.",
    Reason.SYNTAX_ERROR: "Fix the Python syntax at the reported line.",
    Reason.POLICY_VIOLATION: (
        "Use only jax, jax.numpy, jax.nn, jax.lax, jax.scipy.special and math; no other "
        "imports, no I/O, no names or attributes starting with an underscore."
    ),
    Reason.MISSING_FUNCTION: "Define a top-level function named `activation_function`.",
    Reason.BAD_SIGNATURE: "`activation_function` must take exactly one positional argument x.",
    Reason.RUNTIME_ERROR: "The function raised while being traced with a float32 vector.",
    Reason.FORBIDDEN_PRIMITIVE: (
        "Use elementwise jax.numpy/jax.nn/jax.lax math and reductions over x only; "
        "callbacks, loops, control flow primitives and randomness are not allowed."
    ),
    Reason.BAD_OUTPUT: "Return an array with the same shape and dtype (float32) as x.",
    Reason.PROGRAM_TOO_LARGE: "Use fewer operations, smaller constants or smaller intermediates.",
    Reason.COST_OVER_BUDGET: "Use fewer or cheaper operations per element.",
    Reason.NONFINITE_OUTPUT: "Keep the output finite for all inputs (clip arguments, add eps).",
    Reason.NONFINITE_GRADIENT: "Keep the derivative finite everywhere, including at x = 0.",
    Reason.NONFINITE_LOSS: "Training diverged to NaN/inf: the function is unstable in use.",
    Reason.TIMEOUT: "Tracing took too long: avoid huge Python loops and deep recursion.",
    Reason.MEMORY_LIMIT: "The candidate exceeded the memory limit: avoid huge arrays.",
    Reason.WORKER_CRASHED: "The sandboxed worker died while handling the candidate.",
    Reason.INVALID_PROGRAM: "The traced program failed validation.",
    Reason.COMPILE_TIMEOUT: (
        "Compiling the program took too long: use fewer operations, operands and cases."
    ),
    Reason.RESOURCE_LIMIT: (
        "Training the program exceeded its time or memory bound: use fewer or cheaper "
        "operations and smaller intermediates."
    ),
    Reason.PROCESS_DIED: (
        "The process handling the candidate died or stalled on every try (killed, crashed, "
        "or too slow to start): the program may need more memory than the bound allows or "
        "crash the compiler, or the machine stopped the process. Nothing about it is kept: "
        "sending it again retries it."
    ),
    Reason.SHAPE_DEPENDENT: (
        "Compute the same function of each element whatever the input's shape: transfer "
        "tasks call the activation at other widths than the suite."
    ),
    Reason.CONFINEMENT_MISSING: (
        "Not the candidate's fault: this machine lacks an OS confinement layer the "
        "evaluator requires; the operator must enable it or allow it to be missing."
    ),
}


MAY_BE_THE_MACHINE: frozenset[Reason] = frozenset({Reason.PROCESS_DIED, Reason.WORKER_CRASHED})
"""Outcomes a process killed from outside gives whatever the candidate: retried, and never a
leaderboard's verdict on a reference."""
MACHINE_DEPENDENT: frozenset[Reason] = MAY_BE_THE_MACHINE | {
    Reason.COMPILE_TIMEOUT,
    Reason.RESOURCE_LIMIT,
}
"""Outcomes that depend on this machine's load, speed or memory as well as the candidate:
never remembered, in memory as on disk, so the next call decides afresh."""


class CandidateRejected(Exception):
    """Raised anywhere in the pipeline; carries the reason code and an actionable message."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message

    def describe(self) -> str:
        return f"{self.message} Hint: {HINTS[self.reason]}"

    @property
    def may_be_the_machine(self) -> bool:
        """True when the machine, not the candidate, may have caused it (MAY_BE_THE_MACHINE)."""
        return self.reason in MAY_BE_THE_MACHINE

    @property
    def machine_dependent(self) -> bool:
        """True when another try could end otherwise (MACHINE_DEPENDENT): never remember it."""
        return self.reason in MACHINE_DEPENDENT


def contained(error: Exception, stage: str) -> CandidateRejected:
    """A trusted-side failure caused by a candidate while `stage` (e.g. "compiling or
    training it"), as a rejection: running out of memory is a resource limit, anything
    else an invalid program. Only the exception's type is reported: its text can quote host
    paths or internals."""
    if _out_of_memory(error):
        return CandidateRejected(
            Reason.RESOURCE_LIMIT, f"The program ran out of memory while {stage}."
        )
    return CandidateRejected(
        Reason.INVALID_PROGRAM,
        f"The program was accepted by the sandbox but failed while {stage} "
        f"({type(error).__name__}); use differentiable jax.numpy operations.",
    )


def _out_of_memory(error: Exception) -> bool:
    """Also an import of the trusted side's own code that could not map its library within
    the memory bound."""
    text = str(error)
    if isinstance(error, ImportError):
        return "failed to map segment" in text or "annot allocate memory" in text
    return isinstance(error, MemoryError) or "RESOURCE_EXHAUSTED" in text
