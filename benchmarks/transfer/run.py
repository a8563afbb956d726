"""The paper's functions, ReLU and GELU on the downstream transfer tasks.

    python benchmarks/transfer/run.py               # default task settings, 4 seeds
    python benchmarks/transfer/run.py --seeds 2     # fewer training seeds (say so when quoting)
    python benchmarks/transfer/run.py --fast        # tiny settings, for a quick look

Per downstream task and function: the shifted-split accuracy (mean ± 95% interval over training
seeds) and the log-ratio to ReLU of the error rates (the paper's measure; ReLU is 0,
above 0 transfers better). Prints a Markdown table and writes it, with the raw reports,
next to this script (--out). Every function is checked and trained exactly like an
`actgym transfer` candidate (docs/transfer.md).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from actgym.references import NAMED, PAPER
from actgym.transfer.downstream import TransferConfig
from actgym.transfer.runner import PRIMARY_SPLIT, Transfer, TransferReport

FUNCTIONS = ("relu", "gelu", *PAPER)
HERE = Path(__file__).resolve().parent


def markdown(reports: dict[str, TransferReport], config: TransferConfig) -> str:
    header = ["function"]
    for task in config.tasks:
        header += [f"{task} acc.", f"{task} log-ratio"]
    header.append("mean log-ratio")
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    for name, report in reports.items():
        if not report.ok:
            cells = [report.status] * (2 * len(config.tasks)) + ["-"]
        else:
            cells = []
            for score in report.tasks:
                cells.append(score.accuracy["candidate"][PRIMARY_SPLIT].text(signed=False))
                cells.append(score.to_relu.text())
            cells.append(f"{report.mean_log_ratio:+.3f}")
        lines.append("| " + " | ".join([name, *cells]) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true")
    parser.add_argument("--seeds", type=int, default=None)
    parser.add_argument("--functions", nargs="*", default=list(FUNCTIONS))
    parser.add_argument("--out", type=Path, default=HERE / "last.md")
    args = parser.parse_args()
    changes = {} if args.seeds is None else {"seeds": tuple(range(args.seeds))}
    config = TransferConfig.fast(**changes) if args.fast else TransferConfig(**changes)
    runner = Transfer(config)
    reports: dict[str, TransferReport] = {}
    started = time.monotonic()
    try:
        for name in args.functions:
            begun = time.monotonic()
            reports[name] = runner.run(NAMED[name], label=name)
            print(f"{name}: {reports[name].status} in {time.monotonic() - begun:.0f} s", flush=True)
            write(reports, config, args, time.monotonic() - started)  # a killed run keeps these
    finally:
        runner.close()
    print(args.out.read_text())


def write(
    reports: dict[str, TransferReport],
    config: TransferConfig,
    args: argparse.Namespace,
    seconds: float,
) -> None:
    """The Markdown table (--out) and the raw reports beside it (.json)."""
    summary = (
        f"{'fast' if args.fast else 'default'} task settings, {len(config.seeds)} training "
        f"seeds, data seed {config.data_seed}; {seconds:.0f} s in all.\n\n"
        f"{markdown(reports, config)}\n"
    )
    args.out.write_text(summary)
    raw = {name: report.to_json() for name, report in reports.items()}
    args.out.with_suffix(".json").write_text(json.dumps(raw, indent=1))


if __name__ == "__main__":
    main()
