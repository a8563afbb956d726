"""Seconds the agents spent proposing, recovered from run stores' timestamps.

Runs made before the LLM agents recorded `local_generation_s` (commit 1797125) count only
evaluation seconds as compute, so their curves against compute seconds leave out the
local model's generation. It can be recovered: a batch's proposals are stored together
once all its replies are in, so the gap between the previous batch's last completed
evaluation and a batch's proposals is what the agent spent between batches (observing,
prompting, generating). Gaps across a process restart are left out (they hold start-up),
and so are gaps longer than --pause-s (a run paused with SIGSTOP while the machine did
other work); a left-out gap is counted at its run's median.

A pause also lands in the `wall_s` of the evaluations in flight. The table gives each
run's evaluation seconds as stored and with every evaluation over --outlier times its
run's median counted at that median (a sensitivity check, not a correction: an outlier
may also be an honestly slow function).

    python benchmarks/agents/proposal_seconds.py OUT     # OUT as given to run.py --out

It prints a markdown table: per agent and env, the gaps' median and 90th percentile, and
per run the proposing seconds beside the evaluation seconds the curves count.
"""

from __future__ import annotations

import argparse
import contextlib
import sqlite3
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from actgym import sqlite
from actgym.search.store import FILENAME

GAPS = """
with proposed as (
    select batch, min(proposed_at) as at, min(session) as session
    from proposals group by batch
), completed as (
    select batch, max(completed_at) as at, max(session) as session
    from evaluations group by batch
)
select (julianday(proposed.at) - julianday(completed.at)) * 86400
from proposed join completed on completed.batch = proposed.batch - 1
where proposed.session = completed.session
order by proposed.batch
"""


@dataclass(frozen=True)
class RunSeconds:
    """One finished run's proposing gaps (kept ones) and what it spent evaluating."""

    agent: str
    env: str
    batches: int
    kept: list[float]
    walls: list[float]

    @property
    def evaluation_s(self) -> float:
        return sum(self.walls)

    def evaluation_s_without_outliers(self, outlier: float) -> float:
        """Evaluation seconds with each wall over `outlier` times the median at the median."""
        paid = [wall for wall in self.walls if wall > 0]
        if not paid:
            return 0.0
        median = statistics.median(paid)
        return sum(median if wall > outlier * median else wall for wall in paid)

    @property
    def proposing_s(self) -> float:
        """Kept gaps, plus the run's median for each batch whose gap was left out."""
        if not self.kept:
            return 0.0
        return sum(self.kept) + statistics.median(self.kept) * (self.batches - len(self.kept))


def read_run(path: Path, pause_s: float) -> RunSeconds:
    """Read a store without writing to it (a resumed run would add a session)."""
    with contextlib.closing(sqlite.connect_read_only(path)) as connection:
        row = connection.execute("select agent, env_id from run").fetchone()
        if row is None:
            raise sqlite3.DatabaseError("it has no run row")
        agent, env = row
        gaps = [row[0] for row in connection.execute(GAPS)]
        batches = connection.execute("select count(distinct batch) from proposals").fetchone()[0]
        walls = [row[0] for row in connection.execute("select wall_s from evaluations")]
    return RunSeconds(
        agent=agent,
        env=env,
        batches=batches - 1,
        kept=[gap for gap in gaps if 0 <= gap <= pause_s],
        walls=[float(wall) for wall in walls],
    )


def markdown(runs: Sequence[RunSeconds], outlier: float) -> str:
    lines = [
        "| agent | env | runs | gaps kept/all | median gap (s) | p90 gap (s) "
        "| proposing s per run | evaluation s per run | without outliers "
        "| proposing share |",
        "| --- | --- |" + " ---: |" * 8,
    ]
    for agent, env in sorted({(run.agent, run.env) for run in runs}):
        group = [run for run in runs if (run.agent, run.env) == (agent, env)]
        gaps = [gap for run in group for gap in run.kept]
        proposing = float(np.mean([run.proposing_s for run in group]))
        evaluating = float(np.mean([run.evaluation_s for run in group]))
        steady = float(np.mean([run.evaluation_s_without_outliers(outlier) for run in group]))
        median, p90 = np.percentile(gaps, [50, 90]) if gaps else (0.0, 0.0)
        share = proposing / (proposing + steady) if proposing + steady else 0.0
        lines.append(
            f"| {agent} | {env} | {len(group)} | {len(gaps)}/{sum(run.batches for run in group)}"
            f" | {median:.1f} | {p90:.1f} | {proposing:.0f} | {evaluating:.0f} | {steady:.0f}"
            f" | {share:.1%} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="the benchmark's --out directory")
    parser.add_argument(
        "--pause-s",
        type=float,
        default=300.0,
        help="gaps longer than this are pauses, not proposing (default 300)",
    )
    parser.add_argument(
        "--outlier",
        type=float,
        default=10.0,
        help="an evaluation's wall over this many times its run's median is an outlier",
    )
    args = parser.parse_args(argv)
    paths = sorted(args.out.glob(f"*/*/seed-*/{FILENAME}"))
    if not paths:
        parser.error(f"no run stores under {args.out}")
    runs = []
    for path in paths:
        try:
            runs.append(read_run(path, args.pause_s))
        except sqlite3.DatabaseError as error:
            parser.error(f"{path} is not a readable run store ({error}); move it aside")
    print(markdown(runs, args.outlier), end="")


if __name__ == "__main__":
    main()
