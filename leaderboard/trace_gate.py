"""Submit-time tracing that cannot hold the server: a few checks at once, and never longer
than a short deadline for the request that asked.

The submit-time check traces a source in the strict sandbox, which may take the sandbox's
full 10 s for a hostile one. It runs on this gate's own threads, not the pool that serves
pages; a request waits for it at most `deadline_s`, and when no slot is free or the
deadline passes the submission is queued unidentified (the verifier checks every source
fully, duplicates included), so a flood of slow sources delays nobody else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

T = TypeVar("T")


class TraceGate:
    def __init__(self, slots: int = 2, deadline_s: float = 1.5) -> None:
        if slots < 1 or deadline_s <= 0:
            raise ValueError(
                f"a trace gate needs slots >= 1 and a positive deadline, got {slots}, {deadline_s}"
            )
        self.deadline_s = deadline_s
        self._slots = threading.BoundedSemaphore(slots)
        self._executor = ThreadPoolExecutor(max_workers=slots, thread_name_prefix="trace-gate")

    def run(self, work: Callable[[], T]) -> T | None:
        """`work()`'s result, or None when no slot is free or it outlasts the deadline (it
        then finishes on its slot). Its exceptions are raised here."""
        if not self._slots.acquire(blocking=False):
            return None
        future = self._executor.submit(self._then_release, work)
        try:
            return future.result(timeout=self.deadline_s)
        except FutureTimeout:
            return None

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)

    def _then_release(self, work: Callable[[], T]) -> T:
        try:
            return work()
        finally:
            self._slots.release()
