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
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import platform
import signal
import struct
import subprocess
import sys
from collections.abc import Callable

ACTIVE = "active"
LAYERS = (
    "network_namespace",
    "capabilities",
    "no_new_privs",
    "landlock",
    "seccomp",
    "parent_death_signal",
)
ALL_LAYERS = frozenset(LAYERS)
"""What a strict sandbox requires unless its operator allows a layer to be missing."""
SKIP_ENV = "ACTGYM_CONFINEMENT_SKIP"

_libc = ctypes.CDLL(None, use_errno=True)
_server_pid: int | None = None  # set by prepare_server in the fork server; children inherit it

# ----------------------------------------------------------------------------------------
# Namespaces, capabilities, no_new_privs

_CLONE_NEWNET = 0x40000000
_CLONE_NEWUSER = 0x10000000
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522


class _LayerUnavailable(Exception):
    """A layer this kernel or this process cannot provide; the reason goes in the report."""


def _check(result: int, what: str) -> int:
    if result < 0:
        code = ctypes.get_errno()
        raise _LayerUnavailable(f"{what} failed: {errno.errorcode.get(code, code)}")
    return result


def _network_namespace() -> str:
    """A private network namespace, via a user namespace where root is not available."""
    if _libc.unshare(_CLONE_NEWNET) == 0:
        return ACTIVE
    _check(_libc.unshare(_CLONE_NEWUSER | _CLONE_NEWNET), "unshare(CLONE_NEWUSER|CLONE_NEWNET)")
    return f"{ACTIVE} (inside a new user namespace)"


class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    )


def _capabilities() -> str:
    header = _CapHeader(_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0), "clearing ambient")
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    return ACTIVE


def _no_new_privs() -> str:
    _check(_libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "prctl(PR_SET_NO_NEW_PRIVS)")
    return ACTIVE


def _parent_death_signal() -> str:
    """Armed last: a change of credentials (a user namespace) would clear it."""
    parent = _server_pid or os.getppid()
    _check(_libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0), "prctl(PR_SET_PDEATHSIG)")
    if os.getppid() != parent:  # the server died before the signal was armed
        os.kill(os.getpid(), signal.SIGKILL)
    return ACTIVE


# ----------------------------------------------------------------------------------------
# Landlock (Linux 5.13+; the numbers of its three syscalls are the same on every arch)

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
    version = _libc.syscall(
        _SYS_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0), _LANDLOCK_CREATE_RULESET_VERSION
    )
    return max(version, 0)


def _landlock() -> str:
    abi = _landlock_abi()
    if abi < 1:
        raise _LayerUnavailable("Landlock is not supported or not enabled by this kernel")
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
    ruleset = _check(
        _libc.syscall(_SYS_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0),
        "landlock_create_ruleset",
    )
    try:
        _check(_libc.syscall(_SYS_LANDLOCK_RESTRICT_SELF, ruleset, 0), "landlock_restrict_self")
    finally:
        os.close(ruleset)
    return f"{ACTIVE} (ABI {abi})"


# ----------------------------------------------------------------------------------------
# seccomp-bpf

# Syscall numbers below 424 differ between architectures; from 424 on they are shared.
_SHARED_NUMBERS = {
    "pidfd_send_signal": 424,
    "io_uring_setup": 425,
    "io_uring_enter": 426,
    "io_uring_register": 427,
    "open_tree": 428,
    "move_mount": 429,
    "fsopen": 430,
    "fsconfig": 431,
    "fsmount": 432,
    "fspick": 433,
    "pidfd_open": 434,
    "clone3": 435,
    "openat2": 437,
    "pidfd_getfd": 438,
    "process_madvise": 440,
    "mount_setattr": 442,
    "quotactl_fd": 443,
    "process_mrelease": 448,
    "fchmodat2": 452,
    "setxattrat": 463,
    "removexattrat": 466,
    "open_tree_attr": 467,
    "file_setattr": 469,
}
# Anything above the newest syscall we know gets ENOSYS, as on an older kernel: libc and
# Python fall back from new syscalls they find missing, and a deny-list cannot cover
# syscalls that did not exist when it was written.
_NEWEST_KNOWN_SYSCALL = 469

_X86_64_NUMBERS = {
    "ioctl": 16,
    "open": 2,
    "socket": 41,
    "connect": 42,
    "accept": 43,
    "bind": 49,
    "listen": 50,
    "socketpair": 53,
    "clone": 56,
    "fork": 57,
    "vfork": 58,
    "execve": 59,
    "kill": 62,
    "truncate": 76,
    "rename": 82,
    "mkdir": 83,
    "rmdir": 84,
    "creat": 85,
    "link": 86,
    "unlink": 87,
    "symlink": 88,
    "chmod": 90,
    "fchmod": 91,
    "chown": 92,
    "fchown": 93,
    "lchown": 94,
    "ptrace": 101,
    "syslog": 103,
    "setpgid": 109,
    "setsid": 112,
    "rt_sigqueueinfo": 129,
    "utime": 132,
    "mknod": 133,
    "uselib": 134,
    "personality": 135,
    "vhangup": 153,
    "pivot_root": 155,
    "adjtimex": 159,
    "setrlimit": 160,
    "chroot": 161,
    "acct": 163,
    "settimeofday": 164,
    "mount": 165,
    "umount2": 166,
    "swapon": 167,
    "swapoff": 168,
    "reboot": 169,
    "sethostname": 170,
    "setdomainname": 171,
    "iopl": 172,
    "ioperm": 173,
    "init_module": 175,
    "delete_module": 176,
    "quotactl": 179,
    "setxattr": 188,
    "lsetxattr": 189,
    "fsetxattr": 190,
    "removexattr": 197,
    "lremovexattr": 198,
    "fremovexattr": 199,
    "tkill": 200,
    "lookup_dcookie": 212,
    "clock_settime": 227,
    "tgkill": 234,
    "utimes": 235,
    "kexec_load": 246,
    "add_key": 248,
    "request_key": 249,
    "keyctl": 250,
    "migrate_pages": 256,
    "openat": 257,
    "mkdirat": 258,
    "mknodat": 259,
    "fchownat": 260,
    "futimesat": 261,
    "unlinkat": 263,
    "renameat": 264,
    "linkat": 265,
    "symlinkat": 266,
    "fchmodat": 268,
    "unshare": 272,
    "move_pages": 279,
    "utimensat": 280,
    "accept4": 288,
    "rt_tgsigqueueinfo": 297,
    "perf_event_open": 298,
    "fanotify_init": 300,
    "prlimit64": 302,
    "name_to_handle_at": 303,
    "open_by_handle_at": 304,
    "clock_adjtime": 305,
    "setns": 308,
    "process_vm_readv": 310,
    "process_vm_writev": 311,
    "finit_module": 313,
    "renameat2": 316,
    "kexec_file_load": 320,
    "bpf": 321,
    "execveat": 322,
    "userfaultfd": 323,
    **_SHARED_NUMBERS,
}

_AARCH64_NUMBERS = {
    "setxattr": 5,
    "lsetxattr": 6,
    "fsetxattr": 7,
    "removexattr": 14,
    "lremovexattr": 15,
    "fremovexattr": 16,
    "lookup_dcookie": 18,
    "ioctl": 29,
    "mknodat": 33,
    "mkdirat": 34,
    "unlinkat": 35,
    "symlinkat": 36,
    "linkat": 37,
    "renameat": 38,
    "umount2": 39,
    "mount": 40,
    "pivot_root": 41,
    "truncate": 45,
    "chroot": 51,
    "fchmod": 52,
    "fchmodat": 53,
    "fchownat": 54,
    "fchown": 55,
    "openat": 56,
    "vhangup": 58,
    "quotactl": 60,
    "utimensat": 88,
    "acct": 89,
    "personality": 92,
    "unshare": 97,
    "kexec_load": 104,
    "init_module": 105,
    "delete_module": 106,
    "clock_settime": 112,
    "syslog": 116,
    "ptrace": 117,
    "kill": 129,
    "tkill": 130,
    "tgkill": 131,
    "rt_sigqueueinfo": 138,
    "reboot": 142,
    "setpgid": 154,
    "setsid": 157,
    "sethostname": 161,
    "setdomainname": 162,
    "setrlimit": 164,
    "settimeofday": 170,
    "adjtimex": 171,
    "socket": 198,
    "socketpair": 199,
    "bind": 200,
    "listen": 201,
    "accept": 202,
    "connect": 203,
    "add_key": 217,
    "request_key": 218,
    "keyctl": 219,
    "clone": 220,
    "execve": 221,
    "swapon": 224,
    "swapoff": 225,
    "migrate_pages": 238,
    "move_pages": 239,
    "rt_tgsigqueueinfo": 240,
    "perf_event_open": 241,
    "accept4": 242,
    "prlimit64": 261,
    "fanotify_init": 262,
    "name_to_handle_at": 264,
    "open_by_handle_at": 265,
    "clock_adjtime": 266,
    "setns": 268,
    "process_vm_readv": 270,
    "process_vm_writev": 271,
    "finit_module": 273,
    "renameat2": 276,
    "bpf": 280,
    "execveat": 281,
    "userfaultfd": 282,
    "kexec_file_load": 294,
    **_SHARED_NUMBERS,
}

_AUDIT_ARCH = {"x86_64": (0xC000003E, _X86_64_NUMBERS), "aarch64": (0xC00000B7, _AARCH64_NUMBERS)}
_X32_SYSCALL_BIT = 0x40000000

# Refused outright with EPERM (names missing on an architecture are skipped).
DENIED_SYSCALLS: dict[str, tuple[str, ...]] = {
    "exec": ("execve", "execveat", "uselib"),
    "new processes (threads stay allowed, see clone)": ("fork", "vfork"),
    "other processes": (
        "ptrace",
        "process_vm_readv",
        "process_vm_writev",
        "process_madvise",
        "process_mrelease",
        "pidfd_open",
        "pidfd_getfd",
        "pidfd_send_signal",
        "tkill",
        "move_pages",
        "migrate_pages",
    ),
    "sessions and namespaces": ("setsid", "setpgid", "unshare", "setns", "personality"),
    "network": ("socket", "socketpair", "connect", "bind", "listen", "accept", "accept4"),
    "file-system changes": (
        "creat",
        "rename",
        "renameat",
        "renameat2",
        "link",
        "linkat",
        "symlink",
        "symlinkat",
        "unlink",
        "unlinkat",
        "mkdir",
        "mkdirat",
        "rmdir",
        "mknod",
        "mknodat",
        "truncate",
        "chmod",
        "fchmod",
        "fchmodat",
        "fchmodat2",
        "chown",
        "fchown",
        "lchown",
        "fchownat",
        "utime",
        "utimes",
        "futimesat",
        "utimensat",
        "setxattr",
        "lsetxattr",
        "fsetxattr",
        "setxattrat",
        "removexattr",
        "lremovexattr",
        "fremovexattr",
        "removexattrat",
        "file_setattr",
        "name_to_handle_at",
        "open_by_handle_at",
    ),
    "mounts and the kernel": (
        "mount",
        "umount2",
        "pivot_root",
        "chroot",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "open_tree_attr",
        "mount_setattr",
        "swapon",
        "swapoff",
        "reboot",
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "acct",
        "settimeofday",
        "clock_settime",
        "clock_adjtime",
        "adjtimex",
        "sethostname",
        "setdomainname",
        "iopl",
        "ioperm",
        "quotactl",
        "quotactl_fd",
        "bpf",
        "perf_event_open",
        "userfaultfd",
        "io_uring_setup",
        "io_uring_enter",
        "io_uring_register",
        "keyctl",
        "add_key",
        "request_key",
        "fanotify_init",
        "syslog",
        "vhangup",
        "lookup_dcookie",
    ),
    "raising rlimits (prlimit64 is checked by argument)": ("setrlimit",),
}
# Refused with ENOSYS, so that libc falls back to an older syscall we can inspect.
FALLBACK_SYSCALLS = ("clone3", "openat2")

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
    """The BPF program for one architecture; raises _LayerUnavailable for others."""
    if machine not in _AUDIT_ARCH:
        raise _LayerUnavailable(f"no syscall table for architecture {machine}")
    audit_arch, numbers = _AUDIT_ARCH[machine]
    program = [_load(4), (_JEQ, 1, 0, audit_arch), _ret(_EPERM), _load(0)]
    if machine == "x86_64":
        program += [(_JGE, 0, 1, _X32_SYSCALL_BIT), _ret(_EPERM)]
    program += [(_JGT, 0, 1, _NEWEST_KNOWN_SYSCALL), _ret(_ENOSYS)]
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


def _seccomp() -> str:
    program = seccomp_program(platform.machine(), os.getpid())
    raw = b"".join(struct.pack("HBBI", *instruction) for instruction in program)
    buffer = ctypes.create_string_buffer(raw, len(raw))
    fprog = _SockFprog(len(program), ctypes.cast(buffer, ctypes.c_void_p))
    _check(
        _libc.prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0),
        "prctl(PR_SET_SECCOMP)",
    )
    return f"{ACTIVE} ({len(program)} instructions)"


# ----------------------------------------------------------------------------------------
# The fork server's side

_PR_SET_DUMPABLE = 4
_PR_SET_CHILD_SUBREAPER = 36


def prepare_server() -> None:
    """Make the fork server the reaper of its orphaned descendants and non-dumpable.

    As subreaper it inherits every descendant whose parent dies, even one that moved to
    another session, so it can kill what a candidate left behind. Non-dumpable, its memory
    and file descriptors under /proc stay closed to a child without capabilities even where
    Landlock is missing. Best-effort, like the layers.
    """
    global _server_pid
    _server_pid = os.getpid()
    prctl = getattr(_libc, "prctl", None)  # Linux only
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


# ----------------------------------------------------------------------------------------

_APPLY: dict[str, Callable[[], str]] = {
    "network_namespace": _network_namespace,
    "capabilities": _capabilities,
    "no_new_privs": _no_new_privs,
    "landlock": _landlock,
    "seccomp": _seccomp,
    "parent_death_signal": _parent_death_signal,
}


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
        except (_LayerUnavailable, OSError, AttributeError) as error:
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


if __name__ == "__main__":
    print(json.dumps(apply()))
