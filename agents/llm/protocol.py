"""What every language model backend offers the LLM agents, and how it is budgeted.

Both backends answer a batch of chat prompts with `Completion`s and account for tokens
and cost, so the evolver stays the same whether it talks to OpenAI, Gemini's compatible
endpoint, vLLM, Ollama, llama.cpp, `transformers serve`, or a model in this process.
A backend never raises for one failed request: the completion carries the error, and
the evolver records it. `BudgetExhausted` is raised only before a batch that the token or
cost budget no longer covers, so a run stops cleanly between batches.

Both sample at `temperature` > 0 with a seed per request (or batch) derived from the run's
seed and the number of requests before it: identical prompts get different replies, and
a run, resumed or not, asks for the same ones again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

Messages = list[dict[str, str]]


class BudgetExhausted(RuntimeError):
    """The token or cost budget cannot cover another batch."""


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    """Wall time of the request, its batch's share when several were generated together."""
    in_process: bool = False
    """Generated on this machine (so `seconds` is compute the run paid for), not by a server."""
    error: str | None = None


@dataclass
class Usage:
    """Running totals, saved with the agent's state so budgets survive a resume."""

    requests: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0

    def add(self, completion: Completion, price_in: float, price_out: float) -> None:
        self.requests += 1
        self.failures += completion.error is not None
        self.prompt_tokens += completion.prompt_tokens
        self.completion_tokens += completion.completion_tokens
        self.cost_usd += (
            completion.prompt_tokens * price_in + completion.completion_tokens * price_out
        ) / 1e6


def request_seed(seed: int, index: int) -> int:
    """The sampling seed of the `index`-th request of a run seeded `seed` (31 bits, which
    every server and torch accept)."""
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0] >> 1)


class LanguageModel(Protocol):
    usage: Usage

    def complete(self, prompts: Sequence[Messages]) -> list[Completion]: ...

    def close(self) -> None: ...


@dataclass
class Budget:
    """Limits on total tokens and dollars; None means unlimited."""

    max_tokens: int | None = None
    max_cost_usd: float | None = None

    def check(self, usage: Usage) -> None:
        tokens = usage.prompt_tokens + usage.completion_tokens
        if self.max_tokens is not None and tokens >= self.max_tokens:
            raise BudgetExhausted(f"token budget spent: {tokens} of {self.max_tokens}")
        if self.max_cost_usd is not None and usage.cost_usd >= self.max_cost_usd:
            raise BudgetExhausted(
                f"cost budget spent: ${usage.cost_usd:.4f} of ${self.max_cost_usd:.4f}"
            )
