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
            self.directory.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "w") as stream:
                json.dump(value, stream)
            os.replace(temporary, self.directory / f"{key}.json")
        except OSError:
            return  # a cache that cannot be written is only slower
