"""`actgym leaderboard build`: the server's pages as static files, to host without a server.

The same views and templates as the server with relative links, so the site works from
any directory or a file:// URL; the JSON the API serves is written beside the pages.
A static site cannot take submissions, so it has no form.
"""

from __future__ import annotations

import json
from pathlib import Path

from actgym.leaderboard import views
from actgym.leaderboard.pages import Links, Pages
from actgym.leaderboard.plots import function_plot
from actgym.leaderboard.profiles import Profile, env_version
from actgym.leaderboard.ranking import LOCALITIES
from actgym.leaderboard.records import Board
from actgym.leaderboard.store import Store


def build_site(store: Store, profile: Profile, out: Path) -> list[Path]:
    """Write index[-<locality>].html, leaderboard[-<locality>].json and
    submissions/<id>.{html,json,png}; return them."""
    board = Board(version=env_version(), profile=profile.name)
    pages = Pages(profile)
    ranking, queue = views.index_lists(
        store, board, lambda: views.leaderboard(store, board, profile)
    )
    (out / "submissions").mkdir(parents=True, exist_ok=True)
    home = Links("", True)
    written = [
        _write(out / "index.html", pages.index(ranking, queue, home)),
        _write(out / "leaderboard.json", json.dumps(ranking.to_dict(), indent=1)),
    ]
    for locality in LOCALITIES:  # a static host takes no query: one page per filter
        only = ranking.only(locality)
        written.append(_write(out / f"index-{locality}.html", pages.index(only, queue, home)))
        written.append(_write(out / f"leaderboard-{locality}.json", json.dumps(only.to_dict())))
    links = Links("../", True)
    for submission_id in store.submissions.ids():
        details = views.submission_details(store, board, lambda: ranking, submission_id)
        assert details is not None
        stem = out / "submissions" / str(submission_id)
        written.append(_write(stem.with_suffix(".html"), pages.submission(details, ranking, links)))
        written.append(_write(stem.with_suffix(".json"), json.dumps(details, indent=1)))
        program = views.program_json(store, board, submission_id)
        if program is not None:
            png = stem.with_suffix(".png")
            png.write_bytes(function_plot(program, details["name"]))
            written.append(png)
    return written


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
