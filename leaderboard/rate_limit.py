"""The submission rate limit: how many entries one author may make in a sliding window.

Counted from the submissions table inside the inserting transaction, so concurrent
submitters cannot slip past it together.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True)
class RateLimit:
    """At most `max_submissions` per author (case-insensitive) in any `window_s` seconds."""

    max_submissions: int = 10
    window_s: float = 3600.0


class RateLimited(Exception):
    def __init__(self, author: str, limit: RateLimit, retry_after_s: float) -> None:
        self.retry_after_s = max(1, round(retry_after_s))
        super().__init__(
            f"Author {author!r} has made {limit.max_submissions} submissions in the last "
            f"{limit.window_s:g} seconds, the limit; try again in {self.retry_after_s} s."
        )


def enforce_rate_limit(
    connection: sqlite3.Connection, author: str, author_key: str, limit: RateLimit, now: float
) -> None:
    """Raise RateLimited, saying when the oldest counted submission leaves the window."""
    recent = connection.execute(
        "SELECT created_at FROM submissions WHERE author_key = ? AND created_at > ?"
        " ORDER BY created_at",
        (author_key, now - limit.window_s),
    ).fetchall()
    if len(recent) >= limit.max_submissions:
        oldest = recent[len(recent) - limit.max_submissions]["created_at"]
        raise RateLimited(author, limit, oldest + limit.window_s - now)
