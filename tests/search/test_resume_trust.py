"""A run directory is data, not code (issue 30): resuming never imports an agent, nor
sends prompts or keys to an endpoint, that the person resuming did not choose."""

from __future__ import annotations

import json
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
from fakes import FakeBackend
from typer.testing import CliRunner

from actgym.cli import app
from actgym.search import ConfigError, run_search
from actgym.search.store import FILENAME

CLIMBER = {"agent": "fakes:Climber", "budget": 4, "proposals_per_call": 4, "seed": 7}
PAYLOAD = "import pathlib\npathlib.Path(__file__).with_name('ran').write_text('payload ran')\n"


def _run(directory: Path, config: dict[str, Any], **kwargs: Any) -> Any:
    return run_search(
        directory, config, backend_factory=FakeBackend().factory(), show_progress=False, **kwargs
    )


def _tamper(directory: Path, **changes: Any) -> None:
    """Rewrite the stored config, as someone handing the directory over could."""
    with closing(sqlite3.connect(directory / FILENAME)) as connection, connection:
        (config,) = connection.execute("SELECT config FROM run").fetchone()
        stored = json.loads(config) | changes
        connection.execute("UPDATE run SET config = ?", (json.dumps(stored),))


def test_a_stored_direct_reference_is_not_imported_unless_named(tmp_path: Path) -> None:
    run = tmp_path / "run"
    _run(run, CLIMBER)
    (tmp_path / "payload.py").write_text(PAYLOAD)
    payload = f"{tmp_path / 'payload.py'}:Agent"
    _tamper(run, agent=payload, budget=8)
    with pytest.raises(ConfigError, match="a direct reference that imports code"):
        _run(run, {"budget": 8}, resume=True)
    assert not (tmp_path / "ran").exists(), "the payload never ran"
    _tamper(run, agent="this:x")
    was_imported = "this" in sys.modules
    with pytest.raises(ConfigError, match="'this:x'"):
        _run(run, {}, resume=True)
    assert ("this" in sys.modules) == was_imported, "nothing was imported"


def test_named_or_trusted_agents_resume(tmp_path: Path) -> None:
    _run(tmp_path, CLIMBER)
    resumed = _run(tmp_path, {"agent": CLIMBER["agent"], "budget": 6}, resume=True)
    assert resumed.completed == 6
    assert _run(tmp_path, {"budget": 8}, resume=True, trust_store=True).completed == 8


def test_stored_endpoints_and_key_variables_are_refused_by_name(tmp_path: Path) -> None:
    _run(tmp_path, {**CLIMBER, "agent": "random"})
    options = {"base_url": "http://attacker.example/v1", "api_key_env": "OPENAI_API_KEY"}
    _tamper(tmp_path, agent_options=options)
    with pytest.raises(ConfigError) as refused:
        _run(tmp_path, {}, resume=True)
    message = str(refused.value)
    assert "base_url = 'http://attacker.example/v1'" in message
    assert "api_key_env = 'OPENAI_API_KEY'" in message and "--trust-store" in message


def test_the_command_line_refuses_with_the_reason_and_trusts_on_request(tmp_path: Path) -> None:
    _run(tmp_path, CLIMBER)
    runner = CliRunner()
    refused = runner.invoke(app, ["search", "--out", str(tmp_path), "--resume"])
    assert refused.exit_code == 2 and "direct reference" in refused.output
    trusted = runner.invoke(
        app, ["search", "--out", str(tmp_path), "--resume", "--trust-store", "--quiet"]
    )
    assert trusted.exit_code == 0, trusted.output


def test_stored_limits_looser_than_the_defaults_are_refused_unless_given(tmp_path: Path) -> None:
    """A handed-over run cannot raise the sandbox's bounds for the candidates it scores."""
    config = {**CLIMBER, "agent": "random"}
    _run(tmp_path, config)
    with closing(sqlite3.connect(tmp_path / FILENAME)) as connection:
        (stored,) = connection.execute("SELECT config FROM run").fetchone()
    evaluation = json.loads(stored)["evaluation"]
    looser = {**evaluation["limits"], "memory_bytes": 2**50, "cpu_seconds": 10**6}
    _tamper(tmp_path, evaluation={**evaluation, "limits": looser}, budget=6)
    with pytest.raises(ConfigError) as refused:
        _run(tmp_path, {}, resume=True)
    message = str(refused.value)
    assert f"memory_bytes = {2**50}, above the default {4 * 1024**3}" in message
    assert "cpu_seconds = 1000000" in message and "max_ast_nodes" not in message
    given = {"evaluation": {**evaluation, "limits": looser}}
    assert _run(tmp_path, given, resume=True).completed == 6


def test_stored_limits_tighter_than_the_defaults_resume(tmp_path: Path) -> None:
    _run(tmp_path, {**CLIMBER, "agent": "random"})
    with closing(sqlite3.connect(tmp_path / FILENAME)) as connection:
        (stored,) = connection.execute("SELECT config FROM run").fetchone()
    evaluation = json.loads(stored)["evaluation"]
    tighter = {**evaluation["limits"], "cpu_seconds": 5}
    _tamper(tmp_path, evaluation={**evaluation, "limits": tighter}, budget=6)
    assert _run(tmp_path, {}, resume=True).completed == 6
