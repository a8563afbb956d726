"""Client side of the sandbox: hand candidates to the fork server and read its verdicts.

The server runs in its own session, so killing it takes its children along; it is
restarted after a fixed number of candidates (so nothing it accumulates can grow without
bound) and whenever it misses its own deadline. A server that dies while it holds a
candidate (killed, out of memory: the machine, not the candidate, whose child it only
forks) is started again and asked again, up to `SERVER_TRIES` times, so one fault of the
machine never becomes a candidate's verdict. Replies are parsed as JSON, never
unpickled (`actgym.candidate.protocol`); what they contain is re-validated by
`load_program` before any use.

A strict sandbox (`required_layers`, e.g. `confinement.ALL_LAYERS`) refuses every
candidate with `confinement_missing` unless each of those OS layers held in its child.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import threading
from dataclasses import dataclass, field
from typing import IO, Any

from actgym.candidate import confinement
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.protocol import (
    Reply,
    Request,
    encode_request,
    failure,
    read_reply,
    unpack,
)
from actgym.candidate.reasons import Reason

_SERVER_GRACE_S = 15.0
SERVER_TRIES = 3
_SERVER_VARIABLES = frozenset(
    {"PATH", "HOME", "LANG", "TZ", "TMPDIR", "LD_LIBRARY_PATH"}
    | {"PYTHONHOME", "PYTHONPATH", "VIRTUAL_ENV", confinement.SKIP_ENV}
)
_SERVER_VARIABLE_PREFIXES = ("LC_", "JAX_", "XLA_")


@dataclass
class Sandbox:
    """Checks candidates in confined children of a private fork server (thread-safe)."""

    limits: CandidateLimits = field(default_factory=CandidateLimits)
    recycle_after: int = 500
    required_layers: frozenset[str] = frozenset()
    """OS layers that must hold in the child, else nothing is run; empty: best-effort."""

    def __post_init__(self) -> None:
        confinement.check_layer_names(self.required_layers)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._served = 0
        self._next_id = 0

    def analyse(self, source: str, shape: tuple[int, ...]) -> dict[str, Any]:
        """Return the untrusted program JSON; raise CandidateRejected for any failure."""
        request = Request(source, shape, self.limits, self.required_layers)
        with self._lock:
            for _ in range(SERVER_TRIES):
                reply = self._request(request)
                if reply is not None:
                    return unpack(reply)
        return unpack(
            failure(
                Reason.WORKER_CRASHED,
                f"The sandbox server died on each of {SERVER_TRIES} tries.",
            )
        )

    @property
    def server_pid(self) -> int | None:
        """The fork server's pid (its session id too), or None while none runs."""
        return self._server.pid if self._server is not None else None

    def close(self) -> None:
        with self._lock:
            self._stop_server()

    def __del__(self) -> None:
        try:
            self._stop_server()
        except Exception:  # interpreter shutdown may have torn down os/signal already
            return

    def _request(self, request: Request) -> Reply | None:
        """The server's reply; None if the server died holding the request."""
        if self._server is None or not self._server.alive():
            self._start_server()
        elif self._served >= self.recycle_after:
            self._stop_server()
            self._start_server()
        assert self._server is not None
        self._next_id += 1
        self._served += 1
        request_id = self._next_id
        deadline = self.limits.trace_timeout_s + _SERVER_GRACE_S
        try:
            self._server.requests.write(encode_request(request_id, request))
            self._server.requests.flush()
            line = _read_line(self._server.replies, deadline)
        except (OSError, ValueError):  # ValueError: a stream already closed
            line = b""
        if line is None:
            self._stop_server()
            return failure(
                Reason.WORKER_CRASHED, f"The sandbox server missed its {deadline:g} s deadline."
            )
        reply = read_reply(line, request_id) if line else None
        if reply is None:
            self._stop_server()
        return reply

    def _start_server(self) -> None:
        self._server = _Server.spawn()
        self._served = 0

    def _stop_server(self) -> None:
        server, self._server = getattr(self, "_server", None), None
        if server is not None:
            server.stop()


@dataclass
class _Server:
    """The fork server process, started with posix_spawn in a session of its own.

    posix_spawn runs no at-fork handlers in this (possibly JAX-threaded) process, so
    starting the server neither risks a fork of JAX's state nor triggers JAX's warning.
    """

    pid: int
    requests: IO[bytes]
    replies: IO[bytes]
    parent: int = field(default_factory=os.getpid)

    @classmethod
    def spawn(cls) -> _Server:
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        devnull = os.open(os.devnull, os.O_WRONLY)
        environment = {**server_environment(), "JAX_PLATFORMS": "cpu", "PYTHONNOUSERSITE": "1"}
        try:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-m", "actgym.candidate.server"],
                environment,
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, request_read, 0),
                    (os.POSIX_SPAWN_DUP2, reply_write, 1),
                    (os.POSIX_SPAWN_DUP2, devnull, 2),
                ],
                setsid=True,
            )
        finally:
            for fd in (request_read, reply_write, devnull):
                os.close(fd)
        return cls(pid, os.fdopen(request_write, "wb"), os.fdopen(reply_read, "rb"))

    def alive(self) -> bool:
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def stop(self) -> None:
        if os.getpid() != self.parent:  # a forked copy: the server is its parent's
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)
        for stream in (self.requests, self.replies):
            with contextlib.suppress(OSError):
                stream.close()


def server_environment() -> dict[str, str]:
    """The caller's environment, less anything not needed to run Python and JAX.

    A candidate that got past every fence could read its environment and echo it back in
    an error message; API keys and tokens in the trainer's environment stay out of reach.
    """
    return {
        name: value
        for name, value in os.environ.items()
        if name in _SERVER_VARIABLES or name.startswith(_SERVER_VARIABLE_PREFIXES)
    }


def _read_line(stream: IO[bytes], timeout: float) -> bytes | None:
    """A line; b"" once the server has closed its end (died); None after `timeout`."""
    ready, _, _ = select.select([stream], [], [], timeout)
    return stream.readline() if ready else None
