"""The search loop, in batches: propose, record, evaluate, observe, snapshot; repeat.

The store is written only at these points, each one transaction:
  1. after `propose`: the batch's proposals + a snapshot of the agent (phase 'proposed');
  2. as each evaluation completes: its row;
  3. after `observe`: a snapshot of the agent (phase 'observed') and the batch's
     behavioural-duplicate marks.
Resuming restores the last snapshot (the agent's generator and `state_dict`) and the
history of observed evaluations. From 'proposed', the batch's proposals without a row
are re-issued verbatim (not re-proposed), evaluated, and the whole batch is observed in
proposal order; from 'observed', the agent proposes the next batch. The agent therefore
sees the same calls with the same arguments as in an uninterrupted run, the run ends at
exactly `budget` charged evaluations, and nothing that completed is evaluated again.

An evaluation whose behaviour (the probe's fingerprint of the validated program's
outputs) matches an earlier one of the run is a behavioural duplicate: marked with that
evaluation's id when its batch is complete (in id order, so the marks never depend on
completion order) and not charged to the budget. So that an agent proposing nothing but
duplicates still stops, a run issues proposals charging at most MAX_PROPOSALS_PER_BUDGET *
budget.

Each proposal is evaluated at its fidelity (`actgym.fidelity`) by that fidelity's backend
and charged its fidelity's charge, in full evaluations: the agent is asked for at most
`count` full evaluations' worth, and the run ends when less than one is left (a run that
screened at low fidelity can leave up to 3/4 of one unspent). Behavioural duplicates are
found within a fidelity, so promoting a screened candidate to full fidelity is charged.

A proposal whose notes hold an `unusable` reason (an LLM reply without code) is not sent
for evaluation: it is recorded with status `unusable_reply`, the penalty reward and its
reason as the message, observed like any other, and not charged either.
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from actgym.agent import Agent, Evaluation, History, Proposal
from actgym.candidate.untrusted_text import sanitise, valid_utf8
from actgym.fidelity import FIDELITIES
from actgym.result import EvaluationResult
from actgym.reward import PENALTY
from actgym.search.backends import ByFidelity, Outcome
from actgym.search.progress import SearchProgress
from actgym.search.records import evaluation_row, proposal_row, to_evaluation, to_evaluations
from actgym.search.store import UNUSABLE, RunStore, Snapshot, StoreError, charge
from actgym.search.stored_rows import MAX_JSON_DEPTH, json_depth

MAX_PROPOSALS_PER_BUDGET = 2


class AgentError(RuntimeError):
    """The agent broke the contract (too many proposals, bad metadata, unsaveable state)."""


class SearchLoop:
    def __init__(
        self,
        store: RunStore,
        agent: Agent,
        backends: ByFidelity,
        *,
        budget: int,
        proposals_per_call: int,
        session: int,
        constants: Mapping[str, Mapping[str, Any]],
        progress: SearchProgress,
    ) -> None:
        """`constants` are the run-wide columns of an evaluation row, per fidelity."""
        self.store = store
        self.agent = agent
        self.backends = backends
        self.budget = budget
        self.proposals_per_call = proposals_per_call
        self.session = session
        self.constants = constants
        self.progress = progress
        self.history: list[Evaluation] = []
        self.issued = 0

    def run(self) -> bool:
        """Search until the budget is spent; False if the agent stopped proposing first."""
        batch = self._restore(self.store.snapshot())
        while self._left() >= 1:
            if not self._propose(batch):
                return False
            self._complete(batch)
            batch += 1
        return True

    def _restore(self, snapshot: Snapshot | None) -> int:
        """Put the agent back at the last batch boundary; return the next batch number."""
        if snapshot is None:
            return 0
        try:
            self.agent.rng.bit_generator.state = snapshot.rng
            self.agent.load_state_dict(snapshot.state)
        except Exception as error:  # the store is untrusted input: say so, plainly
            raise StoreError(
                f"the stored agent state does not restore ({type(error).__name__}: "
                f"{sanitise(error)})"
            ) from None
        self.issued = snapshot.issued
        observed = snapshot.batch if snapshot.phase == "observed" else snapshot.batch - 1
        rows = [row for row in self.store.evaluations() if row["batch"] <= observed]
        self.history = to_evaluations(rows)
        if snapshot.phase == "proposed":
            self._complete(snapshot.batch)
        return snapshot.batch + 1

    def _left(self) -> float:
        """Full evaluations the budget still allows: duplicates are free, up to the cap on
        what proposals may charge."""
        cap = MAX_PROPOSALS_PER_BUDGET * self.budget - self.store.issued_charge()
        return min(self.budget - self.store.spent(), cap)

    def _propose(self, batch: int) -> bool:
        count = min(self.proposals_per_call, math.floor(self._left()))
        proposals = self._checked(self.agent.propose(count, History(self.history)), count)
        if not proposals:
            return False
        rows = [
            proposal_row(self.issued + offset, batch, proposal, self.session)
            for offset, proposal in enumerate(proposals)
        ]
        self.issued += len(rows)
        self.store.record_proposals(rows, self._snapshot(batch, "proposed"))
        return True

    def _complete(self, batch: int) -> None:
        """Evaluate the batch's proposals that have no row yet, then let the agent observe."""
        proposals = {row["id"]: row for row in self.store.proposals(batch)}
        done = {row["id"]: row for row in self.store.evaluations(batch)}
        pending = [(key, row["source"]) for key, row in proposals.items() if key not in done]
        unusable = {key: _unusable(proposals[key]) for key, _ in pending}
        skipped = [_skipped(key, reason) for key, reason in unusable.items() if reason]
        sent: dict[str, list[tuple[int, str]]] = {}
        for key, source in pending:
            if not unusable[key]:
                sent.setdefault(proposals[key]["fidelity"], []).append((key, source))
        evaluated = (self.backends[name].evaluate(items) for name, items in sent.items())
        for outcome in itertools.chain(skipped, *evaluated):
            proposal = proposals[outcome.id]
            row = evaluation_row(proposal, outcome, self.constants[proposal["fidelity"]])
            self.store.record_evaluation(row)
            done[outcome.id] = row
            self.progress.advance(to_evaluation(row), charge(row))
        rows = [done[key] for key in sorted(done)]
        evaluations = [to_evaluation(row) for row in rows]
        self.agent.observe(evaluations)
        self.history.extend(evaluations)
        duplicates = self._duplicates(batch, rows)
        self.store.save_snapshot(self._snapshot(batch, "observed"), duplicates)
        self.progress.refund(sum(charge(row) for row in rows if row["id"] in duplicates))

    def _duplicates(self, batch: int, rows: Sequence[Mapping[str, Any]]) -> dict[int, int]:
        """Each row of the batch whose behaviour an earlier evaluation at its fidelity had:
        row id -> that evaluation's id."""
        first = self.store.first_by_behaviour(batch)
        duplicates = {}
        for row in rows:
            if row["behaviour"] is None:
                continue
            key = (row["fidelity"], row["behaviour"])
            if key in first:
                duplicates[row["id"]] = first[key]
            else:
                first[key] = row["id"]
        return duplicates

    def _snapshot(self, batch: int, phase: str) -> Snapshot:
        state = self.agent.state_dict()
        try:
            json.dumps(state, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise AgentError(f"state_dict() must return JSON-serialisable data: {error}") from None
        if not isinstance(state, dict) or json_depth(state) > MAX_JSON_DEPTH:
            raise AgentError(  # the store would not resume (actgym.search.stored_rows)
                f"state_dict() must return a dict nested at most {MAX_JSON_DEPTH} levels deep"
            )
        return Snapshot(batch, phase, self.issued, self.agent.rng.bit_generator.state, state)

    def _checked(self, proposals: Sequence[Proposal | str], count: int) -> list[Proposal]:
        name = type(self.agent).__name__
        if isinstance(proposals, str | bytes) or not isinstance(proposals, Sequence):
            raise AgentError(f"{name}.propose must return a list, got {type(proposals).__name__}")
        most = int(count / min(fidelity.charge for fidelity in FIDELITIES.values()))
        if len(proposals) > most:
            raise AgentError(f"{name} proposed {len(proposals)} candidates; {count} were asked for")
        checked = [_proposal(item, name, self.issued) for item in proposals]
        charge = sum(FIDELITIES[proposal.fidelity].charge for proposal in checked)
        if charge > count:
            raise AgentError(
                f"{name} proposed {len(checked)} candidates charging {charge:g} full "
                f"evaluations; {count} were asked for"
            )
        return checked


def _unusable(row: Mapping[str, Any]) -> str | None:
    """The reason a proposal holds no candidate (its notes' `unusable`), if it says so."""
    reason = json.loads(row["notes"]).get("unusable")
    return reason if isinstance(reason, str) and reason else None


def _skipped(identifier: int, reason: str) -> Outcome:
    result = EvaluationResult(status=UNUSABLE, message=reason, reward=PENALTY)
    return Outcome(identifier, result, None, 0.0)


def _proposal(item: Proposal | str, agent: str, issued: int) -> Proposal:
    proposal = Proposal(item) if isinstance(item, str) else item
    if not isinstance(proposal, Proposal) or not isinstance(proposal.source, str):
        raise AgentError(f"{agent} proposed {item!r}: expected a str or a Proposal of a str")
    if not all(isinstance(p, int | np.integer) and 0 <= p < issued for p in proposal.parents):
        raise AgentError(f"{agent}: parents {proposal.parents} are not ids of evaluations")
    if proposal.generation is not None and not isinstance(proposal.generation, int):
        raise AgentError(f"{agent}: generation must be an int, got {proposal.generation!r}")
    if not isinstance(proposal.fidelity, str) or proposal.fidelity not in FIDELITIES:
        raise AgentError(
            f"{agent}: fidelity must be one of {', '.join(FIDELITIES)}, got {proposal.fidelity!r}"
        )
    try:
        json.dumps(dict(proposal.notes), allow_nan=False)
    except (TypeError, ValueError) as error:
        raise AgentError(f"{agent}: notes must be a JSON-serialisable dict: {error}") from None
    if json_depth(dict(proposal.notes)) > MAX_JSON_DEPTH:
        raise AgentError(f"{agent}: notes must nest at most {MAX_JSON_DEPTH} levels deep")
    return Proposal(
        valid_utf8(proposal.source),
        tuple(int(parent) for parent in proposal.parents),
        proposal.generation,
        proposal.notes,
        proposal.fidelity,
    )
