"""A training process that dies says nothing of its program until it dies on every try.

Deaths come from outside (the OOM killer, an operator) as often as from the program, so
they are retried, and an outcome they give is never remembered as the program's verdict.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from process_faults import ProcessKiller
from sources import GELU_SINE, RELU

from actgym.cache import JsonCache
from actgym.candidate.check import Checker
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.probe import ProbeResult
from actgym.candidate.program import Program
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.child_process import Stopped, restarting
from actgym.config import EvaluationConfig
from actgym.evaluation import BaselineFailed, Evaluator
from actgym.training_process import TrainingBounds


class Attempts:
    """Raises the given outcomes in turn, then returns "done"."""

    def __init__(self, *failures: Stopped) -> None:
        self.failures = list(failures)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "done"


def _died() -> Stopped:
    return Stopped("compiled", None, "stopped")


def test_a_death_is_retried_and_a_missed_deadline_is_not() -> None:
    twice = Attempts(_died(), _died())
    assert restarting(twice, tries=3) == "done" and twice.calls == 3

    late = Attempts(Stopped("compiled", 50.0, "deadline"), _died())
    with pytest.raises(Stopped) as stopped:
        restarting(late, tries=3)
    assert late.calls == 1
    assert stopped.value.rejection().reason is Reason.COMPILE_TIMEOUT


def test_a_stall_where_the_program_plays_no_part_is_retried_like_a_death() -> None:
    slow_start = Attempts(Stopped("ready", 0.01, "deadline"), Stopped("prepared", 180.0, "x"))
    assert restarting(slow_start, tries=3) == "done" and slow_start.calls == 3
    always = Attempts(*(Stopped("ready", 0.01, "deadline") for _ in range(3)))
    with pytest.raises(Stopped) as stopped:
        restarting(always, tries=3)
    assert stopped.value.rejection().reason is Reason.PROCESS_DIED


def test_a_death_on_every_try_counts_and_says_how_often_without_blaming_the_program() -> None:
    always = Attempts(_died(), _died(), _died(), _died())
    with pytest.raises(Stopped) as stopped:
        restarting(always, tries=3)
    assert always.calls == 3
    rejection = stopped.value.rejection()
    assert rejection.reason is Reason.PROCESS_DIED and rejection.may_be_the_machine
    assert "on each of 3 tries (last: stopped)" in rejection.message
    assert "or the machine stopped the process" in rejection.describe()


class FlakyProber:
    """Fails with `first` once, then probes as a healthy process would."""

    def __init__(self, first: CandidateRejected, healthy: ProbeResult) -> None:
        self.outcomes: list[CandidateRejected | ProbeResult] = [first, healthy]
        self.calls = 0

    def probe(self, program: Program, limits: CandidateLimits) -> ProbeResult:
        self.calls += 1
        outcome = self.outcomes[min(self.calls, 2) - 1]
        if isinstance(outcome, CandidateRejected):
            raise outcome
        return outcome


@pytest.mark.parametrize(
    ("first", "remembered"),
    [
        (CandidateRejected(Reason.PROCESS_DIED, "died on each of 3 tries"), False),
        (CandidateRejected(Reason.COMPILE_TIMEOUT, "past its 30 s bound"), False),
        (CandidateRejected(Reason.NONFINITE_OUTPUT, "NaN at x = 0"), True),
    ],
)
def test_the_checker_remembers_a_programs_verdict_never_one_that_depends_on_the_machine(
    evaluator: Evaluator, first: CandidateRejected, remembered: bool
) -> None:
    checked = evaluator.check(RELU)
    healthy = ProbeResult(dict(checked.descriptors), checked.locality, checked.behaviour, ())
    prober = FlakyProber(first, healthy)
    checker = Checker(
        evaluator.config.limits, checked.program.input_shape, evaluator.sandbox, prober
    )
    with pytest.raises(CandidateRejected):
        checker.probed(checked.program)
    if remembered:
        with pytest.raises(CandidateRejected):
            checker.probed(checked.program)
        assert prober.calls == 1
    else:
        assert checker.probed(checked.program).behaviour == checked.behaviour
        assert prober.calls == 2


def test_a_baseline_whose_process_dies_is_tried_again_on_the_next_call(
    fast_config: EvaluationConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    killer = ProcessKiller(monkeypatch)
    fresh = Evaluator(fast_config, cache=JsonCache(tmp_path), bounds=TrainingBounds(tries=2))
    try:
        killer.always = {"compiled"}
        with pytest.raises(BaselineFailed, match="baseline activation could not be trained"):
            fresh.evaluate(GELU_SINE)
        assert killer.killed == ["compiled", "compiled"]
        killer.always = set()
        result = fresh.evaluate(GELU_SINE)
    finally:
        fresh.close()
    assert result.ok, result.message
