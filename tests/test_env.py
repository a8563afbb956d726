"""The Gymnasium contract of every registered ActSearch environment."""

from __future__ import annotations

import dataclasses
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode
from sources import GELU_SINE, RELU, activation

import actgym
from actgym.reward import PENALTY

FAST = {"config": actgym.EvaluationConfig.fast(num_instances=1), "budget": 6}


@pytest.mark.parametrize("env_id", sorted(actgym.ENV_IDS))
def test_check_env_passes_without_warnings(env_id: str) -> None:
    env = gym.make(env_id, **FAST)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped)
    env.close()
    assert [str(warning.message) for warning in caught] == []


def test_make_by_module_path_without_import() -> None:
    env = gym.make("actgym:ActSearch-Harmonics-v0", **FAST)
    assert env.unwrapped.task == "Harmonics"
    env.close()


def test_the_readme_example() -> None:
    env = gym.make("ActSearch-Harmonics-v0", **FAST, render_mode="ansi")
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert obs["reference_rewards"][0] == 0.0
    assert "activation_function" in obs["task"]
    obs, reward, terminated, truncated, info = env.step(GELU_SINE)
    assert info["status"] == "ok"
    assert np.isfinite(reward) and reward != PENALTY
    for key in ("ood_loss", "id_loss", "train_loss", "flops_per_element", "families", "timings"):
        assert info[key] is not None
    assert info["timings"].total_s > 0
    scale = info["scale"]  # the scale's reference points, stated beside the reward
    assert scale["mean_model"] < 0.0 < scale["ceiling"]
    assert info["gap_closed"] == pytest.approx(reward / scale["ceiling"], rel=1e-6)
    assert info["families"]["Harmonics"]["scale"] == scale
    assert f"gap_closed={info['gap_closed']:.3f}" in obs["feedback"]
    assert obs["best_source"] == GELU_SINE
    assert obs["best_reward"][0] == np.float32(reward)
    assert "status=ok" in obs["feedback"]
    assert not terminated and not truncated
    assert "best reward" in env.render()
    env.close()


BAD_ACTIONS = {
    "not a string": 17,
    "empty": "",
    "too long": "x" * 100_000,
    "syntax error": "def activation_function(x) return x",
    "no function": "import jax\n",
    "wrong arity": "def activation_function(x, y):\n    return x\n",
    "NaN everywhere": activation("x * jnp.nan"),
    "shape change": "def activation_function(x):\n    return x[:2]\n",
    "memory blow-up": "import jax.numpy as jnp\nA = jnp.ones((2_000_000_000,))\n" + RELU,
}


def test_bad_actions_get_penalty_and_message_and_env_keeps_working() -> None:
    env = gym.make("ActSearch-Harmonics-v0", **{**FAST, "budget": len(BAD_ACTIONS) + 1})
    env.reset(seed=0)
    for name, action in BAD_ACTIONS.items():
        obs, reward, _, truncated, info = env.step(action)
        assert reward == PENALTY, name
        assert info["status"] != "ok" and info["message"], name
        assert env.observation_space.contains(obs), name
        assert not truncated
    obs, reward, _, truncated, info = env.step(RELU)
    assert info["status"] == "ok" and reward == 0.0
    assert truncated
    env.close()


def test_budget_truncates_and_reset_starts_over() -> None:
    env = gym.make("ActSearch-Harmonics-v0", **{**FAST, "budget": 2})
    env.reset(seed=0)
    assert not env.step(RELU)[3]
    assert env.step(RELU)[3]
    with pytest.raises(RuntimeError, match="budget"):
        env.step(RELU)
    obs, _ = env.reset()
    assert obs["budget_left"] == 2 and obs["best_source"] == ""
    env.close()


def test_unknown_task_bad_budget_and_a_config_for_other_families_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown task"):
        gym.make("ActSearch-Harmonics-v0", task="Nope")
    with pytest.raises(ValueError, match="budget"):
        gym.make("ActSearch-Harmonics-v0", budget=0)
    poly = actgym.EvaluationConfig(families=("Poly1D",))
    with pytest.raises(ValueError, match="the task decides them"):
        gym.make("ActSearch-Harmonics-v0", config=poly)


def test_an_injected_evaluator_decides_what_the_env_describes_and_must_score_its_task() -> None:
    config = actgym.EvaluationConfig.fast(num_instances=1)
    evaluator = actgym.Evaluator(config)
    try:
        with pytest.raises(ValueError, match="scores Harmonics, not Suite"):
            gym.make("ActSearch-Suite-v0", evaluator=evaluator)
        other_seed = dataclasses.replace(config, task_seed=3)
        with pytest.raises(ValueError, match="task_seed: 3 != 0"):
            gym.make("ActSearch-Harmonics-v0", evaluator=evaluator, config=other_seed)
        env = gym.make("ActSearch-Harmonics-v0", evaluator=evaluator)  # told what it scores
        assert "width 32" in env.unwrapped.description
        agreeing = gym.make("ActSearch-Harmonics-v0", evaluator=evaluator, config=config)
        assert agreeing.unwrapped.description == env.unwrapped.description
    finally:
        evaluator.close()


def test_vector_env_autoreset_modes_step_by_the_same_transition() -> None:
    config = actgym.EvaluationConfig.fast(num_instances=1)
    kwargs = {"num_envs": 2, "config": config, "budget": 1}
    same_step = gym.make_vec(
        "ActSearch-Harmonics-v0", autoreset_mode=AutoresetMode.SAME_STEP, **kwargs
    )
    disabled = gym.make_vec(
        "ActSearch-Harmonics-v0",
        autoreset_mode=AutoresetMode.DISABLED,
        evaluator=same_step.evaluator,
        **kwargs,
    )
    try:
        same_step.reset(seed=0)
        observations, rewards, _, truncated, info = same_step.step((RELU, GELU_SINE))
        assert truncated.all() and list(observations["budget_left"]) == [1, 1]  # reset already
        assert [final["best_source"] for final in info["final_obs"]] == [RELU, GELU_SINE]
        assert rewards[0] == 0.0 and rewards[1] != PENALTY
        disabled.reset(seed=0)
        disabled.step((RELU, RELU))
        with pytest.raises(RuntimeError, match="budget"):  # refused before evaluating
            disabled.step((GELU_SINE, GELU_SINE))
    finally:
        disabled.close()
        same_step.close()


def test_a_low_fidelity_env_screens_on_the_first_instances_with_one_seed() -> None:
    env = gym.make(
        "ActSearch-Harmonics-v0", config=actgym.EvaluationConfig.fast(), fidelity="low", budget=1
    )
    try:
        scored = env.unwrapped.evaluator.config
        assert scored.num_instances == 4 and scored.trainer.seeds == (0,)
        env.reset(seed=0)
        _, reward, _, truncated, info = env.step(RELU)
        assert reward == 0.0 and truncated and info["fidelity"] == "low"
        assert info["charge"] == 0.25
        assert len(info["families"]["Harmonics"]["instances"]) == 4
        with pytest.raises(ValueError, match="another fidelity than 'low'"):
            full = actgym.Evaluator(actgym.EvaluationConfig.fast(num_instances=1))
            try:
                gym.make("ActSearch-Harmonics-v0", evaluator=full, fidelity="low")
            finally:
                full.close()
        with pytest.raises(ValueError, match="unknown fidelity 'medium'"):
            gym.make("ActSearch-Harmonics-v0", fidelity="medium")
    finally:
        env.close()
