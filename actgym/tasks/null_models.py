"""Closed-form null models: what a task's losses look like when nothing nonlinear is learned.

They are the yardsticks that make a score readable. The *mean model* predicts the training
targets' mean everywhere (a network that learned nothing); the *linear model* is the
least-squares affine fit to the training split (what a linear network can reach). Losses are
mean squared errors in the trainer's standardised target units (targets divided by the
training split's standard deviation), so they sit on the same scale as every candidate's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from actgym.tasks.base import Split, TaskFamily, TaskInstance

NULL_MODELS = ("mean", "linear")


@dataclass(frozen=True)
class NullLosses:
    """One null model's losses on one instance, per split, in standardised target units."""

    train: float
    validation: float
    test: float


def _standardised_mse(prediction: np.ndarray, split: Split, scale: float) -> float:
    return float(np.mean(((prediction - split.y.astype(np.float64)) / scale) ** 2))


def _design(x: np.ndarray) -> np.ndarray:
    return np.column_stack([x.astype(np.float64), np.ones(x.shape[0])])


def instance_null_losses(instance: TaskInstance) -> dict[str, NullLosses]:
    """Losses of the mean and linear models on every split of one instance."""
    train_y = instance.train.y.astype(np.float64)
    scale = max(float(train_y.std()), 1e-6)
    weights, *_ = np.linalg.lstsq(_design(instance.train.x), train_y, rcond=None)
    splits = {"train": instance.train, "validation": instance.validation, "test": instance.test}
    mean = {name: np.full(split.y.shape, train_y.mean()) for name, split in splits.items()}
    linear = {name: _design(split.x) @ weights for name, split in splits.items()}
    return {
        model: NullLosses(
            **{
                name: _standardised_mse(predicted[name], split, scale)
                for name, split in splits.items()
            }
        )
        for model, predicted in (("mean", mean), ("linear", linear))
    }


def family_null_losses(family: TaskFamily) -> dict[str, list[NullLosses]]:
    """Per null model, its losses on every instance of the family, in instance order."""
    per_instance = [instance_null_losses(instance) for instance in family.instances]
    return {model: [losses[model] for losses in per_instance] for model in NULL_MODELS}
