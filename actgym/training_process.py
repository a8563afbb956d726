"""Probe, compile and train candidate programs in killable, resource-limited processes.

A program that passed every static check can still make XLA compile for minutes or
allocate gigabytes. Everything that compiles a candidate therefore happens in a child of
the evaluating process: the child has a memory limit (RLIMIT_AS), cannot be ptraced or
core-dumped (PR_SET_DUMPABLE 0), dies with its parent, and is killed when it misses a
deadline. It runs no candidate Python: it receives program data (JSON), validates it
again with `load_program`, and binds allow-listed primitives, as the parent would.

Protocol, JSON lines tagged with the request id. Parent to child: one request per line,
`probe` (one program) or `train` (a batch on some families). Child to parent: progress
events (`prepared`, `compiled`, `trained`) and one final line with `done`. Each event
has its own deadline, so a slow compile is told apart from a slow run.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import dataclasses
import json
import os
import resource
import select
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any

import jax

from actgym.candidate.limits import CandidateLimits
from actgym.candidate.probe import ProbeResult, probe
from actgym.candidate.program import Program, load_program
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.hardening import make_undumpable
from actgym.tasks import TaskSizes, make_family
from actgym.tasks.base import DEFAULT_REGION
from actgym.trainer import FamilyData, Losses, TrainerConfig, prepare, train_many


@dataclass(frozen=True)
class TrainingBounds:
    """How long each stage may take and how much memory a training process may map.

    Deadlines depend on the machine, so they are not part of a score's fingerprint, and a
    result they cut short is never cached on disk. Defaults leave an honest candidate a
    margin of ten or more on a 2-core CPU at default settings (benchmarks/perf):
      startup_s          start a process, or build a new task setup's data in it
      probe_s            compile and run one program's probe (values and derivatives)
      compile_s          compile one program's training for one family (a batch of n
                         programs gets compile_base_s + n * compile_s)
      run_margin         run deadline per program and family, as a multiple of the
                         baseline activation's own run time (at least run_floor_s)
      memory_bytes       RLIMIT_AS of each training process on CPU (unset on GPUs, whose
                         drivers map more address space than they use)
    """

    startup_s: float = 180.0
    probe_s: float = 30.0
    compile_base_s: float = 30.0
    compile_s: float = 20.0
    run_margin: float = 20.0
    run_floor_s: float = 60.0
    memory_bytes: int = 6 * 1024**3

    def compile_deadline(self, programs: int) -> float:
        return self.compile_base_s + programs * self.compile_s

    def run_deadline(self, programs: int, baseline_run_s: float | None) -> float:
        per_program = max(self.run_floor_s, self.run_margin * (baseline_run_s or 0.0))
        return programs * per_program


@dataclass(frozen=True)
class TrainingSetup:
    """What a training process needs to rebuild a configuration's data by itself."""

    trainer: TrainerConfig
    task_seed: int
    num_instances: int | None
    sizes: TaskSizes
    limits: CandidateLimits
    region: str = DEFAULT_REGION

    def to_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainingSetup:
        trainer = {**data["trainer"], "seeds": tuple(data["trainer"]["seeds"])}
        return cls(
            trainer=TrainerConfig(**trainer),
            task_seed=data["task_seed"],
            num_instances=data["num_instances"],
            sizes=TaskSizes(**data["sizes"]),
            limits=CandidateLimits(**data["limits"]),
            region=data["region"],
        )


class BatchFailed(Exception):
    """The batch as a whole failed; which program caused it is unknown (retry one by one)."""

    def __init__(self, rejection: CandidateRejected) -> None:
        super().__init__(rejection.message)
        self.rejection = rejection


# ----------------------------------------------------------------------------------------
# Parent side


class TrainingPool:
    """Idle training processes, shared by every Evaluator of this process (thread-safe)."""

    def __init__(self, bounds: TrainingBounds) -> None:
        self.bounds = bounds
        self._lock = threading.Lock()
        self._idle: list[_Child] = []
        self._closed = False

    def probe(self, program: Program, limits: CandidateLimits) -> ProbeResult:
        """Descriptors, locality and behaviour; raise CandidateRejected (NaN, crash, deadline)."""
        request = {"kind": "probe", "program": program.data, "limits": dataclasses.asdict(limits)}
        try:  # a process that fails to start is stopped too
            with self._child() as child:
                reply = child.call(request, [("probed", self.bounds.probe_s)])
        except _Stopped as stopped:
            raise stopped.rejection() from None
        if "rejected" in reply:
            raise _rejection(reply["rejected"])
        return ProbeResult(reply["descriptors"], reply["locality"], str(reply["behaviour"]))

    def train(
        self,
        programs: Sequence[Program],
        families: Sequence[str],
        setup: TrainingSetup,
        baseline_run_s: Mapping[str, float | None],
        threads: int = 1,
    ) -> list[dict[str, Losses]]:
        """Every program's losses on every family; raise BatchFailed if the batch fails."""
        count = len(programs)
        stages: list[tuple[str, float]] = [("prepared", self.bounds.startup_s)]
        for family in families:
            stages.append(("compiled", self.bounds.compile_deadline(count)))
            stages.append(("trained", self.bounds.run_deadline(count, baseline_run_s.get(family))))
        stages.append(("reported", self.bounds.startup_s))
        request = {
            "kind": "train",
            "programs": [program.data for program in programs],
            "families": list(families),
            "setup": setup.to_json(),
            "threads": threads,
        }
        try:
            with self._child() as child:
                reply = child.call(request, stages)
        except _Stopped as stopped:
            raise BatchFailed(stopped.rejection()) from None
        if "rejected" in reply:
            raise BatchFailed(_rejection(reply["rejected"]))
        return [
            {family: Losses.from_json(value) for family, value in outcome.items()}
            for outcome in reply["losses"]
        ]

    def hardening(self) -> dict[str, Any]:
        """What holds in this pool's training processes, as a fresh one reports it."""
        with self._child() as child:
            return dict(child.hardening)

    def close(self) -> None:
        with self._lock:
            self._closed = True
        self.drain()

    def drain(self) -> None:
        """Stop the idle processes; the pool stays open and starts fresh ones as needed."""
        with self._lock:
            idle, self._idle = self._idle, []
        for child in idle:
            child.kill()

    @contextlib.contextmanager
    def _child(self) -> Iterator[_Child]:
        with self._lock:
            child = self._idle.pop() if self._idle else None
        if child is None or not child.alive():
            child = _Child.spawn(self.bounds)
        try:
            yield child
        except BaseException:
            child.kill()
            raise
        with self._lock:
            if self._closed or not child.alive():
                child.kill()
            else:
                self._idle.append(child)


_pools: dict[TrainingBounds, TrainingPool] = {}
_pools_lock = threading.Lock()


def shared_pool(bounds: TrainingBounds) -> TrainingPool:
    """One pool per bounds: processes (and the data they built) outlive an Evaluator."""
    with _pools_lock:
        if bounds not in _pools:
            _pools[bounds] = TrainingPool(bounds)
        return _pools[bounds]


def drain_shared_pools() -> None:
    """Stop every shared pool's idle processes, so that what runs next starts cold (a
    process keeps what it compiled); Evaluators holding a pool go on with fresh ones."""
    with _pools_lock:
        pools = list(_pools.values())
    for pool in pools:
        pool.drain()


@atexit.register
def close_shared_pools() -> None:
    """Stop every shared pool's idle processes; the next Evaluator starts fresh ones.

    For benchmarks that must start cold: a process keeps what it compiled.
    """
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


_STAGES: dict[str, tuple[str, Reason]] = {
    "ready": ("starting a training process", Reason.RESOURCE_LIMIT),
    "probed": ("compiling and probing the program", Reason.COMPILE_TIMEOUT),
    "prepared": ("preparing the task data", Reason.RESOURCE_LIMIT),
    "compiled": ("compiling the training program", Reason.COMPILE_TIMEOUT),
    "trained": ("training", Reason.RESOURCE_LIMIT),
    "reported": ("reporting the losses", Reason.RESOURCE_LIMIT),
    "sending": ("sending the program", Reason.RESOURCE_LIMIT),
}


class _Stopped(Exception):
    """The child missed a deadline (and was killed) or died."""

    def __init__(self, stage: str, seconds: float | None, status: str) -> None:
        super().__init__(stage)
        self.stage = stage
        self.seconds = seconds
        self.status = status

    def rejection(self) -> CandidateRejected:
        doing, timeout_reason = _STAGES[self.stage]
        if self.seconds is None:
            return CandidateRejected(
                Reason.RESOURCE_LIMIT,
                f"The training process died while {doing} ({self.status}): the program "
                "needs more memory than the bound allows, or crashed the compiler.",
            )
        return CandidateRejected(
            timeout_reason,
            f"{doing.capitalize()} took longer than its {self.seconds:.0f} s bound; the "
            "training process was stopped.",
        )


class _Child:
    """One training process and its pipes."""

    def __init__(self, pid: int, requests: IO[bytes], replies: int) -> None:
        self.pid = pid
        self.requests = requests
        self.replies = replies
        self._buffer = bytearray()
        self._next_id = 0
        self._dead = False
        self.hardening: dict[str, Any] = {}

    @classmethod
    def spawn(cls, bounds: TrainingBounds, module: str = "actgym.training_process") -> _Child:
        """Start `python -m module`, whose `main` must serve this protocol (see `main`)."""
        request_read, request_write = os.pipe()
        reply_read, reply_write = os.pipe()
        memory = bounds.memory_bytes if jax.default_backend() == "cpu" else 0
        try:
            pid = os.posix_spawn(
                sys.executable,
                [sys.executable, "-m", module, str(memory), str(os.getpid())],
                {
                    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # several processes share a GPU
                    **os.environ,
                    **_compilation_cache_environment(),
                },
                file_actions=[
                    (os.POSIX_SPAWN_DUP2, request_read, 0),
                    (os.POSIX_SPAWN_DUP2, reply_write, 1),
                ],
                setsid=True,
            )
        finally:
            os.close(request_read)
            os.close(reply_write)
        child = cls(pid, os.fdopen(request_write, "wb"), reply_read)
        try:
            child.hardening = child._expect(0, "ready", bounds.startup_s)["hardening"]
        except _Stopped:
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
            raise _Stopped("sending", None, "its input pipe is closed") from None
        for stage, seconds in stages:
            message = self._expect(self._next_id, stage, seconds)
            if "done" in message:
                return message
        raise _Stopped(stages[-1][0], None, "it sent no final reply")

    def _expect(self, request_id: int, stage: str, seconds: float) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            ready, _, _ = select.select([self.replies], [], [], max(0.0, remaining))
            if not ready:
                self.kill()
                raise _Stopped(stage, seconds, "deadline")
            chunk = os.read(self.replies, 1 << 16)
            if not chunk:
                raise _Stopped(stage, None, self._exit_status())
            self._buffer.extend(chunk)
        line, _, rest = bytes(self._buffer).partition(b"\n")
        self._buffer = bytearray(rest)
        message = json.loads(line)
        if message.get("id") != request_id:
            self.kill()
            raise _Stopped(stage, None, "it answered out of turn")
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


def _compilation_cache_environment() -> dict[str, str]:
    """The children share this process's persistent XLA cache: they compile once between them."""
    directory = jax.config.jax_compilation_cache_dir
    if not directory:
        return {}
    return {
        "JAX_COMPILATION_CACHE_DIR": str(directory),
        "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS": "0",
        "JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES": "0",
    }


def _rejection(data: Mapping[str, str]) -> CandidateRejected:
    return CandidateRejected(Reason(data["reason"]), data["message"])


# ----------------------------------------------------------------------------------------
# Child side


_PR_SET_PDEATHSIG = 1
_MAX_FAMILY_DATA = 16


def _harden(memory_bytes: int, parent: int) -> dict[str, Any]:
    """No core dumps, no ptrace by same-user processes, death with the parent, a memory cap."""
    undumpable = make_undumpable()
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:
        os._exit(1)
    if memory_bytes:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    return {
        "undumpable": undumpable,
        "memory_limit_bytes": resource.getrlimit(resource.RLIMIT_AS)[0],
        "core_limit_bytes": resource.getrlimit(resource.RLIMIT_CORE)[0],
    }


class _Worker:
    """The child's state: task data built per setup (the last few kept)."""

    def __init__(self, send: Any) -> None:
        self.send = send
        self._data: OrderedDict[tuple[str, str], FamilyData] = OrderedDict()

    def handle(self, request: dict[str, Any]) -> None:
        request_id = request["id"]
        try:
            if request["kind"] == "probe":
                reply = self._probe(request)
            else:
                reply = self._train(request_id, request)
        except CandidateRejected as rejection:
            reply = {"rejected": {"reason": rejection.reason.value, "message": rejection.message}}
        except Exception as error:  # a trusted-side failure caused by the program
            reply = {"rejected": _contained(error)}
        self.send({"id": request_id, "done": True, **reply})

    def _probe(self, request: dict[str, Any]) -> dict[str, Any]:
        limits = CandidateLimits(**request["limits"])
        data = request["program"]
        program = load_program(data, shape=tuple(data["input"]["shape"]), limits=limits)
        result = probe(program)
        return {
            "descriptors": result.descriptors,
            "locality": result.locality,
            "behaviour": result.behaviour,
        }

    def _train(self, request_id: int, request: dict[str, Any]) -> dict[str, Any]:
        setup = TrainingSetup.from_json(request["setup"])
        shape = setup.trainer.activation_shape
        programs = [
            load_program(data, shape=shape, limits=setup.limits) for data in request["programs"]
        ]
        families = request["families"]
        data = {family: self._family_data(family, setup) for family in families}
        self.send({"id": request_id, "event": "prepared"})
        losses: dict[str, list[Losses]] = {}
        for family in families:
            losses[family] = train_many(
                programs,
                data[family],
                setup.trainer,
                threads=request["threads"],
                on_compiled=lambda: self.send({"id": request_id, "event": "compiled"}),
            )
            self.send({"id": request_id, "event": "trained"})
        return {
            "losses": [
                {family: losses[family][index].to_json() for family in families}
                for index in range(len(programs))
            ]
        }

    def _family_data(self, family: str, setup: TrainingSetup) -> FamilyData:
        key = (family, json.dumps(setup.to_json(), sort_keys=True))
        if key not in self._data:
            tasks = make_family(
                family,
                seed=setup.task_seed,
                num_instances=setup.num_instances,
                sizes=setup.sizes,
                region=setup.region,
            )
            self._data[key] = prepare(tasks, setup.trainer)
            while len(self._data) > _MAX_FAMILY_DATA:
                self._data.popitem(last=False)
        self._data.move_to_end(key)
        return self._data[key]


def _contained(error: Exception) -> dict[str, str]:
    """Only the exception's type is reported: its text can quote host paths or internals."""
    if isinstance(error, MemoryError) or "RESOURCE_EXHAUSTED" in str(error):
        return {
            "reason": Reason.RESOURCE_LIMIT.value,
            "message": "Compiling or training the program ran out of memory.",
        }
    return {
        "reason": Reason.INVALID_PROGRAM.value,
        "message": (
            "The program was accepted by the sandbox but failed while compiling, probing or "
            f"training it ({type(error).__name__}); use differentiable jax.numpy operations."
        ),
    }


def main(argv: Sequence[str], worker_type: Callable[[Any], Any] | None = None) -> None:
    """Serve requests; `worker_type(send)` handles them (other child modules pass their own)."""
    memory_bytes, parent = int(argv[0]), int(argv[1])
    hardening = _harden(memory_bytes, parent)
    channel = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints from libraries must not corrupt the protocol

    def send(message: dict[str, Any]) -> None:
        channel.write(json.dumps(message).encode() + b"\n")
        channel.flush()

    worker = (worker_type or _Worker)(send)
    send({"id": 0, "event": "ready", "hardening": hardening})
    for line in sys.stdin.buffer:
        worker.handle(json.loads(line))


if __name__ == "__main__":
    main(sys.argv[1:])
