"""Graph property task: a GIN classifier tested on scaffolds it never saw in training.

In the spirit of ogbg-molhiv's scaffold split. Each graph is a scaffold (a cycle, path,
star, ladder, grid, wheel, complete bipartite graph or two fused cycles, of some size)
with 1, 3 or 5 groups attached to random scaffold nodes: ring groups (a triangle or a
square) and chain groups (a path of three or a star of four, the same node counts). The
label is 1 when ring groups outnumber chain groups, so it depends on attached structure,
never on the scaffold. Training and the in-distribution test use the training scaffolds;
the shifted test uses only held-out scaffolds: every wheel and complete bipartite graph,
and the largest size of every other kind. Node features are the one-hot degree (like an
atom type). The activation is traced at `(hidden,)` and applied to every node's vector.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from actgym.transfer.fitting import Activation, Arrays, featurewise, fit_and_measure

Edges = list[tuple[int, int]]
MAX_DEGREE = 8
HELD_OUT_KINDS = ("wheel", "bipartite")
SIZES = (4, 5, 6, 7)
GROUPS = ("triangle", "square", "path", "star")
RINGS = frozenset({"triangle", "square"})


@dataclass(frozen=True)
class StructureSettings:
    hidden: int = 32
    layers: int = 3
    steps: int = 400
    batch_size: int = 64
    learning_rate: float = 3e-3
    train_graphs: int = 1200
    test_graphs: int = 400

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.hidden,)

    @classmethod
    def fast(cls) -> StructureSettings:
        """For tests: narrow, few steps and graphs."""
        return cls(hidden=8, steps=30, train_graphs=96, test_graphs=32)


def _cycle(n: int, start: int = 0) -> Edges:
    return [(start + i, start + (i + 1) % n) for i in range(n)]


def scaffold(kind: str, size: int) -> tuple[int, Edges]:
    """Node count and edges of one scaffold: `size` sets its number of nodes or rungs."""
    if kind == "cycle":
        return size + 1, _cycle(size + 1)
    if kind == "path":
        return size, [(i, i + 1) for i in range(size - 1)]
    if kind == "star":
        return size + 1, [(0, i) for i in range(1, size + 1)]
    if kind == "ladder":
        rails = [(i, i + 1) for i in range(size - 1)]
        rails += [(size + a, size + b) for a, b in rails]
        return 2 * size, rails + [(i, size + i) for i in range(size)]
    if kind == "grid":
        cells = [(r, c) for r in range(3) for c in range(size - 2)]
        index = {cell: position for position, cell in enumerate(cells)}
        edges = [(index[(r, c)], index[(r, c + 1)]) for r, c in cells if (r, c + 1) in index]
        edges += [(index[(r, c)], index[(r + 1, c)]) for r, c in cells if (r + 1, c) in index]
        return len(cells), edges
    if kind == "fused":
        # Two rings sharing the edge (0, 1): the second runs 0, size, ..., 2 size - 3, 1.
        inner = [(size + i, size + i + 1) for i in range(size - 3)]
        second = [(0, size), *inner, (2 * size - 3, 1)]
        return 2 * size - 2, [*_cycle(size), *second]
    if kind == "wheel":
        return size + 1, _cycle(size, 1) + [(0, i) for i in range(1, size + 1)]
    if kind == "bipartite":
        return size + 2, [(a, 2 + b) for a in range(2) for b in range(size)]
    raise ValueError(f"unknown scaffold kind {kind!r}")


KINDS = ("cycle", "path", "star", "ladder", "grid", "fused", *HELD_OUT_KINDS)


def scaffold_split() -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """(training scaffolds, held-out scaffolds) as (kind, size) pairs, disjoint."""
    every = [(kind, size) for kind in KINDS for size in SIZES]
    held_out = [(kind, size) for kind, size in every if kind in HELD_OUT_KINDS or size == SIZES[-1]]
    return [item for item in every if item not in held_out], held_out


def _group(kind: str, first: int) -> tuple[int, Edges]:
    """A group's node count and edges; node `first` is the one attached to the scaffold."""
    a, b, c, d = first, first + 1, first + 2, first + 3
    return {
        "triangle": (3, [(a, b), (b, c), (c, a)]),
        "square": (4, [(a, b), (b, c), (c, d), (d, a)]),
        "path": (3, [(a, b), (b, c)]),
        "star": (4, [(a, b), (a, c), (a, d)]),
    }[kind]


def label_of(groups: Sequence[str]) -> int:
    """1 when ring groups outnumber chain groups (odd counts: never a tie)."""
    rings = sum(group in RINGS for group in groups)
    return int(rings > len(groups) - rings)


def decorate(
    kind: str, size: int, groups: Sequence[str], rng: np.random.Generator
) -> tuple[int, Edges]:
    """A scaffold with `groups` attached at random scaffold nodes: node count, edges."""
    scaffold_nodes, edges = scaffold(kind, size)
    nodes, edges = scaffold_nodes, list(edges)
    for group in groups:
        count, group_edges = _group(group, nodes)
        edges += [*group_edges, (int(rng.integers(scaffold_nodes)), nodes)]
        nodes += count
    return nodes, edges


MAX_NODES = max(scaffold(kind, size)[0] for kind in KINDS for size in SIZES) + 5 * 4
"""The largest scaffold with five groups of four nodes: every graph is padded to it."""


def graphs(count: int, scaffolds: Sequence[tuple[str, int]], rng: np.random.Generator) -> Arrays:
    """`count` decorated graphs on scaffolds drawn uniformly from `scaffolds`, padded."""
    adjacency = np.zeros((count, MAX_NODES, MAX_NODES), np.float32)
    features = np.zeros((count, MAX_NODES, MAX_DEGREE + 1), np.float32)
    mask = np.zeros((count, MAX_NODES), np.float32)
    label = np.zeros(count, np.int32)
    scaffold_index = np.zeros(count, np.int32)
    for index in range(count):
        choice = int(rng.integers(len(scaffolds)))
        groups = [str(group) for group in rng.choice(GROUPS, int(rng.choice([1, 3, 5])))]
        nodes, edges = decorate(*scaffolds[choice], groups, rng)
        label[index] = label_of(groups)
        relabel = rng.permutation(nodes)
        for a, b in edges:
            adjacency[index, relabel[a], relabel[b]] = adjacency[index, relabel[b], relabel[a]] = 1
        degree = np.minimum(adjacency[index].sum(axis=1).astype(int), MAX_DEGREE)
        features[index, np.arange(MAX_NODES), degree] = 1.0
        mask[index, :nodes] = 1.0
        features[index, nodes:] = 0.0
        scaffold_index[index] = choice
    return {
        "adjacency": adjacency,
        "features": features,
        "mask": mask,
        "label": label,
        "scaffold": scaffold_index,
    }


def make_data(settings: StructureSettings, data_seed: int) -> dict[str, Arrays]:
    """Splits `train` and `id` (training scaffolds) and `shifted` (held-out scaffolds).

    Each split's `scaffold` indexes its own scaffold list: `scaffold_split()` gives both.
    """
    rng = np.random.default_rng(data_seed)
    seen, held_out = scaffold_split()
    return {
        "train": graphs(settings.train_graphs, seen, rng),
        "id": graphs(settings.test_graphs, seen, rng),
        "shifted": graphs(settings.test_graphs, held_out, rng),
    }


class GIN(nn.Module):
    """Graph isomorphism network: sum aggregation, two-layer update, mean readout."""

    hidden: int
    layers: int
    activation: Activation

    @nn.compact
    def __call__(self, batch: Arrays) -> jax.Array:
        act = featurewise(self.activation)
        mask = batch["mask"][..., None]
        h = nn.Dense(self.hidden)(batch["features"])
        for _ in range(self.layers):
            h = h + jnp.einsum("bij,bjh->bih", batch["adjacency"], h)
            h = act(nn.Dense(self.hidden)(act(nn.Dense(self.hidden)(h)))) * mask
        pooled = jnp.sum(h, axis=1) / jnp.sum(mask, axis=1)
        return nn.Dense(1)(act(nn.Dense(self.hidden)(pooled)))[..., 0]


def accuracies(
    activation: Activation,
    data: dict[str, Arrays],
    settings: StructureSettings,
    seeds: Sequence[int],
) -> dict[str, np.ndarray]:
    """Graph accuracy per seed on `id` and `shifted`."""
    model = GIN(settings.hidden, settings.layers, activation)

    def loss(params: dict, batch: Arrays) -> jax.Array:
        logits = model.apply(params, batch)
        return optax.sigmoid_binary_cross_entropy(logits, batch["label"]).mean()

    def accuracy(params: dict, split: Arrays) -> jax.Array:
        return jnp.mean((model.apply(params, split) > 0) == (split["label"] > 0))

    inputs = {
        name: {key: value for key, value in split.items() if key != "scaffold"}
        for name, split in data.items()
    }
    return fit_and_measure(
        lambda key, batch: model.init(key, batch), loss, accuracy, inputs, settings, seeds
    )
