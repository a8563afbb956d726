"""Batched, cached, vectorised and Ray evaluation all give the single-evaluation results."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from sources import GELU_SINE, RELU, activation

from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.evaluator_protocol import EvaluatorProtocol

CANDIDATES = [
    GELU_SINE,
    activation("jnp.tanh(x) + 0.05 * x"),
    RELU,
    "import os\n",
    activation("jax.nn.silu(x) * (1.0 + 0.1 * jnp.cos(x))"),
    GELU_SINE,
    activation("x * jnp.nan"),
]


@pytest.fixture(scope="module")
def single_results(fast_config: EvaluationConfig, tmp_path_factory) -> list[EvaluationResult]:
    evaluator = Evaluator(fast_config, cache=JsonCache(tmp_path_factory.mktemp("single")))
    try:
        return [evaluator.evaluate(source) for source in CANDIDATES]
    finally:
        evaluator.close()


def test_batched_equals_single(fast_config: EvaluationConfig, tmp_path: Path, single_results):
    evaluator = Evaluator(fast_config, cache=JsonCache(tmp_path), programs_per_batch=3)
    try:
        batched = evaluator.evaluate_many(CANDIDATES)
    finally:
        evaluator.close()
    assert batched == single_results
    assert [result.status for result in batched].count("ok") == 5


def test_cached_equals_single(fast_config: EvaluationConfig, tmp_path: Path, single_results):
    first = Evaluator(fast_config, cache=JsonCache(tmp_path))
    first.evaluate_many(CANDIDATES)
    first.close()
    second = Evaluator(fast_config, cache=JsonCache(tmp_path))
    try:
        cached = second.evaluate_many(CANDIDATES)
    finally:
        second.close()
    assert cached == single_results
    assert all(result.timings.cached for result in cached if result.ok)


def test_repeated_candidate_is_trained_once(fast_config: EvaluationConfig, tmp_path: Path):
    evaluator = Evaluator(fast_config, cache=JsonCache(tmp_path))
    try:
        first, again = evaluator.evaluate_many([GELU_SINE, GELU_SINE])
        renamed = evaluator.evaluate(GELU_SINE.replace("(x)", "(inputs)").replace("x)", "inputs)"))
    finally:
        evaluator.close()
    assert first == again == renamed
    assert first.timings.train_s > 0
    assert renamed.timings.cached and renamed.timings.train_s == 0


@pytest.mark.parametrize(
    ("mode", "vector_kwargs"),
    [("vector_entry_point", {}), ("async", {"context": "spawn"}), ("sync", {})],
)
def test_vector_envs_match_single(mode: str, vector_kwargs: dict, single_results) -> None:
    envs = gym.make_vec(
        "ActSearch-Harmonics-v0",
        num_envs=3,
        vectorization_mode=mode,
        vector_kwargs=vector_kwargs,
        config=EvaluationConfig.fast(num_instances=2),
        budget=1,
    )
    try:
        envs.reset(seed=0)
        _, rewards, _, truncated, info = envs.step(tuple(CANDIDATES[:3]))
        _, after_reset, *_ = envs.step(tuple(CANDIDATES[3:6]))
    finally:
        envs.close()
    expected = [result.reward for result in single_results[:3]]
    np.testing.assert_array_equal(rewards, np.asarray(expected))
    assert list(info["status"]) == [result.status for result in single_results[:3]]
    assert truncated.all()
    np.testing.assert_array_equal(after_reset, np.zeros(3))


def test_plain_fork_after_jax_fails_loudly_instead_of_hanging(fast_config) -> None:
    import multiprocessing

    import jax.numpy as jnp

    jnp.ones(1).block_until_ready()
    context = multiprocessing.get_context("fork")
    with context.Pool(1) as pool, pytest.raises(RuntimeError, match="forked after JAX started"):
        pool.apply(Evaluator, (fast_config,))


def test_ray_equals_single_through_the_evaluator_and_the_vector_env(
    fast_config: EvaluationConfig, single_results
) -> None:
    ray = pytest.importorskip("ray", reason="Ray is the optional extra actgym[ray]")
    from actgym.ray_evaluation import RayEvaluator

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        evaluator = RayEvaluator(fast_config, programs_per_batch=4)
        assert isinstance(evaluator, EvaluatorProtocol)
        results = evaluator.evaluate_many(CANDIDATES)
        envs = gym.make_vec("ActSearch-Harmonics-v0", num_envs=3, evaluator=evaluator, budget=1)
        envs.reset(seed=0)
        _, rewards, *_ = envs.step(tuple(CANDIDATES[:3]))
        envs.close()
    finally:
        ray.shutdown()
    assert results == single_results
    np.testing.assert_array_equal(rewards, [result.reward for result in single_results[:3]])


@pytest.mark.parametrize(
    "settings",
    [
        {"programs_per_batch": 0},
        {"workers": 0},
        {"threads": -1},
        {"threads": "2"},
        {"workers": True},
    ],
)
def test_bad_batch_workers_or_threads_are_refused_clearly(fast_config, settings: dict) -> None:
    name = next(iter(settings))
    with pytest.raises(ValueError, match=name):
        Evaluator(fast_config, **settings)
