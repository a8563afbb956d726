"""The live view of a search: a rich progress bar plus a line whenever the best improves.

Rate and ETA are over this session's evaluations since it started: results arrive a
chunk at a time, which makes rich's short-window speed estimate jump wildly.
"""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from actgym.agent import Evaluation
from actgym.fidelity import FULL


class SearchProgress:
    """`advance` after each completed evaluation, `refund` a batch's duplicates; use as a
    context manager."""

    def __init__(
        self, console: Console, total: int, done: float, best: float | None, enabled: bool
    ) -> None:
        """`total` and `done` count full evaluations; `best` is the best full-fidelity reward."""
        self.console = console
        self.best = best
        self.enabled = enabled
        self.remaining = total - done
        self.session_done = 0
        self.started = time.monotonic()
        self.progress = Progress(
            TextColumn("[bold]search"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("best {task.fields[best]}"),
            TextColumn("{task.fields[rate]}/min"),
            TimeElapsedColumn(),
            TextColumn("ETA {task.fields[eta]}"),
            console=console,
            disable=not enabled,
        )
        self.task = self.progress.add_task(
            "search", total=total, completed=done, best=self._best, rate="-", eta="-"
        )

    @property
    def _best(self) -> str:
        return "-" if self.best is None else f"{self.best:+.4f}"

    def __enter__(self) -> SearchProgress:
        self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.progress.stop()

    def advance(self, evaluation: Evaluation, charge: float) -> None:
        """Count an evaluation as it arrives, at what it cost the budget (unusable replies
        nothing); only a full-fidelity one can be a new best."""
        full = evaluation.fidelity == FULL.name
        if full and evaluation.ok and (self.best is None or evaluation.reward > self.best):
            self.best = evaluation.reward
            self._say(
                f"new best [bold green]{evaluation.reward:+.4f}[/] at evaluation "
                f"{evaluation.id + 1} (OOD loss {evaluation.ood_loss:.4g})"
            )
        self._count(charge)

    def refund(self, charge: float) -> None:
        """Give back what the batch's behavioural duplicates were counted at: they are found
        when the whole batch is in, and are free, so the bar ends where the budget does."""
        self._count(-charge)

    def _count(self, charge: float) -> None:
        self.session_done += charge
        self.remaining -= charge
        per_second = self.session_done / max(time.monotonic() - self.started, 1e-9)
        self.progress.update(
            self.task,
            advance=charge,
            best=self._best,
            rate=f"{per_second * 60:.1f}",
            eta=_clock(self.remaining / per_second) if per_second > 0 else "-",
        )

    def _say(self, message: str) -> None:
        if self.enabled:
            self.console.print(message)


def _clock(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"
