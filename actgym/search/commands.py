"""`actgym search`, `report` and `export` (registered on the app in actgym/cli.py).

Options override the keys of `--config FILE`; on `--resume`, keys given neither way are
taken from the stored run. Heavy imports wait until a command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.text import Text

from actgym.candidate.untrusted_text import visible_code

if TYPE_CHECKING:
    from actgym.search.runner import SearchResult

console = Console()

CONFIG_HELP = "TOML or JSON file with these options' keys, plus trainer and agent_options tables"


def search(
    out: Annotated[
        Path | None, typer.Option(help="Run directory (holds run.sqlite and the report)")
    ] = None,
    agent: Annotated[str | None, typer.Option(help="Agent name (default: random)")] = None,
    env: Annotated[
        str | None, typer.Option(help="Environment id (default: ActSearch-Harmonics-v0)")
    ] = None,
    budget: Annotated[int | None, typer.Option(help="Evaluations (default: 100)")] = None,
    seed: Annotated[int | None, typer.Option(help="Agent seed (default: 0)")] = None,
    config: Annotated[Path | None, typer.Option(help=CONFIG_HELP)] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run stored in --out")
    ] = False,
    trust_store: Annotated[
        bool,
        typer.Option(
            "--trust-store",
            help="Resuming, use the stored agent and its endpoint options as they are "
            "(only for a run directory you wrote yourself)",
        ),
    ] = False,
    fast: Annotated[
        bool | None, typer.Option("--fast/--no-fast", help="Small trainer settings")
    ] = None,
    num_instances: Annotated[
        int | None, typer.Option(help="Task instances per family (default: all)")
    ] = None,
    proposals_per_call: Annotated[
        int | None, typer.Option(help="Proposals per agent call (default: 8)")
    ] = None,
    task_seed: Annotated[int | None, typer.Option(help="Task suite seed (default: 0)")] = None,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Evaluation processes (default: 1)")
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            metavar="ADDRESS",
            help="Evaluate on Ray: 'local' starts it here, 'auto' joins this node's cluster",
        ),
    ] = None,
    cascade: Annotated[
        bool,
        typer.Option(
            "--cascade",
            help="Screen every proposal at low fidelity (a quarter of the charge) and "
            "promote the best share to full fidelity",
        ),
    ] = False,
    promote: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, metavar="SHARE", help="The share --cascade promotes (default: 0.05)"
        ),
    ] = None,
    top: Annotated[int, typer.Option(min=1, help="Functions to plot in the report")] = 4,
    quiet: Annotated[
        bool, typer.Option("--quiet", help="Print only the final one-line summary")
    ] = False,
) -> None:
    """Run an agent against an environment; every evaluation lands in OUT/run.sqlite."""
    if promote is not None and not cascade:
        _fail(ValueError("--promote sets the share of --cascade: pass --cascade too"), code=2)
    options = {
        "agent": agent,
        "env": env,
        "budget": budget,
        "seed": seed,
        "fast": fast,
        "num_instances": num_instances,
        "proposals_per_call": proposals_per_call,
        "task_seed": task_seed,
        "out": out,
        "workers": workers,
        "ray": ray,
        "cascade": _cascade_share(promote) if cascade else None,
    }
    given = {key: value for key, value in options.items() if value is not None}
    out, result = _run(given, config, resume=resume, trust_store=trust_store, quiet=quiet)
    if quiet:
        from actgym.search.report import write_report

        write_report(out, top=top, console=Console(quiet=True))
    else:
        _report(out, top)
    console.print(_summary_line(result), soft_wrap=True)


def _cascade_share(promote: float | None) -> float:
    from actgym.search.cascade import DEFAULT_SHARE

    return DEFAULT_SHARE if promote is None else promote


def _run(
    options: dict[str, Any], config: Path | None, *, resume: bool, trust_store: bool, quiet: bool
) -> tuple[Path, SearchResult]:
    """Run the search the options over the config file describe; errors exit the CLI."""
    from actgym.agents_registry import UnknownAgentError
    from actgym.search import AgentError, ConfigError, StoreError, run_search
    from actgym.search.config import load_config_file

    created: Path | None = None
    out: Path | None = options.get("out")
    try:
        given = {**(load_config_file(config) if config else {}), **options}
        out, workers, ray = _run_settings(given)
        created = None if out.exists() else out
        if isinstance(given.get("env"), str):
            given["env"] = _env_id(given["env"])
        result = run_search(
            out,
            given,
            resume=resume,
            trust_store=trust_store,
            workers=workers,
            ray=ray,
            show_progress=not quiet,
            console=Console(quiet=True) if quiet else console,
        )
    except (ConfigError, StoreError, UnknownAgentError) as error:
        _remove_if_empty(created)
        _fail(error, code=2)
    except AgentError as error:
        _fail(error, code=1)
    except KeyboardInterrupt:
        console.print(f"[yellow]interrupted[/]: continue with `actgym search --out {out} --resume`")
        raise typer.Exit(code=130) from None
    return out, result


def report(
    directories: Annotated[
        list[Path], typer.Argument(help="Run directories written by actgym search")
    ],
    top: Annotated[int, typer.Option(min=1, help="Functions to plot")] = 4,
    out: Annotated[
        Path | None,
        typer.Option(help="With several runs: write comparison.json/.png/.svg here"),
    ] = None,
    usd_per_million_tokens: Annotated[
        tuple[float, float] | None,
        typer.Option(
            metavar="PROMPT COMPLETION",
            help="With several runs: also compare by dollars, at these prices per million tokens",
        ),
    ] = None,
) -> None:
    """Summarise a run (table, plots, best.py), or compare several runs by agent."""
    from actgym.search import StoreError

    try:
        if len(directories) == 1:
            _report(directories[0], top)
        else:
            _compare(directories, out, usd_per_million_tokens)
    except StoreError as error:
        _fail(error, code=2)


def _compare(directories: list[Path], out: Path | None, prices: tuple[float, float] | None) -> None:
    from actgym.search.compare import (
        compare,
        comparison_table,
        currencies,
        spending_table,
        write_comparison,
    )

    spent = currencies(prices)
    groups = compare(directories, spent)
    console.print(comparison_table(groups))
    console.print(spending_table(groups, spent))
    if out is not None:
        written = write_comparison(groups, out, spent)
        console.print("wrote " + ", ".join(path.name for path in written) + f" in {out}")


def export(
    directory: Annotated[Path, typer.Argument(help="A run directory written by actgym search")],
    out: Annotated[
        Path | None,
        typer.Option(help="JSON Lines file, '-' for stdout (default: RUN/trajectories.jsonl)"),
    ] = None,
) -> None:
    """Write the run's trajectories: one JSON line per evaluation (docs/agents.md)."""
    import sys

    from actgym.search import StoreError
    from actgym.search.export import read_trajectories, write_jsonl

    try:
        records = read_trajectories(directory)
    except StoreError as error:
        _fail(error, code=2)
    if out is not None and str(out) == "-":
        write_jsonl(records, sys.stdout)
        return
    target = out or directory / "trajectories.jsonl"
    with target.open("w", encoding="utf-8") as stream:
        count = write_jsonl(records, stream)
    console.print(f"wrote {count} evaluations to {target}")


def _run_settings(given: dict[str, Any]) -> tuple[Path, int, str | None]:
    """Take `out`, `workers` and `ray` (how to run, not what) out of the merged options."""
    from actgym.search import ConfigError

    out, workers, ray = given.pop("out", None), given.pop("workers", 1), given.pop("ray", None)
    if ray is not None and (not isinstance(ray, str) or not ray):
        raise ConfigError(f"ray must be 'local', 'auto' or a cluster address, got {ray!r}")
    if out is None:
        raise ConfigError("give the run directory with --out (or `out` in the config file)")
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be an int >= 1, got {workers!r}")
    return Path(out), workers, ray


def _remove_if_empty(directory: Path | None) -> None:
    """A refused search leaves no trace: drop the directory it made if nothing is in it."""
    if directory is not None and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()


def _summary_line(result: SearchResult) -> str:
    best = (
        f"best reward {result.best.reward:+.4f} (evaluation {result.best.id + 1})"
        if result.best
        else "no candidate accepted at full fidelity"
    )
    stopped = ", the agent stopped early" if result.stopped_early else ""
    counts = {"behavioural duplicates": result.duplicates, "unusable replies": result.unusable}
    free = ", ".join(f"{count} {what}" for what, count in counts.items() if count)
    free = f" ({free}, free)" if free else ""
    done = f"{result.completed}/{result.config.budget} evaluations"
    if result.screened:
        done = (
            f"{result.completed} evaluations ({result.screened} screened at low fidelity), "
            f"{result.spent:g}/{result.config.budget} charged"
        )
    return f"{done}{free}{stopped}; {best}; report in {result.directory}"


def _env_id(name: str) -> str:
    """The registered id `name` spells, ignoring case; an unknown name is left to refuse."""
    from actgym.tasks import ENV_IDS

    return next((known for known in ENV_IDS if known.lower() == name.lower()), name)


def _report(directory: Path, top: int) -> None:
    from actgym.search.report import write_report

    written = write_report(directory, top=top, console=console)
    console.print("wrote " + ", ".join(path.name for path in written.files) + f" in {directory}")


def _fail(error: Exception, *, code: int) -> NoReturn:
    """Print the error as plain text: it can quote a run store's contents."""
    console.print("[red]error:[/]", Text(visible_code(str(error))))
    raise typer.Exit(code=code)
