"""A hardened child process: spawn, per-stage deadlines, the serve loop, typed rejections.

Whatever compiles a candidate runs in such a child: it has a memory limit (RLIMIT_AS),
cannot be ptraced or core-dumped (PR_SET_DUMPABLE 0), dies with its parent, and is killed
when it misses a deadline. The protocol is JSON lines tagged with the request id: the
parent sends one request per line; the child answers with progress events (`prepared`,
`compiled`, `trained`...) and one final line with `done`. Each event has its own deadline,
so a slow compile is told apart from a slow run. Training (actgym.training_process) and
the downstream transfer tasks (actgym.transfer.process) are its two users.
"""

from __future__ import annotations

import abc
import contextlib
import ctypes
import json
import os
import resource
import select
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any, TypeVar

import jax

from actgym.cache import private_directory
from actgym.candidate.reasons import CandidateRejected, Reason, contained
from actgym.hardening import make_undumpable

STAGES: dict[str, tuple[str, Reason]] = {
    "ready": ("starting a training process", Reason.RESOURCE_LIMIT),
    "probed": ("compiling and probing the program", Reason.COMPILE_TIMEOUT),
    "prepared": ("preparing the task data", Reason.RESOURCE_LIMIT),
    "compiled": ("compiling the training program", Reason.COMPILE_TIMEOUT),
    "trained": ("training", Reason.RESOURCE_LIMIT),
    "reported": ("reporting the losses", Reason.RESOURCE_LIMIT),
    "sending": ("sending the program", Reason.RESOURCE_LIMIT),
}


MACHINE_STAGES = frozenset({"ready", "prepared", "reported", "sending"})
"""Stages whose time does not depend on the program: a miss there is the machine's."""
T = TypeVar("T")


class Stopped(Exception):
    """The child missed a deadline (and was killed) or died."""

    def __init__(self, stage: str, seconds: float | None, status: str) -> None:
        super().__init__(stage)
        self.stage = stage
        self.seconds = seconds
        self.status = status
        self.tries = 1

    @property
    def machine_fault(self) -> bool:
        """Killed or crashed, or late at a stage the program does not drive (starting,
        preparing the data, reporting): the cause may be outside, so it is tried again."""
        return self.seconds is None or self.stage in MACHINE_STAGES

    def rejection(self) -> CandidateRejected:
        doing, timeout_reason = STAGES[self.stage]
        tries = f" on each of {self.tries} tries" if self.tries > 1 else ""
        if self.seconds is None:
            return CandidateRejected(
                Reason.PROCESS_DIED,
                f"The training process died while {doing}{tries} (last: {self.status}).",
            )
        if self.stage in MACHINE_STAGES:
            return CandidateRejected(
                Reason.PROCESS_DIED,
                f"{doing.capitalize()} took longer than its {self.seconds:.0f} s bound{tries}; "
                "the training process was stopped.",
            )
        return CandidateRejected(
            timeout_reason,
            f"{doing.capitalize()} took longer than its {self.seconds:.0f} s bound; the "
            "training process was stopped.",
        )


def restarting(attempt: Callable[[], T], tries: int) -> T:
    """`attempt()`, again up to `tries` times in all while its process dies.

    A process killed from outside (the machine out of memory, an operator) says nothing
    about the program it held, so a death, or a stall where the program plays no part,
    counts only when it happens on every try. A missed compile or run deadline counts at
    once: its bound already has a wide margin.
    """
    done = 0
    while True:
        try:
            return attempt()
        except Stopped as stopped:
            done += 1
            if not stopped.machine_fault or done >= tries:
                stopped.tries = done
                raise


class Child:
    """One child process and its pipes; `module`'s `main` serves the protocol (see `serve`)."""

    def __init__(self, pid: int, requests: IO[bytes], replies: int) -> None:
        self.pid = pid
        self.requests = requests
        self.replies = replies
        self._buffer = bytearray()
        self._next_id = 0
        self._dead = False
        self._parent = os.getpid()
        self.hardening: dict[str, Any] = {}

    @classmethod
    def spawn(
        cls,
        module: str,
        memory_bytes: int,
        startup_s: float,
        compilation_cache: Path | None = None,
    ) -> Child:
        """Start `python -m module` capped at `memory_bytes` of address space (on the CPU;
        0: none), persisting XLA executables in `compilation_cache` (None: not at all), and
        wait up to `startup_s` for it to say it is ready and hardened.

        The child, not this process, asks JAX which backend it has: starting a backend
        here would leave this process unable to fork workers that evaluate
        (actgym.forksafety), and a caller that only checks candidates never needs one.
        """
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        try:
            pid = _on_the_spawner_thread(
                os.posix_spawn,
                sys.executable,
                [sys.executable, "-m", module, str(memory_bytes), str(os.getpid())],
                {
                    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # several processes share a GPU
                    **child_environment(),
                    **compilation_cache_environment(compilation_cache),
                },
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, request_read, 0),
                    (os.POSIX_SPAWN_DUP2, reply_write, 1),
                ],
                setsid=True,
            )
        except OSError as error:  # e.g. EAGAIN: the machine is out of processes
            os.close(request_write)
            os.close(reply_read)
            raise Stopped("ready", None, f"it could not be started: {error.strerror}") from None
        finally:
            os.close(request_read)
            os.close(reply_write)
        child = cls(pid, os.fdopen(request_write, "wb"), reply_read)
        try:
            child.hardening = child._expect(0, "ready", startup_s)["hardening"]
        except Stopped:
            child.kill()
            raise
        return child

    def call(self, request: dict[str, Any], stages: Sequence[tuple[str, float]]) -> dict[str, Any]:
        """Send a request; each stage's event must arrive within its own deadline."""
        self._next_id += 1
        try:
            self.requests.write(json.dumps({"id": self._next_id, **request}).encode() + b"\n")
            self.requests.flush()
        except OSError:
            self.kill()
            raise Stopped("sending", None, "its input pipe is closed") from None
        for stage, seconds in stages:
            message = self._expect(self._next_id, stage, seconds)
            if "done" in message:
                return message
        raise Stopped(stages[-1][0], None, "it sent no final reply")

    def _expect(self, request_id: int, stage: str, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.replies], [], [], max(0.0, remaining))
            if not ready:
                self.kill()
                raise Stopped(stage, seconds, "deadline")
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                raise Stopped(stage, None, self._exit_status())
            self._buffer.extend(chunk)
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        message = json.loads(line)
        if message.get("id") != request_id:
            self.kill()
            raise Stopped(stage, None, "it answered out of turn")
        return message

    def alive(self) -> bool:
        if self._dead:
            return False
        try:
            return os.waitpid(self.pid, os.WNOHANG) == (0, 0)
        except ChildProcessError:
            return False

    def kill(self) -> None:
        self._exit_status()

    def _exit_status(self) -> str:
        """Kill (if still running), reap, and describe how the process ended."""
        if self._dead:
            return "stopped"
        self._dead = True
        if os.getpid() != self._parent:  # a forked copy: the process is its parent's
            return "stopped"
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)
        status = "stopped"
        with contextlib.suppress(ChildProcessError):
            _, code = os.waitpid(self.pid, 0)
            if os.WIFSIGNALED(code) and os.WTERMSIG(code) != signal.SIGKILL:
                status = f"killed by {signal.Signals(os.WTERMSIG(code)).name}"
            elif os.WIFEXITED(code):
                status = f"exit status {os.WEXITSTATUS(code)}"
        for close in (self.requests.close, lambda: os.close(self.replies)):
            with contextlib.suppress(OSError):
                close()
        return status


def compilation_cache_dir(default: Path) -> Path | None:
    """Where children persist XLA executables, so a program compiled once loads instead of
    compiling: nowhere with ACTGYM_XLA_CACHE=0, else a directory the user configured for
    JAX, else `default`. Read here and handed to each child; no global setting changes."""
    if os.environ.get("ACTGYM_XLA_CACHE") == "0":
        return None
    configured = jax.config.jax_compilation_cache_dir
    if configured:
        return Path(configured)
    private_directory(default)
    return default


def compilation_cache_environment(directory: Path | None) -> dict[str, str]:
    """A child's JAX settings for a persistent compilation cache in `directory`."""
    if directory is None:
        return {}
    return {
        "JAX_COMPILATION_CACHE_DIR": str(directory),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def rejection(data: Mapping[str, str]) -> CandidateRejected:
    """The rejection a child reported (see `rejected`)."""
    return CandidateRejected(Reason(data["reason"]), data["message"])


def rejected(rejection: CandidateRejected) -> dict[str, Any]:
    """A rejection as a child reports it."""
    return {"rejected": {"reason": rejection.reason.value, "message": rejection.message}}


_PR_SET_PDEATHSIG = 1
_SECRET_MARKERS = ("SECRET", "TOKEN", "KEY", "PASSWORD", "CREDENTIAL")


def child_environment() -> dict[str, str]:
    """This process's environment less every variable whose name marks a secret.

    A child compiles candidate programs; it needs paths and JAX's settings, never the
    leaderboard's hidden-seed secret or an API key, which a same-user reader of
    /proc/<pid>/environ could see before the child makes itself undumpable.
    """
    return {
        name: value
        for name, value in os.environ.items()
        if not any(marker in name.upper() for marker in _SECRET_MARKERS)
    }


_spawner: ThreadPoolExecutor | None = None
_spawner_lock = threading.Lock()


def _on_the_spawner_thread(spawn: Callable[..., int], *args: Any, **kwargs: Any) -> int:
    """Run `spawn` on one thread that lives as long as this process.

    A child's parent-death signal fires when the *thread* that started it ends, not the
    process. Children started from a pool thread that later exits (a web server's
    worker, idle for 10 s) were killed mid-use; started here, they die with the process.
    """
    global _spawner
    with _spawner_lock:
        if _spawner is None:
            _spawner = ThreadPoolExecutor(max_workers=1, thread_name_prefix="actgym-spawner")
        executor = _spawner
    return executor.submit(spawn, *args, **kwargs).result()


def _forget_the_spawner() -> None:
    """A forked child has no spawner thread: it starts its own on first use."""
    global _spawner, _spawner_lock
    _spawner = None
    _spawner_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_the_spawner)


def harden(memory_bytes: int, parent: int) -> dict[str, Any]:
    """No core dumps, no ptrace by same-user processes, death with the parent, a memory
    cap on the CPU (GPU drivers map far more address space than they use)."""
    undumpable = make_undumpable()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    if memory_bytes and jax.default_backend() == "cpu":
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    return {
        "undumpable": undumpable,
        "memory_limit_bytes": resource.getrlimit(resource.RLIMIT_AS)[0],
        "core_limit_bytes": resource.getrlimit(resource.RLIMIT_CORE)[0],
    }


Send = Callable[[dict[str, Any]], None]
"""Writes one protocol line to the parent."""


class Worker(abc.ABC):
    """The child's side of each request: events through `send`, then exactly one final reply.

    A rejection, or any failure the program causes on the trusted side, becomes that reply
    too, so the parent never waits out a deadline for a line that is not coming.
    """

    activity: str
    """What the child does with a program, named in the rejection of a failure it causes."""

    def __init__(self, send: Send) -> None:
        self.send = send

    def handle(self, request: dict[str, Any]) -> None:
        request_id = request["id"]
        try:
            reply = self.reply(request_id, request)
        except CandidateRejected as refused:
            reply = rejected(refused)
        except Exception as error:  # a trusted-side failure caused by the program
            reply = rejected(contained(error, self.activity))
        self.send({"id": request_id, "done": True, **reply})

    @abc.abstractmethod
    def reply(self, request_id: int, request: dict[str, Any]) -> dict[str, Any]:
        """The final reply's content; events for `request_id` may go out first."""


def serve(argv: Sequence[str], worker_type: Callable[[Send], Worker]) -> None:
    """The child's side: harden, say ready, then hand every request line to
    `worker_type(send)`'s `handle`, which answers through `send`."""
    memory_bytes, parent = int(argv[0]), int(argv[1])
    hardening = harden(memory_bytes, parent)
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints from libraries must not corrupt the protocol

    def send(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message).encode() + b"\n")
        channel.flush()

    worker = worker_type(send)
    send({"id": 0, "event": "ready", "hardening": hardening})
    for line in sys.stdin.buffer:
        worker.handle(json.loads(line))
