"""The jitted trainer: small MLPs, several task instances and seeds in one compiled call.

Everything that does not depend on the activation (standardised data, initial
parameters, minibatch indices) is prepared once per task family on the host, outside
the compiled function, and reused for every candidate. What is left to compile per
candidate is one `lax.scan` over Adam steps, `vmap`-ed over instances and called once per
seed.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from actgym.tasks import Split, TaskFamily
from actgym.vector_math import with_vector_trig

Activation = Callable[[jax.Array], jax.Array]


EXAMPLE_SCOPE = "example"
BATCH_SCOPE = "batch"
SCOPES = (EXAMPLE_SCOPE, BATCH_SCOPE)


@dataclass(frozen=True)
class TrainerConfig:
    """Defaults: MLP d-64-64-1, Adam 3e-3, 1000 steps of batch 128, 2 seeds, example scope.

    Two training seeds per instance: across task seeds, rankings replicate better with
    more instances than with more seeds for the same compute (benchmarks/validity).

    `scope` says what one call of the activation sees: `example`, one example's hidden
    vector `(width,)`; `batch`, the minibatch's `(batch_size, width)` hidden tensor, as in
    the paper's code, so batch statistics can enter the function. In batch scope the
    validation and test sets are also fed in consecutive chunks of `batch_size` examples,
    in their fixed order (a remainder smaller than a batch is left out), so an OOD score
    uses the OOD batch's own statistics and is still deterministic.
    """

    depth: int = 2
    width: int = 64
    steps: int = 1000
    batch_size: int = 128
    learning_rate: float = 3e-3
    seeds: tuple[int, ...] = (0, 1)
    scope: str = EXAMPLE_SCOPE

    def __post_init__(self) -> None:
        for name in ("depth", "width", "steps", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"TrainerConfig.{name} must be a positive int")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ValueError("TrainerConfig.seeds must be distinct and non-empty")
        if not self.learning_rate > 0:
            raise ValueError("TrainerConfig.learning_rate must be positive")
        if self.scope not in SCOPES:
            raise ValueError(f"TrainerConfig.scope must be one of {', '.join(SCOPES)}")

    @property
    def activation_shape(self) -> tuple[int, ...]:
        """The input shape one call of the activation sees (candidates are traced at it)."""
        if self.scope == BATCH_SCOPE:
            return (self.batch_size, self.width)
        return (self.width,)

    @classmethod
    def fast(cls) -> TrainerConfig:
        """For tests and smoke runs: about a tenth of the compute, same protocol.

        The larger learning rate makes up for the fewer steps: ReLU networks must still fit
        every family (on Harmonics they need it), or the learning requirement of the reward
        could not tell a network that learned nothing from ReLU.
        """
        return cls(width=32, steps=600, batch_size=64, learning_rate=1e-2, seeds=(0, 1))

    @classmethod
    def preset(cls, *, fast: bool = False, **overrides: Any) -> TrainerConfig:
        """The default or the fast settings, with the given fields replaced (None: kept)."""
        changes = {key: value for key, value in overrides.items() if value is not None}
        if "seeds" in changes:
            changes["seeds"] = tuple(int(seed) for seed in changes["seeds"])
        return dataclasses.replace(cls.fast() if fast else cls(), **changes)


class MLP(nn.Module):
    """Dense layers; the activation sees one example's hidden vector, or the whole batch's."""

    width: int
    depth: int
    activation: Activation
    activation_scope: str = EXAMPLE_SCOPE  # flax modules own a `scope` attribute

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for _ in range(self.depth):
            x = nn.Dense(self.width)(x)
            x = (
                self.activation(x)
                if self.activation_scope == BATCH_SCOPE
                else jax.vmap(self.activation)(x)
            )
        return nn.Dense(1)(x)[..., 0]


@dataclass(frozen=True, eq=False)
class FamilyData:
    """One family's instances, standardised, padded to a common input size, and stacked."""

    family: str
    instance_names: tuple[str, ...]
    arrays: dict[str, jax.Array]
    initial_params: dict = field(repr=False)
    batch_indices: jax.Array = field(repr=False)

    @functools.cached_property
    def seed_shards(self) -> list[tuple[dict, jax.Array, dict[str, jax.Array]]]:
        """One (params, batch indices, arrays) per seed: every instance's models of that seed.

        Sliced once per family, not once per batch of candidates.
        """
        return [
            (
                jax.tree.map(lambda leaf, seed=seed: leaf[:, seed], self.initial_params),
                self.batch_indices[:, seed],
                self.arrays,
            )
            for seed in range(self.batch_indices.shape[1])
        ]


@dataclass(frozen=True)
class Losses:
    """Mean squared errors in standardised target units, shaped (instances, seeds)."""

    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    compile_s: float
    run_s: float

    def to_json(self) -> dict[str, Any]:
        """Plain lists and floats, for caches and the training process's replies."""
        return {
            "train": self.train.tolist(),
            "validation": self.validation.tolist(),
            "test": self.test.tolist(),
            "compile_s": self.compile_s,
            "run_s": self.run_s,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Losses:
        return cls(
            train=np.asarray(data["train"], dtype=np.float32),
            validation=np.asarray(data["validation"], dtype=np.float32),
            test=np.asarray(data["test"], dtype=np.float32),
            compile_s=float(data["compile_s"]),
            run_s=float(data["run_s"]),
        )


def prepare(family: TaskFamily, config: TrainerConfig) -> FamilyData:
    input_size = max(instance.input_dim for instance in family.instances)
    splits: dict[str, list[np.ndarray]] = {}
    for instance in family.instances:
        x_mean = instance.train.x.mean(axis=0)
        x_std = np.maximum(instance.train.x.std(axis=0), 1e-6)
        y_mean, y_std = instance.train.y.mean(), max(float(instance.train.y.std()), 1e-6)
        for name, split in (
            ("train", instance.train),
            ("validation", instance.validation),
            ("test", instance.test),
        ):
            x, y = _standardise(split, x_mean, x_std, y_mean, y_std, input_size)
            splits.setdefault(f"x_{name}", []).append(x)
            splits.setdefault(f"y_{name}", []).append(y)
    arrays = {key: jnp.asarray(np.stack(values)) for key, values in splits.items()}
    input_dims = [instance.input_dim for instance in family.instances]
    return FamilyData(
        family=family.name,
        instance_names=tuple(instance.name for instance in family.instances),
        arrays=arrays,
        initial_params=_initial_params(config, input_dims, input_size),
        batch_indices=jnp.asarray(_batch_indices(config, family, len(input_dims))),
    )


def _standardise(
    split: Split,
    x_mean: np.ndarray,
    x_std: np.ndarray,
    y_mean: float,
    y_std: float,
    input_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros((split.x.shape[0], input_size), np.float32)
    x[:, : split.x.shape[1]] = (split.x - x_mean) / x_std
    return x, ((split.y - y_mean) / y_std).astype(np.float32)


def _initial_params(config: TrainerConfig, input_dims: list[int], input_size: int) -> dict:
    """Per (instance, seed) parameters; padded inputs get zero weights and the true fan-in."""
    model = MLP(config.width, config.depth, activation=lambda h: h)
    keys = jnp.stack(
        [
            jnp.stack([jax.random.fold_in(jax.random.key(seed), index) for seed in config.seeds])
            for index in range(len(input_dims))
        ]
    )
    dummy = jnp.zeros((1, input_size), jnp.float32)
    params = jax.jit(jax.vmap(jax.vmap(lambda key: model.init(key, dummy))))(keys)
    kernel = params["params"]["Dense_0"]["kernel"]
    dims = jnp.asarray(input_dims)[:, None, None, None]
    mask = jnp.arange(input_size)[None, None, :, None] < dims
    params["params"]["Dense_0"]["kernel"] = jnp.where(
        mask, kernel * jnp.sqrt(input_size / dims), 0.0
    )
    return params


def _batch_indices(config: TrainerConfig, family: TaskFamily, num_instances: int) -> np.ndarray:
    n_train = family.instances[0].train.x.shape[0]
    return np.stack(
        [
            np.stack(
                [
                    np.random.default_rng([seed, index, 0x5EED]).integers(
                        0, n_train, (config.steps, config.batch_size), dtype=np.int32
                    )
                    for seed in config.seeds
                ]
            )
            for index in range(num_instances)
        ]
    )


def train(activation: Activation, data: FamilyData, config: TrainerConfig) -> Losses:
    """Train every (instance, seed) model with `activation`; return final losses."""
    return train_many([activation], data, config)[0]


def train_many(
    activations: Sequence[Activation],
    data: FamilyData,
    config: TrainerConfig,
    *,
    on_compiled: Callable[[], None] | None = None,
    threads: int | None = None,
) -> list[Losses]:
    """Train several candidates, each seed of each candidate on its own thread.

    One compiled program per candidate trains one seed's models (every instance); it is
    called once per seed. XLA's CPU backend runs a batched matmul of small matrices on one
    core, so (candidate, seed) calls on `threads` threads (default: the cores this process
    may use) fill the machine. Every call is the same program on the same inputs whatever
    runs beside it, so losses do not depend on batching or threads. Compile and run time
    are split evenly. `on_compiled` is called between compiling and running (a supervisor
    times them apart).
    """
    expected = (len(data.instance_names), len(config.seeds), config.steps, config.batch_size)
    if tuple(data.batch_indices.shape) != expected:
        raise ValueError("FamilyData was prepared for another TrainerConfig: prepare() again")
    shards = data.seed_shards
    workers = threads or usable_cores()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        started = time.perf_counter()
        programs = list(
            pool.map(
                lambda activation: (
                    jax.jit(_fit_seed(activation, config)).lower(*shards[0]).compile()
                ),
                activations,
            )
        )
        compiled_at = time.perf_counter()
        if on_compiled is not None:
            on_compiled()
        outputs = list(
            pool.map(
                lambda job: np.asarray(jax.block_until_ready(job[0](*job[1]))),
                [(program, shard) for program in programs for shard in shards],
            )
        )
        finished = time.perf_counter()
    share = 1.0 / len(activations)
    per_candidate = len(shards)
    losses = [
        np.stack(outputs[index * per_candidate : (index + 1) * per_candidate], axis=1)
        for index in range(len(activations))
    ]
    return [
        Losses(
            train=loss[..., 0],
            validation=loss[..., 1],
            test=loss[..., 2],
            compile_s=(compiled_at - started) * share,
            run_s=(finished - compiled_at) * share,
        )
        for loss in losses
    ]


def usable_cores() -> int:
    """The cores this process may run on (its affinity, where the OS tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _fit_seed(activation: Activation, config: TrainerConfig) -> Callable[..., jax.Array]:
    """(params, batch indices, arrays) -> losses[instance, split] for one activation, one seed.

    The activation's sin and cos are the vectorised ones (actgym.vector_math): XLA's CPU
    versions cost as much as the rest of a training step.
    """
    model = MLP(
        config.width,
        config.depth,
        activation=with_vector_trig(activation),
        activation_scope=config.scope,
    )
    optimizer = optax.adam(config.learning_rate)

    def mse(params: dict, x: jax.Array, y: jax.Array) -> jax.Array:
        return jnp.mean((model.apply(params, x) - y) ** 2)

    def split_losses(params: dict, arrays: dict[str, jax.Array]) -> jax.Array:
        """Every split's MSE from one forward pass over the splits joined.

        One pass, not one per split: each pass compiles the activation again.
        """
        if config.scope == EXAMPLE_SCOPE:
            inputs = [arrays[f"x_{name}"] for name in _SPLITS]
            forward = functools.partial(model.apply, params)
        else:
            inputs = [_chunked(arrays[f"x_{name}"], config.batch_size) for name in _SPLITS]
            forward = jax.vmap(functools.partial(model.apply, params))
        predictions = forward(jnp.concatenate(inputs))
        ends = np.cumsum([x.shape[0] for x in inputs])[:-1]
        losses = []
        for name, part in zip(_SPLITS, jnp.split(predictions, ends), strict=True):
            part = part.reshape(-1)
            losses.append(jnp.mean((part - arrays[f"y_{name}"][: part.shape[0]]) ** 2))
        return jnp.stack(losses)

    def fit_one(params: dict, indices: jax.Array, arrays: dict[str, jax.Array]) -> jax.Array:
        flat, unravel = ravel_pytree(params)

        def flat_mse(flat: jax.Array, x: jax.Array, y: jax.Array) -> jax.Array:
            return mse(unravel(flat), x, y)

        def step(carry: tuple, batch: jax.Array) -> tuple:
            flat, state = carry
            grads = jax.grad(flat_mse)(flat, arrays["x_train"][batch], arrays["y_train"][batch])
            updates, state = optimizer.update(grads, state, flat)
            return (optax.apply_updates(flat, updates), state), None

        (flat, _), _ = jax.lax.scan(step, (flat, optimizer.init(flat)), indices)
        return split_losses(unravel(flat), arrays)

    return jax.vmap(fit_one, in_axes=(0, 0, 0))


_SPLITS = ("train", "validation", "test")


def _chunked(x: jax.Array, batch_size: int) -> jax.Array:
    """Consecutive batches of `batch_size` rows; a smaller remainder is left out."""
    chunks = x.shape[0] // batch_size
    return x[: chunks * batch_size].reshape(chunks, batch_size, x.shape[-1])
