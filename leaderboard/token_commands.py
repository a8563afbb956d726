"""`actgym leaderboard token`: issue, list and revoke the author tokens a server requires.

A token is printed once, when issued; the database keeps only its salted hash
(actgym.leaderboard.tokens), so `list` shows names, ids and dates, never a token.
"""

from __future__ import annotations

import datetime
from typing import Annotated

import typer
from actgym.leaderboard.cli_parts import DEFAULT_DB, Db, console, opened_store
from rich.markup import escape
from rich.table import Table

token_app = typer.Typer(
    no_args_is_help=True,
    help="Issue, list and revoke author tokens: a server takes submissions only with one.",
)


@token_app.command("add")
def token_add(
    name: Annotated[str, typer.Argument(help="The author name the entries will show")],
    db: Db = DEFAULT_DB,
) -> None:
    """Issue a token for NAME and print it once: only a salted hash of it is stored."""
    from actgym.leaderboard.models import AUTHOR_NAME, describe_errors
    from pydantic import ValidationError

    try:
        author = AUTHOR_NAME.validate_python(name)
        token = opened_store(db).tokens.add(author)
    except ValidationError as error:
        raise typer.BadParameter(describe_errors(error.errors()), param_hint="NAME") from None
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="NAME") from None
    console.print(
        f"Token for {author!r}, shown this once (hand it over, keep no copy):", markup=False
    )
    print(token)


@token_app.command("list")
def token_list(db: Db = DEFAULT_DB) -> None:
    """Every token issued: its author name, id, and when it was issued or revoked."""
    table = Table(title=f"author tokens in {db}")
    for column in ("author", "token id", "issued", "revoked"):
        table.add_column(column)
    for row in opened_store(db).tokens.issued():
        revoked = row["revoked_at"]
        table.add_row(
            escape(row["name"]),
            row["token_id"],
            _utc(row["created_at"]),
            _utc(revoked) if revoked else "",
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Argument(help="The author whose token stops working")],
    db: Db = DEFAULT_DB,
) -> None:
    """Revoke NAME's token at once; `token add NAME` can issue a new one."""
    if not opened_store(db).tokens.revoke(name):
        console.print(f"[red]{escape(repr(name))} has no live token[/red]", highlight=False)
        raise typer.Exit(code=1)
    console.print(f"Revoked the token of {name!r}.", markup=False, highlight=False)


def _utc(timestamp: float) -> str:
    moment = datetime.datetime.fromtimestamp(timestamp, tz=datetime.UTC)
    return moment.strftime("%Y-%m-%d %H:%M UTC")
