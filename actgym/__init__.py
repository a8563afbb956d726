"""actgym: Gymnasium environments for discovering activation functions by program search.

    import gymnasium as gym
    import actgym

    env = gym.make("ActSearch-Harmonics-v0")

Importing the package registers the ActSearch environments; the heavy parts (JAX, the
trainer, the sandbox) load when an environment or evaluator is created.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import gymnasium as gym

try:
    __version__ = version("actgym")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

ENV_IDS: dict[str, str] = {
    "ActSearch-Harmonics-v0": "Harmonics",
    "ActSearch-Poly1D-v0": "Poly1D",
    "ActSearch-Poly20D-v0": "Poly20D",
    "ActSearch-Feynman-v0": "Feynman",
    "ActSearch-Suite-v0": "Suite",
}


def _register() -> None:
    for env_id, task in ENV_IDS.items():
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point="actgym.envs:ActSearchEnv",
                vector_entry_point="actgym.envs:ActSearchVectorEnv",
                kwargs={"task": task},
            )


_register()

__all__ = ["ENV_IDS", "__version__"]
