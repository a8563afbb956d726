"""The curated public API: every name in `actgym.__all__` resolves lazily to its home object.

`import actgym` must stay light (no JAX, Flax, Optax, PyTorch or Transformers), so the
names load on first access; the import check runs in a fresh interpreter, where nothing
else has imported those packages yet.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

import actgym

HOMES = {
    "ActSearchEnv": "actgym.envs",
    "Agent": "actgym.agent",
    "AgentContext": "actgym.agent",
    "CandidateLimits": "actgym.candidate.limits",
    "CandidateRejected": "actgym.candidate.reasons",
    "ENV_IDS": "actgym",
    "Evaluation": "actgym.agent",
    "EvaluationConfig": "actgym.evaluation",
    "EvaluationResult": "actgym.result",
    "Evaluator": "actgym.evaluation",
    "EvaluatorProtocol": "actgym.evaluator_protocol",
    "History": "actgym.agent",
    "Proposal": "actgym.agent",
    "REFERENCES": "actgym.references",
    "RayEvaluator": "actgym.ray_evaluation",
    "Reason": "actgym.candidate.reasons",
    "SCORING_VERSION": "actgym.versions",
    "SUITE": "actgym.tasks.registry",
    "TASKS": "actgym.tasks.registry",
    "TrainerConfig": "actgym.trainer",
    "__version__": "actgym",
    "make_family": "actgym.tasks.registry",
    "run_search": "actgym.search.runner",
}

HEAVY = ("jax", "flax", "optax", "torch", "transformers")


def test_all_is_the_curated_list() -> None:
    assert sorted(actgym.__all__) == sorted(HOMES)
    assert len(set(actgym.__all__)) == len(actgym.__all__)


@pytest.mark.parametrize("name", sorted(HOMES))
def test_each_name_is_the_object_at_its_home_module(name: str) -> None:
    home = importlib.import_module(HOMES[name])
    assert getattr(actgym, name) is getattr(home, name)


def test_from_import_works() -> None:
    from actgym import Agent, Evaluator, Reason, run_search  # noqa: F401


def test_dir_lists_every_public_name() -> None:
    listed = dir(actgym)
    assert set(actgym.__all__) <= set(listed)
    assert listed == sorted(listed)


def test_unknown_attribute_raises_a_clear_attribute_error() -> None:
    with pytest.raises(AttributeError, match=r"'actgym' has no attribute 'NoSuchThing'.*__all__"):
        _ = actgym.NoSuchThing
    assert not hasattr(actgym, "NoSuchThing")


def test_submodules_still_import_by_from_import() -> None:
    from actgym import sqlite, versions

    assert versions.SCORING_VERSION == actgym.SCORING_VERSION
    assert sqlite.__name__ == "actgym.sqlite"


def test_environments_are_registered_on_import() -> None:
    import gymnasium as gym

    for identifier in actgym.ENV_IDS:
        assert identifier in gym.registry
    assert "ActSearch-Harmonics-v0" in actgym.ENV_IDS


def test_import_actgym_stays_light() -> None:
    code = (
        "import json, sys\n"
        "import actgym\n"
        "assert 'ActSearch-Harmonics-v0' in actgym.ENV_IDS\n"
        f"print(json.dumps([name for name in {HEAVY!r} if name in sys.modules]))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(completed.stdout.strip().splitlines()[-1])
    assert loaded == [], f"`import actgym` imported {loaded}"
