"""The service side holds (issue 28): no secret is recoverable from what the verifier
leaves on disk, and every finding of the red-team pass has a test that failed before."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import jax
import pytest
from actgym.leaderboard.profiles import PUBLIC_TASK_SEED
from actgym.leaderboard.seeds import hidden_task_seeds

from actgym.cache import JsonCache
from actgym.child_process import compilation_cache_dir
from actgym.tasks.registry import make_family


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common default: directories readable by everyone unless made private."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_hidden_seeds_carry_128_bits_so_the_seed_space_cannot_be_searched() -> None:
    seeds = hidden_task_seeds(b"secret", "v1", 8)
    assert len(set(seeds)) == 8 and PUBLIC_TASK_SEED not in seeds
    assert all(0 <= seed < 2**128 for seed in seeds)
    assert max(seed.bit_length() for seed in seeds) > 120, "not drawn from a small space"
    (first,) = make_family("Harmonics", seed=seeds[0], num_instances=1).instances
    (second,) = make_family("Harmonics", seed=seeds[1], num_instances=1).instances
    assert first.formula != second.formula, "each seed builds its own task"


def test_result_and_compilation_caches_are_private_directories(
    tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "cache" / "results"
    JsonCache(results).put("fingerprint-hash", {"losses": []})
    for directory in (tmp_path / "cache", results):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    monkeypatch.delenv("ACTGYM_XLA_CACHE", raising=False)
    configured = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", None)
    try:
        compiled = compilation_cache_dir(tmp_path / "fresh" / "xla")
    finally:
        jax.config.update("jax_compilation_cache_dir", configured)
    assert compiled == tmp_path / "fresh" / "xla"
    for directory in (tmp_path / "fresh", compiled):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
