"""`actgym leaderboard`: submit, verify, requeue, serve, build and export a leaderboard.

Every command works on a local SQLite file (--db); `submit --url` sends to a server
instead, with an author token that `token add` issues. A local submit names its own
author and needs no token: it writes to a database file the user already controls.
JAX, FastAPI and the rest load inside the commands, so `actgym --help` stays fast and
works without the `leaderboard` extra installed.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from actgym.leaderboard.cli_parts import (
    DEFAULT_DB,
    AllowMissingLayer,
    Db,
    ProfileName,
    SecretFile,
    checked_profile,
    console,
    opened_store,
    ray_evaluators,
    required_layers,
)
from actgym.leaderboard.token_commands import token_app
from rich import box
from rich.markup import escape
from rich.table import Table

if TYPE_CHECKING:
    from actgym.leaderboard.models import SubmissionIn
    from actgym.leaderboard.profiles import Profile
    from actgym.leaderboard.records import Claim
    from actgym.leaderboard.store import Store
    from actgym.leaderboard.verifier import Verifier

    from actgym.transfer.downstream import TransferConfig

SubmissionInT = TypeVar("SubmissionInT", bound="SubmissionIn")

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    help="Submit, verify, serve, build and export the leaderboard (docs/leaderboard.md).",
)
app.add_typer(token_app, name="token")


@app.command()
def submit(
    source_file: Annotated[Path, typer.Argument(help="Python file defining activation_function")],
    name: Annotated[str, typer.Option(help="A name for the function")],
    author: Annotated[
        str | None, typer.Option(help="Who submits it (local only: a server uses the token's)")
    ] = None,
    description: Annotated[str, typer.Option(help="What it is")] = "",
    agent: Annotated[str | None, typer.Option(help="The agent that found it")] = None,
    model: Annotated[str | None, typer.Option(help="The model behind the agent")] = None,
    run: Annotated[str | None, typer.Option(help="The run that found it (id or URL)")] = None,
    db: Db = DEFAULT_DB,
    url: Annotated[str | None, typer.Option(help="Send to this server instead of --db")] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="ACTGYM_LEADERBOARD_TOKEN", help="Your author token (with --url)"),
    ] = None,
    profile: ProfileName = "official",
    allow_missing_layer: AllowMissingLayer = None,
) -> None:
    """Queue a function for verification; it is scored by the verifier, never by you.

    A function the board already has (the same canonical program, under any name or
    formatting) is not queued: it is named as a duplicate in yellow and the exit status
    is 1, as for every submission that was not queued.
    """
    from actgym.leaderboard.models import OpenSubmissionIn, SubmissionIn

    try:
        source = source_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise typer.BadParameter(f"cannot read {source_file}: {error}") from None
    fields = {"name": name, "description": description, "source": source}
    payload = {**fields, "agent": agent, "model": model, "run": run}
    if url is not None:
        if author is not None:
            raise typer.BadParameter("a server names you by your token; drop --author")
        if not token:
            raise typer.BadParameter(
                "submitting to a server needs --token (or $ACTGYM_LEADERBOARD_TOKEN)"
            )
        _submit_remote(url, token, _validated(SubmissionIn, payload).model_dump())
        return
    if author is None:
        raise typer.BadParameter("a local submission (--db) needs --author")
    from actgym.leaderboard import duplicates
    from actgym.leaderboard.profiles import env_version
    from actgym.leaderboard.records import Board
    from actgym.leaderboard.submissions import Duplicate

    body = _validated(OpenSubmissionIn, {**payload, "author": author})
    chosen = checked_profile(profile)
    store = opened_store(db)
    identifier = duplicates.FunctionIdentifier(
        chosen, required_layers=required_layers(allow_missing_layer)
    )
    try:
        board = Board(env_version(), chosen.name)
        submission_id, refused = duplicates.submit(
            store, board, identifier, body.new_submission(body.author)
        )
    except Duplicate as duplicate:
        _print_duplicate(str(duplicate))
        raise typer.Exit(code=1) from None
    finally:
        identifier.close()
    if refused is not None:
        console.print(
            f"[yellow]Not checked for duplicates here[/yellow]: {escape(refused.describe())} "
            "It is queued; the verifier records what it finds.",
            highlight=False,
            soft_wrap=True,
        )
    elif not store.submissions.owns_a_function(board, submission_id):
        console.print(
            "[yellow]Not checked for duplicates here[/yellow]: the references' functions "
            "could not all be identified on this machine. It is queued; the verifier "
            "checks it against them.",
            highlight=False,
            soft_wrap=True,
        )
    console.print(
        f"Submitted #{submission_id} to {db} (pending). "
        f"Score it with: actgym leaderboard verify --db {db}"
    )


def _print_duplicate(detail: str) -> None:
    console.print(
        f"[yellow]{escape(detail)}[/yellow]: the board has this function already; "
        "nothing was queued.",
        highlight=False,
        soft_wrap=True,
    )


def _validated(model: type[SubmissionInT], payload: dict[str, Any]) -> SubmissionInT:
    from actgym.leaderboard.models import describe_errors
    from pydantic import ValidationError

    try:
        return model.model_validate(payload)
    except ValidationError as error:
        raise typer.BadParameter(describe_errors(error.errors())) from None


def _submit_remote(url: str, token: str, payload: dict[str, Any]) -> None:
    import httpx

    try:
        response = httpx.post(
            f"{url.rstrip('/')}/api/submissions",
            json=payload,
            headers={"Authorization": f"Bearer {token}"},
            timeout=60.0,
        )
    except httpx.HTTPError as error:
        console.print(f"[red]could not reach {url}[/red]: {error}")
        raise typer.Exit(code=1) from None
    if response.status_code == 409:
        _print_duplicate(_detail(response))
        raise typer.Exit(code=1)
    if response.status_code != 202:
        console.print(f"[red]{response.status_code}[/red]: {_detail(response)}")
        raise typer.Exit(code=1)
    created = response.json()
    console.print(f"Submitted #{created['id']} (pending): {url.rstrip('/')}{created['url']}")


def _detail(response: Any) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text


@app.command()
def verify(
    db: Db = DEFAULT_DB,
    profile: ProfileName = "official",
    secret_file: SecretFile = None,
    allow_missing_layer: AllowMissingLayer = None,
    transfer: Annotated[
        bool,
        typer.Option(
            help="Also run the downstream transfer tasks (hidden data seed; shown, not ranked)"
        ),
    ] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Train on Ray ('local' starts it here, 'auto' joins this node's cluster); "
            "its nodes then receive the hidden task seeds",
        ),
    ] = None,
) -> None:
    """Drain the queue: verify every pending submission (and resume interrupted ones), then exit."""
    from actgym.leaderboard.profiles import env_version
    from actgym.leaderboard.seeds import load_secret
    from actgym.leaderboard.verifier import ConfinementMissing, Scorer, VerificationPaused, Verifier

    from actgym.hardening import make_undumpable

    chosen = checked_profile(profile)
    required = required_layers(allow_missing_layer)
    version = env_version()
    store = opened_store(db)
    make_undumpable()  # it is about to hold the hidden-seed secret
    secret = load_secret(db, secret_file)
    scorer = Scorer.from_secret(
        chosen,
        secret,
        version,
        required_layers=required,
        transfer=_transfer_config(chosen, transfer),
        remote=None if ray is None else ray_evaluators(ray, required, 1 + chosen.hidden_seeds),
    )
    verifier = Verifier(store, scorer, version)
    try:
        resumed = verifier.resume()
        verified = _drain_with_progress(verifier, chosen)
    except VerificationPaused as error:
        console.print(
            f"[red]verification paused[/red]: {escape(str(error))}", highlight=False, soft_wrap=True
        )
        if isinstance(error, ConfinementMissing):
            console.print("The queue is unchanged; see --allow-missing-layer in --help.")
        else:
            console.print("The submission in hand went back to the queue; run verify again.")
        raise typer.Exit(code=1) from None
    finally:
        scorer.close()
    console.print(f"Resumed {resumed}, verified {verified} on {version} ({chosen.name}).")


def _transfer_config(profile: Profile, on: bool) -> TransferConfig | None:
    """Default downstream task settings on the official profile, the fast ones elsewhere."""
    from actgym.transfer.downstream import TransferConfig

    if not on:
        return None
    return TransferConfig() if profile.name == "official" else TransferConfig.fast()


def _drain_with_progress(verifier: Verifier, profile: Profile) -> int:
    """Verify until the queue is empty, saying what runs and how each ended: a first
    run scores the references for many minutes before any submission."""
    from actgym.leaderboard.verification_queue import DUPLICATE

    store, board = verifier.store, verifier.board
    waiting = store.queue.waiting(board)
    references = sum(1 for row in waiting if row["reference"] is not None)
    if references:
        console.print(
            f"Scoring the {references} reference activations first: once per board "
            f"(version, profile {profile.name}); every score is normalised by them.",
            highlight=False,
        )
    if not waiting:
        console.print("The queue is empty.")
    names = {row["id"]: row["name"] for row in waiting}
    total, count, started = len(waiting), 0, 0.0

    def announce(claim: Claim) -> None:
        nonlocal count, total, started
        count += 1
        total = max(total, count)
        started = time.monotonic()
        name = names.get(claim.submission_id) or _name(store, claim.submission_id)
        console.print(
            f"verifying #{claim.submission_id} {escape(name)} ({count} of {total})...",
            highlight=False,
            soft_wrap=True,
        )

    while (submission_id := verifier.step(announce)) is not None:
        row = store.queue.verification(board, submission_id)
        if row["state"] == "pending":
            console.print(f"  #{submission_id} the verifier failed; it is queued again")
            continue
        colour = {"done": "green", "failed": "red"}.get(row["state"], "yellow")
        if row["reason"] == DUPLICATE:
            colour = "yellow"
        console.print(
            f"  #{submission_id} [{colour}]{row['state']}[/{colour}] ({row['reason']}) "
            f"in {_duration(time.monotonic() - started)}",
            highlight=False,
        )
    return count


def _name(store: Store, submission_id: int) -> str:
    submission = store.submissions.get(submission_id)
    return str(submission["name"]) if submission else "?"


def _duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m {rest:02d}s" if minutes else f"{seconds:.1f}s"


@app.command()
def requeue(
    submission_ids: Annotated[
        list[int] | None, typer.Argument(help="Failed submissions to verify again")
    ] = None,
    failed_infrastructure: Annotated[
        bool,
        typer.Option(
            "--failed-infrastructure",
            help="Every submission whose failure the machine may have caused "
            "(process_died, worker_crashed, internal_error, verifier_crashed)",
        ),
    ] = False,
    db: Db = DEFAULT_DB,
    profile: ProfileName = "official",
) -> None:
    """Queue failed verifications again, from scratch; the next verify scores them."""
    from actgym.leaderboard.profiles import env_version
    from actgym.leaderboard.records import Board
    from actgym.leaderboard.verification_queue import MACHINE_FAILURES

    if not submission_ids and not failed_infrastructure:
        raise typer.BadParameter("name submissions, or pass --failed-infrastructure")
    store = opened_store(db)
    board = Board(env_version(), checked_profile(profile).name)
    wanted = list(submission_ids or [])
    if failed_infrastructure:
        wanted += [row["id"] for row in store.queue.failed(board, MACHINE_FAILURES)]
    requeued = store.queue.requeue(board, sorted(set(wanted)))
    for submission_id in sorted(set(wanted) - set(requeued)):
        state = store.queue.verification(board, submission_id)["state"]
        known = store.submissions.get(submission_id) is not None
        why = f"it is {state}, not failed" if known else "there is no such submission"
        console.print(f"[yellow]#{submission_id} not requeued[/yellow]: {why}.", highlight=False)
    listed = ", ".join(f"#{submission_id}" for submission_id in requeued) or "nothing"
    console.print(f"Requeued {listed} on {board.version} ({board.profile}).", highlight=False)
    if len(requeued) < len(set(wanted)):
        raise typer.Exit(code=1)


@app.command()
def serve(
    db: Db = DEFAULT_DB,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    profile: ProfileName = "official",
    verify: Annotated[bool, typer.Option(help="Verify on a background thread")] = True,
    rate_limit: Annotated[int, typer.Option(help="Submissions per author per window; 0: off")] = 10,
    rate_window: Annotated[float, typer.Option(help="Rate-limit window in seconds")] = 3600.0,
    max_body_bytes: Annotated[int, typer.Option(help="Largest accepted request body")] = 256 * 1024,
    secret_file: SecretFile = None,
    allow_missing_layer: AllowMissingLayer = None,
    api_docs: Annotated[
        bool, typer.Option(help="Serve /docs and /openapi.json (development only)")
    ] = False,
) -> None:
    """Serve the ranked table, submission pages, the form and the JSON API."""
    import uvicorn
    from actgym.leaderboard.app import Settings, create_app
    from actgym.leaderboard.rate_limit import RateLimit

    from actgym.hardening import make_undumpable

    settings = Settings(
        db=db,
        profile=checked_profile(profile),
        verify=verify,
        rate_limit=RateLimit(rate_limit, rate_window) if rate_limit > 0 else None,
        max_body_bytes=max_body_bytes,
        secret_file=secret_file,
        required_layers=required_layers(allow_missing_layer),
        api_docs=api_docs,
    )
    opened_store(db)  # a file that is no leaderboard: a usage error, not create_app's traceback
    if verify:
        make_undumpable()  # the verifier thread holds the hidden-seed secret
    uvicorn.run(create_app(settings), host=host, port=port)


@app.command()
def build(
    out: Annotated[Path, typer.Option(help="Directory to write the site into")],
    db: Db = DEFAULT_DB,
    profile: ProfileName = "official",
) -> None:
    """Write the leaderboard's pages as a static site."""
    from actgym.leaderboard.site import build_site

    written = build_site(opened_store(db), checked_profile(profile), out)
    console.print(f"Wrote {len(written)} files to {out}; open {out / 'index.html'}.")


@app.command()
def export(
    db: Db = DEFAULT_DB,
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
    profile: Annotated[str | None, typer.Option(help="Only this profile's board")] = None,
) -> None:
    """Export submissions, verifications, per-seed results and environments as JSON."""
    from actgym.leaderboard.profiles import env_version
    from actgym.leaderboard.records import Board

    board = Board(env_version(), checked_profile(profile).name) if profile else None
    text = json.dumps(opened_store(db).export(board), indent=1)
    if out is None:
        print(text)
    else:
        out.write_text(text, encoding="utf-8")
        console.print(f"Exported to {out}.")


SHOWN_LOCALITY = {"pointwise": "point", "feature-coupled": "coupled"}
LOCALITY_LEGEND = "loc.: point = pointwise, coupled = feature-coupled (measured by the probe)"
TRANSFER_LEGEND = (
    "vision, algori(thmic), struct(ure): transfer log-ratio to ReLU on a hidden data seed "
    "(verify --transfer; shown, not ranked; docs/transfer.md)"
)


@app.command()
def show(
    db: Db = DEFAULT_DB,
    profile: ProfileName = "official",
    locality: Annotated[
        str | None,
        typer.Option(help="Only entries of this locality: pointwise or feature-coupled"),
    ] = None,
) -> None:
    """Print the ranked table (ranks are on the whole board, also when filtered)."""
    from actgym.leaderboard import views
    from actgym.leaderboard.profiles import env_version
    from actgym.leaderboard.records import Board

    chosen = checked_profile(profile)
    ranking = views.leaderboard(opened_store(db), Board(env_version(), chosen.name), chosen)
    try:
        ranking = ranking.only(locality)
    except ValueError as error:
        raise typer.BadParameter(str(error), param_hint="--locality") from None
    only = f", {locality} only" if locality else ""
    table = Table(
        title=f"actgym leaderboard {ranking.version}, profile {chosen.name}{only}",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1, 0, 0),  # one space between columns leaves names room at 80 columns
    )
    # Numbers never wrap or shrink; names and authors wrap to fit 80 columns.
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("name", overflow="fold", ratio=3)
    table.add_column("author", overflow="fold", ratio=2)
    for numeric in ("score [95% CI]", "public", "avg rank", "gap"):
        table.add_column(numeric, justify="right", no_wrap=True)
    table.add_column("loc.", no_wrap=True)
    table.add_column("FLOPs", justify="right", no_wrap=True)
    tasks = views.transfer_tasks(ranking.entries)
    for task in tasks:
        table.add_column(task[:6], justify="right", no_wrap=True)
    for e in ranking.entries:
        table.add_row(
            str(e.rank),
            escape(e.name),
            escape(e.author),
            f"{e.score.value:+.2f} [{e.score.low:+.2f}, {e.score.high:+.2f}]",
            f"{e.public_score.value:+.2f}",
            f"{e.average_rank:.2f}",
            views.gap(e.gap_closed),
            SHOWN_LOCALITY.get(e.locality or "", "-"),
            views.flops(e.flops_per_element),
            *(views.transfer_cell(e.transfer, task) for task in tasks),
        )
    console.print(table)
    console.print(LOCALITY_LEGEND, highlight=False)
    if tasks:
        console.print(TRANSFER_LEGEND, highlight=False)
    if ranking.note:
        console.print(ranking.note)
