"""The fork server: a clean process that forks one confined child per candidate.

Started with a fresh interpreter (never forked from the caller, which may hold JAX
threads or a user's `__main__`), it imports JAX once and never initialises a backend or
runs candidate code itself, so forking it is cheap and safe. It reads one JSON request
per line on stdin, enforces the wall-clock limit on the child, kills the child's whole
process group, and answers one JSON line on stdout. EOF on stdin ends it.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
import time
from typing import Any

from actgym.candidate import worker
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.reasons import Reason

MAX_REPLY_BYTES = 8 * 1024 * 1024


def handle(request: dict[str, Any]) -> dict[str, Any]:
    limits = CandidateLimits(**request["limits"])
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        worker.child_main(write_fd, request["source"], request["width"], limits)
    os.close(write_fd)
    try:
        payload, timed_out = _read_reply(read_fd, limits.trace_timeout_s)
    finally:
        os.close(read_fd)
        _kill_group(pid)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return _failure(
            Reason.TIMEOUT,
            f"The wall-clock limit of {limits.trace_timeout_s:g} s was exceeded while tracing.",
        )
    return _classify(payload, status, limits)


def _read_reply(fd: int, timeout: float) -> tuple[bytes, bool]:
    deadline = time.monotonic() + timeout
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"", True
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return b"".join(chunks), False
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            return b"", False
        chunks.append(chunk)


def _classify(payload: bytes, status: int, limits: CandidateLimits) -> dict[str, Any]:
    if payload:
        try:
            reply = json.loads(payload)
        except ValueError:
            return _failure(Reason.WORKER_CRASHED, "The worker's reply was not JSON.")
        return reply if isinstance(reply, dict) else _failure(Reason.WORKER_CRASHED, "Bad reply.")
    if os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGXCPU, signal.SIGKILL):
        return _failure(
            Reason.TIMEOUT, f"The CPU-time limit of {limits.cpu_seconds} s was exceeded."
        )
    code = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
    return _failure(
        Reason.WORKER_CRASHED,
        f"The worker died (exit status {code}) before replying; this often means the "
        f"memory limit of {limits.memory_bytes // 2**20} MiB was hit.",
    )


def _failure(reason: Reason, message: str) -> dict[str, Any]:
    return {"status": reason.value, "message": message}


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue


def serve() -> None:
    for line in sys.stdin.buffer:
        try:
            request = json.loads(line)
            reply = {"id": request["id"], **handle(request)}
        except Exception as error:  # a bad request must not take the server down
            reply = _failure(Reason.WORKER_CRASHED, f"Server error: {type(error).__name__}")
        sys.stdout.buffer.write(json.dumps(reply).encode() + b"\n")
        sys.stdout.buffer.flush()


if __name__ == "__main__":
    serve()
