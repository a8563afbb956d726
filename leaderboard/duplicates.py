"""Duplicates found at submit time: the same function is answered at once, never stored twice.

A function is its canonical program hash and its outputs on the probe's fixed points
(`records.Function`): a rewrite with another program but the same outputs (`x * 1.0`,
`jnp.where(x > 0, x, 0)` for ReLU, swapped terms) is the same entry. Both come from the
check stage the verifier runs: the source is traced in the same strict Sandbox and the
program probed in a training process, so no candidate code runs in the calling process.
They depend on the layer width, so they are per board; the references' functions are
put on a board before the first submission there.

A source the check refuses is still queued, unidentified: the verifier records why it
failed on the submission's page, and keeps its own duplicate check as a backstop.
"""

from __future__ import annotations

import logging
import threading

from actgym.leaderboard.profiles import PUBLIC_TASK_SEED, Profile
from actgym.leaderboard.rate_limit import RateLimit
from actgym.leaderboard.records import Board, Function, NewSubmission
from actgym.leaderboard.store import Store
from actgym.leaderboard.trace_gate import TraceGate

from actgym.candidate import confinement
from actgym.candidate.reasons import CandidateRejected
from actgym.candidate.sandbox import Sandbox
from actgym.evaluation import Evaluator

log = logging.getLogger(__name__)


class FunctionIdentifier:
    """Each source's function at one profile's width: its canonical program and its outputs
    on the probe's fixed points (thread-safe)."""

    def __init__(
        self,
        profile: Profile,
        *,
        sandbox: Sandbox | None = None,
        required_layers: frozenset[str] = confinement.ALL_LAYERS,
    ) -> None:
        """Share the verifier's `sandbox`, or start one requiring `required_layers`."""
        config = profile.config(PUBLIC_TASK_SEED)
        self._owns_sandbox = sandbox is None
        self._checks = Evaluator(
            config, sandbox=sandbox or Sandbox(config.limits, required_layers=required_layers)
        )
        self._lock = threading.Lock()
        self._seeded: set[Board] = set()

    def identify(self, source: str) -> Function:
        """The source's function; raise CandidateRejected if the check stage refuses it."""
        checked = self._checks.check(source)
        return Function.of(checked.digest, checked.outputs)

    def seed_references(self, store: Store, board: Board) -> bool:
        """Claim the references' functions on `board`, so rewrites of them are caught; True
        once every one is claimed. A reference not identified (a missing confinement layer,
        a slow machine) is tried again at the next call."""
        with self._lock:
            if board in self._seeded:
                return True
            for submission_id, source in store.submissions.references().items():
                if store.submissions.owns_a_function(board, submission_id):
                    continue
                try:
                    function = self.identify(source)
                except CandidateRejected as rejection:
                    log.warning("reference #%s not identified: %s", submission_id, rejection)
                    return False
                store.submissions.claim_function(board, function, submission_id)
            self._seeded.add(board)
            return True

    def close(self) -> None:
        if self._owns_sandbox:
            self._checks.close()


def submit(
    store: Store,
    board: Board,
    identifier: FunctionIdentifier,
    new: NewSubmission,
    *,
    rate_limit: RateLimit | None = None,
    gate: TraceGate | None = None,
) -> tuple[int, CandidateRejected | None]:
    """Queue `new` unless `board` already has its function (then raise store.Duplicate).

    Returns the submission id and, when the check refused the source, the rejection: the
    submission is queued anyway, and the verifier records the failure. An author over the
    rate limit is refused before the source is traced. Through a `gate`, a check that
    finds no free slot or outlasts its deadline leaves the submission queued unidentified;
    so does a reference not yet identified (the seeding runs inside the same deadline), since
    a rewrite of it must not take its function.
    """
    if rate_limit is not None:
        store.submissions.check_rate_limit(new.author, rate_limit)

    def identified() -> Function | None:
        function = identifier.identify(new.source)
        return function if identifier.seed_references(store, board) else None

    try:
        function = identified() if gate is None else gate.run(identified)
    except CandidateRejected as rejection:
        return store.submissions.add(new, rate_limit=rate_limit), rejection
    if function is None:
        return store.submissions.add(new, rate_limit=rate_limit), None
    return store.submissions.add(new, rate_limit=rate_limit, function=(board, function)), None
