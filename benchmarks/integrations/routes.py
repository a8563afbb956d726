"""Seconds per evaluation through each route an external evolver can take (issue 29).

    python benchmarks/integrations/routes.py              # Harmonics, fast preset (~3 min)
    python benchmarks/integrations/routes.py --task Suite

Routes: in-process (`actgym.integrations.openevolve.evaluate`, one Evaluator per
process), the warm evaluation server (`actgym eval-server`, POST /evaluate), and the
command line (`actgym eval --no-references --json`, a process per program). Each scores
the same new programs, then one of them again (a cached result). The first call of a
route pays its cold start; the table gives it apart. Ratios are against the in-process
route, measured in the same run. The routes share one result cache directory, fresh for
the run, so each route's programs are new to it: every route gets its own programs.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx

PREFIX = "import jax.numpy as jnp\n\n\ndef activation_function(x):\n    return "


def programs(route: int, count: int) -> list[str]:
    return [f"{PREFIX}jnp.tanh(x) * {1 + route / 10 + i / 100:g} + 0.1 * x\n" for i in range(count)]


def timed(score: Callable[[str], object], sources: list[str]) -> list[float]:
    seconds = []
    for source in sources:
        started = time.perf_counter()
        score(source)
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", default="Harmonics")
    parser.add_argument("--new", type=int, default=3, help="new programs per route")
    args = parser.parse_args()
    settings = {"task": args.task, "fast": True}
    work = Path(tempfile.mkdtemp(prefix="actgym-routes-"))
    os.environ["ACTGYM_CACHE_DIR"] = str(work / "cache")
    rows: dict[str, list[float]] = {}

    from actgym.integrations import openevolve

    def in_process(source: str) -> object:
        path = work / "program.py"
        path.write_text(source)
        return openevolve.evaluate(str(path), **settings)

    sources = programs(0, args.new)
    rows["in-process"] = timed(in_process, [*sources, sources[-1]])

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    actgym = str(Path(sys.executable).with_name("actgym"))
    server = subprocess.Popen(
        [actgym, "eval-server", "--port", str(port)], stdout=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                httpx.get(f"{url}/health", timeout=1.0)
                break
            except httpx.HTTPError:
                time.sleep(0.1)

        def served(source: str) -> object:
            response = httpx.post(
                f"{url}/evaluate", json={"source": source, **settings}, timeout=3600
            )
            response.raise_for_status()
            return response.json()

        sources = programs(1, args.new)
        rows["server"] = timed(served, [*sources, sources[-1]])
    finally:
        server.terminate()
        server.wait(timeout=60)

    def command_line(source: str) -> object:
        path = work / "program.py"
        path.write_text(source)
        options = ["--task", args.task, "--fast", "--no-references", "--json"]
        done = subprocess.run([actgym, "eval", str(path), *options], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(done.stderr[-2000:])
        return done.stdout

    sources = programs(2, args.new)
    rows["command line"] = timed(command_line, [*sources, sources[-1]])

    reference = statistics.median(rows["in-process"][1:-1] or rows["in-process"][:1])
    print(f"{args.task}, fast preset, {args.new} new programs per route, then one again\n")
    print("| route | first (cold) s | new, median s | again (cached) s | new / in-process |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for route, seconds in rows.items():
        new = statistics.median(seconds[1:-1] or seconds[:1])
        cells = (f"{seconds[0]:.1f}", f"{new:.1f}", f"{seconds[-1]:.2f}", f"{new / reference:.2f}")
        print(f"| {route} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
