"""Where a score was computed: package versions and hardware, stored beside every result.

XLA may round differently across CPU types and between CPU and GPU, so a result is
only reproducible together with the machine and the versions that produced it.
"""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

_PACKAGES = ("actgym", "jax", "jaxlib", "flax", "optax", "numpy", "gymnasium")


def describe() -> dict[str, Any]:
    import jax

    return {
        "python": platform.python_version(),
        "system": platform.system(),  # not the kernel build: these details are public
        "machine": platform.machine(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "packages": {name: _version(name) for name in _PACKAGES},
        "devices": sorted({f"{device.platform}:{device.device_kind}" for device in jax.devices()}),
    }


def summary(details: dict[str, Any]) -> str:
    """One line for pages: the devices, the CPU, and the JAX version."""
    packages = details.get("packages", {})
    devices = ", ".join(details.get("devices", [])) or "unknown device"
    return f"{devices} · {details.get('cpu', 'unknown CPU')} · jax {packages.get('jax', '?')}"


def _version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
