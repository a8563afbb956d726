"""Author tokens: who may submit to a server, and under which name.

A token is `<id>.<secret>`: the id (8 random bytes, hex) finds its row, the secret (32
random bytes, URL-safe) proves it. Only a salted SHA-256 of the secret is stored, so a
copy of the database lets nobody submit; a slow hash (scrypt) would add nothing against
256 random bits and would cost every request. The token is shown once, when issued.
Tokens live in the leaderboard's database (`Tokens`) but are never exported.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from actgym.leaderboard.author_names import refuse_lookalike, refuse_reference_author
from actgym.leaderboard.database import Database
from actgym.leaderboard.records import author_key

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


class Tokens:
    """The `tokens` table: at most one live token per author name (any case)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    def add(self, name: str) -> str:
        """Issue a token for author `name`, returned once: only its salted hash is kept."""
        name_key = author_key(name)
        refuse_reference_author(name)
        issued = issue()
        with self.database.transaction() as connection:
            refuse_lookalike(name, _authors(connection))
            live = connection.execute(
                "SELECT 1 FROM tokens WHERE name_key = ? AND revoked_at IS NULL", (name_key,)
            ).fetchone()
            if live is not None:
                raise ValueError(f"{name!r} already has a token; revoke it first")
            connection.execute(
                "INSERT INTO tokens (token_id, name, name_key, salt, digest, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (issued.token_id, name, name_key, issued.salt, issued.digest, time.time()),
            )
        return issued.token

    def revoke(self, name: str) -> bool:
        """Revoke the author's live token; False if there was none."""
        with self.database.transaction() as connection:
            cursor = connection.execute(
                "UPDATE tokens SET revoked_at = ? WHERE name_key = ? AND revoked_at IS NULL",
                (time.time(), author_key(name)),
            )
            return cursor.rowcount > 0

    def issued(self) -> list[dict[str, Any]]:
        """Every token ever issued, without its hash: name, id, issue and revocation times."""
        return self.database.dicts(
            "SELECT name, token_id, created_at, revoked_at FROM tokens ORDER BY created_at"
        )

    def author(self, token: str) -> str:
        """The author name a token was issued to; raise InvalidToken if it is not live."""
        row = self.database.row(
            "SELECT name, salt, digest, revoked_at FROM tokens WHERE token_id = ?",
            (token_id(token),),
        )
        if row is None or not matches(token, row["salt"], row["digest"]):
            raise InvalidToken("The author token is not valid: check that it was copied whole.")
        if row["revoked_at"] is not None:
            raise InvalidToken("The author token was revoked: ask the operator for a new one.")
        return str(row["name"])


def _authors(connection: sqlite3.Connection) -> list[str]:
    """Every author name the board knows: token holders and submitters."""
    rows = connection.execute("SELECT name FROM tokens UNION SELECT author FROM submissions")
    return [str(row[0]) for row in rows]
