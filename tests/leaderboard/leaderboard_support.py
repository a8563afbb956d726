"""Shared pieces of the leaderboard tests: one Scorer per process, a real server on loopback.

The smoke profile (fast trainer, one instance of two families) and a fixed secret keep
every verification cheap after the first: results are cached on disk per program.
"""

from __future__ import annotations

import functools
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from actgym.leaderboard.app import Settings, create_app
from actgym.leaderboard.profiles import env_version, get_profile
from actgym.leaderboard.rate_limit import RateLimit
from actgym.leaderboard.store import Store
from actgym.leaderboard.verifier import Scorer

from actgym.candidate import confinement

SECRET = b"leaderboard-tests"
PROFILE = get_profile("smoke")


@functools.cache
def layers_here() -> frozenset[str]:
    """The confinement layers this machine provides: what the tests' scorers require, so
    they stay strict without failing on a CI machine that lacks, say, user namespaces."""
    assert confinement.SKIP_ENV not in os.environ, "measure the machine, not a skipped layer"
    report = confinement.active_layers()
    return frozenset(name for name, state in report.items() if confinement.is_active(state))


def allow_missing_layers() -> list[str]:
    """The CLI options that allow exactly the layers missing here."""
    missing = sorted(confinement.ALL_LAYERS - layers_here())
    return [option for name in missing for option in ("--allow-missing-layer", name)]


@functools.cache
def shared_scorer() -> Scorer:
    return Scorer.from_secret(PROFILE, SECRET, env_version(), required_layers=layers_here())


def activation(body: str) -> str:
    """A candidate whose function body is `body` (indented by the caller's lines)."""
    lines = "".join(f"    {line}\n" for line in body.splitlines())
    return f"import jax\nimport jax.numpy as jnp\n\n\ndef activation_function(x):\n{lines}"


def make_app(
    db: Path,
    *,
    verify: bool = True,
    rate_limit: RateLimit | None = None,
    open_submissions: bool = False,
    **settings: Any,
) -> Any:
    """The app on `db`, with author tokens as served, unless told otherwise.

    The submit-time check waits up to 60 s, not the served 1.5 s: a training process
    started cold for the probe must not turn a duplicate into a queued copy here.
    """
    settings.setdefault("trace_deadline_s", 60.0)
    scorer = shared_scorer() if verify else None
    config = Settings(
        db=db,
        profile=PROFILE,
        verify=verify,
        rate_limit=rate_limit,
        poll_s=0.5,
        open_submissions=open_submissions,
        **settings,
    )
    return create_app(config, scorer=scorer)


def token_for(db: Path, author: str) -> str:
    """A fresh author token, issued as `actgym leaderboard token add` does."""
    return Store(db).tokens.add(author)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def form_secrets(client: Any, token: str | None = None) -> dict[str, str]:
    """The fields a browser's form post carries besides the submission: the CSRF token of
    the page it loaded (its cookie stays in `client`) and, if given, the author token."""
    page = client.get("/submit").text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form has no CSRF token"
    return {"csrf_token": match[1], **({"token": token} if token else {})}


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` under uvicorn on 127.0.0.1 (a port the OS picks); yield its base URL."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=60, what="the server to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=120)
        listener.close()


def wait_until(condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def wait_verified(get_json: Callable[[str], dict[str, Any]], submission_id: int) -> dict[str, Any]:
    """Poll GET /api/submissions/{id} until the submission is done or failed."""

    def finished() -> dict[str, Any] | None:
        details = get_json(f"/api/submissions/{submission_id}")
        return details if details["state"] in ("done", "failed") else None

    return wait_until(finished, timeout=240, what=f"submission #{submission_id}")


def dead_verifier_identity() -> str:
    """The claim owner of a verifier process on this host that has exited."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}"
