"""Duplicates found at submit time: the same function is answered at once, never stored twice.

A source's canonical program hash is what the verifier de-duplicates by. Here it is
found the cheapest correct way: the source is traced in the same strict Sandbox the
verifier uses and validated by `load_program` (no probe, no training), so no candidate
code runs in the calling process. Hashes depend on the layer width, so they are per
board; the references' hashes are put on a board before the first submission there.

A source the check refuses is still queued, without a hash: the verifier records why it
failed on the submission's page, and keeps its own duplicate check as a backstop.
"""

from __future__ import annotations

import logging
import threading

from actgym.leaderboard.profiles import PUBLIC_TASK_SEED, Profile
from actgym.leaderboard.rate_limit import RateLimit
from actgym.leaderboard.records import Board, NewSubmission
from actgym.leaderboard.store import Store
from actgym.leaderboard.trace_gate import TraceGate

from actgym.candidate import confinement
from actgym.candidate.check import validated
from actgym.candidate.reasons import CandidateRejected
from actgym.candidate.sandbox import Sandbox

log = logging.getLogger(__name__)


class ProgramHasher:
    """Canonical program hashes of sources at one profile's width (thread-safe)."""

    def __init__(
        self,
        profile: Profile,
        *,
        sandbox: Sandbox | None = None,
        required_layers: frozenset[str] = confinement.ALL_LAYERS,
    ) -> None:
        """Share the verifier's `sandbox`, or start one requiring `required_layers`."""
        config = profile.config(PUBLIC_TASK_SEED)
        self.shape = config.trainer.activation_shape
        self.limits = config.limits
        self._owns_sandbox = sandbox is None
        self.sandbox = sandbox or Sandbox(config.limits, required_layers=required_layers)
        self._lock = threading.Lock()
        self._seeded: set[Board] = set()

    def digest(self, source: str) -> str:
        """The source's canonical program hash; raise CandidateRejected if the check fails."""
        return validated(source, self.sandbox, self.shape, self.limits).digest

    def seed_references(self, store: Store, board: Board) -> None:
        """Claim the references' programs on `board`, once, so copies of them are caught."""
        with self._lock:
            if board in self._seeded:
                return
            owners = store.submissions.program_owners(board)
            for submission_id, source in store.submissions.references().items():
                if submission_id in owners:
                    continue
                try:
                    store.submissions.claim_program(board, self.digest(source), submission_id)
                except CandidateRejected as rejection:
                    log.warning("reference #%s not hashed: %s", submission_id, rejection)
                    return  # e.g. a confinement layer is missing: try again next time
            self._seeded.add(board)

    def close(self) -> None:
        if self._owns_sandbox:
            self.sandbox.close()


def submit(
    store: Store,
    board: Board,
    hasher: ProgramHasher,
    new: NewSubmission,
    *,
    rate_limit: RateLimit | None = None,
    gate: TraceGate | None = None,
) -> tuple[int, CandidateRejected | None]:
    """Queue `new` unless `board` already has its function (then raise store.Duplicate).

    Returns the submission id and, when the check refused the source, the rejection: the
    submission is queued anyway, and the verifier records the failure. An author over the
    rate limit is refused before the source is traced. Through a `gate`, a trace that
    finds no free slot or outlasts its deadline leaves the submission queued unhashed.
    """
    if rate_limit is not None:
        store.submissions.check_rate_limit(new.author, rate_limit)
    try:
        if gate is None:
            program_hash: str | None = hasher.digest(new.source)
        else:
            program_hash = gate.run(lambda: hasher.digest(new.source))
    except CandidateRejected as rejection:
        return store.submissions.add(new, rate_limit=rate_limit), rejection
    if program_hash is None:
        return store.submissions.add(new, rate_limit=rate_limit), None
    hasher.seed_references(store, board)
    return store.submissions.add(new, rate_limit=rate_limit, program=(board, program_hash)), None
