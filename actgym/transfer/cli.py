"""`actgym transfer`: does a candidate help downstream models? (docs/transfer.md)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from actgym.cli_parts import canonical_name, progress_console, read_candidate, stage

console = Console()


def transfer(
    source_file: Annotated[
        Path | None, typer.Argument(help="Python file defining activation_function")
    ] = None,
    reference: Annotated[
        str | None, typer.Option(help="Transfer a named reference activation instead of a file")
    ] = None,
    task: Annotated[
        list[str] | None,
        typer.Option(help="Run only this downstream task (repeatable); default all"),
    ] = None,
    fast: Annotated[bool, typer.Option(help="Tiny task settings (smoke tests)")] = False,
    seeds: Annotated[int | None, typer.Option(help="Training seeds (at least 2)")] = None,
    data_seed: Annotated[int, typer.Option(help="Seed of the downstream tasks' data")] = 0,
    suite_reward: Annotated[
        float | None, typer.Option(help="The candidate's ActSearch-Suite reward, if known")
    ] = None,
    suite: Annotated[
        bool, typer.Option(help="Also score the candidate on ActSearch-Suite (fast trainer)")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option(help="Save a plot of the log-ratios to ReLU (PNG)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Train a CNN, a message-passing reasoner and a GIN with the candidate, ReLU and GELU.

    Prints per downstream task the accuracy with a 95% interval over seeds, the log-ratio to
    ReLU (the paper's measure) and a verdict, then the search-overfitting gap line.
    """
    from actgym.transfer.downstream import DOWNSTREAM_TASKS, TransferConfig
    from actgym.transfer.report import plot as save_plot
    from actgym.transfer.report import table, verdict_lines
    from actgym.transfer.runner import Transfer

    label, source = read_candidate(source_file, reference)
    changes: dict[str, object] = {"data_seed": data_seed}
    if task:
        changes["tasks"] = tuple(
            canonical_name(name, DOWNSTREAM_TASKS, "downstream task") for name in task
        )
    if seeds is not None:
        if seeds < 2:
            raise typer.BadParameter("--seeds must be at least 2 (the interval needs two)")
        changes["seeds"] = tuple(range(seeds))
    config = TransferConfig.fast(**changes) if fast else TransferConfig(**changes)
    if suite and suite_reward is None:
        with stage(f"scoring {label} on ActSearch-Suite (fast trainer)"):
            suite_reward = _suite_reward(source)
    runner = Transfer(config)
    try:
        with stage(f"training {len(config.tasks)} downstream tasks with {label}, ReLU and GELU"):
            report = runner.run(source, label=label, suite_reward=suite_reward)
    finally:
        runner.close()
    if plot is not None and report.ok:
        save_plot(report, plot)
    if as_json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        if report.ok:
            console.print(table(report))
            for line in verdict_lines(report):
                console.print(escape(line))
        console.print(escape(report.gap_line()))
    if not report.ok:
        progress_console.print(f"[red]{report.status}[/red]: {escape(report.message)}")
        raise typer.Exit(code=1)


def _suite_reward(source: str) -> float | None:
    """The candidate's ActSearch-Suite reward with the fast trainer (None if rejected)."""
    from actgym.evaluation import EvaluationConfig, Evaluator
    from actgym.tasks import SUITE
    from actgym.trainer import TrainerConfig

    evaluator = Evaluator(EvaluationConfig(families=SUITE, trainer=TrainerConfig.fast()))
    try:
        result = evaluator.evaluate(source)
    finally:
        evaluator.close()
    return result.reward if result.ok else None
