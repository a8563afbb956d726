"""Vision task: a small CNN on scikit-learn's 8x8 digits, tested in and out of distribution.

Stands in for the paper's CIFAR-10 / ImageNet runs at a size that trains in seconds on a
CPU. The images ship inside scikit-learn (no download). Training and the in-distribution
test see digits rotated by at most `train_rotation` degrees at their own scale; the
shifted test shows held-out digits rotated further and shrunk, a geometry the network
never trained on. The activation is traced at `(channels,)` and applied to every pixel's
channel vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy import ndimage
from sklearn.datasets import load_digits

from actgym.transfer.fitting import Activation, Arrays, featurewise, fit_and_measure

CLASSES = 10
SIDE = 8


@dataclass(frozen=True)
class VisionSettings:
    channels: int = 16
    steps: int = 600
    batch_size: int = 64
    learning_rate: float = 3e-3
    test_images: int = 597
    train_rotation: float = 15.0
    shifted_rotation: tuple[float, float] = (25.0, 35.0)
    shifted_scale: tuple[float, float] = (0.8, 0.9)

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.channels,)

    @classmethod
    def fast(cls) -> VisionSettings:
        """For tests: a narrower network, few steps."""
        return cls(channels=8, steps=40, test_images=200)


def transform(images: np.ndarray, angles: np.ndarray, scales: np.ndarray) -> np.ndarray:
    """Rotate (degrees) and scale each image about its centre; outside pixels are blank."""
    centre = np.array([(SIDE - 1) / 2, (SIDE - 1) / 2])
    out = np.empty_like(images)
    for index, (image, angle, scale) in enumerate(zip(images, angles, scales, strict=True)):
        theta = np.deg2rad(angle)
        rotation = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
        matrix = rotation / scale  # output pixel -> input pixel
        offset = centre - matrix @ centre
        out[index] = ndimage.affine_transform(image, matrix, offset, order=1, cval=0.0)
    return out


def make_data(settings: VisionSettings, data_seed: int) -> dict[str, Arrays]:
    """Splits `train`, `id` and `shifted`: images (n, 8, 8, 1) in [0, 1], labels (n,)."""
    digits = load_digits()
    images = digits.images.astype(np.float32) / 16.0
    labels = digits.target.astype(np.int32)
    rng = np.random.default_rng(data_seed)
    order = rng.permutation(len(images))
    test, train = order[: settings.test_images], order[settings.test_images :]

    def in_range(count: int) -> tuple[np.ndarray, np.ndarray]:
        angles = rng.uniform(-settings.train_rotation, settings.train_rotation, count)
        return angles, np.ones(count)

    def shifted(count: int) -> tuple[np.ndarray, np.ndarray]:
        low, high = settings.shifted_rotation
        angles = rng.uniform(low, high, count) * rng.choice([-1.0, 1.0], count)
        return angles, rng.uniform(*settings.shifted_scale, count)

    splits = {"train": (train, in_range), "id": (test, in_range), "shifted": (test, shifted)}
    data = {}
    for name, (chosen, draw) in splits.items():
        moved = transform(images[chosen], *draw(len(chosen)))
        data[name] = {"x": moved[..., None].astype(np.float32), "y": labels[chosen]}
    return data


def patches(x: jax.Array) -> jax.Array:
    """Each pixel's 3x3 neighbourhood (zero-padded), stacked on the channel axis.

    A 3x3 "same" convolution is then one matrix product: XLA's CPU convolutions in a
    training loop are several times slower than that at these sizes.
    """
    padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    height, width = x.shape[1:3]
    views = [padded[:, i : i + height, j : j + width] for i in range(3) for j in range(3)]
    return jnp.concatenate(views, axis=-1)


class SmallCNN(nn.Module):
    """Three 3x3 convolutions (one 2x2 average pool) and a linear classifier."""

    channels: int
    activation: Activation

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = featurewise(self.activation)
        x = act(nn.Dense(self.channels)(patches(x)))
        x = act(nn.Dense(self.channels)(patches(x)))
        x = nn.avg_pool(x, (2, 2), strides=(2, 2))
        x = act(nn.Dense(self.channels)(patches(x)))
        return nn.Dense(CLASSES)(x.reshape(x.shape[0], -1))


def accuracies(
    activation: Activation,
    data: dict[str, Arrays],
    settings: VisionSettings,
    seeds: Sequence[int],
) -> dict[str, np.ndarray]:
    """Test accuracy per seed on `id` and `shifted`."""
    model = SmallCNN(settings.channels, activation)

    def loss(params: dict, batch: Arrays) -> jax.Array:
        logits = model.apply(params, batch["x"])
        return optax.softmax_cross_entropy_with_integer_labels(logits, batch["y"]).mean()

    def accuracy(params: dict, split: Arrays) -> jax.Array:
        return jnp.mean(jnp.argmax(model.apply(params, split["x"]), axis=-1) == split["y"])

    return fit_and_measure(
        lambda key, batch: model.init(key, batch["x"]), loss, accuracy, data, settings, seeds
    )
