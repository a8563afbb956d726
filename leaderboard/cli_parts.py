"""What the `actgym leaderboard` commands share: the console, the options, their checks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from actgym.leaderboard.profiles import Profile
    from actgym.leaderboard.store import Store

    from actgym.config import EvaluationConfig
    from actgym.evaluator_protocol import EvaluatorProtocol

console = Console()

DEFAULT_DB = Path("leaderboard.db")

Db = Annotated[
    Path, typer.Option("--db", envvar="ACTGYM_LEADERBOARD_DB", help="The leaderboard's SQLite file")
]
ProfileName = Annotated[
    str, typer.Option("--profile", help="Evaluation profile: official, fast or smoke")
]
AllowMissingLayer = Annotated[
    list[str] | None,
    typer.Option(
        "--allow-missing-layer",
        help="Verify even where this OS confinement layer is missing (repeatable; "
        "python -m actgym.candidate.confinement shows them)",
    ),
]
SecretFile = Annotated[
    Path | None,
    typer.Option(help="File holding the hidden-seed secret (default: <db>.secret, created)"),
]


def required_layers(allowed: list[str] | None) -> frozenset[str]:
    """Every confinement layer but those the operator explicitly allows to be missing."""
    from actgym.candidate.confinement import ALL_LAYERS, check_layer_names

    try:
        check_layer_names(frozenset(allowed or ()))
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--allow-missing-layer") from None
    return ALL_LAYERS - frozenset(allowed or ())


def opened_store(db: Path) -> Store:
    """The leaderboard in `db`, or a usage error saying why the file is not one."""
    from actgym.leaderboard.schema import LeaderboardFileError
    from actgym.leaderboard.store import Store

    try:
        return Store(db)
    except LeaderboardFileError as error:
        raise typer.BadParameter(str(error), param_hint="--db") from None


def checked_profile(name: str) -> Profile:
    """The profile called `name`, or a usage error naming the ones there are."""
    from actgym.leaderboard.profiles import get_profile

    try:
        return get_profile(name)
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None


def ray_evaluators(
    address: str, required: frozenset[str], evaluators: int
) -> Callable[[EvaluationConfig], EvaluatorProtocol]:
    """RayEvaluators that share the cluster's CPUs evenly and keep the strict sandbox."""
    from actgym.ray_evaluation import RayEvaluator

    def build(config: EvaluationConfig) -> EvaluatorProtocol:
        return RayEvaluator(
            config,
            address=None if address == "local" else address,
            cluster_share=1 / evaluators,
            required_layers=required,
        )

    return build
