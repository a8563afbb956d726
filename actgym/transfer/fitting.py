"""What every downstream task shares: the activation applied per feature vector, the fit loop.

A candidate is traced for one input shape, `(features,)`; a task's layers produce
`(..., features)` tensors (batch, height, width or batch, nodes), so the activation is
vmapped over every leading axis. Training is one jitted `lax.scan` over Adam steps per
seed, the seeds run one after another by `lax.map` (one compilation, bounded memory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import jax
import jax.numpy as jnp
import numpy as np
import optax

Activation = Callable[[jax.Array], jax.Array]
Arrays = Mapping[str, np.ndarray]
Params = dict


def featurewise(activation: Activation) -> Activation:
    """Apply an activation traced at `(features,)` to each vector along the last axis."""

    def apply(x: jax.Array) -> jax.Array:
        flat = x.reshape(-1, x.shape[-1])
        return jax.vmap(activation)(flat).reshape(x.shape)

    return apply


CLIP_NORM = 1.0
"""Adam's gradients are clipped to this global norm: one unstable activation must not blow
up a whole run."""


class TrainingSettings(Protocol):
    """What every task's settings fix about training: Adam steps on minibatches."""

    @property
    def steps(self) -> int: ...

    @property
    def batch_size(self) -> int: ...

    @property
    def learning_rate(self) -> float: ...


def batch_indices(seed: int, examples: int, steps: int, batch_size: int) -> np.ndarray:
    """Minibatch indices per step, drawn from the seed alone (shared by every activation)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, examples, size=(steps, batch_size), dtype=np.int32)


def fit_and_measure(
    init: Callable[[jax.Array, Arrays], Params],
    loss: Callable[[Params, Arrays], jax.Array],
    accuracy: Callable[[Params, Arrays], jax.Array],
    data: Mapping[str, Arrays],
    settings: TrainingSettings,
    seeds: Sequence[int],
) -> dict[str, np.ndarray]:
    """Train on split `train` once per seed (init and batch order from the seed); accuracy
    on the test splits `id` and `shifted`, which every task has.

    Returns split name -> accuracies shaped (seeds,).
    """
    train = data["train"]
    tests = {"id": data["id"], "shifted": data["shifted"]}
    examples = len(next(iter(train.values())))
    indices = np.stack(
        [batch_indices(seed, examples, settings.steps, settings.batch_size) for seed in seeds]
    )
    optimizer = optax.chain(
        optax.clip_by_global_norm(CLIP_NORM), optax.adam(settings.learning_rate)
    )
    names = list(tests)

    def one_seed(seed: jax.Array, steps: jax.Array, train: Arrays, tests: Mapping) -> jax.Array:
        first = {key: value[steps[0]] for key, value in train.items()}
        params = init(jax.random.PRNGKey(seed), first)

        def step(carry: tuple, batch: jax.Array) -> tuple:
            params, state = carry
            grads = jax.grad(loss)(params, {key: value[batch] for key, value in train.items()})
            updates, state = optimizer.update(grads, state, params)
            return (optax.apply_updates(params, updates), state), None

        (params, _), _ = jax.lax.scan(step, (params, optimizer.init(params)), steps)
        return jnp.stack([accuracy(params, tests[name]) for name in names])

    @jax.jit
    def run(seeds: jax.Array, indices: jax.Array, train: Arrays, tests: Mapping) -> jax.Array:
        return jax.lax.map(lambda item: one_seed(item[0], item[1], train, tests), (seeds, indices))

    result = np.asarray(
        run(jnp.asarray(seeds, dtype=jnp.uint32), jnp.asarray(indices), dict(train), dict(tests))
    )
    return {name: result[:, position] for position, name in enumerate(names)}
