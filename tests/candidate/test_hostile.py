"""The hostile corpus: every program in hostile/ through the real evaluation pipeline.

Each file starts with `# expect: <reason code>`, `# class: <threat class>` and
`# threat: <what it tries>`. Beyond the code, the tests check what a hostile candidate
must never achieve: change another candidate's score, write a file, reach the network, or
leave a process behind; and the next valid candidate must be scored exactly as before.
The files are templates: `@@MARKER@@` is a path that must never come to exist,
`@@PORT@@` a TCP listener that must never see a connection. An optional `# build:` header
is a Python expression over `body` (the file's text) for sources that cannot be stored
as text (bytes, NUL, megabytes, lone surrogates); it is this test's own code, not the
corpus's.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from sources import GELU_SINE, RELU

from actgym.cache import JsonCache
from actgym.candidate.limits import CandidateLimits
from actgym.candidate.program import load_program
from actgym.candidate.reasons import HINTS, Reason
from actgym.candidate.untrusted_text import sanitise
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.reward import DOWNSIDE_FLOOR, PENALTY
from actgym.trainer import TrainerConfig

CORPUS_DIR = Path(__file__).parent / "hostile"
CORPUS = sorted(CORPUS_DIR.glob("*.py"))
SERVER_MODULE = "actgym.candidate.server"
# Short limits so the runaway cases cost seconds, not the 10 s / 15 s defaults.
LIMITS = CandidateLimits(trace_timeout_s=2, cpu_seconds=3)


# The threat classes of issue 4, as the corpus files name them in `# class:`.
THREAT_CLASSES = (
    "forging",
    "host access",
    "host callbacks",
    "runaway compute",
    "memory",
    "numerical",
    "odd source",
    "leftovers",
)


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    expect: Reason
    threat_class: str
    threat: str
    build: str | None
    body: str

    @classmethod
    def read(cls, path: Path) -> Case:
        body = path.read_text(encoding="utf-8")
        header = {}
        for line in body.splitlines():
            if not line.startswith("# ") or ": " not in line:
                break
            key, _, value = line[2:].partition(": ")
            header[key] = value
        return cls(
            path.stem,
            Reason(header["expect"]),
            header["class"],
            header["threat"],
            header.get("build"),
            body,
        )

    def source(self, traps: Traps) -> object:
        body = self.body.replace("@@MARKER@@", str(traps.marker))
        body = body.replace("@@PORT@@", str(traps.port))
        return eval(self.build, {"body": body}) if self.build else body


class Traps:
    """A marker path that must stay absent and a TCP listener that must stay unvisited."""

    def __init__(self, directory: Path) -> None:
        self.marker = directory / "pwned"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                connection, _ = self.listener.accept()
            except TimeoutError:
                continue
            self.connections += 1
            connection.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.listener.close()


def stray_processes() -> list[psutil.Process]:
    """Everything below this process's fork servers, which must be nothing between checks.

    A candidate's child lives only while it is checked, and the server adopts (as child
    subreaper) and kills whatever escaped the child's process group.
    """
    servers = [process for process in psutil.Process().children() if _is_server(process)]
    assert servers, "the sandbox has no fork server to inspect"
    return [child for server in servers for child in server.children(recursive=True)]


def _is_server(process: psutil.Process) -> bool:
    try:
        return SERVER_MODULE in " ".join(process.cmdline())
    except psutil.Error:  # exited or a zombie meanwhile
        return False


@pytest.fixture(scope="module")
def traps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traps]:
    opened = Traps(tmp_path_factory.mktemp("traps"))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def config() -> EvaluationConfig:
    return EvaluationConfig(
        families=("Harmonics",), trainer=TrainerConfig.fast(), num_instances=1, limits=LIMITS
    )


@pytest.fixture(scope="module")
def hostile_evaluator(
    config: EvaluationConfig, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Evaluator]:
    shared = Evaluator(config, cache=JsonCache(tmp_path_factory.mktemp("hostile-cache")))
    yield shared
    shared.close()


@pytest.fixture(scope="module")
def scores_before(
    hostile_evaluator: Evaluator, config: EvaluationConfig, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, EvaluationResult]:
    """ReLU and a smooth candidate, trained from scratch through the shared sandbox."""
    return fresh_scores(hostile_evaluator, config, tmp_path_factory.mktemp("before"))


def fresh_scores(
    shared: Evaluator, config: EvaluationConfig, directory: Path
) -> dict[str, EvaluationResult]:
    """Scores computed with no cached losses, using the shared evaluator's sandbox."""
    fresh = Evaluator(config, sandbox=shared.sandbox, cache=JsonCache(directory))
    return {name: fresh.evaluate(source) for name, source in (("relu", RELU), ("gelu", GELU_SINE))}


def test_corpus_covers_every_threat_class() -> None:
    cases = [Case.read(path) for path in CORPUS]
    assert len(cases) >= 60
    per_class = Counter(case.threat_class for case in cases)
    assert set(per_class) == set(THREAT_CLASSES)
    assert min(per_class.values()) >= 5, per_class


@pytest.mark.parametrize("path", CORPUS, ids=lambda path: path.stem)
def test_hostile_program(
    path: Path,
    hostile_evaluator: Evaluator,
    traps: Traps,
    scores_before: dict[str, EvaluationResult],
) -> None:
    case = Case.read(path)
    result = hostile_evaluator.evaluate(case.source(traps))

    assert result.status == case.expect.value, f"{case.threat}: {result.message}"
    assert result.message.endswith(HINTS[case.expect])
    safe = sanitise(result.message, limit=len(result.message))
    assert result.message == safe, "messages are safe to store and show"
    if result.ok:
        assert -DOWNSIDE_FLOOR <= result.reward <= result.scale.ceiling
    else:
        assert result.reward == PENALTY
    if case.expect is Reason.TIMEOUT:
        assert (
            f"wall-clock limit of {LIMITS.trace_timeout_s:g} s" in result.message
            or f"CPU-time limit of {LIMITS.cpu_seconds} s" in result.message
        ), result.message

    assert not traps.marker.exists(), "a candidate wrote a file"
    assert traps.connections == 0, "a candidate reached the network"
    assert stray_processes() == [], "a candidate left a process behind"
    shape = hostile_evaluator.config.trainer.activation_shape
    relu = load_program(hostile_evaluator.sandbox.analyse(RELU, shape), shape=shape)
    assert relu.digest == scores_before["relu"].program_hash, "the next candidate changed"


def test_scores_unchanged_after_the_corpus(
    hostile_evaluator: Evaluator,
    config: EvaluationConfig,
    scores_before: dict[str, EvaluationResult],
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    after = fresh_scores(hostile_evaluator, config, tmp_path_factory.mktemp("after"))
    assert after == scores_before
    assert after["relu"].ok and after["relu"].reward == 0.0
    assert hostile_evaluator.evaluate(GELU_SINE) == scores_before["gelu"]
