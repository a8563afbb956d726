"""ShinkaEvolve's evaluation contract, ready to call (ShinkaEvolve 0.0.x).

Shinka runs its `eval_program_path` once per program, as
`python evaluate.py --program_path P --results_dir R [--name value ...]` (its job
config's `extra_cmd_args`), and reads `metrics.json` (`combined_score`, `public`,
`private`, `text_feedback`) and `correct.json` (`correct`, `error`) from R. The task
directory's `evaluate.py` needs no glue:

    from actgym.integrations.shinka import main

    if __name__ == "__main__":
        main(task="Suite")

A process per program pays the cold start each time (20-50 s); with `--server URL` (or
`ACTGYM_EVAL_SERVER`) the program is scored by a warm `actgym eval-server` instead. The
scores are `actgym.integrations.scoring`'s: exp(reward), 0 for anything that did not
train. The candidate is read as text and scored in actgym's sandbox and training
processes: it is never imported, unlike Shinka's own `run_shinka_eval`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from actgym.integrations.client import ServerError, evaluate_remotely
from actgym.integrations.scoring import artifacts, combined_score, metrics
from actgym.integrations.settings import EvaluatorSettings, process_evaluator, program_source
from actgym.result import EvaluationResult

SERVER_ENV = "ACTGYM_EVAL_SERVER"


def main(argv: Sequence[str] | None = None, **defaults: Any) -> None:
    """Score `--program_path` and write Shinka's two result files into `--results_dir`.

    `defaults` are `EvaluatorSettings` fields; the command line's options override them.
    """
    arguments = _parser(EvaluatorSettings.from_args(defaults)).parse_args(argv)
    settings = EvaluatorSettings.from_args(
        {name: getattr(arguments, name) for name in ("task", "fast", "instances", "task_seed")}
    )
    source = program_source(arguments.program_path)
    server = arguments.server or os.environ.get(SERVER_ENV)
    try:
        if server:
            result = evaluate_remotely(server, source, settings)
        else:
            result = process_evaluator(settings).evaluate(source)
    except ServerError as error:
        print(f"actgym: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    write_results(Path(arguments.results_dir), result)


def write_results(results_dir: Path, result: EvaluationResult) -> None:
    """`metrics.json` and `correct.json` as Shinka reads them."""
    results_dir.mkdir(parents=True, exist_ok=True)
    texts = artifacts(result)
    feedback = texts["message"] if result.ok else f"{texts['status']}: {texts['message']}"
    found = {
        "combined_score": combined_score(result),
        "public": metrics(result),
        "private": {},
        "text_feedback": feedback,
    }
    correct = {"correct": result.ok, "error": None if result.ok else texts["message"]}
    (results_dir / "metrics.json").write_text(json.dumps(found, indent=2))
    (results_dir / "correct.json").write_text(json.dumps(correct, indent=2))


def _parser(defaults: EvaluatorSettings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="Score a program with actgym for ShinkaEvolve.")
    parser.add_argument("--program_path", required=True)
    parser.add_argument("--results_dir", required=True)
    parser.add_argument("--task", default=defaults.task)
    parser.add_argument("--fast", action=argparse.BooleanOptionalAction, default=defaults.fast)
    parser.add_argument("--instances", type=int, default=defaults.instances)
    parser.add_argument("--task_seed", type=int, default=defaults.task_seed)
    parser.add_argument("--server", default=None, help=f"or ${SERVER_ENV}")
    return parser
