"""Closed-form null models, and what they say about each family's design."""

from __future__ import annotations

import numpy as np
import pytest

from actgym.tasks import Split, TaskInstance, make_family
from actgym.tasks.base import ONE_D_TRAIN_RADIUS
from actgym.tasks.null_models import family_null_losses, instance_null_losses


def _linear_instance() -> TaskInstance:
    rng = np.random.default_rng(0)

    def split(n: int, low: float, high: float) -> Split:
        x = rng.uniform(low, high, size=(n, 2)).astype(np.float32)
        return Split(x=x, y=(2.0 * x[:, 0] - x[:, 1] + 1.0).astype(np.float32))

    return TaskInstance(
        name="linear",
        formula="y = 2*x0 - x1 + 1",
        input_dim=2,
        train=split(256, -1.0, 1.0),
        validation=split(128, -1.0, 1.0),
        test=split(128, 1.0, 2.0),
    )


def test_the_mean_model_scores_one_on_training_data_and_the_linear_model_fits_lines() -> None:
    losses = instance_null_losses(_linear_instance())
    assert losses["mean"].train == pytest.approx(1.0)
    assert losses["mean"].test > 1.0
    for split in ("train", "validation", "test"):
        assert getattr(losses["linear"], split) < 1e-10


def test_harmonics_shows_at_least_two_periods_and_no_line_fits_it() -> None:
    family = make_family("Harmonics", seed=0)
    for instance in family.instances:
        slowest = min(value for name, value in instance.params if name.startswith("f"))
        period = 2.0 / slowest
        assert 2.0 * period <= 2.0 * ONE_D_TRAIN_RADIUS
    linear = family_null_losses(family)["linear"]
    assert min(losses.validation for losses in linear) > 0.8


def test_poly20d_is_clearly_non_linear_in_its_training_box() -> None:
    linear = family_null_losses(make_family("Poly20D", seed=0, num_instances=16))["linear"]
    assert np.median([losses.validation for losses in linear]) > 0.3
