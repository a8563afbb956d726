"""The leaderboard under a flood, on loopback: do honest users still get answers, and does
every submission get verified exactly once, also when the verifier is killed?

    python benchmarks/service/load.py                  # 200 requests from 20 tokens (~2 min)
    python benchmarks/service/load.py --out results.md

The server (`create_app`, no verifier thread) and a verifier run as two processes on one
fresh database; this process is the clients, each request on a connection of its own.
First a quiet phase: an honest client submits and a reader views pages, alone. Then the
flood: 20 attacker tokens send 10 submissions each, 40 at a time; a fifth of them loop
forever when traced, the rest are rewrites of references, sources that fail the check,
and new functions. Meanwhile the honest client goes on, and the reader until the
verifier has drained the queue. Mid-flood the verifier is killed with SIGKILL while it
holds a submission, and started again.

The table compares honest latencies under the flood with the quiet phase's (same run).
The verifier prints each submission it finished; the run fails unless every submission
was finished exactly once and nothing a client was told is queued is missing.

The profile is `smoke` with a 2 s trace limit (`load`): a looping source costs the
verifier 2 s instead of the served 10 s, so the run stays minutes long. The submit-time
gate's deadline (1.5 s) and the rate limit (10 per author per hour) are the served ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import numpy as np

if TYPE_CHECKING:
    from actgym.leaderboard.profiles import Profile
    from actgym.leaderboard.store import Store

PREFIX = "import jax\nimport jax.numpy as jnp\n\n\ndef activation_function(x):\n    return "
SLOW = PREFIX.replace("return ", "while True:\n        x = x + 1.0\n")
REWRITES = (
    "jnp.where(x > 0, x, 0.0)",
    "x * (x > 0)",
    "0.1 * jnp.sin(x) + jax.nn.gelu(x)",
    "jnp.maximum(0.0, x)",
)
FAILING = ("jnp.log(x)", "x.__class__", "jnp.tanh(x")


@dataclass(frozen=True)
class Plan:
    tokens: int = 20
    per_token: int = 10
    slow_share: float = 0.2
    new_per_token: int = 2
    honest: int = 10
    quiet_s: float = 5.0
    concurrency: int = 40
    kill: bool = True


@dataclass
class Latencies:
    seconds: list[float] = field(default_factory=list)
    statuses: Counter[int | str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, seconds: float, status: int | str) -> None:
        with self.lock:
            self.seconds.append(seconds)
            self.statuses[status] += 1

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.seconds, q)) if self.seconds else float("nan")


@dataclass
class Report:
    plan: Plan
    quiet: dict[str, Latencies]
    flood: dict[str, Latencies]
    queued: set[int]
    finished: list[int]
    killed_during: int | None
    stored: int
    unfinished: list[int]
    elapsed_s: float

    @property
    def finished_once(self) -> bool:
        counts = Counter(self.finished)
        return not self.unfinished and all(count == 1 for count in counts.values())

    def table(self) -> str:
        lines = [
            "| clients | phase | requests | p50 s | p99 s | max s | p99 / quiet p99 | answers |",
            "| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for name in ("honest submit", "page view", "attacker"):
            quiet = self.quiet.get(name)
            for phase, found in (("quiet", quiet), ("flood", self.flood.get(name))):
                if found is None or not found.seconds:
                    continue
                ratio = (
                    "" if quiet is None else f"{found.percentile(99) / quiet.percentile(99):.2f}"
                )
                statuses = sorted(found.statuses.items(), key=str)
                answers = ", ".join(f"{status}: {count}" for status, count in statuses)
                lines.append(
                    f"| {name} | {phase} | {len(found.seconds)} | {found.percentile(50):.3f} "
                    f"| {found.percentile(99):.3f} | {max(found.seconds):.3f} | {ratio} "
                    f"| {answers} |"
                )
        counts = Counter(self.finished)
        lines += [
            "",
            f"- submissions stored: {self.stored}; queued answers (202) given: "
            f"{len(self.queued)}, all stored: {self.queued <= set(counts) or 'NO'}",
            f"- verifications finished: {len(counts)}, finished twice: "
            f"{sum(1 for c in counts.values() if c > 1)}, unfinished: {len(self.unfinished)}",
            f"- verifier killed (SIGKILL) while verifying #{self.killed_during}, then restarted"
            if self.killed_during is not None
            else "- verifier not killed",
            f"- elapsed: {self.elapsed_s:.0f} s",
        ]
        return "\n".join(lines)


def load_profile() -> Profile:
    """`smoke` with a 2 s trace limit, on its own board ("load")."""
    from actgym.leaderboard.profiles import get_profile

    smoke = get_profile("smoke")
    limits = dataclasses.replace(smoke.evaluation.limits, trace_timeout_s=2.0)
    evaluation = dataclasses.replace(smoke.evaluation, limits=limits)
    return dataclasses.replace(
        smoke, name="load", description="smoke, 2 s trace limit", evaluation=evaluation
    )


def layers_here() -> frozenset[str]:
    from actgym.candidate import confinement

    report = confinement.active_layers()
    return frozenset(name for name, state in report.items() if confinement.is_active(state))


def serve(db: Path, fd: int) -> None:
    """The server process: the app with its served gate and rate limit, no verifier."""
    import uvicorn
    from actgym.leaderboard.app import Settings, create_app

    settings = Settings(db=db, profile=load_profile(), verify=False, required_layers=layers_here())
    uvicorn.run(create_app(settings), fd=fd, log_level="warning")


def verify(db: Path, stop_file: Path) -> None:
    """The verifier process: drain the queue, print each id it finished, until told to stop."""
    from actgym.leaderboard.profiles import env_version
    from actgym.leaderboard.seeds import load_secret
    from actgym.leaderboard.store import Store
    from actgym.leaderboard.verifier import Scorer, Verifier

    version = env_version()
    store = Store(db)
    scorer = Scorer.from_secret(
        load_profile(), load_secret(db), version, required_layers=layers_here()
    )
    verifier = Verifier(store, scorer, version)
    verifier.resume()
    while True:
        finished = verifier.step(lambda claim: print(f"claimed {claim.submission_id}", flush=True))
        if finished is not None:
            print(f"finished {finished}", flush=True)
        elif stop_file.exists():
            break
        else:
            time.sleep(0.3)
    scorer.close()


def attack(token_index: int, plan: Plan) -> list[str]:
    """One attacker's sources: a fifth loop when traced; new functions, the rest cheap."""
    slow = round(plan.per_token * plan.slow_share)
    sources = [SLOW.replace("1.0", f"{token_index + 1}.0")] * slow
    sources += [
        f"{PREFIX}jnp.tanh(x) * {1 + token_index / 10 + i / 100:g}\n"
        for i in range(plan.new_per_token)
    ]
    cheap = (*REWRITES, *FAILING)
    while len(sources) < plan.per_token:
        sources.append(PREFIX + cheap[(len(sources) + token_index) % len(cheap)] + "\n")
    return sources


def run(plan: Plan, work: Path) -> Report:
    from actgym.leaderboard.store import Store

    db = work / "lb.db"
    store = Store(db)
    honest_token = store.tokens.add("Honest")
    tokens = [store.tokens.add(f"Attacker {i}") for i in range(plan.tokens)]
    stop_file = work / "stop"
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(256)
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    script = str(Path(__file__).resolve())
    server = subprocess.Popen(
        [sys.executable, script, "serve", str(db), str(listener.fileno())],
        pass_fds=[listener.fileno()],
    )
    verifier_log: list[str] = []

    def start_verifier() -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [sys.executable, script, "verify", str(db), str(stop_file)],
            stdout=subprocess.PIPE,
            text=True,
        )
        threading.Thread(target=_collect, args=(process, verifier_log), daemon=True).start()
        return process

    started = time.monotonic()
    verifier = start_verifier()
    queued: set[int] = set()
    quiet = {"honest submit": Latencies(), "page view": Latencies()}
    flood = {"honest submit": Latencies(), "page view": Latencies(), "attacker": Latencies()}
    killed_during = None
    try:
        _wait_until(lambda: _up(url), 120, "the server")
        # Every request opens its own connection, so none can meet uvicorn's 5 s idle close
        # of a reused one. The reader reads until the verifier has drained the queue, and
        # the client closes only after it has stopped: closing it under a request in flight
        # fails that request with a ReadError.
        limits = httpx.Limits(max_keepalive_connections=0)
        with httpx.Client(base_url=url, timeout=60.0, limits=limits) as client:
            phase = {"now": quiet}
            done = threading.Event()

            def honest_client() -> None:
                for source in _honest_sources(plan.honest):
                    _timed(
                        phase["now"]["honest submit"],
                        lambda s=source: _submit(client, honest_token, "honest", s, queued),
                    )
                    time.sleep(1.0)

            def reader() -> None:
                paths = ("/", "/api/leaderboard", "/submissions/1", "/submit")
                i = 0
                while not done.is_set():
                    path = paths[i % len(paths)]
                    _timed(phase["now"]["page view"], lambda p=path: client.get(p).status_code)
                    i += 1
                    time.sleep(0.2)

            background = [threading.Thread(target=f, daemon=True) for f in (honest_client, reader)]
            for thread in background:
                thread.start()
            honest_thread, reader_thread = background
            try:
                time.sleep(plan.quiet_s)
                phase["now"] = flood
                requests = [
                    (tokens[i], source) for i in range(plan.tokens) for source in attack(i, plan)
                ]
                order = np.random.default_rng(0).permutation(len(requests))
                with ThreadPoolExecutor(plan.concurrency) as pool:
                    futures = [
                        pool.submit(
                            _timed,
                            flood["attacker"],
                            lambda t=requests[k][0], s=requests[k][1]: _submit(
                                client, t, "attack", s, queued
                            ),
                        )
                        for k in order
                    ]
                    if plan.kill:
                        killed_during = _kill_mid_verification(verifier, verifier_log, store)
                        verifier.wait()
                        verifier = start_verifier()
                    for future in futures:
                        future.result()
                honest_thread.join()
                stop_file.touch()
                verifier.wait(timeout=3600)
            finally:
                done.set()
                reader_thread.join()
    finally:
        stop_file.touch()
        for process in (verifier, server):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=60)
        listener.close()
    finished = [int(line.split()[1]) for line in verifier_log if line.startswith("finished ")]
    board_rows = store.database.rows(
        "SELECT submission_id FROM verifications WHERE profile = 'load'"
        " AND state NOT IN ('done', 'failed')"
    )
    every = set(store.submissions.ids())
    return Report(
        plan=plan,
        quiet=quiet,
        flood=flood,
        queued=queued,
        finished=finished,
        killed_during=killed_during,
        stored=len(every),
        unfinished=sorted({int(row[0]) for row in board_rows} | (every - set(finished))),
        elapsed_s=time.monotonic() - started,
    )


def _honest_sources(count: int) -> list[str]:
    return [
        f"{PREFIX}jax.nn.silu(x) + {0.01 * (i + 1):g} * jnp.sin({i + 2}.0 * x)\n"
        for i in range(count)
    ]


def _submit(client: httpx.Client, token: str, name: str, source: str, queued: set[int]) -> int:
    response = client.post(
        "/api/submissions",
        json={"name": name, "source": source},
        headers={"Authorization": f"Bearer {token}"},
    )
    if response.status_code == 202:
        queued.add(int(response.json()["id"]))
    return response.status_code


def _timed(latencies: Latencies, request: Callable[[], int]) -> None:
    start = time.monotonic()
    try:
        status: int | str = request()
    except httpx.HTTPError as error:
        status = type(error).__name__
    latencies.add(time.monotonic() - start, status)


def _collect(process: subprocess.Popen[str], log: list[str]) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        log.append(line.strip())


def _kill_mid_verification(process: subprocess.Popen[str], log: list[str], store: Store) -> int:
    """SIGKILL the verifier while it holds a submission that is not a reference."""
    references = set(store.submissions.references())

    def holding() -> int | None:
        claimed = [int(line.split()[1]) for line in log if line.startswith("claimed ")]
        finished = {int(line.split()[1]) for line in log if line.startswith("finished ")}
        open_claims = [i for i in claimed if i not in finished and i not in references]
        return open_claims[-1] if open_claims else None

    victim = int(_wait_until(holding, 600, "the verifier to claim a submission"))
    process.send_signal(signal.SIGKILL)
    return victim


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/leaderboard", timeout=5.0).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_until(condition: Callable[[], int | bool | None], timeout: float, what: str) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return int(value)
        time.sleep(0.1)
    raise TimeoutError(f"timed out after {timeout} s waiting for {what}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(Path(sys.argv[2]), int(sys.argv[3]))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "verify":
        verify(Path(sys.argv[2]), Path(sys.argv[3]))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=Plan.tokens)
    parser.add_argument("--per-token", type=int, default=Plan.per_token)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    plan = Plan(tokens=args.tokens, per_token=args.per_token)
    with tempfile.TemporaryDirectory(prefix="actgym-load-") as work:
        report = run(plan, Path(work))
    table = report.table()
    print(table)
    if args.out:
        args.out.write_text(table + "\n")
    honest_p99 = report.flood["honest submit"].percentile(99)
    if not report.finished_once or not report.queued <= set(report.finished) or honest_p99 >= 2.0:
        raise SystemExit("FAILED: a verification was lost or doubled, or honest p99 >= 2 s")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
