"""Screen cheaply, promote the best: a two-rung cascade around any agent (`--cascade`).

Every candidate the wrapped agent proposes is screened at low fidelity (a quarter of a
full evaluation's charge, `actgym.fidelity`). A screened candidate is promoted, that is
evaluated again at full fidelity, once its low reward ranks in the top `share` of every
candidate screened so far: asynchronous successive halving (Li et al., "A System for
Massively Parallel Hyperparameter Tuning", 2020) with two rungs, so the run never waits
for a rung to fill and promotes about `share` of what it screens, best first.
Promotions go first in each call; the wrapped agent gets the rest of the call's charge
as low-fidelity proposals, sees only its own screening results, and keeps its state
through this wrapper's. Only the promoted candidates' full-fidelity rewards rank the run.
In the call that ends the budget a new screening could no longer be promoted: that call
promotes the best screened candidates not yet promoted, past the share, and screens only
if none is left.
benchmarks/fidelity measured what the cut costs and how well it ranks.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

from actgym.agent import Agent, AgentContext, Evaluation, History, Proposal
from actgym.fidelity import FIDELITIES, FULL, LOW
from actgym.search.store import UNUSABLE

DEFAULT_SHARE = 0.05
"""On benchmarks/fidelity's pool of 200 Suite candidates this search, promoting 5%, found 9
of the full-fidelity top 10 for 34% of the compute of scoring all at full fidelity
(benchmarks/fidelity/cascade.md); promoting 10% found no more, for 39%."""
PROMOTED_FROM = "promoted_from"
"""The notes key of a promotion: the id of the screening evaluation it repeats at full."""


class Cascade(Agent):
    """Wraps `agent_class`, built with this context but `proposals_per_call` in
    low-fidelity proposals (4 per full evaluation), so it fills each call."""

    def __init__(
        self, context: AgentContext, agent_class: type[Agent], share: float = DEFAULT_SHARE
    ) -> None:
        super().__init__(context)
        if not 0.0 < share <= 1.0:
            raise ValueError(f"the cascade's promoted share must be in (0, 1], got {share!r}")
        self.share = share
        per_call = math.floor(context.proposals_per_call / LOW.charge)
        self.inner = agent_class(dataclasses.replace(context, proposals_per_call=per_call))

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        own = [evaluation for evaluation in history if evaluation.fidelity == LOW.name]
        screened = [evaluation for evaluation in own if evaluation.status != UNUSABLE]
        promotable = self.promotable(screened, history, beyond_share=self.ending(count, history))
        promotions = [_promotion(item) for item in promotable[:count]]
        room = math.floor((count - len(promotions)) / LOW.charge)
        if room == 0:
            return promotions
        asked = self.inner.propose(room, History(own, fidelity=LOW.name))
        return [*promotions, *(_screening(item) for item in asked)]

    def ending(self, count: int, history: History) -> bool:
        """Whether the budget ends with this call, as far as the agent can tell: it counts
        every evaluation charged, so refunded duplicates can leave more than it thinks."""
        charged = sum(
            FIDELITIES[item.fidelity].charge for item in history if item.status != UNUSABLE
        )
        return self.context.budget - charged - count < 1

    def promotable(
        self, screened: Sequence[Evaluation], history: History, *, beyond_share: bool = False
    ) -> list[Evaluation]:
        """The screened candidates in the top `share` of all screened (all of them when
        `beyond_share`), not yet promoted, best first (one per program)."""
        promoted = {
            evaluation.proposal.notes.get(PROMOTED_FROM)
            for evaluation in history
            if evaluation.fidelity == FULL.name
        }
        quota = len(screened) if beyond_share else math.ceil(self.share * len(screened))
        ranked = sorted(
            (evaluation for evaluation in screened if evaluation.ok),
            key=lambda evaluation: (-evaluation.reward, evaluation.id),
        )
        leaders = _distinct(ranked)[:quota]
        return [evaluation for evaluation in leaders if evaluation.id not in promoted]

    def observe(self, evaluations: Sequence[Evaluation]) -> None:
        own = [evaluation for evaluation in evaluations if evaluation.fidelity == LOW.name]
        if own:
            self.inner.observe(own)

    def state_dict(self) -> dict[str, Any]:
        return {"inner": self.inner.state_dict()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.inner.load_state_dict(state["inner"])

    def close(self) -> None:
        self.inner.close()


def _promotion(screening: Evaluation) -> Proposal:
    return Proposal(
        screening.source,
        parents=(screening.id,),
        notes={PROMOTED_FROM: screening.id, "screening_reward": screening.reward},
        fidelity=FULL.name,
    )


def _screening(item: Proposal | str) -> Proposal | str:
    """The wrapped agent's proposal at low fidelity (anything else is left for the loop
    to refuse)."""
    if isinstance(item, Proposal):
        return dataclasses.replace(item, fidelity=LOW.name)
    if isinstance(item, str):
        return Proposal(item, fidelity=LOW.name)
    return item


def _distinct(ranked: Sequence[Evaluation]) -> list[Evaluation]:
    """The first evaluation of each program: a program is promoted once."""
    seen: set[str | None] = set()
    distinct = []
    for evaluation in ranked:
        if evaluation.program_hash not in seen:
            seen.add(evaluation.program_hash)
            distinct.append(evaluation)
    return distinct
