"""HTML for the leaderboard, shared by the server and the static site so both show the same pages.

Templates are autoescaped Jinja2: submitted names, descriptions and sources are shown
as text, never as markup. `Links` is the one difference between the two: the server's
routes or the site's relative file names.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from actgym.leaderboard.profiles import Profile
from actgym.leaderboard.ranking import LOCALITIES, RULE, Leaderboard
from actgym.leaderboard.views import flops, gap, locality, transfer_cell, transfer_tasks
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from actgym.candidate.limits import MAX_SOURCE_CHARS
from actgym.candidate.untrusted_text import visible_code

TEMPLATES = Path(__file__).parent / "templates"
REFRESH_S = 3


@dataclass(frozen=True)
class Links:
    """URLs as the server routes them (`static=False`) or as files of the static site."""

    root: str = "/"
    static: bool = False

    def home(self, locality: str | None = None) -> str:
        """The ranked table, or only the entries of one locality."""
        if self.static:
            return f"{self.root}index{'-' + locality if locality else ''}.html"
        return f"{self.root}?locality={locality}" if locality else self.root

    def submission(self, submission_id: int) -> str:
        suffix = ".html" if self.static else ""
        return f"{self.root}submissions/{submission_id}{suffix}"

    def plot(self, submission_id: int) -> str:
        suffix = ".png" if self.static else "/plot.png"
        return f"{self.root}submissions/{submission_id}{suffix}"

    def submit(self) -> str | None:
        return None if self.static else f"{self.root}submit"

    def api_leaderboard(self) -> str:
        return f"{self.root}leaderboard.json" if self.static else f"{self.root}api/leaderboard"


class Pages:
    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.environment = Environment(
            loader=FileSystemLoader(TEMPLATES), autoescape=True, undefined=StrictUndefined
        )
        self.environment.filters.update(
            score=_score,
            loss=_loss,
            when=_when,
            flops=flops,
            gap=gap,
            locality=locality,
            visible=visible_code,  # a source stored before such characters were refused
        )

    def index(self, ranking: Leaderboard, queue: list[dict[str, Any]], links: Links) -> str:
        return self._render(
            "index.html",
            links,
            ranking=ranking,
            queue=queue,
            rule=RULE,
            localities=LOCALITIES,
            transfer_tasks=transfer_tasks(ranking.entries),
            transfer_cell=transfer_cell,
        )

    def submission(self, details: dict[str, Any], ranking: Leaderboard, links: Links) -> str:
        waiting = details["state"] in ("pending", "running") and not links.static
        return self._render(
            "submission.html",
            links,
            ranking=ranking,
            s=details,
            refresh=REFRESH_S if waiting else None,
        )

    def submit(
        self,
        links: Links,
        csrf_token: str,
        *,
        ask_token: bool,
        values: dict[str, str] | None = None,
        error: str | None = None,
    ) -> str:
        """The form; `ask_token`: an author token field, else (open server) an author name."""
        return self._render(
            "submit.html",
            links,
            csrf_token=csrf_token,
            ask_token=ask_token,
            values=values or {},
            error=error,
            max_source_chars=MAX_SOURCE_CHARS,
        )

    def _render(self, name: str, links: Links, **context: Any) -> str:
        context.setdefault("refresh", None)
        template = self.environment.get_template(name)
        return template.render(links=links, profile=self.profile.summary(), **context)


def _score(value: float) -> str:
    return f"{value:+.2f}"


def _loss(value: float) -> str:
    return f"{value:.4g}"


def _when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
