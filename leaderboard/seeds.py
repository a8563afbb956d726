"""Hidden task seeds: derived from a server secret, so tuning to the public seeds gains nothing.

hidden seed i = HMAC-SHA256(secret, "<env version>|hidden-task-seed|i|<attempt>"), its first
128 bits read as an integer, skipping collisions with the public seed and with each other.
128 bits, so that nothing derived from a seed without the secret (a cache file's name is
a hash of a config, task seed included) lets anyone search the seed space offline. A new
environment version gives new hidden seeds. The secret comes from
ACTGYM_LEADERBOARD_SECRET, or a file (ACTGYM_LEADERBOARD_SECRET_FILE or an explicit path),
or else a random one kept in `<db>.secret` (mode 0600); it is never shown or exported.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from actgym.leaderboard.profiles import PUBLIC_TASK_SEED

SECRET_ENV = "ACTGYM_LEADERBOARD_SECRET"
SECRET_FILE_ENV = "ACTGYM_LEADERBOARD_SECRET_FILE"
SEED_BYTES = 16


def load_secret(db_path: Path, secret_file: Path | None = None) -> bytes:
    """The secret from the environment, the given file, or the DB's own secret file."""
    from_env = os.environ.get(SECRET_ENV, "").strip()
    if from_env:
        return from_env.encode()
    configured = secret_file or os.environ.get(SECRET_FILE_ENV)
    path = Path(configured) if configured else db_path.with_name(db_path.name + ".secret")
    if not path.exists() and not configured:
        _create_secret_file(path)
    secret = path.read_bytes().strip()
    if not secret:
        raise ValueError(f"the leaderboard secret file {path} is empty")
    return secret


def _create_secret_file(path: Path) -> None:
    """Write a fresh secret beside, then link it into place: concurrent creators agree."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(secrets.token_hex(32) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:  # another process made it first: use theirs
        pass
    finally:
        temporary.unlink()


def hidden_task_seeds(secret: bytes, version: str, count: int) -> tuple[int, ...]:
    seeds: list[int] = []
    for index in range(count):
        attempt = 0
        while True:
            message = f"{version}|hidden-task-seed|{index}|{attempt}".encode()
            digest = hmac.new(secret, message, hashlib.sha256).digest()
            seed = int.from_bytes(digest[:SEED_BYTES], "big")
            if seed != PUBLIC_TASK_SEED and seed not in seeds:
                break
            attempt += 1
        seeds.append(seed)
    return tuple(seeds)
