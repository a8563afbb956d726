"""The machine's faults are retried, never a verdict: a board never shows a state it cannot leave.

Training processes are SIGKILLed as the OOM killer or an operator would, at the stage the
verifier is waiting on: the probe (`probed`), the compile (`compiled`) or the run
(`trained`). Everything runs on a fresh cache, so every reference is probed and trained.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from actgym.leaderboard import views
from actgym.leaderboard.profiles import env_version
from actgym.leaderboard.records import Board, Verdict
from actgym.leaderboard.seeds import SECRET_ENV
from actgym.leaderboard.store import Store
from actgym.leaderboard.verification_queue import MAX_ATTEMPTS
from actgym.leaderboard.verifier import Scorer
from leaderboard_support import PROFILE, SECRET, activation, allow_missing_layers
from process_faults import ProcessKiller
from typer.testing import CliRunner

from actgym.cli import app
from actgym.references import REFERENCES

runner = CliRunner()
BOARD = Board(env_version(), PROFILE.name)


@pytest.fixture
def killer(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ProcessKiller]:
    monkeypatch.setenv("ACTGYM_CACHE_DIR", str(tmp_path / "cache"))  # nothing trained yet
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    yield ProcessKiller(monkeypatch)


def _cli(*args: str) -> Any:
    return runner.invoke(app, ["leaderboard", *args])


def _local(db: Path) -> list[str]:
    return ["--db", str(db), "--profile", PROFILE.name, *allow_missing_layers()]


def _submit(tmp_path: Path, db: Path, body: str, name: str) -> int:
    path = tmp_path / f"{name}.py"
    path.write_text(activation(body))
    result = _cli("submit", str(path), "--name", name, "--author", "tester", *_local(db))
    assert result.exit_code == 0, result.output
    return Store(db).submissions.count()


def _verify(db: Path) -> Any:
    return _cli("verify", *_local(db))


def _states(db: Path) -> dict[int, tuple[str, int]]:
    store = Store(db)
    return {
        submission_id: (row["state"], row["attempts"])
        for submission_id in store.submissions.ids()
        for row in [store.queue.verification(BOARD, submission_id)]
    }


def test_killed_training_processes_are_restarted_and_every_row_is_verified_once(
    killer: ProcessKiller, tmp_path: Path
) -> None:
    db = tmp_path / "board.db"
    Store(db)

    killer.always = {"probed"}  # no training process survives its probe: the machine is sick
    paused = _verify(db)
    assert paused.exit_code == 1, paused.output
    assert "verification paused" in paused.output and "relu could not be verified" in paused.output
    assert killer.killed == ["probed"] * 3  # one start and two restarts, then it counts
    assert set(_states(db).values()) == {("pending", 0)}  # nothing was charged or failed

    killer.always, killer.killed = set(), []
    killer.once = ["probed", "compiled", "trained"]  # each once, during the references
    references = _verify(db)
    assert references.exit_code == 0, references.output
    assert killer.killed == ["probed", "compiled", "trained"]
    assert set(_states(db).values()) == {("done", 1)}

    honest = [
        _submit(tmp_path, db, "return jax.nn.gelu(x) + 0.1 * jnp.cos(x)", "ripple"),
        _submit(tmp_path, db, "return x * jax.nn.sigmoid(2.0 * x)", "steeper"),
    ]
    killer.killed = []
    killer.once = ["probed", "compiled", "trained"]  # each once, during the submissions
    submissions = _verify(db)
    assert submissions.exit_code == 0, submissions.output
    assert killer.killed == ["probed", "compiled", "trained"]
    assert set(_states(db).values()) == {("done", 1)}
    ranked = views.leaderboard(Store(db), BOARD, PROFILE)
    assert {entry.submission_id for entry in ranked.entries} >= set(honest)


def test_a_process_that_dies_on_every_try_fails_one_row_which_can_be_sent_again_or_requeued(
    killer: ProcessKiller, tmp_path: Path
) -> None:
    db = tmp_path / "board.db"
    assert _verify(db).exit_code == 0  # the references, undisturbed

    body = "return jax.nn.gelu(x) + 0.05 * jnp.sin(3.0 * x)"
    first = _submit(tmp_path, db, body, "wiggle")
    killer.always = {"compiled"}
    assert _verify(db).exit_code == 0
    killer.always = set()
    failed = Store(db).queue.verification(BOARD, first)
    assert (failed["state"], failed["reason"]) == ("failed", "process_died")
    assert "on each of 3 tries" in failed["message"]
    assert "or the machine stopped the process" in failed["message"]  # no blame it cannot know

    again = _submit(tmp_path, db, body, "wiggle-again")  # not a duplicate of a failure
    assert again == first + 1

    requeued = _cli("requeue", "--failed-infrastructure", *_local(db)[:4])
    assert requeued.exit_code == 0, requeued.output
    assert f"Requeued #{first}" in requeued.output
    assert _verify(db).exit_code == 0
    states = {row["id"]: row for row in Store(db).queue.failed(BOARD)}
    done = [i for i in (first, again) if Store(db).queue.verification(BOARD, i)["state"] == "done"]
    assert len(done) == 1 and len(states) == 1  # one owns the function, the other copies it
    (copy,) = states.values()
    assert copy["reason"] == "duplicate"


def test_requeue_names_what_it_cannot_requeue(killer: ProcessKiller, tmp_path: Path) -> None:
    db = tmp_path / "board.db"
    Store(db)
    result = _cli("requeue", "1", "999", *_local(db)[:4])
    assert result.exit_code == 1
    assert "#1 not requeued" in result.output and "it is pending, not failed" in result.output
    assert "#999 not requeued" in result.output and "there is no such submission" in result.output
    nothing = _cli("requeue", *_local(db)[:4])
    assert nothing.exit_code != 0 and "--failed-infrastructure" in nothing.output


def test_a_failed_reference_says_how_the_board_recovers(tmp_path: Path) -> None:
    store = Store(tmp_path / "board.db")
    relu = next(
        i for i, source in store.submissions.references().items() if source == REFERENCES["relu"]
    )
    claim = store.queue.claim(BOARD, None)
    assert claim is not None and claim.submission_id == relu and claim.reference == "relu"
    store.queue.finish(BOARD, relu, Verdict("failed", "verifier_crashed", "stopped 3 times"))
    note = views.leaderboard(store, BOARD, PROFILE).note
    assert "failed" in note and "requeue" in note and f"#{relu} ReLU (verifier_crashed)" in note
    assert store.queue.requeue(BOARD, [relu]) == [relu]
    assert store.queue.verification(BOARD, relu)["state"] == "pending"
    assert store.queue.verification(BOARD, relu)["attempts"] == 0


def test_a_verifier_error_is_retried_and_counts_only_after_the_last_attempt(
    killer: ProcessKiller, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "board.db"
    assert _verify(db).exit_code == 0
    flaky = _submit(tmp_path, db, "return jax.nn.gelu(x) + 0.1 * jnp.cos(x)", "flaky")
    broken = _submit(tmp_path, db, "return x * jax.nn.sigmoid(2.0 * x)", "broken")
    score = Scorer.score
    failures = {flaky: 1, broken: 99}

    def failing_score(scorer: Scorer, program: Any, source: str) -> Any:
        submission_id = flaky if "cos" in source else broken
        if failures[submission_id] > 0:
            failures[submission_id] -= 1
            raise RuntimeError("database is locked")
        return score(scorer, program, source)

    monkeypatch.setattr(Scorer, "score", failing_score)
    verified = _verify(db)
    assert verified.exit_code == 0, verified.output
    assert f"#{flaky} the verifier failed; it is queued again" in verified.output
    store = Store(db)
    recovered = store.queue.verification(BOARD, flaky)
    assert (recovered["state"], recovered["attempts"]) == ("done", 2)
    failed = store.queue.verification(BOARD, broken)
    assert (failed["state"], failed["reason"], failed["attempts"]) == (
        "failed",
        "internal_error",
        MAX_ATTEMPTS,
    )
    assert not store.submissions.owns_a_function(BOARD, broken)  # sending it again is allowed


def test_a_reference_the_verifier_keeps_failing_on_ends_failed_and_is_requeued(
    killer: ProcessKiller, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A verifier bug on a reference must not pause the board for ever: it is retried, then
    recorded, named on the board, and queued again once the bug is gone."""
    db = tmp_path / "board.db"
    score = Scorer.score

    def failing_on_relu(scorer: Scorer, program: Any, source: str) -> Any:
        if source == REFERENCES["relu"]:
            raise RuntimeError("a bug")
        return score(scorer, program, source)

    monkeypatch.setattr(Scorer, "score", failing_on_relu)
    assert _verify(db).exit_code == 0
    store = Store(db)
    (relu,) = (row for row in store.queue.failed(BOARD) if row["reference"] == "relu")
    assert relu["reason"] == "internal_error"
    assert store.queue.verification(BOARD, relu["id"])["attempts"] == MAX_ATTEMPTS
    assert "requeue" in views.leaderboard(store, BOARD, PROFILE).note
    monkeypatch.setattr(Scorer, "score", score)
    requeued = _cli("requeue", "--failed-infrastructure", *_local(db)[:4])
    assert requeued.exit_code == 0 and f"Requeued #{relu['id']}" in requeued.output
    assert _verify(db).exit_code == 0
    assert set(_states(db).values()) == {("done", 1)}
