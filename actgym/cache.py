"""A small on-disk JSON cache, so baselines and repeated candidates cost nothing.

Entries are written atomically (temp file + rename), so a run killed mid-write never
leaves a corrupt entry; an unreadable entry is treated as a miss.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

PRIVATE = 0o700
"""Cache directories are the owner's alone: entry names are fingerprints of configs, and a
verifier's configs hold its hidden task seeds."""


def private_directory(path: Path) -> None:
    """Create `path` and any missing parent as PRIVATE (mkdir's `parents` would not)."""
    missing = []
    while not path.exists():
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        directory.mkdir(mode=PRIVATE, exist_ok=True)


def default_cache_dir() -> Path:
    configured = os.environ.get("ACTGYM_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "actgym"


class JsonCache:
    def __init__(self, directory: Path | str | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir()

    def get(self, key: str) -> Any | None:
        try:
            return json.loads((self.directory / f"{key}.json").read_text())
        except (OSError, ValueError):
            return None

    def put(self, key: str, value: Any) -> None:
        try:
            private_directory(self.directory)
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w") as stream:
                json.dump(value, stream)
            os.replace(temporary, self.directory / f"{key}.json")
        except OSError:
            return  # a cache that cannot be written is only slower
