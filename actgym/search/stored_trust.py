"""What a resumed run may take from its store: a run directory is data, not code.

Resuming reads the agent and its options from the stored config. A directory someone
handed over can name any of them, so two kinds are taken only from the person resuming:
- an agent given as a direct reference (`package.module:Class`, `path/file.py:Class`),
  which imports code; installed agents (built-ins, entry points) need no consent;
- agent options that choose where prompts go, which key is sent, or which model files
  are loaded (`REACHING_OPTIONS`);
- candidate limits looser than the defaults (more memory, CPU time, FLOPs...), which
  would let every candidate the run scores do more than the sandbox allows by default.
They must be given again, the same, on the command line or in the user's own `--config`,
or the user passes `--trust-store` for a directory they wrote themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from actgym.agents_registry import available_agents
from actgym.candidate.limits import CandidateLimits
from actgym.search.config import ConfigError, SearchConfig

REACHING_OPTIONS = frozenset(
    {"base_url", "api_key_env", "backend", "model", "models", "extra_body", "device"}
)
"""Agent options that reach outside the run: endpoints, key variables, model files."""


def refuse_untrusted(config: SearchConfig, given: Mapping[str, Any]) -> None:
    """Raise ConfigError naming what the stored `config` would use that `given` did not."""
    untrusted = []
    if config.agent not in available_agents() and given.get("agent") != config.agent:
        untrusted.append(
            f"the agent {config.agent!r}, a direct reference that imports code "
            f"(pass --agent {config.agent!r})"
        )
    given_options = given.get("agent_options") or {}
    for name in sorted(REACHING_OPTIONS & set(config.agent_options)):
        if name not in given_options:
            value = config.agent_options[name]
            untrusted.append(f"agent option {name} = {value!r} (set it in your --config)")
    given_evaluation = given.get("evaluation")
    if not (isinstance(given_evaluation, Mapping) and "limits" in given_evaluation):
        stored, default = config.evaluation.limits, CandidateLimits()
        untrusted.extend(
            f"the candidate limit {name} = {getattr(stored, name)!r}, above the default "
            f"{getattr(default, name)!r} (set evaluation.limits in your --config)"
            for name in stored.looser_than(default)
        )
    if untrusted:
        raise ConfigError(
            "the stored run would use what you did not choose:\n  "
            + "\n  ".join(untrusted)
            + "\nA run directory is data: resuming takes these only from you. Give them "
            "again, or pass --trust-store if you wrote this directory yourself."
        )
