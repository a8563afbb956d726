"""Layers on the process itself, and the fork server's side of them.

In the child: a private network namespace, no capabilities, no_new_privs, and SIGKILL
when the fork server dies. In the server: child subreaper and non-dumpable, and a list
of its children, so it can kill what a candidate left behind.
"""

from __future__ import annotations

import ctypes
import os
import signal

from actgym.candidate.confinement.layer import ACTIVE, check, libc

_server_pid: int | None = None  # set by prepare_server in the fork server; children inherit it

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522
_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36


def network_namespace() -> str:
    """A private network namespace, via a user namespace where root is not available."""
    if libc.unshare(_CLONE_NEWNET) == 0:
        return ACTIVE
    check(libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET), "unshare(CLONE_NEWUSER|CLONE_NEWNET)")
    return f"{ACTIVE} (inside a new user namespace)"


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def capabilities() -> str:
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    check(libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient")
    check(libc.capset(ctypes.byref(header), data), "capset")
    return ACTIVE


def no_new_privs() -> str:
    check(libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    return ACTIVE


def parent_death_signal() -> str:
    """Armed last: a change of credentials (a user namespace) would clear it."""
    parent = _server_pid or os.getppid()
    check(libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # the server died before the signal was armed
        os.kill(os.getpid(), signal.SIGKILL)
    return ACTIVE


def prepare_server() -> None:
    """Make the fork server the reaper of its orphaned descendants and non-dumpable.

    As subreaper it inherits every descendant whose parent dies, even one that moved to
    another session, so it can kill what a candidate left behind. Non-dumpable, its memory
    and file descriptors under /proc stay closed to a child without capabilities even where
    Landlock is missing. Best-effort, like the layers.
    """
    global _server_pid
    _server_pid = os.getpid()
    prctl = getattr(libc, "prctl", None)  # Linux only
    if prctl is not None:
        prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)


def children_of_self() -> list[int]:
    """Process ids of this process's children, from /proc (no psutil in the server)."""
    me = os.getpid()
    try:
        tasks = os.listdir(f"/proc/{me}/task")
        return [
            int(pid)
            for task in tasks
            for pid in _read_text(f"/proc/{me}/task/{task}/children").split()
        ]
    except OSError:  # kernels without CONFIG_PROC_CHILDREN: scan every process's parent
        pass
    try:
        return [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _parent(pid) == me]
    except OSError:  # no /proc: the process group kill is all there is
        return []


def _read_text(path: str) -> str:
    with open(path) as stream:
        return stream.read()


def _parent(pid: str) -> int:
    try:
        stat = _read_text(f"/proc/{pid}/stat")
    except OSError:
        return -1
    return int(stat.rpartition(")")[2].split()[1])
