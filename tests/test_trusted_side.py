"""What the trusted side does with a checked program never escapes as an exception.

A candidate can pass the sandbox and still break the code that handles its program (no
derivative rule, a parameter the trainer cannot compile): that must end as a rejected
result for that candidate alone, in env.step, in a vector env and in evaluate_many.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from sources import GELU_SINE, RELU, activation

from actgym.cache import JsonCache
from actgym.candidate.program import Program
from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.reward import PENALTY
from actgym.training_process import TrainingPool

NO_DERIVATIVE = activation("jnp.nextafter(x, x + 1.0)")
TANH = activation("jnp.tanh(x) + 0.05 * x")
SORT_BOMB = activation("jax.lax.sort([x] * 1023, num_keys=1)[0]")


def test_a_program_without_a_derivative_is_rejected_not_raised(evaluator: Evaluator) -> None:
    result = evaluator.evaluate(NO_DERIVATIVE)
    assert result.status == "invalid_program" and result.reward == PENALTY
    assert "NotImplementedError" in result.message
    assert "/" not in result.message.split("Hint:")[0], "no host paths in the message"


def test_a_vector_env_step_with_one_bad_candidate_scores_the_others(
    evaluator: Evaluator,
) -> None:
    envs = gym.make_vec(
        "ActSearch-Harmonics-v0",
        num_envs=3,
        config=EvaluationConfig.fast(num_instances=2),
        budget=1,
    )
    try:
        envs.reset(seed=0)
        _, rewards, _, _, info = envs.step((GELU_SINE, NO_DERIVATIVE, RELU))
    finally:
        envs.close()
    assert list(info["status"]) == ["ok", "invalid_program", "ok"]
    expected = [evaluator.evaluate(GELU_SINE).reward, PENALTY, 0.0]
    np.testing.assert_array_equal(rewards, np.asarray(expected, dtype=rewards.dtype))


def test_a_vector_env_step_with_a_compile_bomb_returns_for_the_others(
    evaluator: Evaluator,
) -> None:
    """The bomb is refused by the static bounds; tests/test_training_process.py lifts them."""
    envs = gym.make_vec(
        "ActSearch-Harmonics-v0",
        num_envs=3,
        config=EvaluationConfig.fast(num_instances=2),
        budget=1,
    )
    try:
        envs.reset(seed=0)
        _, rewards, _, _, info = envs.step((GELU_SINE, SORT_BOMB, RELU))
    finally:
        envs.close()
    assert list(info["status"]) == ["ok", "cost_over_budget", "ok"]
    assert rewards[1] == PENALTY and rewards[2] == 0.0


def test_a_batch_that_fails_to_train_is_retried_one_program_at_a_time(
    fast_config: EvaluationConfig, tmp_path: Path, evaluator: Evaluator
) -> None:
    """The pool is made to fail on one program (a fake failure, real training otherwise)."""
    poisoned = evaluator.check(TANH).digest
    calls: list[list[str]] = []

    class FailingPool:
        def __init__(self, pool: TrainingPool) -> None:
            self.pool = pool

        def train(self, programs: list[Program], *args: Any) -> list:
            calls.append([program.digest for program in programs])
            if any(program.digest == poisoned for program in programs):
                raise RuntimeError("/home/someone/venv/lib/xla: compilation failed")
            return self.pool.train(programs, *args)

    batched = Evaluator(fast_config, cache=JsonCache(tmp_path), programs_per_batch=3, workers=1)
    batched.training = FailingPool(batched.training)  # type: ignore[assignment]
    try:
        results = batched.evaluate_many([GELU_SINE, TANH, RELU])
    finally:
        batched.close()
    assert [result.status for result in results] == ["ok", "invalid_program", "ok"]
    baseline = evaluator.baseline_program().digest
    batch, *retries = [call for call in calls if call != [baseline]]
    assert poisoned in batch and len(batch) > 1, "the poisoned program trains in a batch"
    assert retries == [[digest] for digest in batch], "then one program at a time"
    assert "/home" not in results[1].message and "RuntimeError" in results[1].message
    assert results[0] == evaluator.evaluate(GELU_SINE)
    assert results[2].reward == 0.0


def test_descriptors_come_from_points_a_candidate_cannot_know(evaluator: Evaluator) -> None:
    """A function that changes its value exactly at the old fixed anchors (-20, -10, 10,
    20) no longer moves its slopes: the points come from the program's hash."""
    at_anchors = "(x == 10.0) | (x == 20.0) | (x == -10.0) | (x == -20.0)"
    forger = activation(f"jnp.where({at_anchors}, 1000.0, x)")
    descriptors = evaluator.evaluate(forger).descriptors
    assert descriptors["left_slope"] == pytest.approx(1.0, abs=1e-4)
    assert descriptors["right_slope"] == pytest.approx(1.0, abs=1e-4)
    relu = evaluator.evaluate(RELU).descriptors
    assert (relu["left_slope"], relu["right_slope"]) == (0.0, pytest.approx(1.0, abs=1e-4))
    assert evaluator.evaluate(forger).descriptors == descriptors
