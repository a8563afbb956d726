"""The verifier: takes queued submissions one at a time and scores them itself.

A submission is checked in the sandbox first (its canonical hash and its outputs on the
probe's points are known only then), de-duplicated by them, and trained on every family
of the profile with the public task seed and with each hidden one. With transfer on, a
verified submission is also run through the downstream tasks (actgym.transfer) on a
hidden data seed; those numbers are shown beside the rank and never enter it. Anything
that goes wrong ends as a `failed` row with a reason code and a message for that one
submission; the queue always moves on. The Evaluators are built once per process and
reused, so repeats and references are cheap.

The machine's faults are never a submission's verdict. A training process that dies is
started again (TrainingBounds.tries); one that dies on every try fails only that
submission, as `process_died`, which `requeue --failed-infrastructure` puts back. A
verifier error (a transfer process that dies included) is retried up to MAX_ATTEMPTS.
When the machine cannot verify at all (a required confinement layer is missing, the
baseline cannot be trained, a reference's process dies on every try), the claim goes back
to the queue untouched and `VerificationPaused` stops the verifier; a later run takes the
queue up where it was. A missing layer stays missing
until the operator enables it or allows it (`--allow-missing-layer`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from actgym.leaderboard import environment
from actgym.leaderboard.profiles import PUBLIC_TASK_SEED, Profile
from actgym.leaderboard.records import (
    TRANSFER_TASKS_KEY,
    Board,
    Claim,
    Function,
    ResultRow,
    Verdict,
)
from actgym.leaderboard.seeds import hidden_task_seeds
from actgym.leaderboard.store import Store
from actgym.leaderboard.verification_queue import DUPLICATE, INTERNAL_ERROR, MAX_ATTEMPTS

from actgym.candidate import confinement
from actgym.candidate.check import CheckedProgram
from actgym.candidate.program import canonical_json
from actgym.candidate.reasons import MAY_BE_THE_MACHINE, CandidateRejected, Reason
from actgym.candidate.sandbox import Sandbox
from actgym.config import EvaluationConfig
from actgym.evaluation import BaselineFailed, EvaluationResult, Evaluator
from actgym.evaluator_protocol import EvaluatorProtocol
from actgym.transfer.downstream import TransferConfig
from actgym.transfer.runner import Transfer, TransferReport

log = logging.getLogger(__name__)

REFERENCE_PAUSES = frozenset(reason.value for reason in MAY_BE_THE_MACHINE)
"""A reference failing so pauses verification: its process died on every try, so the
machine cannot verify now. Any other failure of a reference is recorded (and can be
requeued), so one broken reference cannot stop the board for ever."""


@dataclass(frozen=True)
class SeedSet:
    """The public task seed (index 0), or hidden task seed number `index`."""

    kind: str
    index: int

    @property
    def label(self) -> str:
        if self.kind == "public":
            return "public task seed"
        return f"hidden task seed #{self.index + 1}"


class VerificationPaused(RuntimeError):
    """This machine cannot verify now; the submission in hand went back to the queue."""


class ConfinementMissing(VerificationPaused):
    """The sandbox refused to run anything: a required confinement layer is missing here."""


class Scorer:
    """One evaluator per task seed of a profile; checks run here in one strict sandbox.

    By default the evaluators are local `Evaluator`s sharing that sandbox, and score the
    checked program itself. `remote` builds them instead (e.g. `RayEvaluator`s on a
    cluster): they check the source again where they run, and a result for another
    program than the one checked here is refused.
    """

    def __init__(
        self,
        profile: Profile,
        hidden_seeds: Sequence[int],
        *,
        required_layers: frozenset[str] = confinement.ALL_LAYERS,
        transfer: TransferConfig | None = None,
        remote: Callable[[EvaluationConfig], EvaluatorProtocol] | None = None,
    ) -> None:
        if len(hidden_seeds) != profile.hidden_seeds:
            raise ValueError(f"profile {profile.name} needs {profile.hidden_seeds} hidden seeds")
        self.profile = profile
        config = profile.config(PUBLIC_TASK_SEED)
        sandbox = Sandbox(config.limits, required_layers=required_layers)
        self._public = Evaluator(config, sandbox=sandbox)
        configs = {SeedSet("public", 0): config} | {
            SeedSet("hidden", index): profile.config(seed)
            for index, seed in enumerate(hidden_seeds)
        }
        self._evaluators: dict[SeedSet, EvaluatorProtocol] = {
            seed_set: self._local(seed_set, c) if remote is None else remote(c)
            for seed_set, c in configs.items()
        }
        self._transfer = (
            None
            if transfer is None
            else Transfer(
                transfer,
                sandbox=self.sandbox,
                suite_shape=profile.evaluation.trainer.activation_shape,
            )
        )

    @classmethod
    def from_secret(
        cls,
        profile: Profile,
        secret: bytes,
        version: str,
        *,
        required_layers: frozenset[str] = confinement.ALL_LAYERS,
        transfer: TransferConfig | None = None,
        remote: Callable[[EvaluationConfig], EvaluatorProtocol] | None = None,
    ) -> Scorer:
        """`transfer`'s data seed is replaced by one hidden seed derived from the secret."""
        seeds = hidden_task_seeds(secret, version, profile.hidden_seeds)
        if transfer is not None:
            (data_seed,) = hidden_task_seeds(secret, f"{version}|transfer", 1)
            transfer = dataclasses.replace(transfer, data_seed=data_seed)
        return cls(
            profile, seeds, required_layers=required_layers, transfer=transfer, remote=remote
        )

    def _local(self, seed_set: SeedSet, config: EvaluationConfig) -> Evaluator:
        if seed_set.kind == "public":
            return self._public
        return Evaluator(config, sandbox=self._public.sandbox)

    @property
    def sandbox(self) -> Sandbox:
        """The strict sandbox every check runs in; submit-time hashing can share it."""
        return self._public.sandbox

    @property
    def required_layers(self) -> frozenset[str]:
        return self._public.sandbox.required_layers

    def check(self, source: str) -> CheckedProgram:
        return self._public.check(source)

    def score(self, program: CheckedProgram, source: str) -> dict[SeedSet, EvaluationResult]:
        """`program` (checked here from `source`) under every task seed of the profile."""
        results = {}
        for seed_set, evaluator in self._evaluators.items():
            if isinstance(evaluator, Evaluator):
                results[seed_set] = evaluator.evaluate_program(program)
                continue
            result = evaluator.evaluate(source)
            if result.program_hash not in (None, program.digest):
                raise RuntimeError(
                    f"the {seed_set.label} evaluator traced another program "
                    f"({result.program_hash} instead of {program.digest})"
                )
            results[seed_set] = result
        return results

    def transfer_json(self, source: str) -> str | None:
        """The transfer columns' JSON (None when transfer is off); the data seed stays out."""
        if self._transfer is None:
            return None
        report = self._transfer.run(source)
        if report.status in REFERENCE_PAUSES:  # the verifier retries rather than store it
            raise RuntimeError(f"the transfer process failed: {report.message}")
        return json.dumps(transfer_summary(report), sort_keys=True)

    def close(self) -> None:
        if self._transfer is not None:
            self._transfer.close()
        for evaluator in self._evaluators.values():
            if not isinstance(evaluator, Evaluator):  # local ones share the public sandbox
                evaluator.close()
        self._public.close()


def transfer_summary(report: TransferReport) -> dict[str, object]:
    """What the board shows: per downstream task the log-ratio to ReLU, interval and verdict."""
    if not report.ok:
        return {"status": report.status, "message": report.message, TRANSFER_TASKS_KEY: {}}
    return {
        "status": "ok",
        "seeds": len(report.config.seeds),
        "shape_checked": report.shape_checked,
        "mean_log_ratio": report.mean_log_ratio,
        TRANSFER_TASKS_KEY: {
            score.task: {**score.to_relu.to_json(), "verdict": score.verdict}
            for score in report.tasks
        },
    }


class Verifier:
    def __init__(self, store: Store, scorer: Scorer, version: str) -> None:
        self.store = store
        self.scorer = scorer
        self.board = Board(version=version, profile=scorer.profile.name)
        self._environment_id: int | None = None

    def resume(self) -> int:
        """Call once at start: rows a crashed verifier left `running` go back to pending."""
        return self.store.queue.reset_running(self.board)

    def step(self, on_claim: Callable[[Claim], None] | None = None) -> int | None:
        """Verify the next queued submission; None when the queue is empty.

        `on_claim` hears of the submission before its scoring starts (progress reports).
        """
        if self._environment_id is None:
            self._environment_id = self.store.results.record_environment(
                self.board, self.scorer.profile.summary(), environment.describe()
            )
        claim = self.store.queue.claim(self.board, self._environment_id)
        if claim is None:
            return None
        if on_claim is not None:
            on_claim(claim)
        try:
            outcome = self.verify(claim)
        except VerificationPaused:
            self.store.queue.release(self.board, claim.submission_id)
            raise
        if outcome.reason == INTERNAL_ERROR and claim.attempt < MAX_ATTEMPTS:
            self.store.queue.retry_later(self.board, claim.submission_id, owner=claim.owner)
        elif not self.store.queue.finish(
            self.board, claim.submission_id, outcome, owner=claim.owner
        ):
            log.warning("submission %s: another verifier took the lease over", claim.submission_id)
        return claim.submission_id

    def drain(self, on_claim: Callable[[Claim], None] | None = None) -> list[int]:
        verified = []
        while (submission_id := self.step(on_claim)) is not None:
            verified.append(submission_id)
        return verified

    def verify(self, claim: Claim) -> Verdict:
        """The claim's verdict; raise VerificationPaused when the machine is at fault."""
        try:
            verdict = self._verify(claim)
        except VerificationPaused:
            raise
        except BaselineFailed as error:
            raise VerificationPaused(str(error)) from None
        except Exception as error:  # a verifier bug costs this one entry, never the queue
            log.exception("verifying submission %s failed", claim.submission_id)
            verdict = Verdict(
                state="failed",
                reason=INTERNAL_ERROR,
                message=f"The verifier failed ({type(error).__name__}); the log has details.",
            )
        if claim.reference and verdict.state == "failed" and verdict.reason in REFERENCE_PAUSES:
            raise VerificationPaused(
                f"The reference {claim.reference} could not be verified here: {verdict.message}"
            )
        return verdict

    def _name(self, submission_id: int) -> str:
        submission = self.store.submissions.get(submission_id)
        return "unknown" if submission is None else str(submission["name"])

    def _verify(self, claim: Claim) -> Verdict:
        try:
            program = self.scorer.check(claim.source)
        except CandidateRejected as rejection:
            if rejection.reason is Reason.CONFINEMENT_MISSING:
                raise ConfinementMissing(rejection.describe()) from None
            reason = rejection.reason.value
            return Verdict(state="failed", reason=reason, message=rejection.describe())
        known = {
            "program_hash": program.digest,
            "program_json": canonical_json(program.data),
            "flops_per_element": program.flops_per_element,
            "locality": program.locality,
        }
        owner = self.store.submissions.claim_function(
            self.board, Function.of(program.digest, program.outputs), claim.submission_id
        )
        if owner != claim.submission_id:
            return Verdict(
                state="failed",
                reason=DUPLICATE,
                message=f"The same function as submission #{owner} ({self._name(owner)}): "
                "the same canonical program, or the same outputs on the probe's points.",
                duplicate_of=owner,
                **known,
            )
        results = self.scorer.score(program, claim.source)
        for seed_set, result in results.items():
            if not result.ok:
                message = f"On the {seed_set.label}: {result.message}"
                return Verdict(state="failed", reason=result.status, message=message, **known)
        seeds = self.scorer.profile.evaluation.trainer.seeds
        rows = tuple(
            row for seed_set, result in results.items() for row in _rows(seed_set, result, seeds)
        )
        message = "Verified on the public and the hidden task seeds."
        transfer = self.scorer.transfer_json(claim.source)
        return Verdict(
            state="done",
            reason=Reason.OK.value,
            message=message,
            rows=rows,
            transfer_json=transfer,
            **known,
        )


def _rows(seed_set: SeedSet, result: EvaluationResult, seeds: Sequence[int]) -> list[ResultRow]:
    rows = []
    for family, score in result.families.items():
        for instance_index, instance in enumerate(score.instances):
            for seed_index, train_seed in enumerate(seeds):
                rows.append(
                    ResultRow(
                        seed_set=seed_set.kind,
                        seed_index=seed_set.index,
                        family=family,
                        instance_index=instance_index,
                        instance=instance,
                        train_seed=train_seed,
                        train_loss=score.train_loss[instance_index][seed_index],
                        id_loss=score.id_loss[instance_index][seed_index],
                        ood_loss=score.ood_loss[instance_index][seed_index],
                    )
                )
    return rows


class BackgroundVerifier:
    """Drains the queue on a daemon thread: `wake()` after a submission, `stop()` at shutdown.

    It also polls every `poll_s` seconds, for submissions other processes put in the store.
    """

    def __init__(self, verifier: Verifier, poll_s: float = 5.0) -> None:
        self.verifier = verifier
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="leaderboard-verifier", daemon=True)

    def start(self) -> None:
        self.verifier.resume()
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float | None = None) -> None:
        """Finish the submission in hand, then stop; an interrupted one resumes next start."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            try:
                while not self._stop.is_set() and self.verifier.step() is not None:
                    pass
            except VerificationPaused as error:  # the claim went back; try again after a wait
                log.error("verification paused: %s", error)
            except Exception:  # e.g. the database stayed locked: log, wait, try again
                log.exception("the verifier loop failed; retrying in %s s", self.poll_s)
            self._wake.wait(self.poll_s)
