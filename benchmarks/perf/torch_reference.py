"""Plain PyTorch eager implementations of actgym's training protocol, as yardsticks.

Same standardised data, same initial weights, same minibatch indices, same Adam and
MSE. Two ways a PyTorch user writes it: `train_one`, one model at a time (the
straightforward loop), and `train_family`, every (instance, seed) model of a family at
once in batched matmuls with one Adam (what a careful user writes).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch

from actgym.trainer import FamilyData, TrainerConfig


def train_one(
    activation: Callable, data: FamilyData, config: TrainerConfig, instance: int, seed: int
) -> tuple[float, float]:
    """Train one (instance, seed) model; return (test MSE, seconds)."""
    arrays = {
        key: torch.from_numpy(np.array(value[instance])) for key, value in data.arrays.items()
    }
    layers = _layers(data, instance, seed, config)
    parameters = [tensor for layer in layers for tensor in layer]
    optimizer = torch.optim.Adam(parameters, lr=config.learning_rate)
    indices = torch.from_numpy(np.asarray(data.batch_indices[instance, seed]).astype(np.int64))
    started = time.perf_counter()
    for step in range(config.steps):
        batch = indices[step]
        loss = _mse(layers, activation, arrays["x_train"][batch], arrays["y_train"][batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    elapsed = time.perf_counter() - started
    with torch.no_grad():
        test = _mse(layers, activation, arrays["x_test"], arrays["y_test"]).item()
    return test, elapsed


def train_family(
    activation: Callable, data: FamilyData, config: TrainerConfig
) -> tuple[np.ndarray, float]:
    """Train every (instance, seed) model at once; return (test MSE[instance, seed], seconds).

    Models are stacked on a leading axis: one `baddbmm` per layer, the loss is the sum of
    the models' mean squared errors (so each model gets its own gradient), and one Adam
    steps all of them (Adam is elementwise, so this equals one Adam per model).
    """
    instances, seeds = len(data.instance_names), len(config.seeds)
    arrays = {key: torch.from_numpy(np.array(value)) for key, value in data.arrays.items()}
    layers = _stacked_layers(data, config)
    optimizer = torch.optim.Adam([t for layer in layers for t in layer], lr=config.learning_rate)
    owner = torch.arange(instances).repeat_interleave(seeds)[:, None]
    indices = torch.from_numpy(np.asarray(data.batch_indices).astype(np.int64))
    indices = indices.reshape(instances * seeds, config.steps, config.batch_size)
    started = time.perf_counter()
    for step in range(config.steps):
        batch = indices[:, step]
        x, y = arrays["x_train"][owner, batch], arrays["y_train"][owner, batch]
        loss = _batched_mse(layers, activation, x, y).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    elapsed = time.perf_counter() - started
    with torch.no_grad():
        x, y = arrays["x_test"][owner[:, 0]], arrays["y_test"][owner[:, 0]]
        test = _batched_mse(layers, activation, x, y).numpy().reshape(instances, seeds)
    return test, elapsed


def _layers(
    data: FamilyData, instance: int, seed: int, config: TrainerConfig
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    params = data.initial_params["params"]
    layers = []
    for depth in range(config.depth + 1):
        dense = params[f"Dense_{depth}"]
        kernel = np.asarray(dense["kernel"][instance, seed])
        bias = np.asarray(dense["bias"][instance, seed])
        layers.append(
            (
                torch.tensor(kernel, requires_grad=True),
                torch.tensor(bias, requires_grad=True),
            )
        )
    return layers


def _stacked_layers(
    data: FamilyData, config: TrainerConfig
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Kernels (models, inputs, outputs) and biases (models, 1, outputs)."""
    params = data.initial_params["params"]
    layers = []
    for depth in range(config.depth + 1):
        dense = params[f"Dense_{depth}"]
        kernel = np.asarray(dense["kernel"])
        kernel = kernel.reshape(-1, *kernel.shape[2:])
        bias = np.asarray(dense["bias"]).reshape(kernel.shape[0], 1, -1)
        layers.append(
            (
                torch.tensor(kernel, requires_grad=True),
                torch.tensor(bias, requires_grad=True),
            )
        )
    return layers


def _mse(layers: list, activation: Callable, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    hidden = x
    for kernel, bias in layers[:-1]:
        hidden = activation(hidden @ kernel + bias)
    kernel, bias = layers[-1]
    return torch.mean(((hidden @ kernel + bias)[:, 0] - y) ** 2)


def _batched_mse(
    layers: list, activation: Callable, x: torch.Tensor, y: torch.Tensor
) -> torch.Tensor:
    """Each model's mean squared error, shaped (models,)."""
    hidden = x
    for kernel, bias in layers[:-1]:
        hidden = activation(torch.baddbmm(bias, hidden, kernel))
    kernel, bias = layers[-1]
    return torch.mean((torch.baddbmm(bias, hidden, kernel)[..., 0] - y) ** 2, dim=1)
