"""Processes that hold hidden data cannot be dumped or read by same-user processes."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux-only")
def test_make_undumpable_holds_in_a_fresh_process() -> None:
    script = (
        "from actgym.hardening import is_undumpable, make_undumpable\n"
        "before = is_undumpable()\n"
        "print(before, make_undumpable(), is_undumpable())\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert completed.stdout.split() == ["False", "True", "True"]
