"""An ActSearch episode as a value and one transition function over it.

The single env and the vector env both step by `transition(episode, action, result)`: the
evaluator scores actions (one at a time or in a batch), and this module alone decides
what an evaluation does to the episode, what the agent observes and what `info` holds.
"""

from __future__ import annotations

import dataclasses
import string
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from actgym.candidate.limits import MAX_SOURCE_CHARS
from actgym.result import EvaluationResult
from actgym.reward import PENALTY, REWARD_BOUND

CHARSET = frozenset(string.printable)
MAX_TEXT = 4096
_REWARD_BOX = {"low": PENALTY, "high": REWARD_BOUND, "dtype": np.float32}


@dataclass(frozen=True)
class Episode:
    """An episode's state: the budget, what was used of it, the best and the last result."""

    budget: int
    used: int = 0
    best_reward: float = PENALTY
    best_source: str = ""
    last_result: EvaluationResult | None = None

    @property
    def budget_left(self) -> int:
        return self.budget - self.used

    @property
    def truncated(self) -> bool:
        return self.used >= self.budget


def transition(episode: Episode, action: object, result: EvaluationResult) -> Episode:
    """The episode after `action` was evaluated to `result`; a spent budget is refused."""
    require_budget(episode)
    improved = result.ok and result.reward > episode.best_reward
    return dataclasses.replace(
        episode,
        used=episode.used + 1,
        last_result=result,
        best_reward=result.reward if improved else episode.best_reward,
        best_source=action if improved and isinstance(action, str) else episode.best_source,
    )


def require_budget(episode: Episode) -> None:
    """Refuse a step once the budget is spent, before anything is evaluated."""
    if episode.truncated:
        raise RuntimeError(f"the budget of {episode.budget} evaluations is spent: call reset()")


def step_info(episode: Episode) -> dict[str, Any]:
    """The last result as `info` (JSON-ready but `timings`), and the budget left."""
    result = episode.last_result
    assert result is not None, "step_info follows a transition"
    return {**result.to_dict(), "timings": result.timings, "budget_left": episode.budget_left}


def observation_space(budget: int) -> spaces.Dict:
    return spaces.Dict(
        {
            "task": spaces.Text(MAX_TEXT, min_length=0, charset=CHARSET),
            "feedback": spaces.Text(MAX_TEXT, min_length=0, charset=CHARSET),
            "best_source": spaces.Text(MAX_SOURCE_CHARS, min_length=0, charset=CHARSET),
            "best_reward": spaces.Box(shape=(1,), **_REWARD_BOX),
            "last_reward": spaces.Box(shape=(1,), **_REWARD_BOX),
            "reference_rewards": spaces.Box(shape=(2,), **_REWARD_BOX),
            "budget_left": spaces.Discrete(budget + 1),
        }
    )


def observe(episode: Episode, description: str, references: np.ndarray) -> dict[str, Any]:
    """What the agent sees: the task, feedback on the last result, the best so far."""
    last = episode.last_result
    return {
        "task": printable(description, MAX_TEXT),
        "feedback": printable(feedback(last), MAX_TEXT),
        "best_source": printable(episode.best_source, MAX_SOURCE_CHARS),
        "best_reward": np.float32([episode.best_reward]),
        "last_reward": np.float32([last.reward if last is not None else PENALTY]),
        "reference_rewards": references.copy(),
        "budget_left": episode.budget_left,
    }


def feedback(result: EvaluationResult | None) -> str:
    if result is None:
        return "No candidate evaluated yet."
    text = f"status={result.status} reward={result.reward:+.4f} {result.message}"
    if result.ok:
        text += (
            f" reward_stderr={result.reward_stderr:.3f} fit_share={result.fit_share:.2f}"
            f" ood_loss={result.ood_loss:.4g} id_loss={result.id_loss:.4g}"
            f" flops_per_element={result.flops_per_element:.1f}"
            f" gap_closed={result.gap_closed:.3f}"
        )
    return text


def render(task: str, episode: Episode) -> str:
    lines = [f"{task}: {episode.used}/{episode.budget} evaluations used"]
    result = episode.last_result
    if result is not None:
        lines.append(f"last: status={result.status} reward={result.reward:+.4f}")
        if result.ok:
            lines.append(f"      ood_loss={result.ood_loss:.4g} id_loss={result.id_loss:.4g}")
        else:
            lines.append(f"      {result.message}")
    if episode.best_source:
        lines.append(f"best reward {episode.best_reward:+.4f}:")
        lines.append(printable(episode.best_source, MAX_SOURCE_CHARS).rstrip())
    return "\n".join(lines) + "\n"


def printable(text: str, limit: int) -> str:
    """Observations are Text spaces over printable ASCII: map anything else to '?'."""
    return "".join(char if char in CHARSET else "?" for char in text[:limit])
