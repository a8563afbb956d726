"""Downstream transfer probes: does an activation found on the synthetic suite help real models?

After the second half of "Mining Generalizable Activation Functions": a CNN on 8x8 digits
(`vision`), a message-passing reasoner tested on larger graphs (`algorithmic`) and a GIN
tested on unseen scaffolds (`structure`), each trained with the candidate, ReLU and GELU
on the same seeds and data (docs/transfer.md). Importing this package stays light: the
names below load JAX on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "PROBES": "actgym.transfer.probes",
    "TransferConfig": "actgym.transfer.probes",
    "Transfer": "actgym.transfer.runner",
    "TransferReport": "actgym.transfer.runner",
    "transfer": "actgym.transfer.runner",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
