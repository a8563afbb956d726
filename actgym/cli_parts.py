"""Pieces every command shares: names typed in any case, the candidate a command reads,
and a spinner for stages that report no progress. Output that is not the command's result
goes to stderr, so stdout stays clean for --json."""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

progress_console = Console(stderr=True)


def canonical_name(name: str, choices: Iterable[str], what: str) -> str:
    """The choice `name` spells, ignoring case: users type `harmonics` for `Harmonics`."""
    choices = list(choices)
    for choice in choices:
        if choice.lower() == name.lower():
            return choice
    raise typer.BadParameter(f"unknown {what} {name!r}; choose from {', '.join(choices)}")


def read_candidate(source_file: Path | None, reference: str | None) -> tuple[str, str]:
    """(label, source) of the candidate a command names: a file, or --reference NAME."""
    from actgym.references import NAMED

    if source_file is not None and reference is not None:
        raise typer.BadParameter("give a source file or --reference NAME, not both")
    if source_file is None and reference is None:
        raise typer.BadParameter("give a source file, or --reference NAME for a named reference")
    if reference is not None:
        label = canonical_name(reference, NAMED, "reference")
        return label, NAMED[label]
    assert source_file is not None
    try:
        return source_file.name, source_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"cannot read {source_file}: {error}") from None


@contextmanager
def stage(what: str) -> Iterator[None]:
    """A spinner with the elapsed time, then a line saying the stage is done.

    Training reports no fraction done, so the spinner shows the run is alive.
    """
    started = time.monotonic()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=progress_console,
    )
    with progress:
        progress.add_task(what, total=None)
        yield
    progress_console.print(f"{what}: done in {time.monotonic() - started:.0f} s")
