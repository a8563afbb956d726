"""Secrets stay in the process that needs them (issue 30): a training process is started
without the leaderboard's secret or any API key in its environment."""

from __future__ import annotations

import json
import os
import platform
import socket
from pathlib import Path
from typing import Any

import pytest

from actgym import child_process
from actgym.child_process import Child
from actgym.training_process import TrainingBounds


def test_a_training_process_gets_no_secret_in_its_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = {
        "ACTGYM_LEADERBOARD_SECRET": "hidden-seed-secret",
        "OPENAI_API_KEY": "sk-test",
        "HF_TOKEN": "hf_test",
        "AWS_SECRET_ACCESS_KEY": "aws",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("XLA_FLAGS", "--xla_force_host_platform_device_count=1")
    environments: list[dict[str, str]] = []
    spawn = os.posix_spawn

    def recorded(path: str, argv: Any, env: dict[str, str], **kwargs: Any) -> int:
        environments.append(dict(env))
        return spawn(path, argv, env, **kwargs)

    monkeypatch.setattr(child_process.os, "posix_spawn", recorded)
    bounds = TrainingBounds()
    child = Child.spawn("actgym.training_process", bounds.memory_bytes, bounds.startup_s)
    try:
        assert child.alive(), "it started without them"
    finally:
        child.kill()
    (environment,) = environments
    assert not set(secrets) & set(environment), "no secret reached the child"
    assert environment["XLA_FLAGS"] == os.environ["XLA_FLAGS"], "JAX's settings did"
    assert environment["PATH"] == os.environ["PATH"]


def test_public_pages_send_security_headers_and_no_api_docs(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient
    from leaderboard_support import make_app

    with TestClient(make_app(tmp_path / "lb.db", verify=False)) as client:
        for path in ("/", "/submit", "/api/leaderboard", "/submissions/1"):
            headers = client.get(path).headers
            assert "script-src" not in headers["content-security-policy"], path
            assert "default-src 'none'" in headers["content-security-policy"], path
            assert headers["x-frame-options"] == "DENY", path
            assert headers["x-content-type-options"] == "nosniff", path
        for path in ("/docs", "/openapi.json", "/redoc"):
            assert client.get(path).status_code == 404, path
    with TestClient(make_app(tmp_path / "dev.db", verify=False, api_docs=True)) as client:
        assert client.get("/docs").status_code == 200, "on request, for development"


def test_public_outputs_name_no_host_and_no_kernel_build(tmp_path: Path) -> None:
    from actgym.leaderboard import environment
    from actgym.leaderboard.records import Board, Verdict
    from actgym.leaderboard.store import Store

    board = Board("test-version", "smoke")
    store = Store(tmp_path / "lb.db")
    details = environment.describe()
    assert "platform" not in details and platform.release() not in json.dumps(details)
    old = {**details, "platform": platform.platform()}  # what older verifiers stored
    environment_id = store.results.record_environment(board, {"name": "smoke"}, old)
    claim = store.queue.claim(board, environment_id)
    store.queue.finish(board, claim.submission_id, Verdict("failed", "timeout", "x"))
    exported = json.dumps(store.export())
    for private in (socket.gethostname(), platform.platform(), platform.release()):
        assert private not in exported, private
