"""Kill training processes as the OOM killer or an operator would: at a chosen stage."""

from __future__ import annotations

import os
import signal
from typing import Any

import pytest

from actgym.child_process import Child


class ProcessKiller:
    """SIGKILLs the training process the parent is about to wait on for a stage's event
    (`probed`, `prepared`, `compiled`, `trained`...), so it dies in the middle of that stage.

    `once` stages are killed on their next occurrence each; `always` stages every time.
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.once: list[str] = []
        self.always: set[str] = set()
        self.killed: list[str] = []
        original = Child._expect

        def expect(child: Child, request_id: int, stage: str, seconds: float) -> dict[str, Any]:
            if stage in self.always or stage in self.once:
                if stage in self.once:
                    self.once.remove(stage)
                os.kill(child.pid, signal.SIGKILL)
                self.killed.append(stage)
            return original(child, request_id, stage, seconds)

        monkeypatch.setattr(Child, "_expect", expect)
