"""A sandbox server the machine kills is started again: its death is never the verdict on
the candidate it held (issue 30's rule for training processes, kept for tracing)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from typing import IO

import psutil
import pytest

from actgym.candidate import sandbox as sandbox_module
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.sandbox import SERVER_TRIES, Sandbox

RELU = "import jax.numpy as jnp\n\n\ndef activation_function(x):\n    return jnp.maximum(x, 0.0)\n"
SHAPE = (8,)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    checked = Sandbox()
    yield checked
    checked.close()


def kill_while_holding(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch, times: int) -> list[int]:
    """SIGKILL the real server `times` times, each after it was sent a candidate and
    before its reply is read; the pids killed."""
    killed: list[int] = []
    read_line: Callable[[IO[bytes], float], bytes | None] = sandbox_module._read_line

    def killing(stream: IO[bytes], timeout: float) -> bytes | None:
        if len(killed) < times:
            assert sandbox.server_pid is not None
            killed.append(sandbox.server_pid)
            os.killpg(sandbox.server_pid, signal.SIGKILL)
        return read_line(stream, timeout)

    monkeypatch.setattr(sandbox_module, "_read_line", killing)
    return killed


def test_a_server_killed_holding_a_candidate_is_started_again(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = sandbox.analyse(RELU, SHAPE)
    killed = kill_while_holding(sandbox, monkeypatch, times=1)
    assert sandbox.analyse(RELU, SHAPE) == expected
    assert len(killed) == 1 and sandbox.server_pid not in (None, killed[0])
    assert not psutil.pid_exists(killed[0]), "the killed server was reaped"


def test_a_server_that_dies_on_every_try_fails_the_candidate_then_recovers(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    killed = kill_while_holding(sandbox, monkeypatch, times=SERVER_TRIES)
    with pytest.raises(CandidateRejected) as refused:
        sandbox.analyse(RELU, SHAPE)
    assert refused.value.reason is Reason.WORKER_CRASHED
    assert f"died on each of {SERVER_TRIES} tries" in refused.value.message
    assert len(set(killed)) == SERVER_TRIES, "each try had a server of its own"
    assert sandbox.analyse(RELU, SHAPE), "the next candidate is checked as usual"


def test_a_server_that_misses_its_deadline_is_not_asked_again(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A silent server is stopped and the candidate failed once: a candidate that hangs
    tracing must not cost the deadline three times."""
    calls: list[float] = []

    def silent(stream: IO[bytes], timeout: float) -> None:
        calls.append(timeout)

    monkeypatch.setattr(sandbox_module, "_read_line", silent)
    with pytest.raises(CandidateRejected, match="missed its 25 s deadline") as refused:
        sandbox.analyse(RELU, SHAPE)
    assert refused.value.reason is Reason.WORKER_CRASHED and len(calls) == 1
    assert sandbox.server_pid is None, "the silent server was stopped"
