"""The fork server: a clean process that forks one confined child per candidate.

Started with a fresh interpreter (never forked from the caller, which may hold JAX
threads or a user's `__main__`), it imports JAX once and never initialises a backend or
runs candidate code itself, so forking it is cheap and safe. It reads one JSON request
per line on stdin, enforces the wall-clock limit on the child, kills the child's whole
process group and any descendant that left it, and answers one JSON line on stdout with
only the fields a reply may have (`actgym.candidate.protocol`). EOF on stdin ends it.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time
from typing import Any

from actgym.candidate import confinement, worker
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.protocol import (
    MAX_REPLY_BYTES,
    Reply,
    Request,
    answer,
    failure,
    sanitise_reply,
)
from actgym.candidate.reasons import Reason

_POLL_S = 0.005
_MAX_STRAY_ROUNDS = 64
# How reading a child's reply ended.
_ANSWERED, _SILENT, _TIMED_OUT, _TOO_LARGE = "answered", "silent", "timed out", "too large"


def handle(message: dict[str, Any]) -> Reply:
    """Check one candidate in a confined child; `message` is the request's JSON object."""
    request = Request.from_json(message)
    deadline = time.monotonic() + request.limits.trace_timeout_s
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        worker.child_main(write_fd, request)
    os.close(write_fd)
    try:
        payload, outcome = _read_reply(read_fd, deadline)
    finally:
        os.close(read_fd)
    exited = None
    if outcome == _SILENT:  # no answer: let it finish dying, so its exit status is its own
        exited = _wait_for_exit(pid, deadline)
        outcome = _TIMED_OUT if exited is None else outcome
    _kill_group(pid)
    if exited is None:
        exited = os.wait4(pid, 0)
    _kill_strays()
    if outcome == _TIMED_OUT:
        return failure(
            Reason.TIMEOUT,
            f"The wall-clock limit of {request.limits.trace_timeout_s:g} s was exceeded while "
            "loading or tracing the candidate.",
        )
    if outcome == _TOO_LARGE:
        return failure(Reason.WORKER_CRASHED, f"The reply exceeded {MAX_REPLY_BYTES} bytes.")
    _, status, usage = exited
    return _classify(payload, status, usage.ru_utime + usage.ru_stime, request.limits)


def _read_reply(fd: int, deadline: float) -> tuple[bytes, str]:
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"", _TIMED_OUT
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), (_ANSWERED if chunks else _SILENT)
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            return b"", _TOO_LARGE
        chunks.append(chunk)


def _wait_for_exit(pid: int, deadline: float) -> tuple[int, int, Any] | None:
    """`os.wait4`'s answer once the child exits, or None if it still runs at the deadline."""
    while True:
        exited = os.wait4(pid, os.WNOHANG)
        if exited[0] == pid:
            return exited
        if time.monotonic() >= deadline:
            return None
        time.sleep(_POLL_S)


def _kill_strays() -> None:
    """Kill what a candidate left behind that escaped its process group.

    The server is the child subreaper (`confinement.prepare_server`), so every orphaned
    descendant of a candidate, whatever session it moved to, is re-parented here.
    """
    for _ in range(_MAX_STRAY_ROUNDS):
        strays = confinement.children_of_self()
        if not strays:
            return
        for pid in strays:
            _kill_group(pid)
        for pid in strays:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)


def _classify(payload: bytes, status: int, cpu_s: float, limits: CandidateLimits) -> Reply:
    if payload:
        return sanitise_reply(payload)
    killed_by = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
    if killed_by == signal.SIGXCPU or (killed_by == signal.SIGKILL and cpu_s >= limits.cpu_seconds):
        return failure(
            Reason.TIMEOUT, f"The CPU-time limit of {limits.cpu_seconds} s was exceeded."
        )
    if killed_by == signal.SIGKILL:
        return failure(
            Reason.MEMORY_LIMIT,
            f"The worker was killed (SIGKILL) after {cpu_s:.1f} s of CPU time, which usually "
            "means the machine ran out of memory.",
        )
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return failure(
        Reason.WORKER_CRASHED,
        f"The worker died (exit status {code}) before replying; this often means the "
        f"memory limit of {limits.memory_bytes // 2**20} MiB was hit.",
    )


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue


def serve() -> None:
    confinement.prepare_server()
    for line in sys.stdin.buffer:
        sys.stdout.buffer.write(answer(line, handle))
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    serve()
