"""The `actgym` command line: list tasks, score a candidate file, search with an agent, report."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from actgym.leaderboard.cli import app as leaderboard_app
from actgym.search.commands import report, search
from actgym.tasks import SUITE, TASKS, families_of, make_family

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(leaderboard_app, name="leaderboard")
console = Console()


def _print_version(value: bool) -> None:
    if value:
        from actgym import __version__

        print(f"actgym {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit"
        ),
    ] = False,
) -> None:
    """Discover activation functions by program search."""


def canonical_name(name: str, choices: Iterable[str], what: str) -> str:
    """The choice `name` spells, ignoring case: users type `harmonics` for `Harmonics`."""
    choices = list(choices)
    for choice in choices:
        if choice.lower() == name.lower():
            return choice
    raise typer.BadParameter(f"unknown {what} {name!r}; choose from {', '.join(choices)}")


@app.command()
def tasks() -> None:
    """List the task suite: families, instances, input sizes and regions."""
    table = Table(title="actgym task suite v0 (task seed 0)")
    for column in ("family", "instance", "inputs", "formula"):
        table.add_column(column)
    for family_name in SUITE:
        family = make_family(family_name)
        for instance in family.instances:
            table.add_row(family_name, instance.name, str(instance.input_dim), instance.formula)
    console.print(table)
    console.print("Regions, sizes and seeds: docs/tasks.md. The Suite is all four families.")


@app.command("eval")
def evaluate(
    source_file: Annotated[Path, typer.Argument(help="Python file defining activation_function")],
    task: Annotated[str, typer.Option(help=f"One of {', '.join(TASKS)}")] = "Harmonics",
    fast: Annotated[bool, typer.Option(help="Small trainer settings (smoke tests)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON")] = False,
) -> None:
    """Train with the candidate and with ReLU and GELU; print ID and OOD losses per task."""
    from actgym.evaluation import EvaluationConfig, Evaluator
    from actgym.trainer import TrainerConfig

    task = canonical_name(task, TASKS, "task")
    try:
        source = source_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"cannot read {source_file}: {error}") from None
    families = families_of(task)
    config = EvaluationConfig(families=families, trainer=TrainerConfig.preset(fast=fast))
    evaluator = Evaluator(config)
    try:
        with console.status("training..."):
            results = {
                source_file.name: evaluator.evaluate(source),
                "relu": evaluator.reference("relu"),
                "gelu": evaluator.reference("gelu"),
            }
    finally:
        evaluator.close()
    if as_json:
        print(json.dumps({name: result.to_dict() for name, result in results.items()}, indent=2))
        return
    _print_results(results, families)
    candidate = results[source_file.name]
    if not candidate.ok:
        console.print(f"[red]{candidate.status}[/red]: {escape(candidate.message)}")
        raise typer.Exit(code=1)


def _print_results(results: dict, families: tuple[str, ...]) -> None:
    table = Table(
        title="ID (validation) and OOD (test) MSE, seed-mean, geometric mean over instances"
    )
    table.add_column("activation")
    for family in families:
        table.add_column(f"{family} ID", justify="right")
        table.add_column(f"{family} OOD", justify="right")
    table.add_column("reward", justify="right")
    for name, result in results.items():
        cells = []
        for family in families:
            score = result.families.get(family)
            cells += [_geomean(score.id_loss), _geomean(score.ood_loss)] if score else ["-", "-"]
        table.add_row(name, *cells, f"{result.reward:+.4f}")
    console.print(table)


def _geomean(losses: list[list[float]]) -> str:
    import numpy as np

    from actgym.reward import summary_loss

    return f"{summary_loss([np.asarray(losses)]):.4g}"


app.command()(search)
app.command()(report)
