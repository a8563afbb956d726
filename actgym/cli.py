"""The `actgym` command line: list tasks, score a candidate file, search with an agent, report."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from actgym.cli_parts import canonical_name, read_candidate, stage
from actgym.integrations.cli import openevolve_app, prompt, shinka_app
from actgym.leaderboard.cli import app as leaderboard_app
from actgym.search.commands import export, report, search
from actgym.tasks import SUITE, TASKS, families_of, make_family
from actgym.transfer.cli import transfer
from actgym.versions import ENV_VERSION

if TYPE_CHECKING:
    from actgym.integrations.settings import EvaluatorSettings
    from actgym.result import EvaluationResult

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.add_typer(leaderboard_app, name="leaderboard")
app.add_typer(openevolve_app, name="openevolve")
app.add_typer(shinka_app, name="shinka")
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


@app.command()
def tasks() -> None:
    """List the task suite: families, instances, input sizes and regions."""
    table = Table(title=f"actgym task suite {ENV_VERSION} (task seed 0)")
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
    source_file: Annotated[
        Path | None, typer.Argument(help="Python file defining activation_function")
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(help="Evaluate a named reference activation instead of a file"),
    ] = None,
    task: Annotated[str, typer.Option(help=f"One of {', '.join(TASKS)}")] = "Harmonics",
    fast: Annotated[bool, typer.Option(help="Small trainer settings (smoke tests)")] = False,
    scope: Annotated[
        str,
        typer.Option(
            help="What one call of the activation sees: example (one hidden vector) "
            "or batch (the (batch, width) tensor, as in the paper's code)"
        ),
    ] = "example",
    instances: Annotated[
        int | None, typer.Option(min=1, help="Instances per family (default: the task's)")
    ] = None,
    task_seed: Annotated[int, typer.Option(min=0, help="Task seed (0: the published)")] = 0,
    steps: Annotated[int | None, typer.Option(min=1, help="Training steps")] = None,
    train_seeds: Annotated[
        int | None, typer.Option(min=1, help="Training seeds per instance")
    ] = None,
    references: Annotated[
        bool, typer.Option(help="Also train ReLU and GELU, for comparison")
    ] = True,
    server: Annotated[
        str | None,
        typer.Option(
            metavar="URL", help="Score on a running `actgym eval-server` (warm) instead of here"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full result as JSON")] = False,
) -> None:
    """Train with the candidate (and with ReLU and GELU); print rewards and losses per family.

    The candidate is a file, or with --reference one of actgym's named references
    (docs/evaluation.md lists them). --json prints each result by name (the file's stem).
    """
    from actgym.integrations.settings import EvaluatorSettings
    from actgym.references import REFERENCES
    from actgym.trainer import SCOPES

    settings = EvaluatorSettings(
        task=canonical_name(task, TASKS, "task"),
        fast=fast,
        instances=instances,
        task_seed=task_seed,
        steps=steps,
        train_seeds=train_seeds,
        scope=canonical_name(scope, SCOPES, "scope"),
    )
    label, source = read_candidate(source_file, reference)
    families = families_of(settings.task)
    # `--reference relu` (or gelu) is its own comparison: one row, not a repeated name.
    compared = [name for name in ("relu", "gelu") if name != label] if references else []
    names = [label, *compared]
    sources = [source, *(REFERENCES[name] for name in compared)]
    what = f"training {', '.join(names)} on {_count(families, 'family')}"
    with stage(what if server is None else f"{what} on {server}"):
        outcomes = _scored(sources, settings, server)
    results = dict(zip(names, outcomes, strict=True))
    if as_json:
        print(json.dumps({name: result.to_dict() for name, result in results.items()}, indent=2))
        return
    for table in results_tables(results, families, console.width):
        console.print(table)
    candidate = results[label]
    if not candidate.ok:
        console.print(f"[red]{candidate.status}[/red]: {escape(candidate.message)}")
        raise typer.Exit(code=1)


def _scored(
    sources: list[str], settings: EvaluatorSettings, server: str | None
) -> list[EvaluationResult]:
    """The sources' results, trained together here or one by one on `server`."""
    if server is not None:
        from actgym.integrations.client import ServerError, evaluate_remotely

        try:
            return [evaluate_remotely(server, source, settings) for source in sources]
        except ServerError as error:
            console.print(f"[red]{escape(str(error))}[/red]", highlight=False)
            raise typer.Exit(code=2) from None
    from actgym.evaluation import Evaluator

    evaluator = Evaluator(settings.config())
    try:
        return evaluator.evaluate_many(sources)
    finally:
        evaluator.close()


@app.command("eval-server")
def eval_server(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8765,
) -> None:
    """Serve evaluations over loopback HTTP, warm between requests (docs/integrations.md)."""
    try:
        import uvicorn

        from actgym.integrations.server import create_app
    except ImportError:
        console.print(
            "[red]the server needs FastAPI and uvicorn[/red]: pip install 'actgym[leaderboard]'"
        )
        raise typer.Exit(code=2) from None
    console.print(f"actgym evaluation server on http://{host}:{port} (POST /evaluate)")
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


def _count(items: Sequence[str], noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"1 {noun}" if len(items) == 1 else f"{len(items)} {plural}"


def results_tables(
    results: Mapping[str, EvaluationResult], families: Sequence[str], width: int
) -> list[Table]:
    """Rewards (overall and per family), then losses per family: each fits `width`."""
    from actgym.search.report import fitting, flops, reward_text

    def rewards(extras: bool) -> Table:
        table = Table(title="reward (ReLU scores 0, higher is better)")
        table.add_column("activation", overflow="fold")
        table.add_column("reward", justify="right", no_wrap=True)
        for family in families:
            table.add_column(family, justify="right", no_wrap=True)
        if extras:
            table.add_column("gap closed", justify="right")
            table.add_column("OOD loss", justify="right")
            table.add_column("FLOPs/elem", justify="right")
        for name, result in results.items():
            scores = [result.families.get(family) for family in families]
            cells = [f"{score.reward:+.3f}" if score else "-" for score in scores]
            if extras:
                gap = "-" if result.gap_closed is None else f"{result.gap_closed:.1%}"
                ood = "-" if result.ood_loss is None else f"{result.ood_loss:.4g}"
                cells += [gap, ood, flops(result.flops_per_element)]
            table.add_row(name, reward_text(result.reward, result.reward_stderr), *cells)
        return table

    losses = Table(title="MSE per family: seed mean, geometric mean over instances")
    for column in ("family", "activation", "ID (validation)", "OOD (test)"):
        losses.add_column(column, justify="left" if column in ("family", "activation") else "right")
    for family in families:
        for name, result in results.items():
            score = result.families.get(family)
            cells = [_geomean(score.id_loss), _geomean(score.ood_loss)] if score else ["-", "-"]
            losses.add_row(family, name, *cells)
    return [fitting([rewards(True), rewards(False)], width), losses, *scale_table(results)]


def scale_table(results: Mapping[str, EvaluationResult]) -> list[Table]:
    """Each family's reference points (docs/reward.md), from any trained result."""
    trained = next((result for result in results.values() if result.scale is not None), None)
    if trained is None:
        return []
    table = Table(title="the scale: reward of each reference point (ReLU scores 0)")
    for column in ("family", "mean model", "bounded (mean-model OOD loss)", "ceiling"):
        table.add_column(column, justify="left" if column == "family" else "right")
    rows = {name: score.scale for name, score in trained.families.items()}
    if len(rows) > 1:
        rows["Suite"] = trained.scale
    for name, scale in rows.items():
        points = (scale.mean_model, scale.mean_level, scale.ceiling)
        table.add_row(name, *(f"{value:+.3f}" for value in points))
    return [table]


def _geomean(losses: list[list[float]]) -> str:
    import numpy as np

    from actgym.reward import summary_loss

    return f"{summary_loss([np.asarray(losses)]):.4g}"


app.command()(search)
app.command()(report)
app.command()(export)
app.command()(transfer)
app.command()(prompt)
