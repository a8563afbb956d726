"""Author names that cannot pass for another author: compared as they would look.

Pages show authors as text. "actgym  (reference)" with two spaces, "ACTGYM (Reference)"
or a Cyrillic "a" (U+0430) render like the reference author, so a new name is
compared with every other author by its look-alike key: NFKC, case folded, each letter
mapped to the Latin letter it can be mistaken for (Unicode's confusables, through
confusable_homoglyphs), and everything but letters and digits dropped.
"""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable

from actgym.leaderboard.schema import REFERENCE_AUTHOR
from confusable_homoglyphs import confusables


class LookalikeName(ValueError):
    """A name that would render like another author's."""


def lookalike_key(name: str) -> str:
    folded = unicodedata.normalize("NFKC", name).casefold()
    return "".join(_latin(char) for char in folded if char.isalnum())


def refuse_reference_author(name: str) -> None:
    """Raise LookalikeName if `name` is, or renders like, the reference author: only the
    leaderboard seeds reference rows, so a token or submission under that name would pass
    for one."""
    if lookalike_key(name) == lookalike_key(REFERENCE_AUTHOR):
        raise LookalikeName(
            f"{name!r} is reserved for the reference activations (compared without case, "
            "spaces, punctuation and look-alike letters)"
        )


def refuse_lookalike(name: str, others: Iterable[str]) -> None:
    """Raise LookalikeName if `name` looks like one of `others` without being it."""
    key, own = lookalike_key(name), name.strip().casefold()
    for other in others:
        if other.strip().casefold() != own and lookalike_key(other) == key:
            raise LookalikeName(
                f"{name!r} looks like the author {other!r} (compared without case, spaces, "
                "punctuation and look-alike letters); choose a name of its own"
            )


@functools.lru_cache(maxsize=4096)
def _latin(char: str) -> str:
    if char.isascii():
        return char
    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True) or []
    for entry in found:
        for homoglyph in entry["homoglyphs"]:
            if homoglyph["c"].isascii() and homoglyph["c"].isalnum():
                return homoglyph["c"].casefold()
    return char
