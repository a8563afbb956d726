"""The Landlock layer (Linux 5.13+): no file-system change and no exec; from later ABIs
also no TCP, and no signals or abstract-socket connections outside the child.

Each right is asked for only where the kernel's ABI knows it, so one ruleset serves every
kernel. The numbers of Landlock's syscalls are the same on every architecture.
"""

from __future__ import annotations

import ctypes
import os

from actgym.candidate.confinement.layer import ACTIVE, LayerUnavailable, check, libc

_SYS_LANDLOCK_CREATE_RULESET = 444
_SYS_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1

# Rights on the file system that change something or execute, by the ABI that added them;
# handled with no rule granting them, they are denied everywhere. Reading stays unhandled.
_FS_EXECUTE = 1 << 0
_FS_WRITE_FILE = 1 << 1
_FS_REMOVE_AND_MAKE = sum(1 << bit for bit in range(4, 13))  # remove dir/file, make any node
_FS_REFER = 1 << 13
_FS_TRUNCATE = 1 << 14
_NET_BIND_TCP = 1 << 0
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
_SCOPE_SIGNAL = 1 << 1


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


def _landlock_abi() -> int:
    """The kernel's Landlock ABI version, or 0 where Landlock is absent or disabled."""
    version = libc.syscall(
        _SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _LANDLOCK_CREATE_RULESET_VERSION
    )
    return max(version, 0)


def apply() -> str:
    """Restrict this process and its future children; the state names the ABI."""
    abi = _landlock_abi()
    if abi < 1:
        raise LayerUnavailable("Landlock is not supported or not enabled by this kernel")
    attr = _RulesetAttr(_FS_EXECUTE | _FS_WRITE_FILE | _FS_REMOVE_AND_MAKE, 0, 0)
    size = 8
    if abi >= 2:
        attr.handled_access_fs |= _FS_REFER
    if abi >= 3:
        attr.handled_access_fs |= _FS_TRUNCATE
    if abi >= 4:
        attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
        size = 16
    if abi >= 6:
        attr.scoped = _SCOPE_ABSTRACT_UNIX_SOCKET | _SCOPE_SIGNAL
        size = 24
    ruleset = check(
        libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0),
        "landlock_create_ruleset",
    )
    try:
        check(libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return f"{ACTIVE} (ABI {abi})"
