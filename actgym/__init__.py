"""actgym: Gymnasium environments for discovering activation functions by program search.

    import gymnasium as gym
    import actgym

    env = gym.make("ActSearch-Harmonics-v0")

Importing the package registers the ActSearch environments; the heavy parts (JAX, the
trainer, the sandbox) load when an environment or evaluator is created.

The public API is the names in `__all__`, importable from here:

    from actgym import Agent, Proposal                   # the agent contract
    from actgym import EvaluationConfig, Evaluator       # score sources directly
    from actgym import ActSearchEnv, TrainerConfig, run_search

They load on first use (PEP 562), so `import actgym` stays light: it does not import
JAX, Flax, Optax, PyTorch or Transformers. Each name also lives in its home module
(`actgym.evaluation`, `actgym.agent`, ...), which stays importable.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

import gymnasium as gym

from actgym.lazy_exports import lazy_getattr
from actgym.tasks.registry import ENV_IDS
from actgym.versions import SCORING_VERSION

if TYPE_CHECKING:
    from actgym.agent import Agent, AgentContext, Evaluation, History, Proposal
    from actgym.candidate.limits import CandidateLimits
    from actgym.candidate.reasons import CandidateRejected, Reason
    from actgym.config import EvaluationConfig
    from actgym.envs import ActSearchEnv
    from actgym.evaluation import Evaluator
    from actgym.evaluator_protocol import EvaluatorProtocol
    from actgym.ray_evaluation import RayEvaluator
    from actgym.references import REFERENCES
    from actgym.result import EvaluationResult
    from actgym.search.runner import run_search
    from actgym.tasks import SUITE, TASKS, make_family
    from actgym.trainer import TrainerConfig

try:
    __version__ = version("actgym")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"


def _register() -> None:
    for identifier, task in ENV_IDS.items():
        if identifier not in gym.registry:
            gym.register(
                id=identifier,
                entry_point="actgym.envs:ActSearchEnv",
                vector_entry_point="actgym.envs:ActSearchVectorEnv",
                kwargs={"task": task},
            )


_register()

# Public name -> the module it lives in; imported on first access.
_LAZY: dict[str, str] = {
    # environments
    "ActSearchEnv": "actgym.envs",
    # evaluation
    "Evaluator": "actgym.evaluation",
    "EvaluationConfig": "actgym.config",
    "EvaluationResult": "actgym.result",
    "TrainerConfig": "actgym.trainer",
    # the agent contract and search
    "Agent": "actgym.agent",
    "AgentContext": "actgym.agent",
    "Evaluation": "actgym.agent",
    "History": "actgym.agent",
    "Proposal": "actgym.agent",
    "run_search": "actgym.search.runner",
    # one machine or many
    "EvaluatorProtocol": "actgym.evaluator_protocol",
    "RayEvaluator": "actgym.ray_evaluation",
    # tasks and reference activations
    "SUITE": "actgym.tasks",
    "TASKS": "actgym.tasks",
    "make_family": "actgym.tasks",
    "REFERENCES": "actgym.references",
    # candidates
    "CandidateLimits": "actgym.candidate.limits",
    "CandidateRejected": "actgym.candidate.reasons",
    "Reason": "actgym.candidate.reasons",
}

__all__ = [
    "ENV_IDS",
    "REFERENCES",
    "SCORING_VERSION",
    "SUITE",
    "TASKS",
    "ActSearchEnv",
    "Agent",
    "AgentContext",
    "CandidateLimits",
    "CandidateRejected",
    "Evaluation",
    "EvaluationConfig",
    "EvaluationResult",
    "Evaluator",
    "EvaluatorProtocol",
    "History",
    "Proposal",
    "RayEvaluator",
    "Reason",
    "TrainerConfig",
    "__version__",
    "make_family",
    "run_search",
]


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
