"""Shared fixtures: a private result cache per test session and small, fast configs."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from actgym.cache import JsonCache
from actgym.evaluation import EvaluationConfig, Evaluator
from actgym.trainer import TrainerConfig


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No test reads results cached by an earlier run or writes to the user's cache."""
    directory = tmp_path_factory.mktemp("actgym-cache")
    previous = os.environ.get("ACTGYM_CACHE_DIR")
    os.environ["ACTGYM_CACHE_DIR"] = str(directory)
    yield directory
    if previous is None:
        os.environ.pop("ACTGYM_CACHE_DIR", None)
    else:
        os.environ["ACTGYM_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def fast_config() -> EvaluationConfig:
    return EvaluationConfig(families=("Harmonics",), trainer=TrainerConfig.fast(), num_instances=2)


@pytest.fixture(scope="session")
def evaluator(fast_config: EvaluationConfig, private_cache: Path) -> Iterator[Evaluator]:
    shared = Evaluator(fast_config, cache=JsonCache(private_cache / "shared"))
    yield shared
    shared.close()
