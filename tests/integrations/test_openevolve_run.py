"""OpenEvolve itself, driving actgym (issue 29): `openevolve-run` on a directory written by
`actgym openevolve init`, against a scripted OpenAI-compatible server on loopback. Its
workers are forked after the main process scored the initial program: every program
must still be scored by actgym, and the best one must be a trained one."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI, Request
from leaderboard_support import serve
from sources import activation

from actgym.integrations.scaffold import openevolve_files, write_task_directory
from actgym.integrations.settings import EvaluatorSettings

pytest.importorskip("openevolve", reason="OpenEvolve is the extra actgym[openevolve]")

REPLIES = (
    activation("jnp.tanh(x) + 0.1 * x"),
    "def activation_function(x:\n    return x\n",  # does not parse: a failure, score 0
    activation("jax.nn.gelu(x) + 0.1 * jnp.sin(x)"),
    activation("jnp.log(x)"),  # NaN on the probe: a failure, score 0
)


@pytest.fixture
def scripted_model() -> Iterator[tuple[str, list[dict]]]:
    """An OpenAI-compatible chat server answering with the REPLIES in turn."""
    app, requests, lock = FastAPI(), [], threading.Lock()
    replies = itertools.cycle(REPLIES)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> dict:
        body = await request.json()
        with lock:
            requests.append(body)
            program = next(replies)
        message = {"role": "assistant", "content": f"A new function.\n```python\n{program}```\n"}
        return {
            "id": f"chat-{len(requests)}",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }

    with serve(app) as url:
        yield f"{url}/v1", requests


def test_openevolve_scores_every_program_with_actgym_in_forked_workers(
    tmp_path: Path, scripted_model: tuple[str, list[dict]]
) -> None:
    api_base, requests = scripted_model
    settings = EvaluatorSettings(task="Harmonics", fast=True, instances=1)
    files = openevolve_files(settings, iterations=6)
    files["config.yaml"] = (
        files["config.yaml"]
        .replace('"http://127.0.0.1:8000/v1"', f'"{api_base}"')
        .replace("diff_based_evolution: true", "diff_based_evolution: false")
        .replace("checkpoint_interval: 10", "checkpoint_interval: 1")
    )
    write_task_directory(tmp_path, files)
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("openevolve-run")),
            "initial_program.py",
            "evaluator.py",
            "--config",
            "config.yaml",
            "--output",
            "out",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-4000:]
    assert requests, "OpenEvolve asked the scripted model"
    assert "design activation functions" in requests[0]["messages"][0]["content"]
    checkpoints = sorted((tmp_path / "out" / "checkpoints").glob("checkpoint_*"))
    programs = [
        json.loads(path.read_text()) for path in (checkpoints[-1] / "programs").glob("*.json")
    ]
    assert len(programs) >= 4, "the initial program and evolved ones"
    for program in programs:
        assert "reward" in program["metrics"], ("not scored by actgym", program["metrics"])
    scores = {program["code"].strip(): program["metrics"]["combined_score"] for program in programs}
    trained, broken, gelu_sine, log = (reply.strip() for reply in REPLIES)
    assert scores[trained] > 0.0 and scores[gelu_sine] > 0.0, "trained in the workers"
    failed = [score for code, score in scores.items() if code in (broken, log)]
    assert failed and all(score == 0.0 for score in failed)
    best = json.loads((tmp_path / "out" / "best" / "best_program_info.json").read_text())
    assert best["metrics"]["trained"] == 1.0
    assert best["metrics"]["combined_score"] == max(scores.values()) > 0.0
