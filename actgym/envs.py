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

from actgym.briefing import describe_task
from actgym.candidate.limits import MAX_SOURCE_CHARS
from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator
from actgym.reward import PENALTY, REWARD_BOUND
from actgym.tasks import TaskSizes, families_of
from actgym.tasks.registry import DEFAULT_SIZES
from actgym.trainer import TrainerConfig

CHARSET = frozenset(string.printable)
MAX_TEXT = 4096
DEFAULT_BUDGET = 100
_REWARD_BOX = {"low": PENALTY, "high": REWARD_BOUND, "shape": (1,), "dtype": np.float32}


def printable(text: str, limit: int) -> str:
    """Observations are Text spaces over printable ASCII: map anything else to '?'."""
    return "".join(char if char in CHARSET else "?" for char in text[:limit])


def scored_config(task: str, asked: EvaluationConfig, evaluator: Evaluator) -> EvaluationConfig:
    """The config the env scores with: the evaluator's, refused where it is not the task.

    An injected evaluator must score the task's families, and every setting the env was
    given apart from its default must agree with the evaluator's, so that an agent is never
    told one task and scored on another.
    """
    scored = evaluator.config
    if scored.families != asked.families:
        raise ValueError(
            f"the evaluator scores {', '.join(scored.families)}, not {task} "
            f"({', '.join(asked.families)}): pass an evaluator built for {task}"
        )
    default = EvaluationConfig(families=asked.families)
    for name in ("task_seed", "num_instances", "sizes", "trainer"):
        given, scoring = getattr(asked, name), getattr(scored, name)
        if given != getattr(default, name) and given != scoring:
            raise ValueError(
                f"{name} was given as {given!r} but the evaluator scores with {scoring!r}: "
                "give one or the other"
            )
    return scored


class ActSearchEnv(gym.Env[dict[str, Any], str]):
    """
    ## Description

    Discover activation functions by program search. Each step's action is the Python
    source of an activation function; the environment checks it in a sandbox, trains small
    MLPs built with it on every instance of the task's families (docs/tasks.md), and
    rewards how well they **extrapolate** out of distribution, compared with ReLU. An
    episode is an evaluation budget on one fixed task: a family (`Harmonics`, `Poly1D`,
    `Poly20D`, `Feynman`) or the `Suite` of all four. After "Mining Generalizable
    Activation Functions" (arXiv 2602.05688).

    ## Action Space

    `Text(max_length=16384, min_length=0, charset=string.printable)`: the source of
    `def activation_function(x)`, written with `jax` / `jax.numpy`, where `x` is one
    example's float32 vector of hidden pre-activations and the result has its shape and
    dtype. docs/candidates.md gives the contract, the checks and the limits
    (`CandidateLimits`: at most 16,384 characters and 400 lines, among others). `step`
    takes any str: the checks, not the space, decide what is accepted; an action that is
    not source text (a str, or UTF-8 bytes) is rejected with status `invalid_action`.

    ## Observation Space

    A `Dict` (texts are cut to their space's length; non-printable characters become `?`):

    - `task`, `Text(4096)`: the task's description (families, regions, trainer).
    - `feedback`, `Text(4096)`: the last candidate's status, reward and message, and for
      an accepted one its `reward_stderr`, `fit_share`, `ood_loss`, `id_loss` and
      `flops_per_element`; `"No candidate evaluated yet."` before the first step.
    - `best_source`, `Text(16384)`: the best accepted source of the episode (`""` if none).
    - `best_reward`, `Box(-10, 98, (1,), float32)`: its reward (-10 if none).
    - `last_reward`, `Box(-10, 98, (1,), float32)`: the last step's reward (-10 before one).
    - `reference_rewards`, `Box(-10, 98, (2,), float32)`: ReLU's and GELU's rewards on
      this task (ReLU's is 0).
    - `budget_left`, `Discrete(budget + 1)`: evaluations left in the episode.

    ## Rewards

    The suite-weighted mean, over the env's families, of each family's mean log-ratio of
    ReLU's OOD (test) loss to the candidate's, on the same instances, seeds, data and
    initial weights (docs/reward.md):

    - ReLU scores exactly 0 and higher is better: half ReLU's OOD loss on every instance
      scores `log 2 ≈ 0.69`.
    - **Learning is required**: on an instance where the candidate's validation loss
      misses `min(V_relu, 1) ** 0.5` (halfway, on a log scale, from the mean model to
      ReLU), its log-ratio is capped at 0 and it loses the log of how far it missed, so
      networks that learn nothing never beat ReLU.
    - No upper clip: ten times less OOD loss on an instance is always `log 10` more, up to
      exact extrapolation (OOD losses are floored at the noise floor 1e-4). A family's mean
      counts each instance as at least -3, so one explosion cannot decide it.
    - `info["scale"]` states the env's reference points (the mean model, a network that
      extrapolates as well as the mean, and the ceiling) and `info["gap_closed"]` the
      share of the way from ReLU to the ceiling the reward covers.
    - The Suite weights each family by the inverse spread of well-known activations on it
      (Harmonics 0.09, Poly1D 0.29, Poly20D 0.42, Feynman 0.20); a family env's reward is
      its family's reward.
    - A candidate rejected by any check, or whose training gives a NaN or infinite loss
      (`nonfinite_loss`), gets the penalty **-10**, with a reason code and a message.

    `info` holds the evaluation result (`EvaluationResult.to_dict()`): `status` (`"ok"` or
    the reason code), `message`, `reward`, `reward_stderr`, `fit_share`, `ood_loss`,
    `id_loss`, `train_loss`, `families` (per family: reward, standard error, instance
    rewards, fit flags, scale, gap closed and losses), `scale`, `gap_closed`,
    `flops_per_element`, `program_hash`, `descriptors`,
    `locality` (`pointwise`, `feature-coupled` or `batch-coupled`, measured by the
    probe), and `timings`
    (a `Timings` object; the rest is JSON-ready), plus `budget_left`.

    ## Starting State

    Nothing is random at reset: the task's instances are fixed by `task_seed`, and
    `reset(seed=...)` only seeds `np_random` for agents that sample from the env. A reset
    starts a new budget with no best source (`best_reward` -10) and returns
    `info = {"task": task, "budget": budget}`. The first observation needs ReLU's and
    GELU's rewards, so it trains them unless they are cached. The evaluator and its caches
    persist across resets: a repeated program is not trained again.

    ## Episode End

    The episode never terminates (`terminated` is always False); it is truncated when
    `budget` evaluations have been made. Stepping after that raises `RuntimeError` until
    `reset()`.

    ## Arguments

    `gym.make("ActSearch-<task>-v0", **kwargs)` sets `task` from the id and passes these
    keywords on (all keyword-only but `task`):

    ```python
    >>> import gymnasium as gym
    >>> import actgym
    >>> env = gym.make("ActSearch-Harmonics-v0", budget=20, fast=True, render_mode="ansi")
    >>> obs, info = env.reset(seed=0)
    >>> source = "import jax.numpy as jnp\\ndef activation_function(x):\\n    return x\\n"
    >>> obs, reward, terminated, truncated, info = env.step(source)
    >>> print(env.render())

    ```

    - `task` (`str`, default `"Harmonics"`): a family or `"Suite"` (`actgym.TASKS`).
    - `budget` (`int`, default `100`): evaluations per episode, at least 1.
    - `task_seed` (`int`, default `0`): the seed of the task instances, non-negative.
    - `num_instances` (`int | None`, default `None`): instances per family; None takes each
      family's default (Harmonics 24, Poly1D 16, Poly20D 12, Feynman 13).
    - `sizes` (`TaskSizes`, default `TaskSizes()`): samples per split, 4096 training,
      1024 validation and 1024 test.
    - `trainer` (`TrainerConfig | None`, default `None`): the whole trainer; when given,
      `fast`, `seeds`, `steps`, `width`, `depth` and `scope` are ignored.
    - `fast` (`bool`, default `False`): start from the fast preset (`TrainerConfig.fast()`:
      width 32, 600 steps of batch 64, learning rate 1e-2) instead of the default (depth
      2, width 64, 1000 steps of batch 128, learning rate 3e-3).
    - `seeds` (`tuple[int, ...] | None`, default `None`): training seeds; None keeps the
      preset's `(0, 1)`.
    - `steps`, `width`, `depth` (`int | None`, default `None`): training steps, hidden
      width and hidden layers; None keeps the preset's.
    - `scope` (`str | None`, default `None`): what one call of the activation sees,
      `"example"` (one example's hidden vector, the default) or `"batch"` (the
      `(batch, width)` hidden tensor, as in the paper's code; validation and test data
      are then fed in consecutive batches, docs/evaluation.md). None keeps `"example"`.
    - `render_mode` (`str | None`, default `None`): `"ansi"` makes `render()` return the
      evaluations used, the last result and the best source as text.
    - `evaluator` (`Evaluator | None`, default `None`): an Evaluator to share; its config
      decides the scores and the task description, so it must score this task's families,
      and any other setting given must agree with it (else `ValueError`). None builds one
      for this env's settings.

    ## Vector Environments

    `gym.make_vec("ActSearch-<task>-v0", num_envs=n)` returns an `ActSearchVectorEnv` (the
    registered `vector_entry_point`; same keywords): `n` independent episodes sharing one
    `Evaluator`, so each step's candidates are checked, compiled and trained together
    (`Evaluator.evaluate_many`); results equal those of separate environments. With
    `vectorization_mode="async"` and `vector_kwargs={"context": "spawn"}` (or
    `"forkserver"`) each episode runs in its own process instead (docs/evaluation.md).

    ## Version History

    * v0: the initial version. Scores are versioned separately, by
      `actgym.SCORING_VERSION` (currently 4): results compare only under one scoring
      version (docs/tasks.md, "Versions of the suite").
        - Scoring version 4: no upper clip on instance rewards (noise floor 1e-4, a
          downside floor of -3 in the family mean); the scale's reference points and the
          gap closed in `info`.
        - Scoring versions 2 and 3: faster training programs, losses moved in the last
          bits.
        - Scoring version 1: learning is required (the fit requirement above) and instance
          rewards are clipped to ±3; Harmonics frequencies are `pi*f`, `f` in 2..5 (at
          least two periods in training, period 2 overall); Poly20D trains on
          `[-1, 1]^20` and is tested with every variable in `1 < |x_j| <= 1.5`;
          4096 / 1024 / 1024 samples; more instances and 2 training seeds; the fast
          trainer fits every family (width 32, 600 steps, learning rate 1e-2).
        - Scoring version 0: the first suite: reward = mean log-ratio to ReLU,
          512 / 256 / 256 samples, 4 instances per generated family, 4 training seeds.
          Networks that learned nothing won Harmonics, and rankings did not replicate
          across task seeds.
    """

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
        scope: str | None = None,
        render_mode: str | None = None,
        evaluator: Evaluator | None = None,
    ) -> None:
        families = families_of(task)
        if not isinstance(budget, int) or budget < 1:
            raise ValueError("budget must be a positive int")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        trainer = trainer or TrainerConfig.preset(
            fast=fast, seeds=seeds, steps=steps, width=width, depth=depth, scope=scope
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
        config = scored_config(task, config, self.evaluator)
        self.description = describe_task(task, config)
        self.action_space = spaces.Text(max_length=MAX_SOURCE_CHARS, min_length=0, charset=CHARSET)
        self.observation_space = spaces.Dict(
            {
                "task": spaces.Text(MAX_TEXT, min_length=0, charset=CHARSET),
                "feedback": spaces.Text(MAX_TEXT, min_length=0, charset=CHARSET),
                "best_source": spaces.Text(MAX_SOURCE_CHARS, min_length=0, charset=CHARSET),
                "best_reward": spaces.Box(**_REWARD_BOX),
                "last_reward": spaces.Box(**_REWARD_BOX),
                "reference_rewards": spaces.Box(**{**_REWARD_BOX, "shape": (2,)}),
                "budget_left": spaces.Discrete(budget + 1),
            }
        )
        self._references: np.ndarray | None = None
        self._prefetched: tuple[object, EvaluationResult] | None = None
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
        prefetched, self._prefetched = self._prefetched, None
        if prefetched is not None and prefetched[0] is action:
            result = prefetched[1]
        else:
            result = self.evaluator.evaluate(action)
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
        """Hand in the result of `action` evaluated in a batch; a step with that very
        object uses it (any other action is evaluated as usual)."""
        self._prefetched = (action, result)

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
                    f" gap_closed={result.gap_closed:.3f}"
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
