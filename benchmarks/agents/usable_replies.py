"""How many of the packaged SmolLM2's replies are usable new functions, per LLM agent.

Each agent runs an ordinary search on Harmonics with the offline model in-process
(`evolver` with `backend = "transformers"`, and `hf-mutator`) and `TrainerConfig.fast()`,
until N replies after the seeds have been charged; the first N replies are then counted:

- program: the agent made a program of the reply (not an `unusable_reply`);
- ok: the program passed the candidate checks and trained (status `ok`);
- new: ok and no behavioural duplicate of an earlier evaluation;
- distinct: different behaviours among the ok ones.

    python benchmarks/agents/usable_replies.py                     # 20 replies each, seed 0
    python benchmarks/agents/usable_replies.py --agents evolver --set prompt_style=chat

It writes the table (markdown, with the command) to --out and prints it.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from actgym.search import RunStore, run_search
from actgym.search.store import UNUSABLE

AGENT_OPTIONS = {"evolver": {"backend": "transformers"}, "hf-mutator": {}}
SEEDS = ("relu", "gelu", "silu", "tanh")


@dataclass(frozen=True)
class Count:
    agent: str
    replies: int
    programs: int
    ok: int
    new: int
    distinct: int
    reasons: Mapping[str, int]
    seconds: float

    @property
    def usable_rate(self) -> float:
        return self.new / self.replies if self.replies else 0.0


def main() -> None:
    args = _arguments()
    counts = [measure(agent, args) for agent in args.agents]
    text = markdown(counts, args)
    args.out.write_text(text)
    print(text)


def measure(agent: str, args: argparse.Namespace) -> Count:
    """One search run until `args.replies` replies are charged; counts the first ones."""
    options = {**AGENT_OPTIONS.get(agent, {}), "seeds": list(SEEDS), **_settings(args.set)}
    config = {
        "agent": agent,
        "env": "ActSearch-Harmonics-v0",
        "budget": args.replies + len(SEEDS),
        "seed": args.seed,
        "proposals_per_call": args.batch_size,
        "fast": True,
        "num_instances": 1,
        "agent_options": options,
    }
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix=f"usable-{agent}-") as directory:
        run_search(directory, config, show_progress=False)
        with RunStore(directory) as store:
            rows = store.evaluations()
    replies = [row for row in rows if "seed" not in json.loads(row["notes"])][: args.replies]
    return count(agent, replies, time.perf_counter() - started)


def count(agent: str, replies: Sequence[Mapping[str, Any]], seconds: float) -> Count:
    ok = [row for row in replies if row["status"] == "ok"]
    failed = [row for row in replies if row["status"] != "ok"]
    reasons = collections.Counter(_reason(row) for row in failed)
    return Count(
        agent=agent,
        replies=len(replies),
        programs=sum(row["status"] != UNUSABLE for row in replies),
        ok=len(ok),
        new=sum(row["duplicate_of"] is None for row in ok),
        distinct=len({row["behaviour"] or row["program_hash"] for row in ok}),
        reasons=dict(reasons.most_common(4)),
        seconds=seconds,
    )


def _reason(row: Mapping[str, Any]) -> str:
    if row["status"] == UNUSABLE:
        return f"unusable: {row['message'][:60]}"
    return row["status"]


def markdown(counts: Sequence[Count], args: argparse.Namespace) -> str:
    command = shlex.join(["python", "benchmarks/agents/usable_replies.py", *sys.argv[1:]])
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Usable replies of the packaged SmolLM2-135M-Instruct",
        "",
        f"`{command}`, {when}, {platform.machine()} with {os.cpu_count()} CPUs, seed {args.seed}.",
        "",
        "| agent | replies | programs | ok | ok and new | distinct | usable new | seconds |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for c in counts:
        lines.append(
            f"| {c.agent} | {c.replies} | {c.programs} | {c.ok} | {c.new} | {c.distinct} "
            f"| {c.usable_rate:.0%} | {c.seconds:.0f} |"
        )
    lines += ["", "Why the others were not usable (besides duplicates: ok minus ok and new):", ""]
    for c in counts:
        reasons = "; ".join(f"{reason} ({n})" for reason, n in c.reasons.items()) or "none"
        lines.append(f"- {c.agent}: {reasons}")
    return "\n".join(lines) + "\n"


def _settings(pairs: Sequence[str]) -> dict[str, Any]:
    """`KEY=VALUE` agent options; a VALUE that is JSON is parsed, else kept as text."""
    settings = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--agents", nargs="+", default=list(AGENT_OPTIONS))
    parser.add_argument("--replies", type=int, default=20, help="replies counted per agent")
    parser.add_argument("--seed", type=int, default=0, help="the run's seed (sampling included)")
    parser.add_argument("--batch-size", type=int, default=4, help="proposals per agent call")
    parser.add_argument("--set", nargs="*", default=[], help="agent options, KEY=VALUE")
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).with_name("usable_replies.md"), help="table"
    )
    return parser.parse_args()


if __name__ == "__main__":
    main()
