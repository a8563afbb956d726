"""The random baseline: independent draws from the Ramachandran et al. (2017) search space.

Any search strategy must beat this to claim it learned something, so it is kept as plain
as the paper's space allows: each candidate is a fresh chain of 1 to 3 core units
(`agents/grammar.py`), redrawn when its source was already proposed in this run. It
keeps no state besides the run's generator, so a resumed run continues exactly.

Options (`agent_options` in a search config): `min_depth` (default 1), `max_depth`
(default 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from actgym.agents.grammar import random_expression, to_source

from actgym.agent import Agent, AgentContext, History, Proposal

DEFAULTS: Mapping[str, int] = {"min_depth": 1, "max_depth": 3}
MAX_REDRAWS = 20


class RandomGrammarAgent(Agent):
    """Uniform depth in [min_depth, max_depth], then a random expression of that depth."""

    def __init__(self, context: AgentContext) -> None:
        super().__init__(context)
        options = _options(context.options)
        self.min_depth = options["min_depth"]
        self.max_depth = options["max_depth"]

    def propose(self, count: int, history: History) -> Sequence[Proposal]:
        seen = {evaluation.source for evaluation in history}
        proposals = []
        for _ in range(count):
            proposal = self._draw()
            for _ in range(MAX_REDRAWS):
                if proposal.source not in seen:
                    break
                proposal = self._draw()
            seen.add(proposal.source)
            proposals.append(proposal)
        return proposals

    def _draw(self) -> Proposal:
        depth = int(self.rng.integers(self.min_depth, self.max_depth + 1))
        source = to_source(random_expression(self.rng, depth))
        return Proposal(source, notes={"depth": depth})


def _options(given: Mapping[str, Any]) -> dict[str, int]:
    unknown = set(given) - set(DEFAULTS)
    if unknown:
        raise ValueError(
            f"unknown options for the random agent: {sorted(unknown)}; known: {sorted(DEFAULTS)}"
        )
    options = {**DEFAULTS, **given}
    if not all(isinstance(value, int) and value >= 1 for value in options.values()):
        raise ValueError(f"random agent depths must be positive ints, got {options}")
    if options["min_depth"] > options["max_depth"]:
        raise ValueError(f"min_depth exceeds max_depth: {options}")
    return options
