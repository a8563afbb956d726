"""Turning a language model's reply into a candidate source, or a reason it cannot be.

Models answer with prose, fenced code, whole rewrites or SEARCH/REPLACE diffs, and small
models make the same few slips again and again (numpy for jax.numpy, a wrong function
name, a missing import). Everything here is plain text processing: the candidate is
only ever executed by the sandbox, never here.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

FUNCTION_NAME = "activation_function"

_FENCE = re.compile(r"```[ \t]*(?:python|py)?[ \t]*\n(.*?)(?:```|\Z)", re.DOTALL | re.IGNORECASE)
_DIFF = re.compile(r"<{5,}\s*SEARCH[ \t]*\n(.*?)\n?={5,}[ \t]*\n(.*?)\n?>{5,}\s*REPLACE", re.DOTALL)
_RATIONALE = re.compile(r"(?:rationale|reasoning|idea)\s*:\s*(.+)", re.IGNORECASE)
_DEF = re.compile(r"^def\s+([A-Za-z_]\w*)\s*\(", re.MULTILINE)


@dataclass(frozen=True)
class Extraction:
    """The source a reply proposes (None if unusable), with what was done to get it."""

    source: str | None
    reason: str = ""
    rationale: str = ""
    repairs: tuple[str, ...] = field(default_factory=tuple)
    kind: str = "rewrite"


class ExtractionError(ValueError):
    pass


def extract(reply: str, parent_source: str | None = None) -> Extraction:
    """A full rewrite (fenced or bare code) or SEARCH/REPLACE edits applied to the parent."""
    rationale = _rationale(reply)
    try:
        if _DIFF.search(reply):
            if parent_source is None:
                raise ExtractionError("the reply holds SEARCH/REPLACE edits but has no parent")
            source, kind = apply_diff(parent_source, reply), "diff"
        else:
            source, kind = _code(reply), "rewrite"
    except ExtractionError as error:
        return Extraction(None, reason=str(error), rationale=rationale)
    repaired, repairs = repair(source)
    return Extraction(repaired, rationale=rationale, repairs=repairs, kind=kind)


def apply_diff(parent_source: str, reply: str) -> str:
    source = parent_source
    for search, replace in _DIFF.findall(reply):
        if search not in source:
            stripped = search.strip()
            if not stripped or stripped not in source:
                raise ExtractionError("a SEARCH block does not match the parent's source")
            search = stripped
            replace = replace.strip()
        source = source.replace(search, replace, 1)
    return source


def _code(reply: str) -> str:
    """A fenced block, else the reply's text from its first line starting `def`, if it parses.

    Prose that merely quotes `def activation_function(x):` inside a sentence is no
    code: sending it to the sandbox would score the prose as a syntax error.
    """
    blocks = [block for block in _FENCE.findall(reply) if block.strip()]
    with_function = [block for block in blocks if _DEF.search(block)]
    if with_function:
        return with_function[-1].strip() + "\n"
    if blocks:
        return blocks[-1].strip() + "\n"
    start = _DEF.search(reply)
    if start is None:
        raise ExtractionError("the reply contains no code")
    header = reply[: start.start()]
    imports = [line for line in header.splitlines() if line.startswith(("import ", "from "))]
    source = "\n".join([*imports, reply[start.start() :].strip()]) + "\n"
    try:
        ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise ExtractionError("the reply has no code block and its text is not Python") from None
    return source


def _rationale(reply: str) -> str:
    match = _RATIONALE.search(reply)
    return match.group(1).strip()[:500] if match else ""


_JNP_IMPORT = "import jax.numpy as jnp"
_REPAIRS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (
        "numpy import",
        re.compile(r"^import numpy as np\s*$", re.MULTILINE),
        "import jax.numpy as jnp",
    ),
    ("numpy alias", re.compile(r"(?<![\w.])np\."), "jnp."),
    ("torch alias", re.compile(r"(?<![\w.])torch\."), "jnp."),
    ("math on arrays", re.compile(r"(?<![\w.])math\.(exp|sin|cos|tanh|log|sqrt)\("), r"jnp.\1("),
    ("sigmoid", re.compile(r"(?<![\w.])jnp\.sigmoid\("), "jax.nn.sigmoid("),
    ("erf", re.compile(r"(?<![\w.])jnp\.erf\("), "jax.scipy.special.erf("),
)


def repair_slips(text: str) -> tuple[str, tuple[str, ...]]:
    """Only the textual slips (numpy, torch or math for jax.numpy...), for a fragment of code."""
    applied = []
    for name, pattern, replacement in _REPAIRS:
        text, count = pattern.subn(replacement, text)
        if count:
            applied.append(name)
    return text, tuple(applied)


def repair(source: str) -> tuple[str, tuple[str, ...]]:
    """Fix the slips small models make; return the source and the names of the fixes."""
    source, slips = repair_slips(source)
    applied = list(slips)
    names = _DEF.findall(source)
    if names and FUNCTION_NAME not in names:
        wrong = re.compile(rf"^def\s+{re.escape(names[-1])}\s*\(", re.MULTILINE)
        source = wrong.sub(f"def {FUNCTION_NAME}(", source)
        applied.append("function name")
    code = "\n".join(
        line for line in source.splitlines() if not line.lstrip().startswith(("import", "from"))
    )
    for alias, statement in (("jnp", _JNP_IMPORT), ("jax", "import jax")):
        needed = re.search(rf"(?<![\w.]){alias}\.", code)
        imported = re.search(rf"^\s*{re.escape(statement)}\s*$", source, re.MULTILINE)
        if needed and not imported:
            source = f"{statement}\n{source}"
            applied.append(f"{alias} import")
    return source, tuple(applied)
