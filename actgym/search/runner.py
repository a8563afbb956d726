"""Start or resume a search in a directory: check the config, build the pieces, run the loop.

A directory holds one run. Starting a fresh run where one exists, resuming where none
does, or resuming under a different config (other than a larger budget, which extends
the run) are refused with a message that says why;
package versions that changed since the run started only warn (each row records its own).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape

from actgym.agent import Agent, AgentContext, Evaluation, History, TaskInfo
from actgym.agents_registry import load_agent
from actgym.briefing import describe_task
from actgym.candidate.untrusted_text import sanitise
from actgym.evaluation import EvaluationConfig
from actgym.fidelity import FIDELITIES, FULL, Fidelity
from actgym.search.backends import Backend, ByFidelity, make_backend, ray_backends
from actgym.search.cascade import Cascade
from actgym.search.config import SearchConfig, resolve
from actgym.search.loop import AgentError, SearchLoop
from actgym.search.progress import SearchProgress
from actgym.search.records import package_versions, to_evaluations
from actgym.search.store import FILENAME, UNUSABLE, RunStore, StoreError, now, to_json
from actgym.search.stored_trust import refuse_untrusted
from actgym.versions import ENV_VERSION, SCORING_VERSION

BackendFactory = Callable[[EvaluationConfig, int], Backend]


@dataclass(frozen=True)
class SearchResult:
    directory: Path
    config: SearchConfig
    completed: int
    stopped_early: bool  # the agent proposed nothing before the budget was spent
    best: Evaluation | None
    duplicates: int = 0  # behavioural duplicates among `completed`, not charged
    unusable: int = 0  # proposals without code among `completed`, recorded unevaluated
    screened: int = 0  # low-fidelity evaluations among `completed`, charged 0.25 each
    spent: float = 0.0  # the budget charged, in full evaluations


def run_search(
    directory: Path | str,
    given: Mapping[str, Any],
    *,
    resume: bool = False,
    workers: int = 1,
    show_progress: bool = True,
    console: Console | None = None,
    backend_factory: BackendFactory = make_backend,
    ray: str | None = None,
    trust_store: bool = False,
) -> SearchResult:
    """Run (or resume, with `resume=True`) the search `given` describes in `directory`.

    What `actgym search` does: build the agent, evaluate its proposals until the budget
    is spent or it proposes nothing, and write every result to the run store
    (`directory/run.sqlite`) as it completes. A killed run resumes to exactly its budget.

    Args:
        directory: the run's directory; it holds one run.
        given: SearchConfig keys (`agent`, `env`, `budget`, `seed`, `proposals_per_call`,
            `agent_options`, and the evaluation's `evaluation`, `fast`, `num_instances`,
            `task_seed` and `trainer`); missing keys take their defaults, or, when
            resuming, the stored run's values (resuming, only a larger `budget` may
            differ from them: it extends the run).
        resume: continue the run in `directory` instead of starting a fresh one.
        workers: evaluation processes (1: evaluate in this process).
        show_progress: show the live progress bar.
        console: where progress and warnings go; default a new rich Console.
        backend_factory: `backend_factory(config.evaluation, workers)` builds what
            evaluates candidates (tests pass a fake).
        ray: evaluate on a Ray cluster instead (`RayEvaluator`): "local" starts Ray
            here, "auto" joins this node's cluster, else the cluster's address.
        trust_store: resuming, use the stored agent and its options as they are, even a
            direct reference or an endpoint not given again (actgym.search.stored_trust).

    Returns:
        A `SearchResult` (its fields say what the run did: evaluations, best, duplicates).

    Raises:
        StoreError: a fresh run where one exists, a resume where none does, a run
            scored under another scoring version, or another process driving the run.
        ConfigError: a malformed config, one that differs from the run it resumes
            (other than a larger budget), or a stored agent or agent option that reaches
            outside the run and was not given again (without `trust_store`).
        UnknownAgentError: `agent` names no known agent.
        AgentError: the agent could not start or broke the contract.

    Example:
        from actgym import run_search

        config = {"agent": "random", "env": "ActSearch-Harmonics-v0", "budget": 24, "fast": True}
        result = run_search("runs/demo", config)
        print(result.completed, result.best.reward if result.best else None)
    """
    directory = Path(directory)
    console = console or Console()
    agent_class = _refuse_before_opening(directory, given, resume)
    with RunStore(directory, writer=True) as store:
        config = _config(store, given, resume, console, trust_store)
        agent = _agent(agent_class or load_agent(config.agent), config, directory)
        versions = package_versions()
        if store.run() is None:
            store.create_run(_run_row(config, versions))
        session = store.start_session(workers, versions)
        constants = _constants(config, versions, session)
        try:
            with closing(_backends(config.evaluation, workers, ray, backend_factory)) as backends:
                finished = _loop(store, config, agent, backends, constants, console, show_progress)
        finally:
            agent.close()
        store.mark_finished()
        evaluations = to_evaluations(store.evaluations())
        duplicates, spent = store.duplicate_count(), store.spent()
    return SearchResult(
        directory,
        config,
        len(evaluations),
        not finished,
        History(evaluations).best(),
        duplicates,
        sum(evaluation.status == UNUSABLE for evaluation in evaluations),
        sum(evaluation.fidelity != FULL.name for evaluation in evaluations),
        spent,
    )


def _backends(
    config: EvaluationConfig, workers: int, ray: str | None, factory: BackendFactory
) -> ByFidelity:
    """What evaluates at each fidelity: the factory's backend, or Ray's actors."""
    if ray is not None:
        return ray_backends(config, ray)
    return ByFidelity(config, lambda cut: factory(cut, workers))


def _loop(
    store: RunStore,
    config: SearchConfig,
    agent: Agent,
    backends: ByFidelity,
    constants: Mapping[str, Mapping[str, Any]],
    console: Console,
    show_progress: bool,
) -> bool:
    best = History(to_evaluations(store.evaluations())).best()
    with SearchProgress(
        console, config.budget, store.spent(), best.reward if best else None, show_progress
    ) as progress:
        loop = SearchLoop(
            store,
            agent,
            backends,
            budget=config.budget,
            proposals_per_call=config.proposals_per_call,
            session=constants["full"]["session"],
            constants=constants,
            progress=progress,
        )
        return loop.run()


def _refuse_before_opening(
    directory: Path, given: Mapping[str, Any], resume: bool
) -> type[Agent] | None:
    """Refuse what is refusable without the store, so a refused run writes no files.

    Returns a fresh run's agent class (loaded once: a file agent's module runs on load).
    """
    if resume:
        if not (directory / FILENAME).exists():
            raise StoreError(f"nothing to resume: {directory} holds no run")
        return None
    return load_agent(resolve(given, None).agent)


def _config(
    store: RunStore, given: Mapping[str, Any], resume: bool, console: Console, trust_store: bool
) -> SearchConfig:
    run = store.run()
    if run is not None and not resume:
        raise StoreError(
            f"{store.directory} already holds a run ({run['agent']} on {run['env_id']}, "
            f"{store.count()}/{run['budget']} evaluations); pass --resume to continue it "
            "or choose another --out"
        )
    if run is None and resume:
        raise StoreError(f"nothing to resume: {store.directory} holds no run")
    if run is None:
        return resolve(given, None)
    _refuse_other_scoring_versions(store)
    _warn_on_new_versions(json.loads(run["versions"]), console)
    config = resolve(given, json.loads(run["config"]))
    if not trust_store:
        refuse_untrusted(config, given)
    if config.budget != run["budget"]:
        store.extend_budget(config.budget, config.to_json())
        console.print(f"budget extended from {run['budget']} to {config.budget} evaluations")
    return config


def _refuse_other_scoring_versions(store: RunStore) -> None:
    """A run's rewards are comparable only under one scoring version."""
    stored = sorted({row["scoring_version"] for row in store.evaluations()} - {SCORING_VERSION})
    if stored:
        raise StoreError(
            f"{store.directory} was scored under scoring version {', '.join(stored)}; this "
            f"actgym scores with version {SCORING_VERSION} and a run never mixes versions. "
            "Start a new run with another --out (actgym report still reads this one)."
        )


def _warn_on_new_versions(started: Mapping[str, str], console: Console) -> None:
    current = package_versions()
    changed = [
        f"{name} {started.get(name)} -> {now_version}"
        for name, now_version in current.items()
        if started.get(name) != now_version
    ]
    if changed:
        console.print(
            f"[yellow]warning:[/] package versions changed since the run started "
            f"({escape(sanitise(', '.join(changed), 1_000))}); each row records the versions "
            "that scored it"
        )


def _agent(
    agent_class: type[Agent],
    config: SearchConfig,
    directory: Path,
) -> Agent:
    context = _context(config, directory)
    try:
        if config.cascade is not None:
            return Cascade(context, agent_class, config.cascade)
        return agent_class(context)
    except (ValueError, TypeError, KeyError) as error:
        raise AgentError(f"agent {config.agent!r} cannot start: {error}") from error


def _context(config: SearchConfig, directory: Path) -> AgentContext:
    task = TaskInfo(
        env_id=config.env,
        task=config.task,
        families=config.families,
        description=describe_task(config.task, config.evaluation),
    )
    return AgentContext(
        task=task,
        rng=np.random.default_rng(config.seed),
        budget=config.budget,
        seed=config.seed,
        proposals_per_call=config.proposals_per_call,
        options=dict(config.agent_options),
        run_dir=directory,
    )


def _run_row(config: SearchConfig, versions: Mapping[str, str]) -> dict[str, Any]:
    return {
        "agent": config.agent,
        "env_id": config.env,
        "seed": config.seed,
        "budget": config.budget,
        "config": config.to_json(),
        "evaluation_config": to_json(dataclasses.asdict(config.evaluation)),
        "fingerprint": config.evaluation.fingerprint(),
        "versions": to_json(versions),
        "created_at": now(),
    }


def _constants(
    config: SearchConfig, versions: Mapping[str, str], session: int
) -> dict[str, dict[str, Any]]:
    """Per fidelity, the columns every evaluation row of this session at it shares."""
    return {
        name: _fidelity_constants(config, cut, versions, session)
        for name, cut in FIDELITIES.items()
    }


def _fidelity_constants(
    config: SearchConfig, fidelity: Fidelity, versions: Mapping[str, str], session: int
) -> dict[str, Any]:
    evaluation = fidelity.applied(config.evaluation)
    return {
        "agent": config.agent,
        "env_id": config.env,
        "env_version": ENV_VERSION,
        "scoring_version": SCORING_VERSION,
        "fingerprint": evaluation.fingerprint(),
        "seed": config.seed,
        "task_seed": evaluation.task_seed,
        "trainer_seeds": to_json(list(evaluation.trainer.seeds)),
        "versions": to_json(versions),
        "session": session,
    }
