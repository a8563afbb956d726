"""Author tokens: who may submit to a server, and under which name.

A token is `<id>.<secret>`: the id (8 random bytes, hex) finds its row, the secret (32
random bytes, URL-safe) proves it. Only a salted SHA-256 of the secret is stored, so a
copy of the database lets nobody submit; a slow hash (scrypt) would add nothing against
256 random bits and would cost every request. The token is shown once, when issued.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

_FORMAT = re.compile(r"(?P<id>[0-9a-f]{16})\.(?P<secret>[A-Za-z0-9_-]{43})")


class InvalidToken(Exception):
    """A submission's author token is missing, unknown or revoked; the message says which."""


@dataclass(frozen=True)
class IssuedToken:
    """A fresh token and what the store keeps of it."""

    token: str
    token_id: str
    salt: bytes
    digest: bytes


def issue() -> IssuedToken:
    token_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    return IssuedToken(f"{token_id}.{secret}", token_id, salt, _digest(salt, secret))


def token_id(token: str) -> str | None:
    """The id part of a well-formed token, else None (nothing else is looked up)."""
    match = _FORMAT.fullmatch(token)
    return match["id"] if match else None


def matches(token: str, salt: bytes, digest: bytes) -> bool:
    """Whether `token` is the one whose salted digest was stored, in constant time."""
    match = _FORMAT.fullmatch(token)
    return match is not None and hmac.compare_digest(_digest(salt, match["secret"]), digest)


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode()).digest()
