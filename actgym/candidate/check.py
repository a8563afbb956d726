"""The check stage: a source in, a checked program (or one CandidateRejected) out.

    source --(size)--> --(sandbox: policy, trace)--> program JSON
           --(load_program: schema, shapes, size after differentiation)--> Program
           --(cost, budget)--> --(probe, in a training process)--> CheckedProgram

Everything a scorer needs travels in the CheckedProgram: the validated program, its
JSON, its cost and the probe's descriptors. Probe outcomes are kept by program hash,
so a program checked once (from any source text) is probed once; an outcome that depends
on the machine (a training process that died, a missed deadline) is never kept.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.policy import check_size
from actgym.candidate.probe import ProbeResult
from actgym.candidate.program import Program, load_program
from actgym.candidate.reasons import CandidateRejected, Reason, contained
from actgym.candidate.sandbox import Sandbox


class Prober(Protocol):
    """Compiles and probes a program away from the caller (actgym.training_process)."""

    def probe(self, program: Program, limits: CandidateLimits) -> ProbeResult: ...


@dataclass(frozen=True, eq=False)
class CheckedProgram:
    """A program that passed every check, with the probe's description of its shape."""

    program: Program
    descriptors: Mapping[str, float]
    locality: str
    behaviour: str
    outputs: tuple[float, ...]
    """The function's values on the probe's fixed points (actgym.candidate.probe)."""

    @property
    def digest(self) -> str:
        return self.program.digest

    @property
    def data(self) -> dict[str, Any]:
        return self.program.data

    @property
    def flops_per_element(self) -> float:
        return self.program.flops_per_element


class Checker:
    """Runs the check stage for one activation input shape and one set of limits (thread-safe).

    The shape is `(width,)` when the activation sees one example, `(batch, width)` when it
    sees the batch (TrainerConfig.activation_shape).
    """

    def __init__(
        self, limits: CandidateLimits, shape: tuple[int, ...], sandbox: Sandbox, prober: Prober
    ) -> None:
        self.limits = limits
        self.shape = shape
        self.sandbox = sandbox
        self.prober = prober
        self._lock = threading.Lock()
        self._probed: dict[str, CheckedProgram | CandidateRejected] = {}

    def check(self, source: object) -> CheckedProgram:
        """Raise CandidateRejected, with its reason, at the first check the source fails."""
        program = validated(source, self.sandbox, self.shape, self.limits)
        if program.flops_per_element > self.limits.flops_budget:
            raise CandidateRejected(
                Reason.COST_OVER_BUDGET,
                f"The function costs {program.flops_per_element:.1f} FLOPs per element; "
                f"the budget is {self.limits.flops_budget:g}.",
            )
        return self.probed(program)

    def probed(self, program: Program) -> CheckedProgram:
        """The checked form of a program validated elsewhere: probed once per hash."""
        with self._lock:
            known = self._probed.get(program.digest)
        if known is None:
            try:
                probed = self.prober.probe(program, self.limits)
                known = CheckedProgram(
                    program,
                    probed.descriptors,
                    probed.locality,
                    probed.behaviour,
                    probed.outputs,
                )
            except CandidateRejected as rejection:
                if rejection.machine_dependent:  # e.g. a killed process: next call tries again
                    raise
                known = rejection
            with self._lock:
                self._probed[program.digest] = known
        if isinstance(known, CandidateRejected):
            raise known
        return known

    def known(self, digest: str) -> CheckedProgram | None:
        """A program this checker has accepted, by hash (None if unknown or rejected)."""
        with self._lock:
            found = self._probed.get(digest)
        return found if isinstance(found, CheckedProgram) else None

    def close(self) -> None:
        self.sandbox.close()


def validated(
    source: object, sandbox: Sandbox, shape: tuple[int, ...], limits: CandidateLimits
) -> Program:
    """The first half of the stage: size, sandbox and validation, which give the hash."""
    text = _as_text(source)
    check_size(text, limits)
    reply = sandbox.analyse(text, shape)
    try:
        return load_program(reply, shape=shape, limits=limits)
    except CandidateRejected:
        raise
    except Exception as error:
        raise contained(error, "validating the traced program") from None


def _as_text(source: object) -> str:
    if isinstance(source, bytes):
        try:
            return source.decode("utf-8")
        except UnicodeDecodeError:
            raise CandidateRejected(
                Reason.INVALID_ACTION, "The source bytes are not valid UTF-8."
            ) from None
    if not isinstance(source, str):
        raise CandidateRejected(
            Reason.INVALID_ACTION,
            f"Expected a str of Python source, got {type(source).__name__}.",
        )
    return source
