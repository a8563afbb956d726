"""Fail loudly, not hang, in a process forked after JAX started its backend.

A plain `fork` copies JAX's runtime without its threads, and the child deadlocks on its
first computation. This is easy to hit: on Linux before Python 3.14, `multiprocessing`
and Gymnasium's `AsyncVectorEnv` fork by default. actgym itself never starts a backend
in a process that checks or evaluates (everything that compiles runs in a spawned
training process), so such a process forks safely; one whose own code ran JAX does not.
We record at fork time whether the parent's backend was running and refuse to evaluate
in such a child, with the fix.
"""

from __future__ import annotations

import os

_parent_backend_running = False
_forked_after_backend = False


def _backend_running() -> bool:
    try:
        from jax._src import xla_bridge
    except ImportError:  # not imported yet, or its internals moved: nothing to protect
        return False
    return bool(xla_bridge.backends_are_initialized())


def _before_fork() -> None:
    global _parent_backend_running
    _parent_backend_running = _backend_running()


def _after_fork_in_child() -> None:
    global _forked_after_backend
    _forked_after_backend = _forked_after_backend or _parent_backend_running


os.register_at_fork(before=_before_fork, after_in_child=_after_fork_in_child)


def ensure_safe_to_use_jax() -> None:
    if _forked_after_backend:
        raise RuntimeError(
            "actgym cannot evaluate in a process forked after JAX started in its parent "
            "(it would hang). Start worker processes with the 'spawn' (or 'forkserver') "
            "start method: multiprocessing.set_start_method('spawn') or "
            "multiprocessing.get_context('spawn'); for Gymnasium, gym.make_vec(..., "
            "vectorization_mode='async', vector_kwargs={'context': 'spawn'})."
        )
