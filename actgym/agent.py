"""The Agent contract: what a third-party search strategy implements to run in `actgym search`.

An agent only proposes sources and reads results; the search loop owns everything else
(evaluation, parallelism, the run store, resuming, reports). This module is the whole
public surface an agent package depends on, so it imports nothing heavier than numpy.

    class MyAgent(Agent):
        def propose(self, count, history):
            return [Proposal(source) for source in ...]   # at most `count`

The loop calls `propose(count, history)`, evaluates the batch, then `observe(batch)`
with the results in proposal order. `self.rng` (a seeded numpy Generator) is saved and
restored by the loop; anything else an agent keeps across calls goes in `state_dict()`
and comes back through `load_state_dict()` when a killed run is resumed. See
docs/agents.md.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, overload

import numpy as np

from actgym.result import EvaluationResult, ResultSummary

__all__ = ["Agent", "AgentContext", "Evaluation", "History", "Proposal", "TaskInfo"]


@dataclass(frozen=True)
class TaskInfo:
    """The environment an agent searches: its id, families and a prose description."""

    env_id: str
    task: str
    families: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class AgentContext:
    """What an agent is built with; `options` is the `agent_options` table of the config."""

    task: TaskInfo
    rng: np.random.Generator
    budget: int
    seed: int
    proposals_per_call: int
    options: Mapping[str, Any] = field(default_factory=dict)
    run_dir: Path | None = None


@dataclass(frozen=True)
class Proposal:
    """One candidate and its metadata, stored with its evaluation.

    `parents` are ids of earlier evaluations it derives from; `generation` defaults to
    the batch number; `notes` is any JSON-serialisable dict (a rationale, parameters).
    A non-empty `notes["unusable"]` (a reason: an LLM reply without code) marks a
    proposal that holds no candidate: it is recorded with status `unusable_reply` and
    the penalty reward, never evaluated, and not charged to the budget.

    `fidelity` is "full" or "low" (`actgym.fidelity`): a low-fidelity evaluation screens
    at a quarter of a full one's charge, and its reward never ranks the run.
    """

    source: str
    parents: tuple[int, ...] = ()
    generation: int | None = None
    notes: Mapping[str, Any] = field(default_factory=dict)
    fidelity: str = "full"


@dataclass(frozen=True, kw_only=True)
class Evaluation(ResultSummary):
    """A completed evaluation as an agent sees it; `id` is its place in the run (0-based).

    `status` is "ok" or a rejection reason (docs/candidates.md) explained by `message`;
    rejected candidates get the penalty reward. `descriptors` describe the function's
    shape (`left_slope`, `right_slope`, `oscillation`; see `actgym.candidate.probe.probe`)
    and are empty when the source never became a program. `seconds` is its wall time.
    Built from the result record by `from_result`, the one place that maps it.
    """

    id: int
    proposal: Proposal
    family_rewards: Mapping[str, float] = field(default_factory=dict)
    descriptors: Mapping[str, float] = field(default_factory=dict)
    seconds: float = 0.0

    @classmethod
    def from_result(
        cls, identifier: int, proposal: Proposal, result: EvaluationResult, seconds: float
    ) -> Evaluation:
        summary = {item.name: getattr(result, item.name) for item in fields(ResultSummary)}
        return cls(
            **summary,
            id=identifier,
            proposal=proposal,
            family_rewards={name: score.reward for name, score in result.families.items()},
            descriptors=dict(result.descriptors),
            seconds=seconds,
        )

    @property
    def source(self) -> str:
        return self.proposal.source

    @property
    def fidelity(self) -> str:
        return self.proposal.fidelity


class History(Sequence[Evaluation]):
    """Every evaluation the agent has observed, in id order (read-only).

    It ranks at one fidelity, full unless told otherwise: a screening reward never
    outranks a full one.
    """

    def __init__(self, evaluations: Sequence[Evaluation], fidelity: str = "full") -> None:
        self._evaluations = evaluations
        self.fidelity = fidelity

    @overload
    def __getitem__(self, index: int) -> Evaluation: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Evaluation]: ...

    def __getitem__(self, index: int | slice) -> Evaluation | Sequence[Evaluation]:
        return self._evaluations[index]

    def __len__(self) -> int:
        return len(self._evaluations)

    def __iter__(self) -> Iterator[Evaluation]:
        return iter(self._evaluations)

    def top(self, k: int) -> list[Evaluation]:
        """The k best accepted evaluations at the history's fidelity, highest reward first
        (ties: earliest first)."""
        accepted = [
            evaluation
            for evaluation in self._evaluations
            if evaluation.ok and evaluation.fidelity == self.fidelity
        ]
        return sorted(accepted, key=lambda evaluation: (-evaluation.reward, evaluation.id))[:k]

    def best(self) -> Evaluation | None:
        top = self.top(1)
        return top[0] if top else None


class Agent(abc.ABC):
    """A search strategy: subclass and implement `propose`; override the other hooks as needed.

    The search loop (`actgym search`, `actgym.run_search`) builds the agent once, then
    repeats `propose(count, history)`, evaluates the batch, and calls `observe` with the
    results, until the budget is spent or `propose` returns nothing. Keep randomness in
    `self.rng` and any other state in `state_dict`, so that a resumed run continues
    exactly where it stopped.

    Args:
        context: what the agent is built with (the task, a seeded `rng`, the budget, seed
            and batch size, the config's `agent_options`); kept as `self.context`.

    Example:
        from actgym import Agent, Proposal

        SOURCE = "import jax.numpy as jnp\n\ndef activation_function(x):\n"
        SOURCE += "    return jnp.maximum(x, 0.0) + {b:.4f} * jnp.sin(x)\n"

        class ReluSine(Agent):
            def propose(self, count, history):
                return [
                    Proposal(SOURCE.format(b=b), notes={"b": float(b)})
                    for b in self.rng.normal(0.0, 0.3, size=count)
                ]

        # actgym search --agent my_agents.py:ReluSine --budget 32 --out runs/relu-sine
    """

    def __init__(self, context: AgentContext) -> None:
        self.context = context

    @property
    def rng(self) -> np.random.Generator:
        return self.context.rng

    @abc.abstractmethod
    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        """Return 1 to `count` candidates (a str is a Proposal with no metadata).

        An empty list ends the search early.

        Args:
            count: the most full-fidelity candidates to return (the batch size, or what
                is left of the budget); a low-fidelity one is charged a quarter of one,
                so up to 4 * count of those (`Proposal.fidelity`).
            history: every evaluation observed so far, in id order.

        Returns:
            Up to `count` `Proposal`s or source strings; empty to stop the search.
        """

    def observe(self, evaluations: Sequence[Evaluation]) -> None:  # noqa: B027
        """Called after each batch with its results, in proposal order.

        Args:
            evaluations: one `Evaluation` per proposal of the batch (rejected candidates
                included, with their reason in `status` and the penalty reward).
        """

    def state_dict(self) -> dict[str, Any]:
        """JSON-serialisable state beyond `self.rng`, saved at every batch boundary."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:  # noqa: B027
        """Restore what `state_dict` returned, when a run is resumed."""

    def close(self) -> None:  # noqa: B027
        """Release resources (connections, models) at the end of a search."""
