"""The service side holds (issue 28): no secret is recoverable from what the verifier
leaves on disk, and every finding of the red-team pass has a test that failed before."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import jax
import pytest
from actgym.leaderboard.duplicates import FunctionIdentifier
from actgym.leaderboard.profiles import PUBLIC_TASK_SEED, env_version
from actgym.leaderboard.rate_limit import RateLimit
from actgym.leaderboard.records import Board, Function, NewSubmission
from actgym.leaderboard.seeds import hidden_task_seeds
from actgym.leaderboard.store import Store
from actgym.leaderboard.trace_gate import TraceGate
from fastapi.testclient import TestClient
from leaderboard_support import (
    PROFILE,
    activation,
    bearer,
    form_secrets,
    make_app,
    token_for,
)

from actgym.cache import JsonCache
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.child_process import compilation_cache_dir
from actgym.references import REFERENCES
from actgym.tasks.registry import make_family

SOURCE = activation("return jnp.tanh(x) + 0.1 * x")


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The common default: directories readable by everyone unless made private."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_hidden_seeds_carry_128_bits_so_the_seed_space_cannot_be_searched() -> None:
    seeds = hidden_task_seeds(b"secret", "v1", 8)
    assert len(set(seeds)) == 8 and PUBLIC_TASK_SEED not in seeds
    assert all(0 <= seed < 2**128 for seed in seeds)
    assert max(seed.bit_length() for seed in seeds) > 120, "not drawn from a small space"
    (first,) = make_family("Harmonics", seed=seeds[0], num_instances=1).instances
    (second,) = make_family("Harmonics", seed=seeds[1], num_instances=1).instances
    assert first.formula != second.formula, "each seed builds its own task"


def test_result_and_compilation_caches_are_private_directories(
    tmp_path: Path, open_umask: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = tmp_path / "cache" / "results"
    JsonCache(results).put("fingerprint-hash", {"losses": []})
    for directory in (tmp_path / "cache", results):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    monkeypatch.delenv("ACTGYM_XLA_CACHE", raising=False)
    configured = jax.config.jax_compilation_cache_dir
    jax.config.update("jax_compilation_cache_dir", None)
    try:
        compiled = compilation_cache_dir(tmp_path / "fresh" / "xla")
    finally:
        jax.config.update("jax_compilation_cache_dir", configured)
    assert compiled == tmp_path / "fresh" / "xla"
    for directory in (tmp_path / "fresh", compiled):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory


def test_a_rate_limited_author_is_refused_before_the_source_is_traced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    traced: list[str] = []
    trace = FunctionIdentifier.identify

    def counted(self: FunctionIdentifier, source: str) -> Function:
        traced.append(source)
        return trace(self, source)

    monkeypatch.setattr(FunctionIdentifier, "identify", counted)
    db = tmp_path / "lb.db"
    headers = bearer(token_for(db, "Ann"))
    app = make_app(db, verify=False, rate_limit=RateLimit(max_submissions=1, window_s=3600))
    looping = activation("while True:\n    x = x + 1.0\nreturn x")
    with TestClient(app) as client:
        first = client.post(
            "/api/submissions", json={"name": "one", "source": SOURCE}, headers=headers
        )
        assert first.status_code == 202, first.text
        again = client.post(
            "/api/submissions", json={"name": "loop", "source": looping}, headers=headers
        )
    assert again.status_code == 429 and "try again in" in again.json()["detail"]
    assert SOURCE in traced and looping not in traced, "the limited one was never traced"


def _multipart(fields: dict[str, bytes]) -> bytes:
    parts = [
        b'--XX\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n\r\n' + value
        for name, value in fields.items()
    ]
    return b"\r\n".join(parts) + b"\r\n--XX--\r\n"


def test_a_form_decoding_to_a_lone_surrogate_is_refused_not_a_server_error(
    tmp_path: Path,
) -> None:
    db = tmp_path / "lb.db"
    token = token_for(db, "Ann")
    with TestClient(make_app(db, verify=False), raise_server_exceptions=False) as client:
        secrets = form_secrets(client, token)
        fields = {"name": b"tanh \\ud800", "source": SOURCE.replace("\n", "\\n").encode()}
        fields |= {key: value.encode() for key, value in secrets.items()}
        headers = {"Content-Type": "multipart/form-data; boundary=XX; charset=unicode_escape"}
        page = client.post("/submit", content=_multipart(fields), headers=headers)
    assert page.status_code == 422 and "not valid Unicode" in page.text
    assert Store(db).submissions.count() == len(REFERENCES), "nothing was stored"


TROJAN = activation("return x  # \u202e } ⁦if True:⁩ return jnp.tanh(x)")


def test_a_source_with_bidirectional_controls_is_refused_and_old_ones_show_escaped(
    tmp_path: Path,
) -> None:
    db = tmp_path / "lb.db"
    headers = bearer(token_for(db, "Ann"))
    with TestClient(make_app(db, verify=False)) as client:
        refused = client.post(
            "/api/submissions", json={"name": "trojan", "source": TROJAN}, headers=headers
        )
        assert refused.status_code == 422 and "U+202E" in refused.json()["detail"]
        stored = Store(db).submissions.add(NewSubmission(name="old", author="Ann", source=TROJAN))
        page = client.get(f"/submissions/{stored}").text
    assert "\u202e" not in page and "\u2066" not in page
    assert "\\u202e" in page and "\\u2066" in page


@pytest.mark.parametrize(
    "name",
    ["actgym  (reference)", "ACTGYM (Reference)", "\u0430ctgym (reference)", "a.nn", "ANN "],
)
def test_names_that_look_like_the_reference_or_another_author_are_refused(
    tmp_path: Path, name: str
) -> None:
    store = Store(tmp_path / "lb.db")
    store.tokens.add("Ann")
    with pytest.raises(ValueError, match=r"looks like the author|already has a token|reserved"):
        store.tokens.add(name)
    assert store.tokens.add("Anne"), "a name of its own is issued"


def test_the_trace_gate_refuses_work_when_full_and_passes_on_exceptions() -> None:
    gate = TraceGate(slots=1, deadline_s=30.0)
    release, started = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(30)
        return "slow"

    waiting = threading.Thread(target=gate.run, args=(slow,))
    waiting.start()
    started.wait(30)
    assert gate.run(lambda: "honest") is None, "no free slot: the caller does not wait"
    release.set()
    waiting.join(30)
    assert gate.run(lambda: "honest") == "honest"
    with pytest.raises(ZeroDivisionError):
        gate.run(lambda: 1 / 0)
    gate.close()


def test_a_slow_source_being_traced_holds_up_no_honest_submitter_nor_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    looping = activation("while True:\n    x = x + 1.0\nreturn x")
    tracing, traced = threading.Event(), threading.Event()
    trace = FunctionIdentifier.identify

    def watched(self: FunctionIdentifier, source: str) -> Function:
        if source != looping:
            return trace(self, source)
        tracing.set()
        try:
            return trace(self, source)
        finally:
            traced.set()

    monkeypatch.setattr(FunctionIdentifier, "identify", watched)
    db = tmp_path / "lb.db"
    slow, honest = bearer(token_for(db, "Slow")), bearer(token_for(db, "Honest"))
    app = make_app(db, verify=False, trace_slots=1, trace_deadline_s=0.5)
    with TestClient(app) as client:
        first = client.post(
            "/api/submissions", json={"name": "loop", "source": looping}, headers=slow
        )
        assert first.status_code == 202, "queued unidentified once the deadline passed"
        assert tracing.is_set() and not traced.is_set(), "its trace still holds the one slot"
        second = client.post(
            "/api/submissions", json={"name": "tanh plus", "source": SOURCE}, headers=honest
        )
        page = client.get("/")
        assert not traced.is_set(), "both were answered while the slow trace went on"
    assert second.status_code == 202 and page.status_code == 200
    assert Store(db).submissions.count() == len(REFERENCES) + 2, "nothing was lost"


REFERENCE_REWRITES = {
    "jnp.where(x > 0, x, 0.0)": "ReLU",
    "jnp.maximum(0.0, x)": "ReLU",
    "jnp.maximum(x * 1.0, 0.0) + 0.0 * x": "ReLU",
    "x * (x > 0)": "ReLU",
    "0.1 * jnp.sin(x) + jax.nn.gelu(x)": "GELUSine",
    "jnp.sin(x) / 10.0 + jax.nn.gelu(x)": "GELUSine",
}


def test_rewrites_of_a_reference_are_refused_at_submit_naming_it(tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    references = {
        row["name"]: submission_id
        for submission_id in Store(db).submissions.ids()
        if (row := Store(db).submissions.get(submission_id))
    }
    with TestClient(make_app(db, verify=False), headers=bearer(token_for(db, "Ann"))) as client:
        for body, name in REFERENCE_REWRITES.items():
            response = client.post(
                "/api/submissions", json={"name": "mine", "source": activation(f"return {body}")}
            )
            assert response.status_code == 409, (body, response.text)
            owner = references[name]
            assert response.json() == {
                "detail": f"duplicate of #{owner} ({name})",
                "duplicate_of": owner,
            }, body
        new = client.post(
            "/api/submissions",
            json={"name": "new", "source": activation("return jax.nn.gelu(x) + 0.11 * jnp.sin(x)")},
        )
        assert new.status_code == 202, "a changed coefficient is a new function"
    assert Store(db).submissions.count() == len(REFERENCES) + 1


def test_a_rewrite_never_takes_the_function_of_a_reference_not_yet_identified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up seeding can fail for a reference (a slow machine); until it is claimed,
    submissions queue unidentified instead of claiming what may be the reference's function."""
    refuse_relu = threading.Event()
    refuse_relu.set()
    trace = FunctionIdentifier.identify

    def flaky(self: FunctionIdentifier, source: str) -> Function:
        if refuse_relu.is_set() and source == REFERENCES["relu"]:
            raise CandidateRejected(Reason.TIMEOUT, "the machine was too slow")
        return trace(self, source)

    monkeypatch.setattr(FunctionIdentifier, "identify", flaky)
    db = tmp_path / "lb.db"
    store, board = Store(db), Board(env_version(), PROFILE.name)
    relu = next(i for i, src in store.submissions.references().items() if src == REFERENCES["relu"])
    rewrite = {"name": "mine", "source": activation("return jnp.where(x > 0, x, 0.0)")}
    with TestClient(make_app(db, verify=False), headers=bearer(token_for(db, "Ann"))) as client:
        queued = client.post("/api/submissions", json=rewrite)
        assert queued.status_code == 202, queued.text
        assert not store.submissions.owns_a_function(board, queued.json()["id"])
        refuse_relu.clear()
        refused = client.post("/api/submissions", json=rewrite)
    assert refused.status_code == 409 and "ReLU" in refused.text, refused.text
    assert store.submissions.owns_a_function(board, relu)
