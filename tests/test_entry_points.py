"""A third-party agent package, pip-installed, is found by name through its entry point.

The package is built and installed offline (`--no-index --no-build-isolation`, with the
venv's setuptools) into this venv for the module's tests, and uninstalled afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from actgym.search import RunStore

DISTRIBUTION = "actgym-throwaway-agent"
NAME = "throwaway-agent"
ACTGYM = shutil.which("actgym", path=str(Path(sys.executable).parent))

PYPROJECT = f"""
[build-system]
requires = ["setuptools>=69"]
build-backend = "setuptools.build_meta"

[project]
name = "{DISTRIBUTION}"
version = "0.0.1"
dependencies = ["actgym"]

[project.entry-points."actgym.agents"]
{NAME} = "throwaway_agent.agent:ThrowawayAgent"

[tool.setuptools]
packages = ["throwaway_agent"]
"""

AGENT = '''
from actgym.agent import Agent, Proposal

SOURCE = """import jax.numpy as jnp


def activation_function(x):
    return jnp.maximum(x, 0.0) + {scale} * jnp.sin({n} * x)
"""


class ThrowawayAgent(Agent):
    def propose(self, count, history):
        scale = self.context.options["scale"]
        return [
            Proposal(SOURCE.format(scale=scale, n=len(history) + i + 1), notes={"scale": scale})
            for i in range(count)
        ]
'''


def pip(*arguments: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *arguments], check=True, capture_output=True)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("package")
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "throwaway_agent").mkdir()
    (root / "throwaway_agent" / "__init__.py").write_text("")
    (root / "throwaway_agent" / "agent.py").write_text(textwrap.dedent(AGENT))
    pip("install", "--quiet", "--no-deps", "--no-build-isolation", "--no-index", str(root))
    yield NAME
    pip("uninstall", "--yes", "--quiet", DISTRIBUTION)


def registered_names() -> list[str]:
    script = "from actgym.agents_registry import available_agents; print(*available_agents())"
    found = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    return found.stdout.split()


def test_an_installed_agent_runs_by_name_through_the_cli(installed: str, tmp_path: Path) -> None:
    assert installed in registered_names()
    config = tmp_path / "search.json"
    out = tmp_path / "run"
    settings = {
        "budget": 3,
        "proposals_per_call": 3,
        "fast": True,
        "num_instances": 1,
        "out": str(out),
    }
    config.write_text(json.dumps({**settings, "workers": 1, "agent_options": {"scale": 0.05}}))
    command = [ACTGYM, "search", "--agent", installed, "--config", str(config)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    with RunStore(out) as store:
        run, rows = store.run(), store.evaluations()
    assert run["agent"] == installed and json.loads(run["config"])["agent_options"]
    assert [row["status"] for row in rows] == ["ok"] * 3
    assert all(row["agent"] == installed and row["notes"] == '{"scale":0.05}' for row in rows)


def test_an_unknown_name_lists_what_is_installed(installed: str, tmp_path: Path) -> None:
    command = [ACTGYM, "search", "--agent", "missing-agent", "--out", str(tmp_path)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    message = " ".join(result.stdout.split())
    assert "unknown agent 'missing-agent'; available: random" in message
    assert installed in message
