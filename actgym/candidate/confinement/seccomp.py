"""The seccomp layer: a classic-BPF deny-list assembled here and installed with prctl.

The assembler is a few lines, so the program can be checked instruction by instruction
without a kernel (tests/candidate/test_sandbox.py interprets it for both architectures). The
filter refuses what `syscalls` lists, checks a few syscalls by argument (writes through
open, new processes through clone, signals to others), answers ENOSYS above the newest
syscall it knows, and EPERM to other architectures and the x32 ABI.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct

from actgym.candidate.confinement.layer import ACTIVE, LayerUnavailable, check, libc
from actgym.candidate.confinement.syscalls import (
    AUDIT_ARCH,
    DENIED_SYSCALLS,
    FALLBACK_SYSCALLS,
    NEWEST_KNOWN_SYSCALL,
    X32_SYSCALL_BIT,
)

_EPERM = 0x00050000 | errno.EPERM
_ENOSYS = 0x00050000 | errno.ENOSYS
_ALLOW = 0x7FFF0000
_LD_ABS = 0x20
_JEQ = 0x15
_JGT = 0x25
_JGE = 0x35
_JSET = 0x45
_RET = 0x06
_PR_SET_SECCOMP = 22
_SECCOMP_MODE_FILTER = 2

_OPEN_WRITE_FLAGS = 0o1 | 0o2 | 0o100 | 0o1000  # O_WRONLY | O_RDWR | O_CREAT | O_TRUNC
_CLONE_THREAD = 0x00010000
_CLONE_NAMESPACES = 0x7E020080  # CLONE_NEWNS/CGROUP/UTS/IPC/USER/PID/NET and NEWTIME
_TIOCSTI = 0x5412

Instruction = tuple[int, int, int, int]


def _load(offset: int) -> Instruction:
    return (_LD_ABS, 0, 0, offset)


def _arg_low(index: int) -> Instruction:
    return _load(16 + 8 * index)


def _arg_high(index: int) -> Instruction:
    return _load(20 + 8 * index)


def _ret(action: int) -> Instruction:
    return (_RET, 0, 0, action)


def _allow_if_arg_in(index: int, values: tuple[int, ...]) -> list[Instruction]:
    """Allow only when the whole 64-bit argument equals one of the (32-bit) values."""
    count = len(values)
    block = [_arg_high(index), (_JEQ, 0, count + 1, 0), _arg_low(index)]
    block += [(_JEQ, count - position, 0, value) for position, value in enumerate(values)]
    return [*block, _ret(_EPERM), _ret(_ALLOW)]


def _deny_if_arg_has(index: int, mask: int) -> list[Instruction]:
    return [_arg_low(index), (_JSET, 0, 1, mask), _ret(_EPERM), _ret(_ALLOW)]


def _deny_if_arg_is(index: int, value: int) -> list[Instruction]:
    return [_arg_low(index), (_JEQ, 0, 1, value), _ret(_EPERM), _ret(_ALLOW)]


def _clone_rule() -> list[Instruction]:
    """Threads (CLONE_THREAD) yes; new processes and namespaces no."""
    return [
        _arg_low(0),
        (_JSET, 0, 1, _CLONE_NAMESPACES),
        _ret(_EPERM),
        (_JSET, 0, 1, _CLONE_THREAD),
        _ret(_ALLOW),
        _ret(_EPERM),
    ]


def _conditional_rules(own_pid: int) -> dict[str, list[Instruction]]:
    """Syscalls allowed only with some arguments: signals to self, reads, threads."""
    own = (own_pid,)
    return {
        "open": _deny_if_arg_has(1, _OPEN_WRITE_FLAGS),
        "openat": _deny_if_arg_has(2, _OPEN_WRITE_FLAGS),
        "clone": _clone_rule(),
        "kill": _allow_if_arg_in(0, (own_pid, 0)),
        "tgkill": _allow_if_arg_in(0, own),
        "rt_sigqueueinfo": _allow_if_arg_in(0, own),
        "rt_tgsigqueueinfo": _allow_if_arg_in(0, own),
        "prlimit64": _allow_if_arg_in(2, (0,)),  # reading limits only: new_limit == NULL
        "ioctl": _deny_if_arg_is(1, _TIOCSTI),
    }


def seccomp_program(machine: str, own_pid: int) -> list[Instruction]:
    """The BPF program for one architecture; raises LayerUnavailable for others."""
    if machine not in AUDIT_ARCH:
        raise LayerUnavailable(f"no syscall table for architecture {machine}")
    audit_arch, numbers = AUDIT_ARCH[machine]
    program = [_load(4), (_JEQ, 1, 0, audit_arch), _ret(_EPERM), _load(0)]
    if machine == "x86_64":
        program += [(_JGE, 0, 1, X32_SYSCALL_BIT), _ret(_EPERM)]
    program += [(_JGT, 0, 1, NEWEST_KNOWN_SYSCALL), _ret(_ENOSYS)]
    refused = [(names, _EPERM) for names in DENIED_SYSCALLS.values()]
    for names, action in [*refused, (FALLBACK_SYSCALLS, _ENOSYS)]:
        for name in names:
            if name in numbers:
                program += [(_JEQ, 0, 1, numbers[name]), _ret(action)]
    for name, block in _conditional_rules(own_pid).items():
        if name in numbers:
            program += [(_JEQ, 0, len(block), numbers[name]), *block]
    return [*program, _ret(_ALLOW)]


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_void_p))


def apply() -> str:
    """Install the filter for this machine; the state says how long the program is."""
    program = seccomp_program(platform.machine(), os.getpid())
    raw = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = _SockFprog(len(program), ctypes.cast(buffer, ctypes.c_void_p))
    check(
        libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
        "prctl(PR_SET_SECCOMP)",
    )
    return f"{ACTIVE} ({len(program)} instructions)"
