"""Find an Agent class by name, so `actgym search --agent NAME` works for any installed agent.

Names resolve in this order: the built-ins, then entry points in the group
`actgym.agents` of installed packages (`mypkg-agent = "mypkg.module:MyAgent"` under
`[project.entry-points."actgym.agents"]`). A name with a colon is a direct reference,
`package.module:Class` or `path/to/file.py:Class`, handy while writing an agent.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType

from actgym.agent import Agent

GROUP = "actgym.agents"
BUILTINS: dict[str, str] = {
    "random": "actgym.agents.random_search:RandomGrammarAgent",
    "evolver": "actgym.agents.evolver:EvolverAgent",
    "hf-mutator": "actgym.agents.evolver:LocalMutatorAgent",
    "llm-sample": "actgym.agents.sampler:SampleAgent",
}


class UnknownAgentError(LookupError):
    """The name matches no built-in, entry point or importable reference."""


def available_agents() -> dict[str, str]:
    """Agent names and their `module:attribute` targets, built-ins first."""
    found = dict(BUILTINS)
    for entry in sorted(entry_points(group=GROUP), key=lambda entry: entry.name):
        found.setdefault(entry.name, entry.value)
    return found


def load_agent(name: str) -> type[Agent]:
    """The Agent subclass called `name`; UnknownAgentError says what is available."""
    target = available_agents().get(name, name if ":" in name else None)
    if target is None:
        raise UnknownAgentError(
            f"unknown agent {name!r}; available: {', '.join(available_agents())}. Install a "
            f"package declaring an entry point in the group {GROUP!r}, or pass "
            "'package.module:Class' or 'path/to/file.py:Class'."
        )
    agent = _resolve(target)
    if not (isinstance(agent, type) and issubclass(agent, Agent)):
        raise UnknownAgentError(f"{target} is not a subclass of actgym.agent.Agent")
    return agent


def _resolve(target: str) -> object:
    module_name, _, attribute = target.rpartition(":")
    try:
        if module_name.endswith(".py"):
            module = _import_file(Path(module_name))
        else:
            module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError, OSError) as error:
        raise UnknownAgentError(f"cannot load agent {target!r}: {error}") from error


def _import_file(path: Path) -> ModuleType:
    resolved = path.resolve()
    module_name = f"_actgym_agent_{resolved.stem}"
    spec = importlib.util.spec_from_file_location(module_name, resolved)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module
