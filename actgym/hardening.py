"""Keep same-user processes out of a trusted process's memory.

A process that holds hidden data (held-out splits, the leaderboard's hidden-seed secret)
is made non-dumpable: no core dumps, and no ptrace or `/proc/<pid>/mem` reads by other
processes of the same user, which a candidate that escaped its sandbox would be.
"""

from __future__ import annotations

import ctypes
import resource
import sys

_PR_GET_DUMPABLE = 3
_PR_SET_DUMPABLE = 4


def make_undumpable() -> bool:
    """Turn dumping and same-user ptrace off for this process; True where that held (Linux)."""
    if not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    return is_undumpable()


def is_undumpable() -> bool:
    if not sys.platform.startswith("linux"):
        return False
    return ctypes.CDLL(None, use_errno=True).prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) == 0
