"""`actgym prompt`, `actgym openevolve init` and `actgym shinka init`: what an external
evolver needs from actgym."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from actgym.cli_parts import canonical_name
from actgym.tasks import TASKS

openevolve_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Run actgym as an OpenEvolve task."
)
shinka_app = typer.Typer(
    no_args_is_help=True, add_completion=False, help="Run actgym as a ShinkaEvolve task."
)
console = Console()

Task = Annotated[str, typer.Option(help=f"One of {', '.join(TASKS)}")]
Fast = Annotated[bool, typer.Option(help="The fast trainer preset (trials and tests)")]
Instances = Annotated[
    int | None, typer.Option(min=1, help="Instances per family (default: the task's)")
]
TaskSeed = Annotated[int, typer.Option(min=0, help="Task seed (0: the published instances)")]


def prompt(task: Task = "Suite", fast: Fast = False, instances: Instances = None) -> None:
    """Print what an evolver's language model is told: the candidate contract and the task."""
    from actgym.integrations.settings import EvaluatorSettings

    settings = EvaluatorSettings(canonical_name(task, TASKS, "task"), fast, instances)
    print(settings.prompt())


@openevolve_app.command("init")
def openevolve_init(
    directory: Annotated[Path, typer.Argument(help="Where to write the task (empty or new)")],
    task: Task = "Suite",
    fast: Fast = False,
    instances: Instances = None,
    task_seed: TaskSeed = 0,
    iterations: Annotated[int, typer.Option(min=1, help="OpenEvolve's max_iterations")] = 100,
) -> None:
    """Write initial_program.py, evaluator.py and config.yaml for `openevolve-run`."""
    from actgym.integrations.scaffold import openevolve_files
    from actgym.integrations.settings import EvaluatorSettings

    settings = EvaluatorSettings(canonical_name(task, TASKS, "task"), fast, instances, task_seed)
    _write(directory, openevolve_files(settings, iterations))
    console.print(
        "Point config.yaml's llm.api_base at an OpenAI-compatible server, then run:\n"
        f"  cd {escape(str(directory))} && openevolve-run initial_program.py evaluator.py "
        "--config config.yaml",
        highlight=False,
    )


@shinka_app.command("init")
def shinka_init(
    directory: Annotated[Path, typer.Argument(help="Where to write the task (empty or new)")],
    task: Task = "Suite",
    fast: Fast = False,
    instances: Instances = None,
    task_seed: TaskSeed = 0,
) -> None:
    """Write initial.py, evaluate.py and task_sys_msg.txt for ShinkaEvolve."""
    from actgym.integrations.scaffold import shinka_files
    from actgym.integrations.settings import EvaluatorSettings

    settings = EvaluatorSettings(canonical_name(task, TASKS, "task"), fast, instances, task_seed)
    _write(directory, shinka_files(settings))
    console.print(
        "Give ShinkaEvolve init_program_path='initial.py', eval_program_path='evaluate.py' "
        "and task_sys_msg=open('task_sys_msg.txt').read(); start `actgym eval-server` and "
        "set ACTGYM_EVAL_SERVER to skip each program's cold start (docs/integrations.md).",
        highlight=False,
    )


def _write(directory: Path, files: dict[str, str]) -> None:
    from actgym.integrations.scaffold import write_task_directory

    try:
        written = write_task_directory(directory, files)
    except FileExistsError as error:
        console.print(f"[red]nothing written[/red]: {escape(str(error))}", highlight=False)
        raise typer.Exit(code=1) from None
    for path in written:
        console.print(f"wrote {escape(str(path))}", highlight=False)
