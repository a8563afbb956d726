"""Evaluation spread over a Ray cluster, with the same API and results as `Evaluator`.

Each Ray actor owns one `Evaluator` (its prepared task data, its sandbox, its caches)
and receives whole candidate batches, one task per batch, so compilation is amortised
the same way as locally; an actor trains on as many threads as the CPUs it reserves
(`cpus_per_actor`). Install with `pip install 'actgym[ray]'`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from actgym.evaluation import EvaluationConfig, EvaluationResult, Evaluator


class _EvaluatorActor:
    def __init__(self, config: EvaluationConfig, batch_size: int, threads: int) -> None:
        self.evaluator = Evaluator(config, batch_size=batch_size, threads=threads)

    def evaluate_many(self, sources: Sequence[object]) -> list[EvaluationResult]:
        return self.evaluator.evaluate_many(sources)


class RayEvaluator:
    """`evaluate_many` on Ray actors; connects to `address` or starts a local Ray."""

    def __init__(
        self,
        config: EvaluationConfig | None = None,
        *,
        actors: int | None = None,
        batch_size: int = 8,
        address: str | None = None,
        cpus_per_actor: float = 1.0,
    ) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.config = config or EvaluationConfig()
        self.batch_size = batch_size
        count = actors or max(1, int(ray.cluster_resources().get("CPU", 1) // cpus_per_actor))
        actor_class = ray.remote(num_cpus=cpus_per_actor)(_EvaluatorActor)
        self._actors: list[Any] = [
            actor_class.remote(self.config, batch_size, max(1, int(cpus_per_actor)))
            for _ in range(count)
        ]

    def evaluate(self, source: object) -> EvaluationResult:
        return self.evaluate_many([source])[0]

    def evaluate_many(self, sources: Sequence[object]) -> list[EvaluationResult]:
        import ray

        batches = [
            list(sources[start : start + self.batch_size])
            for start in range(0, len(sources), self.batch_size)
        ]
        futures = [
            self._actors[index % len(self._actors)].evaluate_many.remote(batch)
            for index, batch in enumerate(batches)
        ]
        return [result for batch in ray.get(futures) for result in batch]

    def close(self) -> None:
        import ray

        for actor in self._actors:
            ray.kill(actor)
        self._actors = []
