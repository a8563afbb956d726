"""What every probe shares: the activation applied per feature vector, and the fit loop.

A candidate is traced for one input shape, `(features,)`; a probe's layers produce
`(..., features)` tensors (batch, height, width or batch, nodes), so the activation is
vmapped over every leading axis. Training is one jitted `lax.scan` over Adam steps per
seed, the seeds run one after another by `lax.map` (one compilation, bounded memory).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Optimisation:
    """Adam with gradient clipping: one unstable activation must not blow up a whole run."""

    steps: int
    batch_size: int
    learning_rate: float
    clip_norm: float = 1.0


def batch_indices(seed: int, examples: int, steps: int, batch_size: int) -> np.ndarray:
    """Minibatch indices per step, drawn from the seed alone (shared by every activation)."""
    rng = np.random.default_rng(seed)
    return rng.integers(0, examples, size=(steps, batch_size), dtype=np.int32)


def fit_and_measure(
    init: Callable[[jax.Array, Arrays], Params],
    loss: Callable[[Params, Arrays], jax.Array],
    accuracy: Callable[[Params, Arrays], jax.Array],
    train: Arrays,
    tests: Mapping[str, Arrays],
    optimisation: Optimisation,
    seeds: Sequence[int],
) -> dict[str, np.ndarray]:
    """Train once per seed (init and batch order from the seed); accuracy per test split.

    Returns split name -> accuracies shaped (seeds,).
    """
    examples = len(next(iter(train.values())))
    indices = np.stack(
        [
            batch_indices(seed, examples, optimisation.steps, optimisation.batch_size)
            for seed in seeds
        ]
    )
    optimizer = optax.chain(
        optax.clip_by_global_norm(optimisation.clip_norm), optax.adam(optimisation.learning_rate)
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
