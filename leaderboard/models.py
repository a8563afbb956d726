"""What a submission may contain, checked the same way for the JSON API, the form and the CLI.

There is no score field: the leaderboard computes every number itself, and a request that
claims one (`score`, `reward`, ...) is refused with a message saying so, rather than the
number being silently dropped. Every other unknown field is refused too. On a server the
author is the name of the submitter's token, never a field; only local submissions (and a
server with open submissions, for development) name their author.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, ClassVar

from actgym.leaderboard.author_names import refuse_reference_author
from actgym.leaderboard.records import NewSubmission
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    StringConstraints,
    TypeAdapter,
    model_validator,
)
from pydantic_core import ErrorDetails

from actgym.candidate.limits import MAX_SOURCE_CHARS
from actgym.candidate.untrusted_text import hides_code

SCORE_FIELDS = frozenset(
    {"score", "scores", "reward", "rank", "iqm", "loss", "losses", "ood_loss", "results"}
)


def _printable(value: str) -> str:
    if not value.isprintable():
        raise ValueError("must be one line of printable characters")
    return value


def _printable_lines(value: str) -> str:
    if not value.replace("\n", "").replace("\r", "").replace("\t", "").isprintable():
        raise ValueError("must be printable text")
    return value


def _no_hidden_characters(value: str) -> str:
    """Refuse control and format characters in a source but line breaks and tabs: a
    bidirectional override (U+202E, U+2066: Trojan Source) makes a page show other code
    than what runs, and an activation function never needs one."""
    for number, line in enumerate(value.splitlines(), start=1):
        for char in line:
            if hides_code(char):
                name = unicodedata.name(char, "a control character")
                raise ValueError(
                    f"line {number} holds U+{ord(char):04X} ({name}), which can make the code "
                    "display differently from how it runs; remove it"
                )
    return value


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=80),
    AfterValidator(_printable),
]
Detail = Annotated[
    Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=200), AfterValidator(_printable)
    ]
    | None,
    BeforeValidator(_blank_to_none),
]


class SubmissionIn(BaseModel):
    """A submission request: the source of `activation_function` and how it was found."""

    model_config = ConfigDict(extra="forbid")
    author_is_a_field: ClassVar[bool] = False

    name: Label
    source: Annotated[
        str,
        StringConstraints(min_length=1, max_length=MAX_SOURCE_CHARS),
        AfterValidator(_no_hidden_characters),
    ]
    description: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=2000),
        AfterValidator(_printable_lines),
    ] = ""
    agent: Detail = None
    model: Detail = None
    run: Detail = None

    @model_validator(mode="before")
    @classmethod
    def _refuse_scores(cls, data: Any) -> Any:
        claimed = sorted(SCORE_FIELDS & set(data)) if isinstance(data, dict) else []
        if claimed:
            raise ValueError(
                f"Submissions carry no score: the leaderboard computes every score itself; "
                f"remove {', '.join(claimed)}."
            )
        if isinstance(data, dict) and "author" in data and not cls.author_is_a_field:
            raise ValueError("The author is the name of your token, not a field; remove author.")
        return data

    def new_submission(self, author: str) -> NewSubmission:
        return NewSubmission(**{**self.model_dump(), "author": author})


def _not_the_reference_author(value: str) -> str:
    refuse_reference_author(value)
    return value


class OpenSubmissionIn(SubmissionIn):
    """A submission that names its author: local `submit --db`, or a development server."""

    author_is_a_field: ClassVar[bool] = True

    author: Annotated[Label, AfterValidator(_not_the_reference_author)]


AUTHOR_NAME: TypeAdapter[str] = TypeAdapter(Label)
"""Checks a token's author name by the same rule as a submission's."""


def describe_errors(errors: list[ErrorDetails] | list[dict[str, Any]]) -> str:
    """One readable line per problem: `field: what is wrong`."""
    lines = []
    for error in errors:
        if error.get("type") == "json_invalid":
            lines.append("the request body is not valid JSON")
            continue
        location = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        lines.append(f"{location}: {message}" if location else message)
    return "; ".join(lines)
