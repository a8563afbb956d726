"""ActSearch environments: the action is an activation's source, the reward its OOD score.

An episode is an evaluation budget on a fixed task (a family or the Suite): each step
scores one candidate and the episode truncates when the budget is spent. Nothing about
the tasks is random at reset; `reset(seed=...)` only seeds `np_random` for agents that
sample from the env. The observation carries what an agent needs to improve: the task's
description, the reference scores, feedback on the last candidate, and the best so far.
"""

from __future__ import annotations

import string
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import iterate

from actgym.candidate.limits import MAX_SOURCE_CHARS
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.reward import PENALTY, REWARD_CLIP
from actgym.tasks import TaskSizes, describe_task, families_of
from actgym.tasks.registry import DEFAULT_SIZES
from actgym.trainer import TrainerConfig

CHARSET = frozenset(string.printable)
MAX_TEXT = 4096
DEFAULT_BUDGET = 100
_REWARD_BOX = {"low": PENALTY, "high": REWARD_CLIP, "shape": (1,), "dtype": np.float32}


def printable(text: str, limit: int) -> str:
    """Observations are Text spaces over printable ASCII: map anything else to '?'."""
    return "".join(char if char in CHARSET else "?" for char in text[:limit])


class ActSearchEnv(gym.Env[dict[str, Any], str]):
    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        task: str = "Harmonics",
        *,
        budget: int = DEFAULT_BUDGET,
        task_seed: int = 0,
        num_instances: int | None = None,
        sizes: TaskSizes = DEFAULT_SIZES,
        trainer: TrainerConfig | None = None,
        fast: bool = False,
        seeds: tuple[int, ...] | None = None,
        steps: int | None = None,
        width: int | None = None,
        depth: int | None = None,
        render_mode: str | None = None,
        evaluator: Evaluator | None = None,
    ) -> None:
        families = families_of(task)
        if not isinstance(budget, int) or budget < 1:
            raise ValueError("budget must be a positive int")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        trainer = trainer or TrainerConfig.preset(
            fast=fast, seeds=seeds, steps=steps, width=width, depth=depth
        )
        config = EvaluationConfig(
            families=families,
            trainer=trainer,
            task_seed=task_seed,
            num_instances=num_instances,
            sizes=sizes,
        )
        self.task = task
        self.budget = budget
        self.render_mode = render_mode
        self.evaluator = evaluator or Evaluator(config)
        self.description = describe_task(task, task_seed, trainer)
        self.action_space = spaces.Text(max_length=MAX_SOURCE_CHARS, min_length=0, charset=CHARSET)
        self.observation_space = spaces.Dict(
            {
                "task": spaces.Text(MAX_TEXT, min_length=0, charset=CHARSET),
                "feedback": spaces.Text(MAX_TEXT, min_length=0, charset=CHARSET),
                "best_source": spaces.Text(MAX_SOURCE_CHARS, min_length=0, charset=CHARSET),
                "best_reward": spaces.Box(**_REWARD_BOX),
                "last_reward": spaces.Box(**_REWARD_BOX),
                "reference_rewards": spaces.Box(
                    low=PENALTY, high=REWARD_CLIP, shape=(2,), dtype=np.float32
                ),
                "budget_left": spaces.Discrete(budget + 1),
            }
        )
        self._references: np.ndarray | None = None
        self._prefetched: dict[int, EvaluationResult] = {}
        self._reset_episode()

    def _reset_episode(self) -> None:
        self.used = 0
        self.best_reward = PENALTY
        self.best_source = ""
        self.last_result: EvaluationResult | None = None
        self.last_source = ""

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        self._reset_episode()
        return self._observation(), {"task": self.task, "budget": self.budget}

    def step(self, action: str) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        if self.used >= self.budget:
            raise RuntimeError(f"the budget of {self.budget} evaluations is spent: call reset()")
        result = self._prefetched.pop(id(action), None) or self.evaluator.evaluate(action)
        self.used += 1
        self.last_result = result
        self.last_source = action if isinstance(action, str) else ""
        if result.ok and result.reward > self.best_reward:
            self.best_reward = result.reward
            self.best_source = self.last_source
        truncated = self.used >= self.budget
        info = {
            **result.to_dict(),
            "timings": result.timings,
            "budget_left": self.budget - self.used,
        }
        return self._observation(), float(result.reward), False, truncated, info

    def prefetch(self, action: object, result: EvaluationResult) -> None:
        """Hand in the result of `action` evaluated in a batch; the next step uses it."""
        self._prefetched = {id(action): result}

    def render(self) -> str | None:
        if self.render_mode != "ansi":
            return None
        lines = [f"{self.task}: {self.used}/{self.budget} evaluations used"]
        if self.last_result is not None:
            result = self.last_result
            lines.append(f"last: status={result.status} reward={result.reward:+.4f}")
            if result.ok:
                lines.append(f"      ood_loss={result.ood_loss:.4g} id_loss={result.id_loss:.4g}")
            else:
                lines.append(f"      {result.message}")
        if self.best_source:
            lines.append(f"best reward {self.best_reward:+.4f}:")
            lines.append(printable(self.best_source, MAX_SOURCE_CHARS).rstrip())
        return "\n".join(lines) + "\n"

    def close(self) -> None:
        self.evaluator.close()

    def reference_rewards(self) -> np.ndarray:
        """ReLU's and GELU's rewards on this task (ReLU is 0 by construction)."""
        if self._references is None:
            self._references = np.asarray(
                [self.evaluator.reference(name).reward for name in ("relu", "gelu")],
                dtype=np.float32,
            )
        return self._references

    def _observation(self) -> dict[str, Any]:
        feedback = "No candidate evaluated yet."
        if self.last_result is not None:
            result = self.last_result
            feedback = f"status={result.status} reward={result.reward:+.4f} {result.message}"
            if result.ok:
                feedback += (
                    f" reward_stderr={result.reward_stderr:.3f} fit_share={result.fit_share:.2f}"
                    f" ood_loss={result.ood_loss:.4g} id_loss={result.id_loss:.4g}"
                    f" flops_per_element={result.flops_per_element:.1f}"
                )
        last = self.last_result.reward if self.last_result is not None else PENALTY
        return {
            "task": printable(self.description, MAX_TEXT),
            "feedback": printable(feedback, MAX_TEXT),
            "best_source": printable(self.best_source, MAX_SOURCE_CHARS),
            "best_reward": np.float32([self.best_reward]),
            "last_reward": np.float32([last]),
            "reference_rewards": self.reference_rewards().copy(),
            "budget_left": self.budget - self.used,
        }


class ActSearchVectorEnv(SyncVectorEnv):
    """Independent episodes sharing one Evaluator: each step's candidates compile together.

    `gym.make_vec(id, num_envs)` returns this by default; results equal those of separate
    environments. Use `vectorization_mode="async"` (with a spawn or forkserver context)
    to spread episodes over processes instead.
    """

    def __init__(self, num_envs: int = 1, **kwargs: Any) -> None:
        first = ActSearchEnv(**kwargs)
        envs = [first] + [
            ActSearchEnv(**{**kwargs, "evaluator": first.evaluator}) for _ in range(num_envs - 1)
        ]
        self.evaluator = first.evaluator
        super().__init__([lambda env=env: env for env in envs])

    def step(self, actions: Any) -> Any:
        stepping = [
            (env, action)
            for env, action, resetting in zip(
                self.envs, iterate(self.action_space, actions), self._autoreset_envs, strict=True
            )
            if not (resetting and self.autoreset_mode == AutoresetMode.NEXT_STEP)
        ]
        results = self.evaluator.evaluate_many([action for _, action in stepping])
        for (env, action), result in zip(stepping, results, strict=True):
            env.unwrapped.prefetch(action, result)
        return super().step(actions)
