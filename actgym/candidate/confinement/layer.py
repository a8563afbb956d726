"""What every layer shares: libc, the `active` state, and the error that says why not."""

from __future__ import annotations

import ctypes
import errno

ACTIVE = "active"

libc = ctypes.CDLL(None, use_errno=True)


class LayerUnavailable(Exception):
    """A layer this kernel or this process cannot provide; the reason goes in the report."""


def check(result: int, what: str) -> int:
    """`result` of a libc call, or LayerUnavailable naming the call and its errno."""
    if result < 0:
        code = ctypes.get_errno()
        raise LayerUnavailable(f"{what} failed: {errno.errorcode.get(code, code)}")
    return result
