"""The routes that do not keep actgym in the framework's process (issue 29): the warm
evaluation server on loopback, `actgym eval --server`, and the ShinkaEvolve adapter run as
Shinka runs it (`python evaluate.py --program_path P --results_dir R`).

ShinkaEvolve itself is not installed: shinka-evolve 0.0.7 pins httpx 0.27 and would
downgrade openai, rich and pillow under the rest of the test environment. Its contract
is files, checked here as its scheduler writes and reads them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from leaderboard_support import serve
from sources import activation
from typer.testing import CliRunner

from actgym.candidate.limits import MAX_SOURCE_CHARS
from actgym.cli import app
from actgym.integrations.server import create_app

SETTINGS = {"task": "Harmonics", "fast": True, "instances": 1}
GOOD = activation("jnp.tanh(x) + 0.2 * x")


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve(create_app()) as url:
        yield url


def test_the_server_scores_warm_and_refuses_bad_requests_by_name(server: str) -> None:
    first = httpx.post(f"{server}/evaluate", json={"source": GOOD, **SETTINGS}, timeout=600)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["artifacts"]["status"] == "ok" and body["metrics"]["combined_score"] > 0.0
    again = httpx.post(f"{server}/evaluate", json={"source": GOOD, **SETTINGS}, timeout=600)
    assert again.json()["result"]["timings"]["cached"] is True, "the Evaluator stayed warm"
    assert again.json()["metrics"]["reward"] == body["metrics"]["reward"]
    refused = {
        "taks": ({"source": GOOD, "taks": "Suite"}, "taks"),
        "task": ({"source": GOOD, "task": "Sweet"}, "unknown task 'Sweet'"),
        "fidelity": ({"source": GOOD, "fidelity": "medium"}, "fidelity must be one of"),
        "size": ({"source": "x" * (MAX_SOURCE_CHARS + 1)}, "source"),
        "type": ({"source": GOOD, "fast": "very"}, "fast"),
    }
    for what, (request, named) in refused.items():
        response = httpx.post(f"{server}/evaluate", json=request, timeout=60)
        assert response.status_code == 422, (what, response.text)
        assert named in response.text, (what, response.text)
    huge = httpx.post(f"{server}/evaluate", json={"source": "x" * 10_000_000}, timeout=60)
    assert huge.status_code == 413, huge.text


def test_eval_sends_to_the_server_and_can_leave_the_references_out(
    server: str, tmp_path: Path
) -> None:
    program = tmp_path / "mine.py"
    program.write_text(GOOD)
    options = ["--task", "Harmonics", "--fast", "--instances", "1", "--no-references"]
    done = CliRunner().invoke(app, ["eval", str(program), *options, "--server", server, "--json"])
    assert done.exit_code == 0, done.output
    results = json.loads(done.stdout)
    assert list(results) == ["mine.py"] and results["mine.py"]["status"] == "ok"
    down = CliRunner().invoke(app, ["eval", str(program), "--server", "http://127.0.0.1:9"])
    assert down.exit_code == 2 and "cannot reach the evaluation server" in down.output


def _shinka_run(directory: Path, program: str, *options: str) -> subprocess.CompletedProcess:
    """As Shinka's local scheduler runs an evaluation: a fresh process per program."""
    (directory / "candidate.py").write_text(program)
    return subprocess.run(
        [
            sys.executable,
            "evaluate.py",
            "--program_path",
            "candidate.py",
            "--results_dir",
            "results",
            *options,
        ],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=600,
    )


def _results(directory: Path) -> tuple[dict, dict]:
    results = directory / "results"
    return (
        json.loads((results / "metrics.json").read_text()),
        json.loads((results / "correct.json").read_text()),
    )


def test_shinka_evaluates_in_process_or_on_the_server(server: str, tmp_path: Path) -> None:
    init = ["shinka", "init", str(tmp_path), "--task", "Harmonics", "--fast", "--instances", "1"]
    done = CliRunner().invoke(app, init)
    assert done.exit_code == 0, done.output
    assert "Harmonics: 1-D periodic" in (tmp_path / "task_sys_msg.txt").read_text()
    alone = _shinka_run(tmp_path, GOOD)
    assert alone.returncode == 0, alone.stderr[-3000:]
    metrics, correct = _results(tmp_path)
    assert correct == {"correct": True, "error": None}
    assert metrics["combined_score"] > 0.0 and metrics["private"] == {}
    assert metrics["public"]["reward_Harmonics"] == metrics["public"]["reward"]
    served = _shinka_run(tmp_path, GOOD, "--server", server)
    assert served.returncode == 0, served.stderr[-3000:]
    assert _results(tmp_path)[0]["combined_score"] == metrics["combined_score"]
    failing = _shinka_run(tmp_path, activation("jnp.log(x)"), "--server", server)
    assert failing.returncode == 0, failing.stderr[-3000:]
    metrics, correct = _results(tmp_path)
    assert metrics["combined_score"] == 0.0 and correct["correct"] is False
    assert metrics["text_feedback"].startswith("nonfinite_output:") and correct["error"]
    down = _shinka_run(tmp_path, GOOD, "--server", "http://127.0.0.1:9")
    assert down.returncode == 2 and "cannot reach the evaluation server" in down.stderr
