"""`actgym search`: run an agent against an environment, into a resumable SQLite run store.

    from actgym.search import run_search
    run_search("runs/demo", {"agent": "random", "env": "ActSearch-Harmonics-v0", "budget": 24})

Modules: `config` (what defines a run), `store` (the SQLite file), `loop` (propose,
evaluate, observe, resume), `backends` (in-process or pooled evaluation), `records`
(store rows <-> the agent contract), `progress` (the live bar), `runner` (putting them
together), `commands` (the CLI). Attributes load on first use, so the CLI starts fast.
"""

from __future__ import annotations

from actgym.lazy_exports import lazy_getattr

_EXPORTS = {
    "ConfigError": "actgym.search.config",
    "SearchConfig": "actgym.search.config",
    "RunStore": "actgym.search.store",
    "StoreError": "actgym.search.store",
    "AgentError": "actgym.search.loop",
    "SearchResult": "actgym.search.runner",
    "run_search": "actgym.search.runner",
}

__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
