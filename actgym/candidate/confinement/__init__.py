"""OS-level confinement of the sandboxed child: what holds if the static policy fails.

The policy and the restricted builtins are Python-level fences; a bug in either hands a
candidate the full interpreter (`os`, `ctypes`, ...). These layers make that interpreter
harmless. Each one is applied in the forked child after fork and before the candidate is
parsed, each is best-effort (an unsupported kernel or missing privilege leaves it
`unavailable`, never breaks evaluation), and `apply` returns which ones hold so that
nobody has to guess. `python -m actgym.candidate.confinement` prints that report.

Layers, in the order they are applied:
  network_namespace    a fresh network namespace: no interfaces but a down loopback.
  capabilities         every capability dropped (matters when the trainer runs as root).
  no_new_privs         no setuid/file-capability gain; required by the two below.
  landlock             no file-system writes of any kind, no exec, no TCP bind/connect,
                       no ptrace, signals or abstract-socket connections outside the child.
  seccomp              a BPF deny-list: exec, fork, sockets, other processes, sessions,
                       namespaces, file-system changes, raising rlimits, kernel interfaces.
  parent_death_signal  SIGKILL when the fork server dies, even mid-candidate (a sleeping
                       child would otherwise outlive it: it is in a session of its own).

Reads stay allowed everywhere: JAX imports modules and may start its CPU backend in the
child, which reads files under site-packages and /proc and starts threads.

A strict caller (the leaderboard) names the layers it requires; `unmet` says which of
them a report lacks, and the child then refuses to look at the candidate at all. The
environment variable ACTGYM_CONFINEMENT_SKIP (comma-separated layer names) makes `apply`
skip layers on purpose, so tests can exercise that refusal; it can only weaken.

Modules: `process` (namespace, capabilities, no_new_privs, parent-death signal, and the
fork server's side), `landlock`, `seccomp` (the BPF filter), `syscalls` (its tables) and
`layer` (what they share).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable

from actgym.candidate.confinement import landlock, process, seccomp
from actgym.candidate.confinement.layer import ACTIVE, LayerUnavailable
from actgym.candidate.confinement.process import children_of_self, prepare_server
from actgym.candidate.confinement.seccomp import seccomp_program

__all__ = [
    "ACTIVE",
    "ALL_LAYERS",
    "LAYERS",
    "SKIP_ENV",
    "active_layers",
    "apply",
    "check_layer_names",
    "children_of_self",
    "is_active",
    "prepare_server",
    "seccomp_program",
    "unmet",
]

_APPLY: dict[str, Callable[[], str]] = {
    "network_namespace": process.network_namespace,
    "capabilities": process.capabilities,
    "no_new_privs": process.no_new_privs,
    "landlock": landlock.apply,
    "seccomp": seccomp.apply,
    "parent_death_signal": process.parent_death_signal,
}
LAYERS = tuple(_APPLY)
"""The layers, in the order `apply` applies them."""
ALL_LAYERS = frozenset(LAYERS)
"""What a strict sandbox requires unless its operator allows a layer to be missing."""
SKIP_ENV = "ACTGYM_CONFINEMENT_SKIP"


def apply() -> dict[str, str]:
    """Confine this (single-threaded, freshly forked) process; report each layer's state.

    Irreversible: call it only in a process that will run nothing trusted afterwards.
    """
    skipped = {name.strip() for name in os.environ.get(SKIP_ENV, "").split(",")}
    report = {}
    for name in LAYERS:
        if name in skipped:
            report[name] = f"unavailable: skipped by {SKIP_ENV}"
            continue
        try:
            report[name] = _APPLY[name]()
        except (LayerUnavailable, OSError, AttributeError) as error:
            report[name] = f"unavailable: {error}"
    return report


def is_active(state: str) -> bool:
    return state.startswith(ACTIVE)


def unmet(report: dict[str, str], required: frozenset[str]) -> dict[str, str]:
    """The required layers that `report` does not show active, with their states."""
    return {
        name: report.get(name, "not reported")
        for name in LAYERS
        if name in required and not is_active(report.get(name, ""))
    }


def check_layer_names(names: frozenset[str]) -> None:
    """Refuse unknown names, so a typo cannot silently drop a requirement."""
    unknown = sorted(names - ALL_LAYERS)
    if unknown:
        raise ValueError(f"unknown confinement layers {unknown}; choose from {list(LAYERS)}")


def active_layers(timeout_s: float = 30.0) -> dict[str, str]:
    """What `apply` achieves on this machine, measured in a throw-away interpreter."""
    completed = subprocess.run(
        [sys.executable, "-m", "actgym.candidate.confinement"],
        capture_output=True,
        check=True,
        timeout=timeout_s,
    )
    return json.loads(completed.stdout)
