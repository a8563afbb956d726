"""actgym on a real multi-node Ray cluster on this machine (Ray's own `Cluster`: a head and
two worker nodes, each a raylet of its own), with one node killed in the middle of work."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sources import GELU_SINE, RELU, activation

from actgym.cache import JsonCache
from actgym.config import EvaluationConfig
from actgym.evaluation import Evaluator
from actgym.search import run_search
from actgym.search.store import FILENAME

ray = pytest.importorskip("ray", reason="Ray is the optional extra actgym[ray] (CI installs it)")
from ray.cluster_utils import Cluster  # noqa: E402

from actgym.ray_evaluation import RayEvaluator  # noqa: E402

SEARCH = {
    "agent": "random",
    "env": "ActSearch-Harmonics-v0",
    "budget": 8,
    "seed": 4,
    "proposals_per_call": 4,
    "fast": True,
    "num_instances": 1,
}
SOURCES = [
    GELU_SINE,
    RELU,
    activation("jnp.tanh(x) + 0.05 * x"),
    activation("jax.nn.silu(x) * (1.0 + 0.1 * jnp.cos(x))"),
    activation("x * jnp.nan"),
    "import os\n",
]


@pytest.fixture
def two_nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Cluster, list]]:
    """A head without CPUs and two one-CPU worker nodes, with a result cache of their own
    (so their actors train rather than read the local runs' results)."""
    monkeypatch.setenv("ACTGYM_CACHE_DIR", str(tmp_path / "cluster-cache"))
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 0})
    workers = [cluster.add_node(num_cpus=1) for _ in range(2)]
    cluster.wait_for_nodes()
    try:
        yield cluster, workers
    finally:
        ray.shutdown()
        cluster.shutdown()


def _kill_when(
    cluster: Cluster, node: object, ready: Callable[[], bool], progress: Callable[[], int]
) -> list[int]:
    """Remove `node` half a second after `ready()`; the list gets `progress()` at that time."""
    killed_at: list[int] = []

    def watch() -> None:
        deadline = time.monotonic() + 300
        while not ready() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # into the next batch's training
        killed_at.append(progress())
        cluster.remove_node(node)

    threading.Thread(target=watch, daemon=True).start()
    return killed_at


def _wait(killed_at: list[int]) -> int:
    deadline = time.monotonic() + 60
    while not killed_at and time.monotonic() < deadline:
        time.sleep(0.1)
    return killed_at[0]


def test_evaluations_on_two_nodes_equal_local_ones_when_a_node_dies_mid_batch(
    two_nodes: tuple[Cluster, list], tmp_path: Path
) -> None:
    cluster, workers = two_nodes
    local = Evaluator(EvaluationConfig.fast(num_instances=1), cache=JsonCache(tmp_path / "local"))
    try:
        expected = local.assess_many(SOURCES)
    finally:
        local.close()
    evaluator = RayEvaluator(
        EvaluationConfig.fast(num_instances=1), address=cluster.address, programs_per_batch=3
    )
    started, finished = threading.Event(), threading.Event()
    killed_at = _kill_when(cluster, workers[1], started.is_set, finished.is_set)
    try:
        assert evaluator.actors == 2
        started.set()
        assessed = evaluator.assess_many(SOURCES)
        finished.set()
        assert _wait(killed_at) is False, "the node died while the batches were in flight"
        assert evaluator.actors == 1, "the actor on the lost node is dropped"
    finally:
        evaluator.close()
    assert assessed == expected


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"programs_per_batch": 0}, "programs_per_batch must be an int >= 1"),
        ({"programs_per_batch": 2.5}, "programs_per_batch must be an int >= 1"),
        ({"actors": 0}, "actors must be an int >= 1"),
        ({"cpus_per_actor": 0.0}, "cpus_per_actor must be positive"),
        ({"cluster_share": 1.5}, "cluster_share must be in"),
    ],
)
def test_settings_that_cannot_run_are_refused_before_joining_a_cluster(
    settings: dict, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        RayEvaluator(EvaluationConfig.fast(num_instances=1), **settings)
    assert not ray.is_initialized()


def test_a_reference_asked_of_a_lost_actor_comes_from_a_surviving_one(
    two_nodes: tuple[Cluster, list], tmp_path: Path
) -> None:
    cluster, workers = two_nodes
    config = EvaluationConfig.fast(num_instances=1)
    local = Evaluator(config, cache=JsonCache(tmp_path / "local"))
    try:
        expected = local.reference("relu")
    finally:
        local.close()
    evaluator = RayEvaluator(config, address=cluster.address)
    try:
        first = evaluator._actors[0]  # the actor `reference` asks first
        node_id = ray.get(
            first.__ray_call__.remote(lambda _: ray.get_runtime_context().get_node_id())
        )
        (node,) = [worker for worker in workers if worker.node_id == node_id]
        cluster.remove_node(node)
        assert evaluator.reference("relu") == expected
        assert evaluator.actors == 1, "the lost actor is dropped"
    finally:
        evaluator.close()


def test_a_search_on_the_cluster_loses_nothing_to_a_dead_node_and_matches_a_local_run(
    two_nodes: tuple[Cluster, list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, workers = two_nodes
    with monkeypatch.context() as local_cache:
        local_cache.setenv("ACTGYM_CACHE_DIR", str(tmp_path / "local-cache"))
        local = run_search(tmp_path / "local", SEARCH, show_progress=False)
    store = tmp_path / "cluster" / FILENAME

    def stored() -> int:
        if not store.exists():
            return 0
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as connection:
            return connection.execute("SELECT count(*) FROM evaluations").fetchone()[0]

    killed_at = _kill_when(cluster, workers[1], lambda: stored() >= 4, stored)
    result = run_search(tmp_path / "cluster", SEARCH, show_progress=False, ray=cluster.address)
    assert 4 <= _wait(killed_at) < SEARCH["budget"], "the node died in the middle of the search"
    assert len(ray.nodes()) == 3 and sum(node["Alive"] for node in ray.nodes()) == 2
    assert result.completed == local.completed == SEARCH["budget"]
    assert _evaluations(tmp_path / "cluster") == _evaluations(tmp_path / "local")


def test_a_cascade_on_the_cluster_screens_on_the_same_actors_and_matches_a_local_run(
    two_nodes: tuple[Cluster, list], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster, _ = two_nodes
    cascade = {**SEARCH, "budget": 3, "proposals_per_call": 2, "cascade": 0.25}
    with monkeypatch.context() as local_cache:
        local_cache.setenv("ACTGYM_CACHE_DIR", str(tmp_path / "local-cache"))
        local = run_search(tmp_path / "local", cascade, show_progress=False)
    result = run_search(tmp_path / "cluster", cascade, show_progress=False, ray=cluster.address)
    assert (result.screened, result.spent) == (local.screened, local.spent) == (8, 3.0)
    assert _evaluations(tmp_path / "cluster") == _evaluations(tmp_path / "local")
    deadline = time.monotonic() + 30
    while ray.available_resources().get("CPU", 0) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert ray.available_resources().get("CPU", 0) == 2, "every actor is gone, its CPU free"


def _evaluations(directory: Path) -> list[tuple]:
    """Every stored evaluation's id, source, status and reward, bit for bit."""
    with sqlite3.connect(directory / FILENAME) as connection:
        return connection.execute(
            "SELECT id, source, status, reward, ood_loss FROM evaluations ORDER BY id"
        ).fetchall()
