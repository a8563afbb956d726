"""ActSearch environments: the action is an activation's source, the reward its OOD score.

An episode is an evaluation budget on a fixed task (a family or the Suite): each step
scores one candidate and the episode truncates when the budget is spent. Nothing about
the tasks is random at reset; `reset(seed=...)` only seeds `np_random` for agents that
sample from the env. The observation carries what an agent needs to improve: the task's
description, the reference scores, feedback on the last candidate, and the best so far.
"""

from __future__ import annotations

import dataclasses
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, SyncVectorEnv
from gymnasium.vector.utils import concatenate, iterate

from actgym.briefing import describe_task
from actgym.candidate.limits import MAX_SOURCE_CHARS
from actgym.config import EvaluationConfig
from actgym.episode import (
    CHARSET,
    Episode,
    observation_space,
    observe,
    render,
    require_budget,
    step_info,
    transition,
)
from actgym.evaluation import Evaluator
from actgym.evaluator_protocol import EvaluatorProtocol
from actgym.fidelity import FULL, Fidelity, get_fidelity
from actgym.result import EvaluationResult
from actgym.tasks import families_of

DEFAULT_BUDGET = 100


def scored_config(
    task: str,
    config: EvaluationConfig | None,
    evaluator: EvaluatorProtocol | None,
    fidelity: Fidelity = FULL,
) -> EvaluationConfig:
    """The config the env scores with, refused where it is not the task's.

    The task decides the families: a config may leave them at their default; `fidelity`
    cuts the config (actgym.fidelity). An injected evaluator must score the task's
    families at that fidelity, and a config given beside it must be its config, so that
    an agent is never told one task and scored on another.
    """
    families = families_of(task)
    if config is not None and config.families not in (families, EvaluationConfig().families):
        raise ValueError(
            f"the config names the families {', '.join(config.families)}, but {task} "
            f"scores {', '.join(families)}: leave families out, the task decides them"
        )
    asked = fidelity.applied(dataclasses.replace(config or EvaluationConfig(), families=families))
    if evaluator is None:
        return asked
    scored = evaluator.config
    if scored.families != families:
        raise ValueError(
            f"the evaluator scores {', '.join(scored.families)}, not {task} "
            f"({', '.join(families)}): pass an evaluator built for {task}"
        )
    if fidelity.applied(scored) != scored:
        raise ValueError(
            f"the evaluator scores another fidelity than {fidelity.name!r}: pass one built "
            f"for fidelity.applied(config), or leave fidelity at 'full'"
        )
    if config is not None and asked != scored:
        raise ValueError(
            "the config differs from the evaluator's ("
            + "; ".join(asked.differences(scored))
            + "): give one or the other"
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
    >>> config = actgym.EvaluationConfig.fast()  # or EvaluationConfig(trainer=..., ...)
    >>> env = gym.make("ActSearch-Harmonics-v0", config=config, budget=20, render_mode="ansi")
    >>> obs, info = env.reset(seed=0)
    >>> source = "import jax.numpy as jnp\\ndef activation_function(x):\\n    return x\\n"
    >>> obs, reward, terminated, truncated, info = env.step(source)
    >>> print(env.render())

    ```

    - `task` (`str`, default `"Harmonics"`): a family or `"Suite"` (`actgym.TASKS`).
    - `config` (`EvaluationConfig | None`, default `None`): what decides the scores: the
      trainer (`TrainerConfig`: the default is depth 2, width 64, 1000 steps of batch 128,
      learning rate 3e-3, training seeds `(0, 1)`, the activation seeing one example's
      hidden vector; `EvaluationConfig.fast()` takes `TrainerConfig.fast()`: width 32,
      600 steps of batch 64, learning rate 1e-2), `task_seed`, `num_instances` (None:
      each family's default, Harmonics 24, Poly1D 16, Poly20D 12, Feynman 13), `sizes`
      (4096 / 1024 / 1024 samples) and the candidate limits. The task decides the
      families: leave them at their default. None takes `EvaluationConfig()`.
    - `budget` (`int`, default `100`): evaluations per episode, at least 1.
    - `render_mode` (`str | None`, default `None`): `"ansi"` makes `render()` return the
      evaluations used, the last result and the best source as text.
    - `evaluator` (`EvaluatorProtocol | None`, default `None`): an evaluator to share (an
      `Evaluator`, or a `RayEvaluator` to train on a Ray cluster); its config
      decides the scores and the task description, so it must score this task's families,
      and a `config` given beside it must equal its config (else `ValueError`). None
      builds one for `config`.

    - `fidelity` (`str`, default `"full"`): `"low"` screens: each family's first 4
      instances and one training seed, against ReLU under the same cut, so the reward
      keeps its meaning at about a quarter of the compute (`actgym.fidelity`; on the
      Suite its rewards rank 200 random candidates with a Spearman correlation of 0.99 to
      full fidelity's, benchmarks/fidelity). `info["fidelity"]` says which,
      `info["charge"]` what a search charges it in full evaluations (0.25), and
      `info["timings"]` its compute seconds. Only full-fidelity rewards rank on the
      leaderboard or in `actgym search`.

    Earlier releases of the env took the config's fields as 13 separate keywords (`fast`,
    `task_seed`, `num_instances`, `sizes`, `trainer`, `seeds`, `steps`, `width`, `depth`,
    `scope`); they are now the one `config` value the search and the leaderboard hold too.

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
        config: EvaluationConfig | None = None,
        budget: int = DEFAULT_BUDGET,
        render_mode: str | None = None,
        evaluator: EvaluatorProtocol | None = None,
        fidelity: str = "full",
    ) -> None:
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise ValueError("budget must be a positive int")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.fidelity = get_fidelity(fidelity)
        scored = scored_config(task, config, evaluator, self.fidelity)
        self.task = task
        self.render_mode = render_mode
        self.evaluator = evaluator or Evaluator(scored)
        self.description = describe_task(task, scored)
        self.action_space = spaces.Text(max_length=MAX_SOURCE_CHARS, min_length=0, charset=CHARSET)
        self.observation_space = observation_space(budget)
        self.episode = Episode(budget)
        self._references: np.ndarray | None = None

    @property
    def budget(self) -> int:
        return self.episode.budget

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        super().reset(seed=seed)
        self.episode = Episode(self.budget)
        return self._observation(), {"task": self.task, "budget": self.budget}

    def step(self, action: str) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        require_budget(self.episode)
        return self.advance(action, self.evaluator.evaluate(action))

    def advance(
        self, action: object, result: EvaluationResult
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]:
        """Step with `result`, the evaluation of `action` (made alone or in a batch)."""
        self.episode = transition(self.episode, action, result)
        info = {
            **step_info(self.episode),
            "fidelity": self.fidelity.name,
            "charge": self.fidelity.charge,
        }
        return self._observation(), float(result.reward), False, self.episode.truncated, info

    def render(self) -> str | None:
        return render(self.task, self.episode) if self.render_mode == "ansi" else None

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
        return observe(self.episode, self.description, self.reference_rewards())


class ActSearchVectorEnv(SyncVectorEnv):
    """Independent episodes sharing one Evaluator: each step's candidates compile together.

    `gym.make_vec(id, num_envs)` returns this by default; results equal those of separate
    environments, since each episode steps by the same transition with a result from
    `Evaluator.evaluate_many`. Use `vectorization_mode="async"` (with a spawn or
    forkserver context) to spread episodes over processes instead.
    """

    def __init__(
        self,
        num_envs: int = 1,
        *,
        autoreset_mode: AutoresetMode = AutoresetMode.NEXT_STEP,
        **kwargs: Any,
    ) -> None:
        first = ActSearchEnv(**kwargs)
        envs = [first] + [
            ActSearchEnv(**{**kwargs, "evaluator": first.evaluator}) for _ in range(num_envs - 1)
        ]
        self.evaluator = first.evaluator
        super().__init__([lambda env=env: env for env in envs], autoreset_mode=autoreset_mode)

    def step(self, actions: Any) -> Any:
        actions = list(iterate(self.action_space, actions))
        resets = self._autoreset_envs & (self.autoreset_mode == AutoresetMode.NEXT_STEP)
        stepping = [index for index in range(self.num_envs) if not resets[index]]
        for index in stepping:
            require_budget(self.envs[index].episode)
        results = dict(
            zip(stepping, self.evaluator.evaluate_many([actions[i] for i in stepping]), strict=True)
        )
        infos: dict[str, Any] = {}
        for index, env in enumerate(self.envs):
            if index in results:
                observation, reward, terminated, truncated, info = env.advance(
                    actions[index], results[index]
                )
            else:
                (observation, info), reward, terminated, truncated = env.reset(), 0.0, False, False
            if truncated and self.autoreset_mode == AutoresetMode.SAME_STEP:
                final = {"final_obs": observation, "final_info": info}
                infos = self._add_info(infos, final, index)
                observation, info = env.reset()
            self._env_obs[index], self._rewards[index] = observation, reward
            self._terminations[index], self._truncations[index] = terminated, truncated
            infos = self._add_info(infos, info, index)
        self._observations = concatenate(
            self.single_observation_space, self._env_obs, self._observations
        )
        self._autoreset_envs = np.logical_or(self._terminations, self._truncations)
        return (
            self._observations,
            np.copy(self._rewards),
            np.copy(self._terminations),
            np.copy(self._truncations),
            infos,
        )
