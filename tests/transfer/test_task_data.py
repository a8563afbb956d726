"""Each downstream task's data: its shapes, the split it promises, determinism given the seed."""

from __future__ import annotations

import numpy as np
import pytest

from actgym.transfer import algorithmic, structure, vision
from actgym.transfer.downstream import DOWNSTREAM_TASKS, TransferConfig

FAST = TransferConfig.fast()


@pytest.mark.parametrize("task", list(DOWNSTREAM_TASKS))
def test_data_is_a_function_of_the_data_seed(task: str) -> None:
    make = DOWNSTREAM_TASKS[task].make_data
    first, again, other = (make(FAST.settings(task), seed) for seed in (3, 3, 4))
    for split in ("train", "id", "shifted"):
        for key, value in first[split].items():
            np.testing.assert_array_equal(value, again[split][key])
    assert any(
        not np.array_equal(value, other["train"][key]) for key, value in first["train"].items()
    )


def test_vision_identity_transform_keeps_the_image_and_the_shift_moves_it() -> None:
    images = np.random.default_rng(0).uniform(size=(3, 8, 8)).astype(np.float32)
    kept = vision.transform(images, np.zeros(3), np.ones(3))
    np.testing.assert_allclose(kept, images, atol=1e-6)
    data = vision.make_data(FAST.vision, 0)
    assert data["train"]["x"].shape[1:] == (8, 8, 1)
    assert len(data["id"]["y"]) == len(data["shifted"]["y"]) == FAST.vision.test_images
    # The same held-out digits, but seen rotated and shrunk beyond the training range.
    np.testing.assert_array_equal(data["id"]["y"], data["shifted"]["y"])
    moved = np.abs(data["shifted"]["x"] - data["id"]["x"]).mean()
    assert moved > 0.05
    assert data["shifted"]["x"].sum() < data["id"]["x"].sum()  # shrunk: fewer ink pixels


def test_algorithmic_test_graphs_are_several_times_larger_and_labels_are_reachability() -> None:
    settings = algorithmic.AlgorithmicSettings.fast()
    data = algorithmic.make_data(settings, 0)
    train_sizes = data["train"]["mask"].sum(axis=1)
    test_sizes = data["shifted"]["mask"].sum(axis=1)
    assert train_sizes.max() <= settings.train_nodes[1]
    assert test_sizes.min() >= settings.test_nodes[0] >= 1.5 * settings.train_nodes[1]
    assert data["id"]["mask"].sum(axis=1).max() <= settings.train_nodes[1]
    for split in data.values():
        adjacency = split["adjacency"]
        np.testing.assert_array_equal(adjacency, np.swapaxes(adjacency, 1, 2))
        assert (split["source"].sum(axis=(1, 2)) == 1).all()
        assert (split["label"] * (1 - split["mask"]) == 0).all()  # padding is never a label
    # Recompute reachability from the adjacency of one large graph.
    split = data["shifted"]
    n = int(split["mask"][0].sum())
    edges = [(a, b) for a, b in zip(*np.nonzero(split["adjacency"][0][:n, :n]), strict=True)]
    start = int(np.argmax(split["source"][0, :, 0]))
    reachable = algorithmic.hops(edges, n, start) >= 0
    np.testing.assert_array_equal(split["label"][0, :n], reachable)
    assert 0.2 < split["label"].sum() / split["mask"].sum() < 0.8


def test_structure_test_scaffolds_never_appear_in_training() -> None:
    seen, held_out = structure.scaffold_split()
    assert set(seen).isdisjoint(held_out)
    assert {kind for kind, _ in held_out} >= set(structure.HELD_OUT_KINDS)
    assert not {kind for kind, _ in seen} & set(structure.HELD_OUT_KINDS)
    # Different (kind, size) pairs are different graphs: no two share size and edge count.
    signatures = {
        (kind, size): sorted(np.bincount(np.ravel(structure.scaffold(kind, size)[1])))
        for kind, size in seen + held_out
    }
    for train_scaffold in seen:
        for test_scaffold in held_out:
            assert signatures[train_scaffold] != signatures[test_scaffold]
    data = structure.make_data(FAST.structure, 0)
    train_kinds = {seen[index] for index in data["train"]["scaffold"]}
    test_kinds = {held_out[index] for index in data["shifted"]["scaffold"]}
    assert train_kinds <= set(seen) and test_kinds <= set(held_out)
    assert 0.2 < data["train"]["label"].mean() < 0.8


def test_structure_label_counts_ring_and_chain_groups_not_the_scaffold() -> None:
    assert structure.label_of(["triangle", "path", "square"]) == 1
    assert structure.label_of(["star", "path", "triangle"]) == 0
    assert structure.label_of(["square"]) == 1 and structure.label_of(["star"]) == 0
    rng = np.random.default_rng(0)
    groups = ["triangle", "square", "path", "star", "star"]
    nodes, edges = structure.decorate("path", 4, groups, rng)
    assert nodes == 4 + 3 + 4 + 3 + 4 + 4 <= structure.MAX_NODES
    assert len(edges) - nodes + 1 == 2  # a path scaffold: the only cycles are the two rings
    for kind, size in structure.scaffold_split()[1]:
        assert structure.decorate(kind, size, groups, rng)[0] <= structure.MAX_NODES
