"""Algorithmic task: reachability by message passing, tested on much larger graphs.

In the spirit of CLRS-30's size generalisation (train on small instances, test on ones
several times larger). Each graph is two disjoint parts, each a random "chain-like" tree
(node i joins one of the 3 nodes before it, so distances grow with size) plus a few
extra edges; labels are 1 for the nodes reachable from a random source node (its own
part), so about half the nodes are reachable at any size. A recurrent message-passing
network (one shared step, CLRS's encode-process-decode) runs as many steps as the
split's largest graph has nodes, so the test needs longer propagation than training ever
did. Messages are summed over neighbours (with max aggregation reachability is an exact
OR and every activation scores 100%): the network must keep its states bounded over
three to four times more steps than it was trained with, which is where activations
differ. The activation is traced at `(hidden,)` and applied to every
node's hidden vector (its state and its message).
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


@dataclass(frozen=True)
class AlgorithmicSettings:
    hidden: int = 32
    steps: int = 300
    batch_size: int = 32
    learning_rate: float = 3e-3
    train_graphs: int = 1000
    test_graphs: int = 200
    train_nodes: tuple[int, int] = (6, 12)
    test_nodes: tuple[int, int] = (36, 48)
    extra_edges: float = 0.1

    @property
    def shape(self) -> tuple[int, ...]:
        return (self.hidden,)

    @classmethod
    def fast(cls) -> AlgorithmicSettings:
        """For tests: narrow, few steps and graphs, test graphs three times larger."""
        return cls(hidden=8, steps=30, train_graphs=64, test_graphs=16, test_nodes=(18, 24))


def _part(size: int, rng: np.random.Generator, extra: float) -> list[tuple[int, int]]:
    """A chain-like random tree on `size` nodes plus about `extra * size` random edges."""
    edges = [(int(rng.integers(max(0, node - 3), node)), node) for node in range(1, size)]
    for _ in range(int(rng.binomial(size, extra)) if size > 1 else 0):
        a, b = rng.choice(size, 2, replace=False)
        edges.append((int(a), int(b)))
    return edges


def hops(edges: list[tuple[int, int]], nodes: int, start: int) -> np.ndarray:
    """Breadth-first search: each node's number of edges from `start`."""
    neighbours: list[list[int]] = [[] for _ in range(nodes)]
    for a, b in edges:
        neighbours[a].append(b)
        neighbours[b].append(a)
    distance = np.full(nodes, -1)
    distance[start] = 0
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for other in neighbours[node]:
                if distance[other] < 0:
                    distance[other] = distance[node] + 1
                    following.append(other)
        frontier = following
    return distance


def graphs(count: int, nodes: tuple[int, int], extra: float, rng: np.random.Generator) -> Arrays:
    """`count` connected graphs padded to `nodes[1]`: adjacency, source, mask, hop labels."""
    size = nodes[1]
    adjacency = np.zeros((count, size, size), np.float32)
    source = np.zeros((count, size, 1), np.float32)
    mask = np.zeros((count, size), np.float32)
    label = np.zeros((count, size), np.float32)
    for index in range(count):
        n = int(rng.integers(nodes[0], nodes[1] + 1))
        first = int(rng.integers(n // 4, n - n // 4 + 1))
        parts = _part(first, rng, extra) + [
            (a + first, b + first) for a, b in _part(n - first, rng, extra)
        ]
        relabel = rng.permutation(n)  # node ids carry no hint of the parts
        edges = [(int(relabel[a]), int(relabel[b])) for a, b in parts]
        for a, b in edges:
            adjacency[index, a, b] = adjacency[index, b, a] = 1.0
        start = int(rng.integers(n))
        source[index, start, 0] = 1.0
        mask[index, :n] = 1.0
        label[index, :n] = hops(edges, n, start) >= 0
    return {"adjacency": adjacency, "source": source, "mask": mask, "label": label}


def make_data(settings: AlgorithmicSettings, data_seed: int) -> dict[str, Arrays]:
    """Splits `train`, `id` (training sizes) and `shifted` (the larger test sizes)."""
    rng = np.random.default_rng(data_seed)
    extra = settings.extra_edges
    return {
        "train": graphs(settings.train_graphs, settings.train_nodes, extra, rng),
        "id": graphs(settings.test_graphs, settings.train_nodes, extra, rng),
        "shifted": graphs(settings.test_graphs, settings.test_nodes, extra, rng),
    }


class Step(nn.Module):
    """One message-passing step: each node's message, summed over its neighbours.

    Messages depend on the sender only (as in GIN), so the activation runs per node, not
    per node pair: a (receiver, sender) message costs the number of nodes times more and
    made complex activations miss their deadlines on large test graphs.
    """

    hidden: int
    activation: Activation

    @nn.compact
    def __call__(self, h: jax.Array, source: jax.Array, adjacency: jax.Array) -> jax.Array:
        act = featurewise(self.activation)
        z = jnp.concatenate([h, source], axis=-1)
        messages = act(nn.Dense(self.hidden)(z))
        pooled = jnp.einsum("brs,bsh->brh", adjacency, messages)
        return act(nn.Dense(self.hidden)(jnp.concatenate([z, pooled], axis=-1)))


class Reasoner:
    """Encode, process (one shared Step, `rounds` times in a fori_loop), decode per node."""

    def __init__(self, hidden: int, activation: Activation) -> None:
        self.encode = nn.Dense(hidden)
        self.step = Step(hidden, activation)
        self.decode = nn.Dense(1)

    def init(self, key: jax.Array, batch: Arrays) -> dict:
        keys = jax.random.split(key, 3)
        h = jnp.zeros((*batch["source"].shape[:2], self.step.hidden))
        return {
            "encode": self.encode.init(keys[0], batch["source"]),
            "step": self.step.init(keys[1], h, batch["source"], batch["adjacency"]),
            "decode": self.decode.init(keys[2], jnp.concatenate([h, batch["source"]], -1)),
        }

    def logits(self, params: dict, batch: Arrays) -> jax.Array:
        source, adjacency = batch["source"], batch["adjacency"]
        h = self.encode.apply(params["encode"], source)
        h = jax.lax.fori_loop(
            0,
            source.shape[1],
            lambda _, h: self.step.apply(params["step"], h, source, adjacency),
            h,
        )
        return self.decode.apply(params["decode"], jnp.concatenate([h, source], -1))[..., 0]


def accuracies(
    activation: Activation,
    data: dict[str, Arrays],
    settings: AlgorithmicSettings,
    seeds: Sequence[int],
) -> dict[str, np.ndarray]:
    """Node accuracy per seed on `id` and `shifted` (padding nodes excluded)."""
    model = Reasoner(settings.hidden, activation)

    def loss(params: dict, batch: Arrays) -> jax.Array:
        losses = optax.sigmoid_binary_cross_entropy(model.logits(params, batch), batch["label"])
        return jnp.sum(losses * batch["mask"]) / jnp.sum(batch["mask"])

    def accuracy(params: dict, split: Arrays) -> jax.Array:
        right = (model.logits(params, split) > 0) == (split["label"] > 0.5)
        return jnp.sum(right * split["mask"]) / jnp.sum(split["mask"])

    return fit_and_measure(model.init, loss, accuracy, data, settings, seeds)
