"""Helpers for testing an LLM-driven agent without a model: scripted replies.

    backend = ScriptedBackend(["```python\ndef activation_function(x): ...```"])
    agent = EvolverAgent(context, backend=backend)
    ...
    assert "Harmonics" in backend.prompts[0][-1]["content"]

Any agent that takes an `llm.protocol.LanguageModel` can be driven this way; the backend
counts usage and honours a `Budget` like the real ones.
"""

from __future__ import annotations

from collections.abc import Sequence

from actgym.agents.llm.protocol import Budget, Completion, Messages, Usage


class ScriptedBackend:
    """Answers prompts from a list of replies, in order; records the prompts it was sent."""

    def __init__(self, replies: Sequence[str], budget: Budget | None = None) -> None:
        self.replies = list(replies)
        self.prompts: list[Messages | str] = []
        self.usage = Usage()
        self.budget = budget or Budget()

    def complete(self, prompts: Sequence[Messages | str]) -> list[Completion]:
        self.budget.check(self.usage)
        if len(prompts) > len(self.replies):
            raise RuntimeError(f"{len(prompts)} prompts, only {len(self.replies)} replies left")
        self.prompts.extend(prompts)
        completions = [Completion(self.replies.pop(0), "scripted", 10, 20) for _ in prompts]
        for completion in completions:
            self.usage.add(completion, 0.0, 0.0)
        return completions

    def close(self) -> None:
        self.replies.clear()
