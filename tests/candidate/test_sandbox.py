"""The OS layers hold even when every Python-level fence has failed.

The hostile corpus (test_hostile.py) mostly stops at the static policy. Here the policy is
taken out of the picture: a fresh fork server runs with `worker.analyse_source` replaced
by unrestricted `exec`, so each probe's Python runs in the confined child exactly as a
policy bypass would, and reports what the kernel let it do. Each probe names the layers
that should stop it and is skipped only where none of them is active on this machine.
The seccomp program is also checked instruction by instruction with a small BPF
interpreter, for both architectures, without a kernel.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from actgym.candidate import confinement
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.program import load_program
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.sandbox import server_environment

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the layers are Linux's")

HARNESS = """
import json, sys, time
from actgym.candidate import confinement, server, worker

def unrestricted(source, shape, limits):
    scope = {}
    exec(source, scope)  # no policy, all builtins: as if every Python-level fence failed
    return scope["reply"]

worker.analyse_source = unrestricted
confinement.prepare_server()
results = {}
for name, probe in json.loads(sys.stdin.read()).items():
    setup = {}
    exec(probe["server_setup"], setup)  # runs in the server itself, unconfined
    started = time.monotonic()
    reply = server.handle({"source": probe["code"], "shape": [8], "limits": probe["limits"]})
    elapsed = time.monotonic() - started
    results[name] = {"reply": reply, "elapsed": elapsed, "after": setup["after"]()}
results["children left"] = confinement.children_of_self()
print(json.dumps(results))
"""

PRELUDE = """
import ctypes, errno, json, os, resource, socket, subprocess, sys, threading, time

def attempt(action):
    try:
        action()
    except OSError as error:
        return errno.errorcode.get(error.errno, str(error.errno))
    except Exception as error:  # e.g. resource.setrlimit turns EPERM into ValueError
        return f"{type(error).__name__}: {error}"
    return "allowed"

def forked():
    if os.fork() == 0:
        os._exit(0)

libc = ctypes.CDLL(None, use_errno=True)

def checked(result):
    if result < 0:
        raise OSError(ctypes.get_errno(), "failed")

def reply_channel():
    frame = sys._getframe(1)
    while "reply_fd" not in frame.f_locals:
        frame = frame.f_back
    return frame.f_locals["reply_fd"]
"""

NO_SETUP = "def after():\n    return None\n"
QUICK = CandidateLimits(trace_timeout_s=5, cpu_seconds=5)


@dataclasses.dataclass(frozen=True)
class Probe:
    """Hostile code for the confined child; it sets `reply` to what it saw."""

    code: str
    guards: tuple[str, ...] = ()  # layers any one of which must stop it
    limits: CandidateLimits = QUICK
    server_setup: str = NO_SETUP


def attempt(action: str, *guards: str) -> Probe:
    """A probe that tries one action and reports `allowed` or the errno it got."""
    return Probe(f'reply = {{"status": "runtime_error", "message": attempt({action})}}', guards)


FILES = ("landlock", "seccomp")
SIGNALS = ("seccomp",)  # sent with signal 0: the permission check only

PROBES: dict[str, Probe] = {
    # The file system: nothing created, changed, moved or removed.
    "create a file": attempt('lambda: open("@MARKER@", "w")', *FILES),
    "truncate through open": attempt('lambda: open("@VICTIM@", "r+")', *FILES),
    "truncate a path": attempt('lambda: os.truncate("@VICTIM@", 0)', *FILES),
    "rename": attempt('lambda: os.rename("@VICTIM@", "@MARKER@")', *FILES),
    "unlink": attempt('lambda: os.unlink("@VICTIM@")', *FILES),
    "symlink": attempt('lambda: os.symlink("@VICTIM@", "@MARKER@")', *FILES),
    "hard link": attempt('lambda: os.link("@VICTIM@", "@MARKER@")', *FILES),
    "mkdir": attempt('lambda: os.mkdir("@MARKER@")', *FILES),
    "mkfifo": attempt('lambda: os.mkfifo("@MARKER@")', *FILES),
    "chmod": attempt('lambda: os.chmod("@VICTIM@", 0o777)', "seccomp"),
    "shell touch": Probe(
        'reply = {"status": "runtime_error", "message": '
        '"allowed" if os.system("touch @MARKER@") == 0 else "refused"}',
        FILES,
    ),
    # The network.
    "tcp connect": attempt(
        'lambda: socket.create_connection(("127.0.0.1", @PORT@), timeout=1)',
        "network_namespace",
        "landlock",
        "seccomp",
    ),
    "udp send": attempt(
        'lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).sendto(b"x", '
        '("127.0.0.1", @PORT@))',
        "network_namespace",
        "seccomp",
    ),
    "unix socket": attempt("lambda: socket.socket(socket.AF_UNIX)", "seccomp"),
    # Programs and processes.
    "exec": attempt('lambda: os.execv("/bin/true", ["true"])', "landlock", "seccomp"),
    "subprocess": attempt('lambda: subprocess.run(["/bin/true"])', "landlock", "seccomp"),
    "fork": attempt("forked", "seccomp"),
    "signal the server": attempt("lambda: os.kill(os.getppid(), 0)", *SIGNALS),
    "signal the trainer": attempt("lambda: os.kill(@TEST_PID@, 0)", *SIGNALS),
    "signal everyone": attempt("lambda: os.kill(-1, 0)", *SIGNALS),
    "ptrace the server": attempt("lambda: checked(libc.ptrace(16, os.getppid(), 0, 0))", "seccomp"),
    "server memory": attempt(
        'lambda: open(f"/proc/{os.getppid()}/mem", "rb")', "landlock", "capabilities"
    ),
    "trainer environment": attempt(
        'lambda: open("/proc/@TEST_PID@/environ", "rb").read()', "landlock"
    ),
    "server reply channel": attempt(
        'lambda: open(f"/proc/{os.getppid()}/fd/1", "wb")', "landlock", "seccomp"
    ),
    "raise the memory limit": attempt(
        "lambda: resource.setrlimit(resource.RLIMIT_AS, (-1, -1))", "seccomp", "capabilities"
    ),
    "new user namespace": attempt("lambda: checked(libc.unshare(0x10000000))", "seccomp"),
    "io_uring": attempt(
        "lambda: checked(libc.syscall(425, 1, ctypes.create_string_buffer(120)))", "seccomp"
    ),
    # What tracing needs must keep working.
    "read package files": attempt('lambda: open(json.__file__, "rb").read()'),
    "threads": attempt("lambda: threading.Thread(target=time.sleep, args=(0.01,)).start()"),
    "jax on the CPU": attempt(
        "lambda: __import__('jax.numpy').numpy.sin(__import__('jax.numpy').numpy.ones(3))"
        ".block_until_ready()"
    ),
}

PROBES |= {
    # The server's handling of children that misbehave.
    "forged reply fields": Probe(
        'reply = {"status": "ok", "program": {"p": 1}, "id": 999, "reward": 1e9}'
    ),
    "unknown status": Probe('reply = {"status": "excellent", "message": "trust me"}'),
    "answer then spin": Probe(
        "fd = reply_channel()\n"
        'os.write(fd, b\'{"status": "bad_output", "message": "early"}\')\n'
        "os.close(fd)\nwhile True:\n    pass\n",
        limits=CandidateLimits(trace_timeout_s=5),
    ),
    "close the channel then spin": Probe(
        "os.close(reply_channel())\nwhile True:\n    pass\n",
        limits=CandidateLimits(trace_timeout_s=1),
    ),
    "close the channel then exit": Probe("os.close(reply_channel())\nos._exit(3)\n"),
    "cpu limit": Probe(
        "while True:\n    pass\n", limits=CandidateLimits(trace_timeout_s=20, cpu_seconds=1)
    ),
    "oversized reply": Probe(
        'os.write(reply_channel(), b"[" * (9 * 2**20))\nreply = {"status": "ok"}\n'
    ),
    "thread left running": Probe(
        "def spin():\n    while True:\n        pass\n\nthreading.Thread(target=spin).start()\n"
        'reply = {"status": "bad_output", "message": "bye"}\n'
    ),
    "escaped grandchild": Probe(
        'reply = {"status": "bad_output", "message": "no-op"}',
        server_setup=(
            "import os, signal, time\n"
            "child = os.fork()\n"
            "if child == 0:\n"
            "    if os.fork() == 0:\n"
            "        os.setsid()\n"
            "        time.sleep(600)\n"
            "    os._exit(0)\n"
            "os.waitpid(child, 0)\n"
            "def after():\n"
            "    from actgym.candidate import confinement\n"
            "    return confinement.children_of_self()\n"
        ),
    ),
}


def _listener() -> tuple[socket.socket, list[int]]:
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[int] = []

    def accept() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connections.append(1)
            connection.close()

    threading.Thread(target=accept, daemon=True).start()
    return listener, connections


@dataclasses.dataclass
class Outcome:
    results: dict
    marker: Path
    victim: Path
    connections: list[int]


@pytest.fixture(scope="module")
def layers() -> dict[str, str]:
    return confinement.active_layers()


@pytest.fixture(scope="module")
def outcome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcome]:
    directory = tmp_path_factory.mktemp("sandbox")
    marker, victim = directory / "marker", directory / "victim"
    victim.write_text("precious")
    victim.chmod(0o644)
    listener, connections = _listener()
    substitutions = {
        "@MARKER@": str(marker),
        "@VICTIM@": str(victim),
        "@PORT@": str(listener.getsockname()[1]),
        "@TEST_PID@": str(os.getpid()),
    }
    requests = {
        name: {
            "code": _substitute(PRELUDE + probe.code, substitutions),
            "limits": dataclasses.asdict(probe.limits),
            "server_setup": probe.server_setup,
        }
        for name, probe in PROBES.items()
    }
    completed = subprocess.run(
        [sys.executable, "-c", HARNESS],
        input=json.dumps(requests),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    yield Outcome(json.loads(completed.stdout), marker, victim, connections)
    listener.close()


def _substitute(code: str, substitutions: dict[str, str]) -> str:
    for placeholder, value in substitutions.items():
        code = code.replace(placeholder, value)
    return code


def test_every_layer_is_reported(layers: dict[str, str]) -> None:
    assert tuple(layers) == confinement.LAYERS
    for state in layers.values():
        assert confinement.is_active(state) or state.startswith("unavailable: ")


@pytest.mark.skipif(platform.machine() not in ("x86_64", "aarch64"), reason="no syscall table")
def test_seccomp_and_no_new_privs_hold_on_linux(layers: dict[str, str]) -> None:
    assert confinement.is_active(layers["no_new_privs"]), layers
    assert confinement.is_active(layers["seccomp"]), layers


ATTEMPTS = [name for name, probe in PROBES.items() if "attempt(" in probe.code]


@pytest.mark.parametrize("name", ATTEMPTS)
def test_confined_child_is_refused(name: str, outcome: Outcome, layers: dict[str, str]) -> None:
    probe = PROBES[name]
    active = [layer for layer in probe.guards if confinement.is_active(layers[layer])]
    if probe.guards and not active:
        pytest.skip(f"none of {probe.guards} is active here")
    seen = outcome.results[name]["reply"]["message"]
    if probe.guards:
        assert seen != "allowed", f"{name} was allowed despite {active}"
    else:
        assert seen == "allowed", f"{name} must keep working under confinement: {seen}"


def test_the_server_gets_no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("JAX_ENABLE_X64", "0")
    environment = server_environment()
    assert "OPENAI_API_KEY" not in environment
    assert environment["JAX_ENABLE_X64"] == "0"
    assert environment["PATH"] == os.environ["PATH"]


def test_nothing_changed_on_the_host(outcome: Outcome) -> None:
    assert not outcome.marker.exists()
    assert outcome.victim.read_text() == "precious"
    assert outcome.victim.stat().st_mode & 0o777 == 0o644
    assert outcome.connections == []
    assert outcome.results["children left"] == []


def test_forged_reply_keeps_only_its_fields(outcome: Outcome) -> None:
    assert outcome.results["forged reply fields"]["reply"] == {
        "status": "ok",
        "program": {"p": 1},
    }
    unknown = outcome.results["unknown status"]["reply"]
    assert unknown["status"] == Reason.WORKER_CRASHED.value


def _forged(equation: dict) -> dict:
    return {
        "format": "actgym.program/1",
        "input": {"shape": [8], "dtype": "float32"},
        "consts": [],
        "eqns": [{"params": {}, "outputs": [{"shape": [8], "dtype": "float32"}], **equation}],
        "output": {"v": 1},
    }


def _nested(depth: int) -> dict:
    value: dict = {"float": "0x1p0"}
    for _ in range(depth):
        value = {"tuple": [value]}
    return value


FORGED = {
    "host callback": (
        _forged({"primitive": "pure_callback", "inputs": [{"v": 0}]}),
        Reason.FORBIDDEN_PRIMITIVE,
    ),
    "operand flood": (
        _forged({"primitive": "concatenate", "inputs": [{"v": 0}] * 100_000}),
        Reason.INVALID_PROGRAM,
    ),
    "deeply nested parameter": (
        _forged({"primitive": "neg", "inputs": [{"v": 0}], "params": {"y": _nested(5_000)}}),
        Reason.INVALID_PROGRAM,
    ),
    "python object parameter": (
        _forged({"primitive": "neg", "inputs": [{"v": 0}], "params": {"y": {"object": "os"}}}),
        Reason.INVALID_PROGRAM,
    ),
}


@pytest.mark.parametrize("name", sorted(FORGED))
def test_a_forged_program_is_only_data(name: str) -> None:
    """What a child forges reaches the trainer as data and is validated from scratch."""
    data, reason = FORGED[name]
    started = time.perf_counter()
    with pytest.raises(CandidateRejected) as rejection:
        load_program(data, shape=(8,))
    assert rejection.value.reason is reason
    assert time.perf_counter() - started < 1.0


def test_an_answer_is_taken_without_waiting_for_the_deadline(outcome: Outcome) -> None:
    result = outcome.results["answer then spin"]
    assert result["reply"] == {"status": "bad_output", "message": "early"}
    assert result["elapsed"] < 2.0


def test_timeouts_name_the_limit_that_was_hit(outcome: Outcome) -> None:
    wall = outcome.results["close the channel then spin"]["reply"]
    assert wall["status"] == Reason.TIMEOUT.value
    assert "wall-clock limit of 1 s" in wall["message"]
    cpu = outcome.results["cpu limit"]
    assert cpu["reply"]["status"] == Reason.TIMEOUT.value
    assert "CPU-time limit of 1 s" in cpu["reply"]["message"]
    assert cpu["elapsed"] < 10


def test_a_silent_exit_reports_its_status(outcome: Outcome) -> None:
    reply = outcome.results["close the channel then exit"]["reply"]
    assert reply["status"] == Reason.WORKER_CRASHED.value
    assert "exit status 3" in reply["message"]
    oversized = outcome.results["oversized reply"]["reply"]
    assert oversized["status"] == Reason.WORKER_CRASHED.value


def test_a_child_dies_with_its_server(layers: dict[str, str]) -> None:
    """Killed mid-candidate, the server takes a sleeping child (own session) with it."""
    if not confinement.is_active(layers["parent_death_signal"]):
        pytest.skip("no parent-death signal here")
    request = {
        "sleep": {
            "code": "import time\ntime.sleep(600)\n",
            "limits": dataclasses.asdict(CandidateLimits(trace_timeout_s=600)),
            "server_setup": NO_SETUP,
        }
    }
    server = subprocess.Popen(
        [sys.executable, "-c", HARNESS], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL
    )
    assert server.stdin is not None
    server.stdin.write(json.dumps(request).encode())
    server.stdin.close()
    children: list[psutil.Process] = []
    deadline = time.monotonic() + 30
    while not children and time.monotonic() < deadline:
        time.sleep(0.05)
        children = psutil.Process(server.pid).children()
    assert children, "the server never forked a child"
    time.sleep(0.5)  # let the child confine itself and fall asleep
    server.kill()
    server.wait()
    _, alive = psutil.wait_procs(children, timeout=10)
    for process in alive:  # do not leave it behind when the test fails
        process.kill()
    assert not alive, "a child outlived its server"


def test_nothing_outlives_its_candidate(outcome: Outcome) -> None:
    assert outcome.results["thread left running"]["reply"]["message"] == "bye"
    assert outcome.results["escaped grandchild"]["after"] == []


# ----------------------------------------------------------------------------------------
# The seccomp program, interpreted


def run_filter(program: list[tuple[int, int, int, int]], arch: int, nr: int, *args: int) -> int:
    """Interpret classic BPF over a seccomp_data record; return the filter's action."""
    full = [*args, *[0] * (6 - len(args))]
    data = struct.pack("<iIQ6Q", nr, arch, 0, *(value % 2**64 for value in full))
    accumulator, counter = 0, 0
    while True:
        code, true_offset, false_offset, constant = program[counter]
        counter += 1
        if code == 0x20:
            accumulator = struct.unpack_from("<I", data, constant)[0]
        elif code == 0x06:
            return constant
        else:
            taken = {
                0x15: accumulator == constant,
                0x25: accumulator > constant,
                0x35: accumulator >= constant,
                0x45: bool(accumulator & constant),
            }[code]
            counter += true_offset if taken else false_offset


X86_64 = 0xC000003E
AARCH64 = 0xC00000B7
SELF = 4242
ALLOW, EPERM, ENOSYS = 0x7FFF0000, 0x00050001, 0x00050026
O_WRONLY, O_RDWR, O_CREAT, O_TRUNC = 0o1, 0o2, 0o100, 0o1000


@pytest.fixture(scope="module")
def x86_64() -> list[tuple[int, int, int, int]]:
    return confinement.seccomp_program("x86_64", SELF)


@pytest.mark.parametrize("machine", ["x86_64", "aarch64"])
def test_every_jump_lands_inside_the_program(machine: str) -> None:
    program = confinement.seccomp_program(machine, SELF)
    assert len(program) < 4096
    for index, (code, true_offset, false_offset, _) in enumerate(program):
        assert max(true_offset, false_offset) < 256
        if code not in (0x20, 0x06):
            assert index + 1 + max(true_offset, false_offset) < len(program)
    assert program[-1] == (0x06, 0, 0, ALLOW)


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ((0,), ALLOW),  # read
        ((1,), ALLOW),  # write
        ((9,), ALLOW),  # mmap
        ((202,), ALLOW),  # futex
        ((257, -100, 0, os.O_RDONLY | os.O_CLOEXEC), ALLOW),
        ((257, -100, 0, O_WRONLY), EPERM),
        ((257, -100, 0, O_RDWR), EPERM),
        ((257, -100, 0, O_CREAT), EPERM),
        ((257, -100, 0, O_TRUNC), EPERM),
        ((2, 0, O_WRONLY | O_CREAT), EPERM),  # open
        ((59,), EPERM),  # execve
        ((322,), EPERM),  # execveat
        ((41, socket.AF_UNIX), EPERM),
        ((57,), EPERM),  # fork
        ((56, 0x3D0F00), ALLOW),  # clone for a thread
        ((56, 17), EPERM),  # clone as fork: SIGCHLD only
        ((56, 0x3D0F00 | 0x10000000), EPERM),  # thread in a new user namespace
        ((435,), ENOSYS),  # clone3: libc falls back to clone
        ((62, SELF, 9), ALLOW),  # kill self
        ((62, 0, 9), ALLOW),  # own process group
        ((62, SELF + 1, 9), EPERM),
        ((62, -1, 9), EPERM),
        ((62, SELF + 2**32, 9), EPERM),  # high bits set: not self
        ((234, SELF, SELF, 6), ALLOW),  # tgkill self
        ((234, 1, 1, 9), EPERM),
        ((200, SELF, 9), EPERM),  # tkill
        ((302, 0, 9, 0, 1), ALLOW),  # prlimit64 read
        ((302, 0, 9, 1, 0), EPERM),  # prlimit64 write
        ((160,), EPERM),  # setrlimit
        ((16, 0, 0x5412), EPERM),  # ioctl TIOCSTI
        ((16, 0, 0x5401), ALLOW),  # ioctl TCGETS
        ((101,), EPERM),  # ptrace
        ((112,), EPERM),  # setsid
        ((272,), EPERM),  # unshare
        ((425,), EPERM),  # io_uring_setup
        ((82,), EPERM),  # rename
        ((90,), EPERM),  # chmod
        ((0x40000000 | 59,), EPERM),  # x32 ABI
        ((1000,), ENOSYS),  # newer than the table
    ],
)
def test_x86_64_rules(
    x86_64: list[tuple[int, int, int, int]], call: tuple[int, ...], expected: int
) -> None:
    assert run_filter(x86_64, X86_64, *call) == expected


def test_another_architecture_is_refused(x86_64: list[tuple[int, int, int, int]]) -> None:
    assert run_filter(x86_64, 0x40000003, 0) == EPERM  # i386 through int 0x80


def test_aarch64_rules() -> None:
    program = confinement.seccomp_program("aarch64", SELF)
    assert run_filter(program, AARCH64, 63) == ALLOW  # read
    assert run_filter(program, AARCH64, 56, -100, 0, os.O_RDONLY) == ALLOW  # openat
    assert run_filter(program, AARCH64, 56, -100, 0, O_WRONLY) == EPERM
    assert run_filter(program, AARCH64, 221) == EPERM  # execve
    assert run_filter(program, AARCH64, 220, 17) == EPERM  # clone as fork
    assert run_filter(program, AARCH64, 129, SELF, 9) == ALLOW  # kill self
    assert run_filter(program, AARCH64, 129, 1, 9) == EPERM
    assert run_filter(program, X86_64, 63) == EPERM


def test_unknown_architecture_has_no_filter() -> None:
    with pytest.raises(Exception, match="no syscall table"):
        confinement.seccomp_program("sparc64", SELF)
