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

from actgym.versions import env_id

try:
    __version__ = version("actgym")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

ENV_IDS: dict[str, str] = {
    env_id(task): task for task in ("Harmonics", "Poly1D", "Poly20D", "Feynman", "Suite")
}


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

__all__ = ["ENV_IDS", "__version__"]
