"""Source in, score out: the evaluation pipeline every environment and tool goes through.

    source --(sandboxed worker: policy, trace)--> program JSON
           --(this process: validate, cost)--> Program
           --(training process: probe, then every family, instance and seed)--> losses
           --(this process)--> reward

Candidate Python only ever runs in the sandbox; this process handles data, and whatever
compiles a program runs in a killable, memory-limited training process
(actgym.training_process). Results are cached by the program's canonical hash under a
fingerprint of everything that affects the score (tasks, sizes, trainer settings,
limits, versions), in memory and on disk.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from actgym.cache import JsonCache
from actgym.candidate.check import CheckedProgram, Checker
from actgym.candidate.program import Program
from actgym.candidate.reasons import CandidateRejected, contained
from actgym.candidate.sandbox import Sandbox
from actgym.child_process import compilation_cache_dir
from actgym.config import EvaluationConfig
from actgym.evaluator_protocol import Assessment
from actgym.forksafety import ensure_safe_to_use_jax
from actgym.references import BASELINE, REFERENCES
from actgym.result import EvaluationResult, Timings
from actgym.reward import (
    FamilyScale,
    family_scale,
)
from actgym.scoring import score
from actgym.tasks import SUITE, TaskFamily, make_family
from actgym.tasks.base import REGIONS
from actgym.tasks.null_models import family_null_losses
from actgym.trainer import FamilyData, Losses, prepare, usable_cores
from actgym.training_process import BatchFailed, TrainingBounds, shared_pool


class BaselineFailed(RuntimeError):
    """The baseline activation could not be probed or trained here: the machine's fault,
    never a candidate's. Nothing of it is kept, so the next call tries again."""


class Evaluator:
    """Scores candidate sources for one EvaluationConfig; reuse it across candidates.

    Each source is checked in the sandbox, trained in training processes on every family,
    instance and seed of the config, and scored against ReLU (docs/reward.md). Results
    are cached by program hash under the config's fingerprint, in memory and on disk, so
    a repeated program is trained once. Call `close()` when done.

    Args:
        config: everything that determines a score (families, trainer, task seed,
            instances, sizes, limits); default `EvaluationConfig()`: Harmonics with the
            default trainer.
        sandbox: where sources are checked; default a new `Sandbox(config.limits)`.
        cache: the on-disk result cache; default `JsonCache()` (under
            `$ACTGYM_CACHE_DIR`, `~/.cache/actgym` unless set).
        programs_per_batch: the most programs compiled and trained together (at least 1).
        workers: training processes (batches trained at once); default 1. One process
            already trains on every core (`threads`); more compete for the same cores
            (benchmarks/README.md `perf/`).
        threads: threads each training process trains with; default the CPU count
            divided among `workers`. Losses do not depend on it.
        bounds: deadlines and memory of the training processes; default
            `TrainingBounds()`.

    Raises:
        ValueError: `programs_per_batch`, `workers` or `threads` is not an int of at least 1, or
            a family of the config is unknown.
        RuntimeError: this process was forked after JAX started (use spawn or forkserver).

    Example:
        from actgym import EvaluationConfig, Evaluator, TrainerConfig

        config = EvaluationConfig(families=("Harmonics",), trainer=TrainerConfig.fast())
        evaluator = Evaluator(config)
        source = "import jax.numpy as jnp\n\ndef activation_function(x):\n"
        source += "    return jnp.maximum(x, 0.0) + 0.1 * jnp.sin(x)\n"
        result = evaluator.evaluate(source)
        print(result.status, result.reward, result.ood_loss)
        evaluator.close()
    """

    def __init__(
        self,
        config: EvaluationConfig | None = None,
        *,
        sandbox: Sandbox | None = None,
        cache: JsonCache | None = None,
        programs_per_batch: int = 8,
        workers: int | None = None,
        threads: int | None = None,
        bounds: TrainingBounds | None = None,
    ) -> None:
        for name, value in (
            ("programs_per_batch", programs_per_batch),
            ("workers", workers),
            ("threads", threads),
        ):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValueError(f"{name} must be an int, got {value!r}")
            if value is not None and value < 1:
                raise ValueError(f"{name} must be at least 1")
        ensure_safe_to_use_jax()
        self.config = config or EvaluationConfig()
        self.programs_per_batch = programs_per_batch
        self.workers = workers or 1
        self.threads = threads or max(1, usable_cores() // self.workers)
        for family in self.config.families:
            if family not in SUITE:
                raise ValueError(f"unknown task family {family!r}; choose from {SUITE}")
        if self.config.region not in REGIONS:
            raise ValueError(f"unknown region {self.config.region!r}; choose from {REGIONS}")
        self.cache = cache if cache is not None else JsonCache()
        self.training = shared_pool(
            bounds or TrainingBounds(), compilation_cache_dir(self.cache.directory / "xla")
        )
        self.checker = Checker(
            self.config.limits,
            self.config.trainer.activation_shape,
            sandbox or Sandbox(self.config.limits),
            self.training,
        )
        self._fingerprint = self.config.fingerprint()
        self._tasks: dict[str, TaskFamily] = {}
        self._data: dict[str, FamilyData] = {}
        self._scales: dict[str, FamilyScale] = {}
        self._losses: dict[str, dict[str, Losses]] = {}
        self._baseline: CheckedProgram | None = None
        self._failures: dict[str, CandidateRejected] = {}

    @property
    def sandbox(self) -> Sandbox:
        return self.checker.sandbox

    def check(self, source: object) -> CheckedProgram:
        """Run the check stage (actgym.candidate.check) on one source, without training.

        Args:
            source: the candidate's Python source, a str (or UTF-8 bytes).

        Returns:
            The `CheckedProgram`: the validated program, its cost and its descriptors.

        Raises:
            CandidateRejected: the source failed a check; its `reason` and message say why.

        Example:
            try:
                checked = evaluator.check(source)
            except CandidateRejected as rejection:
                print(rejection.reason, rejection.describe())
        """
        return self.checker.check(source)

    # -- scoring -------------------------------------------------------------------------

    def evaluate(self, source: object) -> EvaluationResult:
        """Score one candidate source.

        Never raises for a bad candidate: failures come back as a penalised result.

        Args:
            source: the candidate's Python source defining `activation_function(x)`
                (docs/candidates.md), a str (or UTF-8 bytes); anything else is
                rejected as `invalid_action`.

        Returns:
            An `EvaluationResult`: `status` "ok" with the reward and losses, or a reason
            code, a message and the penalty reward (-10).

        Example:
            result = evaluator.evaluate(source)
            if result.ok:
                print(result.reward, result.reward_stderr, result.fit_share)
            else:
                print(result.status, result.message)
        """
        return self.evaluate_many([source])[0]

    def evaluate_many(self, sources: Sequence[object]) -> list[EvaluationResult]:
        """Score a batch; new programs are trained together, repeats are trained once.

        Results are identical to evaluating each source alone (timings aside); this is
        the fast way to score many candidates.

        Args:
            sources: candidate sources, as for `evaluate`.

        Returns:
            One `EvaluationResult` per source, in the same order.

        Example:
            results = evaluator.evaluate_many([source_a, source_b, source_a])
            best = max(results, key=lambda result: result.reward)
        """
        checked: list[tuple[CheckedProgram, float] | EvaluationResult] = []
        for source in sources:
            started = time.perf_counter()
            try:
                checked.append((self.check(source), time.perf_counter() - started))
            except CandidateRejected as rejection:
                elapsed = time.perf_counter() - started
                checked.append(
                    EvaluationResult.rejected(
                        rejection, timings=Timings(check_s=elapsed, total_s=elapsed)
                    )
                )
        programs = {item[0].digest: item[0] for item in checked if isinstance(item, tuple)}
        trained = self._ensure_losses(list(programs.values()))
        return [
            item
            if isinstance(item, EvaluationResult)
            else self._score(item[0], _with_check(trained[item[0].digest], item[1]))
            for item in checked
        ]

    def assess_many(self, sources: Sequence[object]) -> list[Assessment]:
        """`evaluate_many`, each result with its validated program JSON and behaviour."""
        assessments = []
        for result in self.evaluate_many(sources):
            checked = self.checker.known(result.program_hash or "")
            if checked is None:
                assessments.append(Assessment(result))
            else:
                assessments.append(Assessment(result, checked.data, checked.behaviour))
        return assessments

    def evaluate_program(self, program: Program | CheckedProgram) -> EvaluationResult:
        """Score a program validated elsewhere (e.g. by another Evaluator's checks).

        A plain `Program` is probed first; a `CheckedProgram` goes straight to training.

        Args:
            program: a `Program` or a `CheckedProgram` (from `check`).

        Returns:
            The `EvaluationResult`, scored as `evaluate` scores a checked source.

        Example:
            checked = checking_evaluator.check(source)
            result = evaluator.evaluate_program(checked)
        """
        try:
            checked = (
                program if isinstance(program, CheckedProgram) else self.checker.probed(program)
            )
        except CandidateRejected as rejection:
            return EvaluationResult.rejected(
                rejection,
                flops_per_element=program.flops_per_element,
                program_hash=program.digest,
            )
        return self._score(checked, self._ensure_losses([checked])[checked.digest])

    def reference(self, name: str) -> EvaluationResult:
        if name not in REFERENCES:
            raise ValueError(f"unknown reference {name!r}; choose from {sorted(REFERENCES)}")
        return self.evaluate(REFERENCES[name])

    def baseline_program(self) -> CheckedProgram:
        """The checked baseline; raise BaselineFailed if its check fails."""
        if self._baseline is None:
            try:
                self._baseline = self.check(REFERENCES[BASELINE])
            except CandidateRejected as rejection:
                raise BaselineFailed(
                    f"The baseline activation failed its check: {rejection}"
                ) from None
        return self._baseline

    def close(self) -> None:
        self.checker.close()

    def _score(self, program: CheckedProgram, timings: Timings) -> EvaluationResult:
        facts = {
            "flops_per_element": program.flops_per_element,
            "program_hash": program.digest,
            "descriptors": dict(program.descriptors),
            "locality": program.locality,
            "timings": timings,
        }
        if program.digest in self._failures:
            return EvaluationResult.rejected(self._failures[program.digest], **facts)
        losses = self._losses[program.digest]
        return score(
            {family: losses[family] for family in self.config.families},
            self._losses[self.baseline_program().digest],
            {family: self.instance_names(family) for family in losses},
            {family: self.scale(family) for family in losses},
            **facts,
        )

    def _ensure_losses(self, programs: list[CheckedProgram]) -> dict[str, Timings]:
        """Losses for every program (and the baseline) from memory, disk, or training.

        The baseline trains first and alone: its run time sets the others' run deadlines.
        A failure that depends on the machine (a death, a missed deadline) is reported once,
        and trained again when asked for again.
        """
        baseline = self.baseline_program()
        wanted = {program.digest: program for program in [baseline, *programs]}
        timings = {digest: Timings(cached=True) for digest in wanted}
        missing = []
        for digest, program in wanted.items():
            if digest in self._losses or self._final_failure(digest):
                continue
            stored = self.cache.get(self._cache_key(digest))
            if stored is None:
                missing.append(program)
            else:
                self._losses[digest] = {
                    family: Losses.from_json(value) for family, value in stored.items()
                }
        if baseline in missing:
            self._record(self._train([[baseline]]), timings)
            if baseline.digest in self._failures:
                failure = self._failures.pop(baseline.digest)
                raise BaselineFailed(f"The baseline activation could not be trained: {failure}")
        self._record(self._train(self._batches([p for p in missing if p is not baseline])), timings)
        return timings

    def _final_failure(self, digest: str) -> bool:
        failure = self._failures.get(digest)
        return failure is not None and not failure.machine_dependent

    def _record(
        self,
        trained: dict[str, dict[str, Losses] | CandidateRejected],
        timings: dict[str, Timings],
    ) -> None:
        for digest, losses in trained.items():
            if isinstance(losses, CandidateRejected):
                self._failures[digest] = losses
                continue
            self._losses[digest] = losses
            self._failures.pop(digest, None)
            self.cache.put(
                self._cache_key(digest),
                {family: loss.to_json() for family, loss in losses.items()},
            )
            timings[digest] = Timings(
                compile_s=sum(loss.compile_s for loss in losses.values()),
                train_s=sum(loss.run_s for loss in losses.values()),
            )

    def _batches(self, programs: list[CheckedProgram]) -> list[list[CheckedProgram]]:
        """About one batch per worker, each at most `programs_per_batch` programs."""
        if not programs:
            return []
        size = min(self.programs_per_batch, -(-len(programs) // self.workers))
        return [programs[start : start + size] for start in range(0, len(programs), size)]

    def _train(
        self, batches: list[list[CheckedProgram]]
    ) -> dict[str, dict[str, Losses] | CandidateRejected]:
        """Train batches in `workers` training processes at once; results by program hash.

        Each training process trains on `threads` threads (a batch's results do not
        depend on them, nor on what runs beside it). A batch that fails (an error, a
        missed deadline, a crash) is retried one program at a time, so one bad program
        costs its batch a retry but never the other programs' results.
        """
        baseline = self._losses.get(self.baseline_program().digest, {})
        baseline_run_s = {family: losses.run_s for family, losses in baseline.items()}

        def train_batch(batch: list[Program]) -> list[dict[str, Losses] | CandidateRejected]:
            try:
                return list(self.training.train(batch, self.config, baseline_run_s, self.threads))
            except BatchFailed as failed:
                rejection = failed.rejection
            except Exception as error:
                rejection = contained(error, "compiling or training it")
            if len(batch) > 1:
                return [outcome for program in batch for outcome in train_batch([program])]
            return [rejection]

        if len(batches) <= 1:
            outcomes = [train_batch(batch) for batch in batches]
        else:
            with ThreadPoolExecutor(max_workers=self.workers) as pool:
                outcomes = list(pool.map(train_batch, batches))
        return {
            program.digest: outcome
            for batch, results in zip(batches, outcomes, strict=True)
            for program, outcome in zip(batch, results, strict=True)
        }

    def _cache_key(self, digest: str) -> str:
        return f"{self._fingerprint}-{digest}"

    def task_family(self, family: str) -> TaskFamily:
        """The config's instances of `family` (built once; training builds its own)."""
        if family not in self._tasks:
            self._tasks[family] = make_family(
                family,
                seed=self.config.task_seed,
                num_instances=self.config.num_instances,
                sizes=self.config.sizes,
                region=self.config.region,
            )
        return self._tasks[family]

    def instance_names(self, family: str) -> tuple[str, ...]:
        return tuple(instance.name for instance in self.task_family(family).instances)

    def family_data(self, family: str) -> FamilyData:
        """The family's training arrays, for benchmarks that train in this process."""
        if family not in self._data:
            self._data[family] = prepare(self.task_family(family), self.config.trainer)
        return self._data[family]

    def scale(self, family: str) -> FamilyScale:
        """The family's reference points (docs/reward.md): the mean model and the ceiling.

        Trains ReLU first if its losses are not known yet.
        """
        if family not in self._scales:
            self._ensure_losses([])
            baseline = self._losses[self.baseline_program().digest][family]
            mean_model = family_null_losses(self.task_family(family))["mean"]
            self._scales[family] = family_scale(
                baseline.validation,
                baseline.test,
                np.array([losses.validation for losses in mean_model]),
                np.array([losses.test for losses in mean_model]),
            )
        return self._scales[family]


def _with_check(timings: Timings, check_s: float) -> Timings:
    total = check_s + timings.compile_s + timings.train_s
    return dataclasses.replace(timings, check_s=check_s, total_s=total)
