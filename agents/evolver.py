"""The LLM evolver: an AlphaEvolve-style search with a language model as mutation operator.

Each proposal picks an island round-robin, samples a parent from that island's MAP-Elites
archive (exploiting high rewards or exploring cells), shows the model the parent, a few
inspirations and recent rejections, and asks for a full rewrite or SEARCH/REPLACE edits
(`prompt_style = "chat"`), or, for small local models (`prompt_style = "completion"`, the
default in-process), shows them as one-line examples and lets the model complete one
`return` expression. The search opens with known activations, so there is something to
mutate. Replies that yield no usable program are still proposed, as a commented stub, so
the run store records each one with its reason. `LocalMutatorAgent` is the loop without
islands or inspirations, on a local Hugging Face model by default.

Options (`agent_options` in the search config) are documented in docs/llm_agents.md.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from actgym.agents.edits import Extraction, extract
from actgym.agents.expressions import complete_expression
from actgym.agents.llm.openai import OpenAIBackend
from actgym.agents.llm.protocol import Budget, BudgetExhausted, Completion, LanguageModel, Usage
from actgym.agents.llm.transformers import TransformersBackend
from actgym.agents.program_database import ArchiveEntry, ProgramDatabase
from actgym.agents.prompts import (
    FEW_SHOT,
    chat_prompt,
    completion_prompt,
    prompt_expressions,
    quoted_program,
    return_expression,
)

from actgym.agent import Agent, AgentContext, Evaluation, History, Proposal
from actgym.references import NAMED

logger = logging.getLogger(__name__)

DEFAULT_SEEDS = ("relu", "gelu", "silu", "tanh")
PROMPT_STYLES = ("chat", "completion")


@dataclasses.dataclass(frozen=True)
class PromptRequest:
    island: int
    parent: ArchiveEntry | None
    inspirations: tuple[ArchiveEntry, ...]
    mode: str


class EvolverAgent(Agent):
    """Islands + MAP-Elites + an LLM behind any OpenAI-compatible endpoint."""

    islands = 4
    inspirations = 3

    def __init__(self, context: AgentContext, backend: LanguageModel | None = None) -> None:
        super().__init__(context)
        options = context.options
        self.database = ProgramDatabase(
            num_islands=int(options.get("islands", self.islands)),
            migration_interval=int(options.get("migration_interval", 24)),
            exploitation=float(options.get("exploitation", 0.7)),
            temperature=float(options.get("selection_temperature", 0.5)),
        )
        self.diff_fraction = float(options.get("diff_fraction", 0.5))
        self.inspiration_count = int(options.get("inspirations", self.inspirations))
        self.pending_seeds = [str(name) for name in options.get("seeds", DEFAULT_SEEDS)]
        unknown = sorted(set(self.pending_seeds) - set(NAMED))
        if unknown:
            choices = sorted(NAMED)
            raise ValueError(f"unknown seed activations {unknown}; choose from {choices}")
        self.next_island = 0
        self.replies = 0
        self.unusable = 0
        self.prompt_style = str(options.get("prompt_style", self.default_prompt_style(options)))
        if self.prompt_style not in PROMPT_STYLES:
            raise ValueError(
                f"unknown prompt_style {self.prompt_style!r}; choose from {PROMPT_STYLES}"
            )
        self.backend = backend or self.make_backend(options)

    def default_prompt_style(self, options: Mapping[str, Any]) -> str:
        """Completion for a model in this process (small ones fail at chat edits), else chat."""
        return "completion" if options.get("backend") == "transformers" else "chat"

    def make_backend(self, options: Mapping[str, Any]) -> LanguageModel:
        """An OpenAI-compatible client, or with `backend = "transformers"` a local model
        in-process."""
        if options.get("backend", "openai") == "transformers":
            return local_backend(options, self.context.seed, self._max_new_tokens())
        if self.prompt_style == "completion":
            raise ValueError('prompt_style "completion" needs backend = "transformers"')
        models = options.get("models") or [[options.get("model", "gpt-4o-mini"), 1.0]]
        top_p = options.get("top_p")
        return OpenAIBackend(
            models=[(str(name), float(weight)) for name, weight in models],
            base_url=options.get("base_url"),
            api_key_env=options.get("api_key_env", "OPENAI_API_KEY"),
            temperature=float(options.get("temperature", 0.8)),
            top_p=float(top_p) if top_p is not None else None,
            extra_body=options.get("extra_body"),
            max_tokens=int(options.get("max_tokens", 1024)),
            timeout_s=float(options.get("timeout_s", 120.0)),
            max_retries=int(options.get("max_retries", 5)),
            concurrency=int(options.get("concurrency", 4)),
            price_in=float(options.get("price_in_per_million", 0.0)),
            price_out=float(options.get("price_out_per_million", 0.0)),
            budget=_budget(options),
            seed=self.context.seed,
        )

    # -- the contract --------------------------------------------------------------------

    def propose(self, count: int, history: History) -> Sequence[Proposal]:
        if self.pending_seeds:
            names, self.pending_seeds = self.pending_seeds[:count], self.pending_seeds[count:]
            return [self._seed(index, name) for index, name in enumerate(names)]
        requests = [self._request() for _ in range(count)]
        prompts = [self.prompt(request) for request in requests]
        try:
            completions = self.backend.complete(prompts)
        except BudgetExhausted as exhausted:
            logger.warning("stopping the search: %s", exhausted)
            return []
        return [
            self._proposal(request, completion, prompt)
            for request, completion, prompt in zip(requests, completions, prompts, strict=True)
        ]

    def observe(self, evaluations: Sequence[Evaluation]) -> None:
        for evaluation in evaluations:
            self.database.add(archive_entry(evaluation))

    def state_dict(self) -> dict[str, Any]:
        return {
            "database": self.database.state(),
            "pending_seeds": self.pending_seeds,
            "next_island": self.next_island,
            "replies": self.replies,
            "unusable": self.unusable,
            "usage": dataclasses.asdict(self.backend.usage),
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.database = ProgramDatabase.from_state(state["database"])
        self.pending_seeds = list(state["pending_seeds"])
        self.next_island = int(state["next_island"])
        self.replies = int(state["replies"])
        self.unusable = int(state["unusable"])
        self.backend.usage = Usage(**state["usage"])

    def usage_report(self) -> dict[str, Any]:
        """Replies, how many were usable programs, and the backend's token and cost totals."""
        usable = self.replies - self.unusable
        return {
            "replies": self.replies,
            "usable": usable,
            "usable_fraction": usable / self.replies if self.replies else None,
            **dataclasses.asdict(self.backend.usage),
        }

    def close(self) -> None:
        logger.info("language model usage: %s", self.usage_report())
        self.backend.close()

    # -- the mutation step ---------------------------------------------------------------

    def prompt(self, request: PromptRequest) -> Any:
        if self.prompt_style == "completion":
            return expression_prompt(request)
        return chat_prompt(
            self.context.task.description,
            request.parent,
            request.inspirations,
            self.database.recent_failures(3),
            request.mode,
        )

    def extract(self, completion: Completion, request: PromptRequest, prompt: Any) -> Extraction:
        if self.prompt_style == "completion":
            return complete_expression(completion.text, prompt_expressions(prompt))
        parent = quoted_program(request.parent.source) if request.parent is not None else None
        return extract(completion.text, parent)

    def _max_new_tokens(self) -> int:
        """A line of code, or a rationale with a program (generation stops at a line's end)."""
        return 64 if self.prompt_style == "completion" else 256

    def _request(self) -> PromptRequest:
        island = self.next_island
        self.next_island = (island + 1) % self.database.num_islands
        parent = self.database.sample_parent(island, self.rng)
        inspirations = self.database.inspirations(island, parent, self.inspiration_count, self.rng)
        diff = parent is not None and self.rng.random() < self.diff_fraction
        return PromptRequest(island, parent, tuple(inspirations), "diff" if diff else "rewrite")

    def _proposal(self, request: PromptRequest, completion: Completion, prompt: Any) -> Proposal:
        self.replies += 1
        if completion.error is not None:
            extraction = Extraction(None, reason=f"the request failed: {completion.error}")
        else:
            extraction = self.extract(completion, request, prompt)
        source = extraction.source
        if source is None:
            self.unusable += 1
            source = f"# unusable reply: {extraction.reason}\n"
        return Proposal(
            source=source,
            parents=(request.parent.id,) if request.parent is not None else (),
            notes={
                "island": request.island,
                "mode": request.mode if self.prompt_style == "chat" else "completion",
                "model": completion.model,
                "rationale": extraction.rationale,
                "repairs": list(extraction.repairs),
                "unusable": extraction.reason or None,
                "prompt_tokens": completion.prompt_tokens,
                "completion_tokens": completion.completion_tokens,
                "local_generation_s": completion.seconds if completion.in_process else 0.0,
                "prompt": prompt,
                "reply": completion.text[:2000],
            },
        )

    def _seed(self, index: int, name: str) -> Proposal:
        island = index % self.database.num_islands
        return Proposal(NAMED[name], notes={"island": island, "seed": name})


class LocalMutatorAgent(EvolverAgent):
    """A plain mutator on a local causal LM: the model rewrites one parent sampled from a
    single MAP-Elites archive, shown without inspirations, and by default completes an
    expression. Against the evolver on the same model it measures what islands and
    inspirations add."""

    islands = 1
    inspirations = 0

    def default_prompt_style(self, options: Mapping[str, Any]) -> str:
        return "completion"

    def make_backend(self, options: Mapping[str, Any]) -> LanguageModel:
        return local_backend(options, self.context.seed, self._max_new_tokens())


def expression_prompt(request: PromptRequest) -> str:
    """Few-shot examples, then the parent and inspirations by ascending reward, then `return `."""
    programs = sorted([*request.inspirations, *filter(None, [request.parent])], key=_reward)
    scored = [
        (expression, program.reward)
        for program in programs
        if (expression := return_expression(program.source)) is not None
    ]
    shown = {expression for expression, _ in scored}
    unscored = [(expression, None) for expression in FEW_SHOT if expression not in shown]
    return completion_prompt([*unscored, *scored])


def archive_entry(evaluation: Evaluation) -> ArchiveEntry:
    """An evaluation as the program database remembers it."""
    notes, parents = evaluation.proposal.notes, evaluation.proposal.parents
    return ArchiveEntry(
        id=evaluation.id,
        source=evaluation.source,
        reward=evaluation.reward,
        status=evaluation.status,
        message=evaluation.message,
        flops_per_element=evaluation.flops_per_element or 0.0,
        descriptors=dict(evaluation.descriptors),
        island=int(notes.get("island", 0)),
        generation=evaluation.proposal.generation or 0,
        parent_id=parents[0] if parents else None,
    )


def local_backend(options: Mapping[str, Any], seed: int, max_new_tokens: int) -> LanguageModel:
    """A model in this process (default the packaged SmolLM2) from the agent options."""
    return TransformersBackend(
        model=options.get("model"),
        device=options.get("device"),
        temperature=float(options.get("temperature", 0.8)),
        top_p=float(options.get("top_p", 0.95)),
        max_new_tokens=int(options.get("max_new_tokens", max_new_tokens)),
        generation_batch=int(options.get("generation_batch_size", 8)),
        budget=_budget(options),
        seed=seed,
    )


def _reward(program: ArchiveEntry) -> float:
    return program.reward


def _budget(options: Mapping[str, Any]) -> Budget:
    tokens = options.get("max_total_tokens")
    cost = options.get("max_cost_usd")
    return Budget(
        max_tokens=int(tokens) if tokens is not None else None,
        max_cost_usd=float(cost) if cost is not None else None,
    )
