"""`llm-sample`: the evolver's prompts without the evolution, as a reference searcher.

It opens with the same seed activations as the evolver, then asks the model again and
again with the prompts of the evolver's first generation: one seed as the parent (the
seeds take turns), its reward and cost, no inspirations, no rejections. Nothing the model
proposes is fed back, so every reply is an independent sample, and a comparison with the
evolver on the same model, seeds and budget measures what evolution adds over repeated
sampling. Backends, options (`prompt_style` included: the completion prompt shows the
seed parent after the fixed examples), reply parsing, unusable replies and duplicates are
the evolver's.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from actgym.agents.evolver import EvolverAgent, PromptRequest, archive_entry, expression_prompt
from actgym.agents.llm.protocol import LanguageModel
from actgym.agents.program_database import ArchiveEntry
from actgym.agents.prompts import chat_prompt

from actgym.agent import AgentContext, Evaluation


class SampleAgent(EvolverAgent):
    """Independent samples from fixed prompts built on the evaluated seeds."""

    def __init__(self, context: AgentContext, backend: LanguageModel | None = None) -> None:
        super().__init__(context, backend)
        self.parents: list[ArchiveEntry] = []

    def observe(self, evaluations: Sequence[Evaluation]) -> None:
        """Remembers the seeds' results, the only ones the prompts ever show."""
        self.parents.extend(
            archive_entry(evaluation)
            for evaluation in evaluations
            if "seed" in evaluation.proposal.notes
        )

    def prompt(self, request: PromptRequest) -> Any:
        if self.prompt_style == "completion":
            return expression_prompt(request)
        return chat_prompt(self.context.task.description, request.parent, (), (), request.mode)

    def _request(self) -> PromptRequest:
        turn = self.next_island
        self.next_island += 1
        if not self.parents:
            return PromptRequest(0, None, (), "rewrite")
        parent = self.parents[turn % len(self.parents)]
        diff = self.rng.random() < self.diff_fraction
        return PromptRequest(turn % len(self.parents), parent, (), "diff" if diff else "rewrite")

    def state_dict(self) -> dict[str, Any]:
        return {
            **super().state_dict(),
            "parents": [dataclasses.asdict(parent) for parent in self.parents],
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        super().load_state_dict(state)
        self.parents = [ArchiveEntry(**parent) for parent in state["parents"]]
