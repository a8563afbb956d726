"""Strict confinement: a sandbox that requires OS layers runs nothing where one is missing.

ACTGYM_CONFINEMENT_SKIP makes a layer fail on purpose, so the refusal is tested on a
machine where every layer holds; the leaderboard's verifier must then leave the queue as
it was, since a missing layer is the machine's fault, not the submission's.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from actgym.leaderboard.profiles import env_version
from actgym.leaderboard.records import Board, NewSubmission
from actgym.leaderboard.store import Store
from actgym.leaderboard.verifier import ConfinementMissing, Scorer, Verifier
from leaderboard_support import PROFILE, SECRET, activation

from actgym.candidate import confinement
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.sandbox import Sandbox

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the layers are Linux's")

RELU = activation("return jax.nn.relu(x)")
UNPARSABLE = "def activation_function(x:\n"
FULL_REPORT = {name: "active" for name in confinement.LAYERS}


@pytest.fixture
def skipped_landlock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(confinement.SKIP_ENV, "landlock")


@pytest.fixture
def strict() -> Iterator[Sandbox]:
    sandbox = Sandbox(required_layers=confinement.ALL_LAYERS)
    yield sandbox
    sandbox.close()


def test_unmet_names_the_required_layers_that_did_not_hold() -> None:
    report = {
        **FULL_REPORT,
        "landlock": "unavailable: Landlock is not supported or not enabled by this kernel",
        "seccomp": "active (295 instructions)",
        "network_namespace": "unavailable: unshare(CLONE_NEWUSER|CLONE_NEWNET) failed: EPERM",
    }
    assert confinement.unmet(report, confinement.ALL_LAYERS) == {
        "network_namespace": report["network_namespace"],
        "landlock": report["landlock"],
    }
    assert confinement.unmet(report, frozenset({"seccomp", "capabilities"})) == {}
    assert confinement.unmet(report, frozenset()) == {}
    partial = {"seccomp": "active"}
    assert confinement.unmet(partial, frozenset({"landlock"})) == {"landlock": "not reported"}


def test_unknown_layer_names_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown confinement layers \\['landlok'\\]"):
        Sandbox(required_layers=frozenset({"landlok"}))


def test_the_skip_knob_reports_the_layer_unavailable(skipped_landlock: None) -> None:
    report = confinement.active_layers()
    assert report["landlock"] == f"unavailable: skipped by {confinement.SKIP_ENV}"


def test_a_strict_sandbox_checks_relu_where_every_layer_holds(strict: Sandbox) -> None:
    missing = confinement.unmet(confinement.active_layers(), confinement.ALL_LAYERS)
    if missing:
        states = "; ".join(
            f"layer {name} unavailable on this machine ({state})" for name, state in missing.items()
        )
        pytest.skip(f"strict mode cannot pass here: {states}")
    program = strict.analyse(RELU, (8,))
    assert [equation["primitive"] for equation in program["eqns"]] == ["max"]


def test_a_strict_sandbox_refuses_before_parsing(skipped_landlock: None, strict: Sandbox) -> None:
    with pytest.raises(CandidateRejected) as refused:
        strict.analyse(UNPARSABLE, (8,))  # parsed, it would be a syntax_error
    assert refused.value.reason is Reason.CONFINEMENT_MISSING
    assert "landlock: unavailable: skipped by ACTGYM_CONFINEMENT_SKIP" in refused.value.message
    assert "nothing was run" in refused.value.message


def test_a_lenient_sandbox_runs_without_the_layer(skipped_landlock: None) -> None:
    lenient = Sandbox()
    try:
        with pytest.raises(CandidateRejected) as refused:
            lenient.analyse(UNPARSABLE, (8,))
    finally:
        lenient.close()
    assert refused.value.reason is Reason.SYNTAX_ERROR


def test_the_default_scorer_requires_every_layer() -> None:
    scorer = Scorer.from_secret(PROFILE, SECRET, env_version())
    try:
        assert scorer.required_layers == confinement.ALL_LAYERS
    finally:
        scorer.close()


def test_the_verifier_leaves_the_queue_untouched(skipped_landlock: None, tmp_path: Path) -> None:
    store = Store(tmp_path / "lb.db")
    submission_id = store.submissions.add(NewSubmission(name="relu", author="me", source=RELU))
    scorer = Scorer.from_secret(PROFILE, SECRET, env_version())
    verifier = Verifier(store, scorer, env_version())
    try:
        with pytest.raises(ConfinementMissing, match="landlock"):
            verifier.step()
    finally:
        scorer.close()
    board = Board(env_version(), PROFILE.name)
    claimed_first = store.queue.verification(board, 1)
    assert (claimed_first["state"], claimed_first["attempts"]) == ("pending", 0)
    assert store.queue.verification(board, submission_id)["state"] == "pending"
