"""One sanitiser for every string a candidate can choose: messages, names, shown sources.

A candidate controls the text of the exceptions it raises, and through jaxlib objects it
can reach text that quotes the host's paths. Such text ends up in `info`, SQLite stores,
terminals and public pages, so it is made safe once, where it enters the trusted side:
valid UTF-8 (lone surrogates replaced), no control or bidirectional-format characters
(terminal escapes, NULs), no absolute paths, and bounded in length.
"""

from __future__ import annotations

import re
import unicodedata

from actgym.candidate.limits import MAX_MESSAGE_CHARS

_PATH = re.compile(r"(?<![\w.])(?:/[\w.+@~-]+){2,}/?")
_HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _visible(char: str) -> str:
    if char in "\t\n\r":
        return " "
    return "" if unicodedata.category(char) in _HIDDEN_CATEGORIES else char


def sanitise(text: object, limit: int = MAX_MESSAGE_CHARS) -> str:
    """`text` as one safe line: valid UTF-8, printable, no host paths, at most `limit` chars."""
    visible = "".join(_visible(char) for char in valid_utf8(str(text)))
    unpathed = _PATH.sub("<path>", visible)
    if len(unpathed) <= limit:
        return unpathed
    return unpathed[: max(limit - 1, 0)] + "…"


def hides_code(char: str) -> bool:
    """Whether `char` can make source code display differently from how it runs: a
    control, format or surrogate character other than a line break or a tab (a
    bidirectional override, U+202E or U+2066, is Trojan Source)."""
    return char not in "\n\r\t" and unicodedata.category(char) in ("Cc", "Cf", "Cs")


def valid_utf8(text: str) -> str:
    """`text` with anything UTF-8 cannot encode (lone surrogates) replaced by '?'.

    For sources and other multi-line text that must keep its layout.
    """
    return text.encode("utf-8", "replace").decode("utf-8")


def visible_code(text: str) -> str:
    """Source with every character that could hide code (`hides_code`) written as `\\uXXXX`:
    shown on a page or a terminal, it reads as it runs and sends no escape sequence."""
    return "".join(f"\\u{ord(char):04x}" if hides_code(char) else char for char in text)
