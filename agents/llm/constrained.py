"""Constrained decoding: logits processors that keep a small model to one usable line.

A line may use only allowed characters and known names, must name `x`, nests parentheses
at most a few deep, may not end as a copy of a prompt line, and stops at its line break.
Each rule is a `transformers` logits processor (or stopping criterion) over torch tensors.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from actgym.agents.expressions import Names


class OneLine:
    """A logits processor: only allowed tokens, and no line break as the first token."""

    def __init__(self, allowed: Any, newlines: Any, prompt_length: int) -> None:
        self.allowed, self.newlines, self.prompt_length = allowed, newlines, prompt_length

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        started = input_ids.shape[1] > self.prompt_length
        mask = self.allowed if started else self.allowed & ~self.newlines
        return scores.masked_fill(~mask, float("-inf"))


class Lines:
    """The line each row is writing: its prompt's last line, then what it generated."""

    def __init__(self, decode: Any, prompts: Sequence[str], prompt_length: int) -> None:
        self.decode, self.prompt_length = decode, prompt_length
        self.starts = [prompt.rsplit("\n", 1)[-1] for prompt in prompts]
        self._ids: Any = None
        self._written: list[str] = []

    def __call__(self, input_ids: Any) -> list[str]:
        return [
            start + written
            for start, written in zip(self.starts, self.written(input_ids), strict=True)
        ]

    def written(self, input_ids: Any) -> list[str]:
        """What each row generated (decoded once per step: a step's rules get one tensor)."""
        if input_ids is not self._ids:
            self._ids = input_ids
            self._written = [
                self.decode(ids[self.prompt_length :], skip_special_tokens=True)
                for ids in input_ids
            ]
        return self._written


class NoCopiedLine:
    """A logits processor: a completed line may not equal a line of its prompt (spaces
    aside), so a small model cannot end by copying an example; it must go on or differ."""

    def __init__(
        self, lines: Lines, prompts: Sequence[str], line_ends: dict[str, list[int]]
    ) -> None:
        self.lines, self.line_ends = lines, line_ends
        self.copies = [{squeezed(line) for line in prompt.splitlines()} for prompt in prompts]

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, (written, copies) in enumerate(
            zip(self.lines(input_ids), self.copies, strict=True)
        ):
            line = squeezed(written)
            for copy in copies:
                if copy.startswith(line):
                    scores[row, self.line_ends.get(copy[len(line) :], [])] = float("-inf")
        return scores


# What decides which names may follow: the line's last name or number, and a `(` after it.
_NAME_TAIL = re.compile(r"(?<![\w.])[\w.]*[ ]*\(?[ ]*$")
_DIGITS = re.compile(r"(?<![A-Za-z_\d])\d+")
_SPACES = re.compile(r" +")


def name_tail(written: str) -> str:
    """The part of a line the names rule depends on; numbers and runs of spaces alike
    give one tail, so the tails stay few."""
    tail = _NAME_TAIL.search(written).group()
    return _SPACES.sub(" ", _DIGITS.sub("0", tail))


class NameBans:
    """For a tail of a line (`name_tail`): a mask of the tokens that would write a name
    the line may not use there. Token texts keep their line break, which ends a name."""

    def __init__(self, names: Names, indices: list[int], texts: list[str], allowed: Any) -> None:
        self.names, self.indices, self.texts, self.allowed = names, indices, texts, allowed
        self.mask = functools.lru_cache(maxsize=1024)(self._mask)

    def _mask(self, tail: str) -> Any:
        banned = [
            index
            for index, text in zip(self.indices, self.texts, strict=True)
            if not self.names.accept(tail + text)
        ]
        mask = self.allowed.new_zeros(self.allowed.shape)
        mask[banned] = True
        return mask


class KnownNames:
    """A logits processor: every name a line writes is, or may become, a known one; at
    `depth` open parentheses only values are (a call could not open)."""

    def __init__(
        self, lines: Lines, bans: NameBans, deep_bans: NameBans | None, depth: int
    ) -> None:
        self.lines, self.bans, self.deep_bans, self.depth = lines, bans, deep_bans, depth

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, written in enumerate(self.lines.written(input_ids)):
            deep = self.deep_bans is not None and depth(written) >= self.depth
            bans = self.deep_bans if deep else self.bans
            scores[row] = scores[row].masked_fill(bans.mask(name_tail(written)), float("-inf"))
        return scores


def depth(written: str) -> int:
    return written.count("(") - written.count(")")


class Shallow:
    """A logits processor: no parenthesis opens at `depth` (a small model can go on
    nesting `jnp.tanh(` until it runs out of tokens)."""

    def __init__(self, lines: Lines, openers: Any, depth: int) -> None:
        self.lines, self.openers, self.depth = lines, openers, depth

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, written in enumerate(self.lines.written(input_ids)):
            if depth(written) >= self.depth:
                scores[row] = scores[row].masked_fill(self.openers, float("-inf"))
        return scores


class MustName:
    """A logits processor: no line break before the line names `name` (a small model's
    constant, `0.0`, is no activation function)."""

    def __init__(self, lines: Lines, newlines: Any, name: str) -> None:
        self.lines, self.newlines = lines, newlines
        self.pattern = re.compile(rf"\b{re.escape(name)}\b")

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for row, written in enumerate(self.lines(input_ids)):
            if not self.pattern.search(written):
                scores[row] = scores[row].masked_fill(self.newlines, float("-inf"))
        return scores


class NeverStuck:
    """A logits processor, the last: a row whose every token the rules banned may end its
    line (an unusable reply, rather than a failed batch)."""

    def __init__(self, newlines: Any) -> None:
        self.newlines = newlines

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        stuck = scores.isinf().all(dim=1)
        if stuck.any():
            scores[stuck] = scores[stuck].masked_fill(self.newlines, 0.0)
        return scores


def squeezed(text: str) -> str:
    return "".join(text.split())


class LineEnd:
    """A stopping criterion: a row is done once it has generated a line break."""

    def __init__(self, newlines: Any, prompt_length: int) -> None:
        self.newlines, self.prompt_length = newlines, prompt_length

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        return self.newlines[input_ids[:, self.prompt_length :]].any(dim=1)
