"""Downstream transfer: does an activation found on the synthetic suite help real models?

After the second half of "Mining Generalizable Activation Functions", three downstream
tasks: a CNN on 8x8 digits (`vision`), a message-passing reasoner tested on larger graphs
(`algorithmic`) and a GIN tested on unseen scaffolds (`structure`), each trained with the
candidate, ReLU and GELU on the same seeds and data (docs/transfer.md). Importing this
package stays light: the names below load JAX on first use.
"""

from __future__ import annotations

from actgym.lazy_exports import lazy_getattr

_EXPORTS = {
    "DOWNSTREAM_TASKS": "actgym.transfer.downstream",
    "TransferConfig": "actgym.transfer.downstream",
    "Transfer": "actgym.transfer.runner",
    "TransferReport": "actgym.transfer.runner",
    "transfer": "actgym.transfer.runner",
}
__all__ = sorted(_EXPORTS)


__getattr__ = lazy_getattr(__name__, _EXPORTS)
