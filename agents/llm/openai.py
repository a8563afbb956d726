"""Chat completions from any OpenAI-compatible server, through the `openai` client."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from actgym.agents.llm.protocol import Budget, Completion, Messages, Usage, request_seed


@dataclass
class OpenAIBackend:
    """Chat completions through the `openai` client against any compatible `base_url`.

    The client retries timeouts, connection errors, 429 and 5xx answers with exponential
    backoff and honours `Retry-After`; `concurrency` caps requests in flight. Several
    models may be given with sampling weights, as AlphaEvolve mixes a fast and a strong
    model. Prices are dollars per million tokens, for the budget. Each request sends
    `temperature`, `top_p` (when set) and its own `seed`; `extra_body` is merged into every
    request as is, for server-specific fields (`transformers serve` samples only when
    asked through its `generation_config` field, see docs/llm_agents.md).
    """

    models: Sequence[tuple[str, float]] = (("gpt-4o-mini", 1.0),)
    base_url: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.8
    top_p: float | None = None
    max_tokens: int = 1024
    timeout_s: float = 120.0
    max_retries: int = 5
    concurrency: int = 4
    price_in: float = 0.0
    price_out: float = 0.0
    budget: Budget = field(default_factory=Budget)
    usage: Usage = field(default_factory=Usage)
    seed: int = 0
    extra_body: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        import openai

        self._client = openai.OpenAI(
            base_url=self.base_url,
            api_key=os.environ.get(self.api_key_env) or "not-needed",
            timeout=self.timeout_s,
            max_retries=self.max_retries,
        )
        self._openai = openai
        self._rng = np.random.default_rng(self.seed)
        self._lock = threading.Lock()

    def complete(self, prompts: Sequence[Messages]) -> list[Completion]:
        self.budget.check(self.usage)
        names = [name for name, _ in self.models]
        weights = [weight for _, weight in self.models]
        total = sum(weights)
        chosen = [
            names[int(self._rng.choice(len(names), p=[w / total for w in weights]))]
            for _ in prompts
        ]
        seeds = [request_seed(self.seed, self.usage.requests + i) for i in range(len(prompts))]
        with ThreadPoolExecutor(max_workers=max(1, self.concurrency)) as pool:
            completions = list(pool.map(self._one, prompts, chosen, seeds))
        for completion in completions:
            self.usage.add(completion, self.price_in, self.price_out)
        return completions

    def _one(self, messages: Messages, model: str, seed: int) -> Completion:
        started = time.perf_counter()
        sampling = {"top_p": self.top_p} if self.top_p is not None else {}
        try:
            response = self._client.chat.completions.create(
                model=model,
                messages=messages,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                seed=seed,
                extra_body=self.extra_body,
                **sampling,
            )
        except self._openai.OpenAIError as error:
            return Completion(
                "",
                model,
                seconds=time.perf_counter() - started,
                error=f"{type(error).__name__}: {error}",
            )
        usage = response.usage
        return Completion(
            text=response.choices[0].message.content or "",
            model=model,
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            seconds=time.perf_counter() - started,
        )

    def close(self) -> None:
        self._client.close()
