"""A plain PyTorch eager implementation of actgym's training protocol, as the yardstick.

Same standardised data, same initial weights, same minibatch indices, same Adam and
MSE; one model at a time, the way a straightforward eager loop is written.
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


def _mse(layers: list, activation: Callable, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    hidden = x
    for kernel, bias in layers[:-1]:
        hidden = activation(hidden @ kernel + bias)
    kernel, bias = layers[-1]
    return torch.mean(((hidden @ kernel + bias)[:, 0] - y) ** 2)
