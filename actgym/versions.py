"""Every version actgym stamps on its results and files, and what moves each one.

ENV_VERSION        the `-v0` of environment ids: task definitions (formulas, ranges,
                   splits, instance seeds). A change makes old task results incomparable.
SCORING_VERSION    the reward and the protocol behind it (trainer, sizes, reward rules);
                   it keys every cached result, run and leaderboard board.
PROGRAM_FORMAT     the JSON a sandboxed worker sends for a traced program.
RUN_STORE_SCHEMA   the tables of a search run's SQLite file.
LEADERBOARD_SCHEMA the tables of a leaderboard's SQLite file.
"""

from __future__ import annotations

ENV_VERSION = "v0"
SCORING_VERSION = "4"
PROGRAM_FORMAT = "actgym.program/1"
RUN_STORE_SCHEMA = 3
LEADERBOARD_SCHEMA = "1"


def env_id(task: str) -> str:
    """The Gymnasium id of a task's environment, e.g. `ActSearch-Harmonics-v0`."""
    return f"ActSearch-{task}-{ENV_VERSION}"


def results_version() -> str:
    """The environments' version plus the scoring version: the key of every stored result."""
    return f"ActSearch-{ENV_VERSION}+scoring.{SCORING_VERSION}"
