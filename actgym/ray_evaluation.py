"""Evaluation spread over a Ray cluster, with the same contract and results as `Evaluator`.

Each Ray actor owns one `Evaluator` (its sandbox, training processes and caches) and
receives whole candidate batches, so compilation is amortised as it is locally; an actor
trains on as many threads as the CPUs it reserves (`cpus_per_actor`). A batch whose actor
dies (its node was lost, or the actor crashed) is sent again to a surviving actor: every
result is deterministic, so a retry returns what the lost actor would have. Install with
`pip install 'actgym[ray]'`; docs/evaluation.md says how to run on a cluster.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from actgym.candidate.sandbox import Sandbox
from actgym.config import EvaluationConfig
from actgym.evaluation import Evaluator
from actgym.evaluator_protocol import Assessment
from actgym.result import EvaluationResult


class EvaluatorActor:
    """What one Ray actor runs: an Evaluator per config it is asked to score at (the
    first built at once), built on the actor's node, whose sandboxes require
    `required_layers` there."""

    def __init__(
        self,
        config: EvaluationConfig,
        programs_per_batch: int,
        threads: int,
        required_layers: frozenset[str],
    ) -> None:
        self.settings = (programs_per_batch, threads, required_layers)
        self.evaluators: dict[str, Evaluator] = {}
        self._evaluator(config)

    def assess_many(self, sources: Sequence[object], config: EvaluationConfig) -> list[Assessment]:
        return self._evaluator(config).assess_many(sources)

    def reference(self, name: str, config: EvaluationConfig) -> EvaluationResult:
        return self._evaluator(config).reference(name)

    def _evaluator(self, config: EvaluationConfig) -> Evaluator:
        key = config.fingerprint()
        if key not in self.evaluators:
            programs_per_batch, threads, required_layers = self.settings
            sandbox = Sandbox(config.limits, required_layers=required_layers)
            self.evaluators[key] = Evaluator(
                config, sandbox=sandbox, programs_per_batch=programs_per_batch, threads=threads
            )
        return self.evaluators[key]


class RayEvaluator:
    """The evaluator contract on Ray actors; joins the cluster at `address` (`"auto"`: the
    one this node belongs to) or starts a local Ray.

    Args:
        config: as for `Evaluator`.
        actors: how many actors; default one per `cpus_per_actor` CPUs of the cluster.
        programs_per_batch: the most programs one actor compiles and trains together; a
            call's sources are shared out evenly over the actors up to that size.
        address: the cluster to join (`ray.init(address=...)`); ignored if Ray is
            already initialised in this process.
        cpus_per_actor: CPUs each actor reserves, and the threads it trains with.
        cluster_share: the share of the cluster's CPUs this evaluator's actors take, so
            that several evaluators can share one cluster (the verifier holds one per
            task seed); actors then reserve less than `cpus_per_actor` if need be.
        required_layers: the confinement layers each actor's sandbox must have
            (`actgym.candidate.confinement`); default none required, as `Sandbox`.
    """

    def __init__(
        self,
        config: EvaluationConfig | None = None,
        *,
        actors: int | None = None,
        programs_per_batch: int = 8,
        address: str | None = None,
        cpus_per_actor: float = 1.0,
        cluster_share: float = 1.0,
        required_layers: frozenset[str] = frozenset(),
    ) -> None:
        import ray

        _check_settings(actors, programs_per_batch, cpus_per_actor, cluster_share)
        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.config = config or EvaluationConfig()
        self.programs_per_batch = programs_per_batch
        available = ray.cluster_resources().get("CPU", 1.0) * cluster_share
        cpus = min(cpus_per_actor, available)
        count = actors or max(1, int(available // cpus))
        actor_class = ray.remote(num_cpus=cpus)(EvaluatorActor)
        settings = (programs_per_batch, max(1, int(cpus)), frozenset(required_layers))
        self._actors: list[Any] = [actor_class.remote(self.config, *settings) for _ in range(count)]
        self._owner: dict[Any, Any] = {}  # a batch's result reference -> the actor it went to
        self._view = False

    def at(self, config: EvaluationConfig) -> RayEvaluator:
        """This evaluator's actors scoring at `config` (a fidelity's cut, say): a second
        evaluator would wait for CPUs these actors hold. Closing the view is a no-op;
        close this one."""
        view = copy.copy(self)
        view.config, view._view = config, True
        return view

    @property
    def actors(self) -> int:
        """Actors still alive (a lost one is dropped when a batch sent to it fails)."""
        return len(self._actors)

    def evaluate(self, source: object) -> EvaluationResult:
        return self.evaluate_many([source])[0]

    def evaluate_many(self, sources: Sequence[object]) -> list[EvaluationResult]:
        return [assessment.result for assessment in self.assess_many(sources)]

    def assess_many(self, sources: Sequence[object]) -> list[Assessment]:
        import ray
        from ray.exceptions import RayError, RayTaskError

        if not sources:
            return []
        size = min(self.programs_per_batch, -(-len(sources) // max(1, len(self._actors))))
        batches = [list(sources[start : start + size]) for start in range(0, len(sources), size)]
        pending = {
            self._submit(index, batch): (index, batch) for index, batch in enumerate(batches)
        }
        done: dict[int, list[Assessment]] = {}
        while pending:
            (ready, *_), _ = ray.wait(list(pending), num_returns=1)
            index, batch = pending.pop(ready)
            actor = self._owner.pop(ready)
            try:
                done[index] = ray.get(ready)
            except RayTaskError:
                raise
            except RayError:
                self._drop(actor)
                pending[self._submit(index, batch)] = (index, batch)
        return [assessment for index in sorted(done) for assessment in done[index]]

    def reference(self, name: str) -> EvaluationResult:
        """A reference's result from a live actor; an actor lost meanwhile is dropped and
        the next one asked."""
        import ray
        from ray.exceptions import RayError, RayTaskError

        while True:
            actor = self._live_actor(0)
            try:
                return ray.get(actor.reference.remote(name, self.config))
            except RayTaskError:
                raise
            except RayError:
                self._drop(actor)

    def close(self) -> None:
        import ray

        if self._view:
            return
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []

    def _submit(self, index: int, batch: list[object]) -> Any:
        actor = self._live_actor(index)
        reference = actor.assess_many.remote(batch, self.config)
        self._owner[reference] = actor
        return reference

    def _live_actor(self, index: int) -> Any:
        if not self._actors:
            raise RuntimeError(
                "every Ray actor of this evaluator is lost: the cluster has no node left to "
                "evaluate on (a search resumes from its run store once the cluster is back)"
            )
        return self._actors[index % len(self._actors)]

    def _drop(self, actor: Any) -> None:
        if actor in self._actors:
            self._actors.remove(actor)


def _check_settings(
    actors: int | None, programs_per_batch: int, cpus_per_actor: float, cluster_share: float
) -> None:
    """Refuse settings that cannot run before anything joins a cluster."""
    if actors is not None and (
        isinstance(actors, bool) or not isinstance(actors, int) or actors < 1
    ):
        raise ValueError(f"actors must be an int >= 1 or None, got {actors!r}")
    if isinstance(programs_per_batch, bool) or not isinstance(programs_per_batch, int):
        raise ValueError(f"programs_per_batch must be an int >= 1, got {programs_per_batch!r}")
    if programs_per_batch < 1:
        raise ValueError(f"programs_per_batch must be an int >= 1, got {programs_per_batch!r}")
    if not cpus_per_actor > 0:
        raise ValueError(f"cpus_per_actor must be positive, got {cpus_per_actor!r}")
    if not 0 < cluster_share <= 1:
        raise ValueError(f"cluster_share must be in (0, 1], got {cluster_share!r}")
