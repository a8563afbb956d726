"""The trainer: determinism, shapes, padding, and that training actually learns."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import pytest

from actgym.tasks import make_family
from actgym.trainer import TrainerConfig, prepare, train, train_many

CONFIG = TrainerConfig.fast()


def relu(x: jnp.ndarray) -> jnp.ndarray:
    return jnp.maximum(x, 0.0)


@pytest.fixture(scope="module")
def harmonics():
    return prepare(make_family("Harmonics", num_instances=2), CONFIG)


def test_same_inputs_give_bit_identical_losses(harmonics) -> None:
    first = train(relu, harmonics, CONFIG)
    second = train(relu, prepare(make_family("Harmonics", num_instances=2), CONFIG), CONFIG)
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(first, split), getattr(second, split))


def test_losses_do_not_depend_on_threads_or_on_the_batch(harmonics) -> None:
    def wavy(x: jnp.ndarray) -> jnp.ndarray:
        return relu(x) + 0.3 * jnp.sin(2.0 * x)

    together = train_many([relu, wavy], harmonics, CONFIG, threads=1)
    alone = train_many([wavy], harmonics, CONFIG, threads=3)
    for split in ("train", "validation", "test"):
        np.testing.assert_array_equal(getattr(together[1], split), getattr(alone[0], split))
    assert not np.array_equal(together[0].test, together[1].test)


def test_losses_are_per_instance_and_seed_and_training_learns(harmonics) -> None:
    losses = train(relu, harmonics, CONFIG)
    assert losses.test.shape == (2, len(CONFIG.seeds))
    one_step = TrainerConfig(**{**CONFIG.__dict__, "steps": 1})
    untrained = train(relu, prepare(make_family("Harmonics", num_instances=2), one_step), one_step)
    assert losses.train.mean() < 0.5 * untrained.train.mean()
    assert losses.compile_s > 0 and losses.run_s > 0


def test_seeds_differ(harmonics) -> None:
    losses = train(relu, harmonics, CONFIG)
    assert not np.array_equal(losses.test[:, 0], losses.test[:, 1])


def test_mixed_input_sizes_are_padded_with_zero_weights() -> None:
    family = make_family("Feynman", num_instances=4)
    dims = [instance.input_dim for instance in family.instances]
    assert len(set(dims)) > 1
    data = prepare(family, CONFIG)
    kernel = np.asarray(data.initial_params["params"]["Dense_0"]["kernel"])
    for index, dim in enumerate(dims):
        assert np.all(kernel[index, :, dim:, :] == 0.0)
        assert np.all(kernel[index, :, :dim, :] != 0.0)
    losses = train(relu, data, CONFIG)
    assert np.isfinite(losses.test).all()


def test_data_prepared_for_another_config_is_refused(harmonics) -> None:
    with pytest.raises(ValueError, match="another TrainerConfig"):
        train(relu, harmonics, TrainerConfig(**{**CONFIG.__dict__, "steps": 7}))


@pytest.mark.parametrize(
    "bad", [{"width": 0}, {"steps": -1}, {"seeds": ()}, {"seeds": (1, 1)}, {"learning_rate": 0}]
)
def test_config_validation(bad: dict) -> None:
    with pytest.raises(ValueError):
        TrainerConfig(**bad)
