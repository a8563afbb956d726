"""Compiling and training happen in killable, memory-limited processes with deadlines.

These tests use real training processes and real programs. Where a deadline or a memory
bound must be missed on purpose, the bound is made tiny rather than the work made huge,
so the tests stay fast and do not depend on the machine's speed.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path

import pytest
from sources import GELU_SINE, RELU

from actgym.cache import JsonCache
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.child_process import Child
from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.training_process import (
    BatchFailed,
    TrainingBounds,
    TrainingPool,
)

# Passes the probe and the sandbox, but compiles for minutes: 12 selections over 1023
# copies of an operand. The static cost bounds refuse it; with them relaxed, the
# training process's deadline must.
SELECT_BOMB = """
import jax.numpy as jnp
from jax import lax

def activation_function(x):
    i = jnp.clip(jnp.abs(x) * 100, 0, 1022).astype(jnp.int32)
    for _ in range(12):
        x = lax.select_n(i, *([jnp.sin(x)] * 1023))
    return x
"""


def _relaxed(limits: CandidateLimits) -> CandidateLimits:
    """Every static bound on size and cost lifted: only the process bounds remain."""
    huge = {
        "flops_budget": 1e12,
        "max_operands": 10**7,
        "max_differentiated_equations": 10**7,
        "max_differentiated_operands": 10**8,
    }
    names = {field.name for field in dataclasses.fields(limits)}
    return dataclasses.replace(limits, **{key: huge[key] for key in huge.keys() & names})


def test_training_processes_cannot_be_dumped_or_grow_past_their_bound() -> None:
    bounds = TrainingBounds(memory_bytes=5 * 1024**3)
    pool = TrainingPool(bounds)
    try:
        report = pool.hardening()
    finally:
        pool.close()
    assert report == {
        "undumpable": True,
        "memory_limit_bytes": bounds.memory_bytes,
        "core_limit_bytes": 0,
    }


def test_a_compile_past_its_deadline_is_stopped_and_the_pool_recovers(
    evaluator: Evaluator, fast_config: EvaluationConfig
) -> None:
    program = evaluator.check(RELU)
    pool = TrainingPool(TrainingBounds(compile_base_s=0.0, compile_s=1e-3))
    try:
        with pytest.raises(BatchFailed) as failed:
            pool.train([program], fast_config, {})
        rejection = failed.value.rejection
        assert rejection.reason is Reason.COMPILE_TIMEOUT
        assert "compiling the training program took longer" in rejection.message.lower()
        probed = pool.probe(program, fast_config.limits)
        assert probed.descriptors == evaluator.evaluate(RELU).descriptors
    finally:
        pool.close()


def test_a_process_past_its_memory_bound_fails_for_memory_never_as_an_invalid_program(
    evaluator: Evaluator, fast_config: EvaluationConfig
) -> None:
    """1 GiB of address space holds an idle process, not a JAX CPU client that trains. The
    process either dies (on every try: `process_died`) or cannot map a library it imports
    (`resource_limit`), whichever allocation fails first."""
    program = evaluator.check(RELU)
    pool = TrainingPool(TrainingBounds(memory_bytes=1024**3))
    try:
        with pytest.raises(BatchFailed) as failed:
            pool.train([program], fast_config, {})
    finally:
        pool.close()
    assert failed.value.rejection.reason in {Reason.RESOURCE_LIMIT, Reason.PROCESS_DIED}


def test_a_compile_bomb_past_the_static_bounds_costs_only_its_own_result(
    fast_config: EvaluationConfig, tmp_path: Path, evaluator: Evaluator
) -> None:
    config = dataclasses.replace(fast_config, limits=_relaxed(fast_config.limits))
    bounded = Evaluator(config, cache=JsonCache(tmp_path), bounds=TrainingBounds(probe_s=10.0))
    try:
        results = bounded.evaluate_many([GELU_SINE, SELECT_BOMB, RELU])
    finally:
        bounded.close()
    assert [result.status for result in results] == ["ok", "compile_timeout", "ok"]
    assert "10 s bound" in results[1].message
    assert results[0].reward == evaluator.evaluate(GELU_SINE).reward
    assert results[2].reward == 0.0


def test_a_process_that_does_not_start_in_time_is_a_rejection_not_a_crash(
    evaluator: Evaluator, fast_config: EvaluationConfig
) -> None:
    program = evaluator.check(RELU).program
    pool = TrainingPool(TrainingBounds(startup_s=0.01))
    try:
        with pytest.raises(CandidateRejected) as rejected:
            pool.probe(program, fast_config.limits)
        with pytest.raises(BatchFailed):
            pool.train([program], fast_config, {})
    finally:
        pool.close()
    assert rejected.value.reason is Reason.PROCESS_DIED  # tried again: starting is the machine's
    assert "starting a training process took longer" in rejected.value.message.lower()
    assert "on each of 3 tries" in rejected.value.message


def test_a_drained_pool_goes_on_with_a_fresh_process() -> None:
    pool = TrainingPool(TrainingBounds())
    try:
        pool.hardening()
        first = [child.pid for child in pool._idle]
        pool.drain()
        assert pool._idle == []
        pool.hardening()  # still open: a drained pool is not a closed one
        second = [child.pid for child in pool._idle]
    finally:
        pool.close()
    assert len(first) == len(second) == 1 and first != second
    assert pool._idle == []


def test_a_training_process_outlives_the_thread_that_started_it() -> None:
    """The parent-death signal follows the starting thread: a web server's pool thread
    that exits when idle took its training processes with it, mid-use (issue 29)."""
    started: list[Child] = []
    bounds = TrainingBounds()
    thread = threading.Thread(
        target=lambda: started.append(
            Child.spawn("actgym.training_process", bounds.memory_bytes, bounds.startup_s)
        )
    )
    thread.start()
    thread.join()
    (child,) = started
    try:
        time.sleep(1.0)  # a signal armed to the thread has arrived by now
        assert child.alive(), "the process died with the thread that started it"
    finally:
        child.kill()
