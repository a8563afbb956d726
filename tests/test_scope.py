"""Activation scope: a function sees one example or the whole batch, and the probe says which
functions look across units or across the batch."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
import jax.numpy as jnp
import numpy as np
import pytest
from sources import activation

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.probe import BATCH_COUPLED, FEATURE_COUPLED, POINTWISE, probe
from actgym.candidate.program import load_program
from actgym.candidate.reasons import CandidateRejected
from actgym.candidate.worker import analyse_source
from actgym.config import EvaluationConfig
from actgym.references import NAMED
from actgym.tasks import make_family
from actgym.trainer import TrainerConfig, prepare, train

EXAMPLE = TrainerConfig.fast()
BATCH = dataclasses.replace(EXAMPLE, scope="batch")

PANEL = {
    "relu": (NAMED["relu"], POINTWISE, POINTWISE),
    "gelusine": (NAMED["gelusine"], POINTWISE, POINTWISE),
    "neighbour (roll)": (NAMED["neighbour"], FEATURE_COUPLED, FEATURE_COUPLED),
    "fisg (fft, whole-tensor energy share)": (NAMED["fisg"], FEATURE_COUPLED, BATCH_COUPLED),
    "turbulent (whole-tensor statistics)": (NAMED["turbulent"], FEATURE_COUPLED, BATCH_COUPLED),
    "per-unit batch centring": (
        activation("x - jnp.mean(x, axis=0)"),
        FEATURE_COUPLED,  # axis 0 of one example's vector is its feature axis
        BATCH_COUPLED,
    ),
    "per-example max": (
        activation("x / (1.0 + jnp.max(jnp.abs(x), axis=-1, keepdims=True))"),
        FEATURE_COUPLED,
        FEATURE_COUPLED,
    ),
}


def program_for(source: str, shape: tuple[int, ...]):
    reply = analyse_source(source, shape, CandidateLimits())
    assert reply["status"] == "ok", reply
    return load_program(reply["program"], shape=shape)


def test_activation_shape_follows_the_scope() -> None:
    assert EXAMPLE.activation_shape == (EXAMPLE.width,)
    assert BATCH.activation_shape == (EXAMPLE.batch_size, EXAMPLE.width)
    with pytest.raises(ValueError, match="scope must be one of example, batch"):
        TrainerConfig(scope="dataset")


@pytest.mark.parametrize("name", sorted(PANEL))
def test_locality_labels_on_the_panel(name: str) -> None:
    source, in_example_scope, in_batch_scope = PANEL[name]
    example = probe(program_for(source, EXAMPLE.activation_shape)).locality
    batch = probe(program_for(source, BATCH.activation_shape)).locality
    assert (example, batch) == (in_example_scope, in_batch_scope)


def test_a_pointwise_function_scores_alike_in_both_scopes() -> None:
    """Same batches, same parameters: only the chunked evaluation's summation order differs."""
    family = make_family("Harmonics", num_instances=2)

    def relu(x: jnp.ndarray) -> jnp.ndarray:
        return jnp.maximum(x, 0.0)

    per_example = train(relu, prepare(family, EXAMPLE), EXAMPLE)
    per_batch = train(relu, prepare(family, BATCH), BATCH)
    for split in ("train", "validation", "test"):
        np.testing.assert_allclose(
            getattr(per_batch, split), getattr(per_example, split), rtol=1e-3
        )


def test_batch_statistics_use_the_test_batches_own_statistics() -> None:
    """Batch statistics enter the test loss, deterministically: the test set is fed in fixed
    consecutive batches."""
    family = make_family("Harmonics", num_instances=2)

    def centred(x: jnp.ndarray) -> jnp.ndarray:
        return jnp.maximum(x - jnp.mean(x, axis=0), 0.0)

    data = prepare(family, BATCH)
    first = train(centred, data, BATCH)
    np.testing.assert_array_equal(first.test, train(centred, data, BATCH).test)
    assert np.isfinite(first.test).all()


def test_env_in_batch_scope_labels_turbulent_batch_coupled() -> None:
    env = gym.make(
        "ActSearch-Harmonics-v0", config=EvaluationConfig(trainer=BATCH, num_instances=2), budget=2
    )
    try:
        observation, _ = env.reset(seed=0)
        assert f"({BATCH.batch_size}, {BATCH.width})" in observation["task"]
        _, reward, _, _, info = env.step(NAMED["turbulent"])
        assert info["status"] == "ok", info
        assert info["locality"] == BATCH_COUPLED
        assert np.isfinite(reward)
        _, _, _, _, info = env.step(NAMED["relu"])
        assert info["locality"] == POINTWISE
    finally:
        env.close()


@pytest.mark.parametrize(
    "body",
    ["x.T", "jnp.sum(x)", "x[0]", "jnp.concatenate([x, x])", "x.reshape(-1)"],
)
def test_batch_scope_still_demands_the_input_shape(body: str) -> None:
    """Shape tricks across the batch axis end as a rejection, never as a score."""
    reply = analyse_source(activation(body), BATCH.activation_shape, CandidateLimits())
    if reply["status"] == "ok":
        with pytest.raises(CandidateRejected, match="shape"):
            load_program(reply["program"], shape=BATCH.activation_shape)
    else:
        assert reply["status"] == "bad_output", reply
        assert "must be float32[64, 32] like the input" in reply["message"]
