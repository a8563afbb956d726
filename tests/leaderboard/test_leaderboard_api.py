"""The JSON API and the pages, served in-process (TestClient) or by uvicorn on loopback.

Submissions carry an author token, as on a public server (test_leaderboard_security.py
covers refusals of tokens and of forms without their CSRF token).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from actgym.leaderboard import views
from actgym.leaderboard.profiles import env_version
from actgym.leaderboard.ranking import Leaderboard
from actgym.leaderboard.rate_limit import RateLimit
from actgym.leaderboard.records import Board, NewSubmission, ResultRow, Verdict
from actgym.leaderboard.store import Store
from actgym.leaderboard.verification_queue import VerificationQueue
from fastapi.testclient import TestClient
from leaderboard_support import (
    PROFILE,
    activation,
    bearer,
    dead_verifier_identity,
    form_secrets,
    make_app,
    serve,
    token_for,
    wait_verified,
)

from actgym.references import REFERENCES

COUPLED = activation("return x + 0.1 * jnp.tanh(jnp.roll(x, 1) - x)")
GELU_SINE_TWEAK = activation("return jax.nn.gelu(x) + 0.2 * jnp.sin(x)  # <script>x</script>")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    db = tmp_path / "lb.db"
    with TestClient(make_app(db), headers=bearer(token_for(db, "tester"))) as client:
        yield client


def _submit(client: TestClient, source: str, name: str = "mine", **extra: str) -> int:
    response = client.post("/api/submissions", json={"name": name, "source": source, **extra})
    assert response.status_code == 202, response.text
    return response.json()["id"]


def _verified(client: TestClient, submission_id: int) -> dict:
    return wait_verified(lambda path: client.get(path).json(), submission_id)


def test_submit_verify_and_rank(client: TestClient) -> None:
    submission_id = _submit(client, GELU_SINE_TWEAK, agent="random", model="none", run="run-7")
    details = _verified(client, submission_id)
    assert (details["state"], details["reason"]) == ("done", "ok"), details["message"]
    assert details["agent"] == "random" and details["run"] == "run-7"
    assert details["author"] == "tester"
    assert details["environment"]["details"]["packages"]["jax"]
    entry = details["entry"]
    assert entry["score"]["low"] <= entry["score"]["value"] <= entry["score"]["high"]
    assert entry["flops_per_element"] == details["flops_per_element"] > 0
    hidden = [task for task in entry["tasks"] if task["task"]["seed_set"] == "hidden"]
    assert len(hidden) == len(PROFILE.evaluation.families) * PROFILE.hidden_seeds

    board = client.get("/api/leaderboard").json()
    assert board["version"] == env_version()
    assert board["profile"]["name"] == PROFILE.name
    assert "hidden task seeds" in board["rule"]
    ranked = {entry["submission_id"]: entry for entry in board["entries"]}
    assert len(ranked) == len(REFERENCES) + 1
    assert [entry["rank"] for entry in board["entries"]] == list(range(1, len(ranked) + 1))
    relu = next(entry for entry in board["entries"] if entry["reference"] == "relu")
    assert relu["score"]["value"] == 0.0
    assert ranked[submission_id]["rank"] == entry["rank"]

    page = client.get(f"/submissions/{submission_id}").text
    assert "&lt;script&gt;x&lt;/script&gt;" in page
    assert "<script>" not in page
    plot = client.get(f"/submissions/{submission_id}/plot.png")
    assert plot.headers["content-type"] == "image/png" and plot.content[:4] == b"\x89PNG"
    assert f'id="entry-{submission_id}"' in client.get("/").text


def test_the_locality_is_measured_shown_and_filtered(client: TestClient) -> None:
    coupled = _submit(client, COUPLED, "rolled")
    details = _verified(client, coupled)
    assert (details["state"], details["locality"]) == ("done", "feature-coupled"), details
    assert details["entry"]["locality"] == "feature-coupled"
    assert 'id="locality">feature-coupled<' in client.get(f"/submissions/{coupled}").text
    board = client.get("/api/leaderboard").json()
    relu = next(entry for entry in board["entries"] if entry["reference"] == "relu")
    assert relu["locality"] == "pointwise"
    ranks = {entry["submission_id"]: entry["rank"] for entry in board["entries"]}

    for locality in ("pointwise", "feature-coupled"):
        only = client.get("/api/leaderboard", params={"locality": locality}).json()
        assert only["locality"] == locality and only["entries"], only
        assert all(entry["locality"] == locality for entry in only["entries"])
        assert all(ranks[entry["submission_id"]] == entry["rank"] for entry in only["entries"])
    assert [e["submission_id"] for e in only["entries"]] == [coupled]  # no reference couples

    page = client.get("/", params={"locality": "feature-coupled"}).text
    assert f'id="entry-{coupled}"' in page and f'id="entry-{relu["submission_id"]}"' not in page
    assert 'href="/?locality=pointwise"' in page and "<b>feature-coupled</b>" in page
    assert '<td class="locality">pointwise</td>' in client.get("/").text
    for path in ("/", "/api/leaderboard"):
        refused = client.get(path, params={"locality": "local"})
        assert refused.status_code == 422
        assert "'pointwise' or 'feature-coupled'" in refused.json()["detail"]


def test_duplicates_are_answered_at_submit_and_not_stored(tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    store = Store(db)
    with TestClient(make_app(db), headers=bearer(token_for(db, "tester"))) as client:
        first = _submit(client, activation("return jnp.tanh(x) + 0.3 * x"), "first")
        relu_id = next(i for i, key in enumerate(REFERENCES, start=1) if key == "relu")
        copies = {
            activation("y = jnp.maximum(x, 0.0)\nreturn y"): (relu_id, "ReLU"),
            activation("t = jnp.tanh(x)\nreturn t + 0.3 * x"): (first, "first"),
        }
        for source, (owner, name) in copies.items():
            response = client.post("/api/submissions", json={"name": "copy", "source": source})
            assert response.status_code == 409, response.text
            assert response.json() == {
                "detail": f"duplicate of #{owner} ({name})",
                "duplicate_of": owner,
            }
        form = client.post(
            "/submit",
            data={"name": "copy", "source": activation("return jnp.tanh(x) + 0.3 * x  # again")}
            | form_secrets(client, client.headers["Authorization"].split()[1]),
        )
        assert form.status_code == 409 and f"duplicate of #{first} (first)" in form.text
        assert store.submissions.count() == len(REFERENCES) + 1

        # A rewrite that entered without the submit-time check still ends as a duplicate.
        backstop = store.submissions.add(
            NewSubmission(
                name="late copy",
                author="tester",
                source=activation("return 0.3 * x + jnp.tanh(x)"),
            )
        )
        details = _verified(client, backstop)
        assert (details["state"], details["reason"]) == ("failed", "duplicate")
        assert details["duplicate_of"] == first and details["entry"] is None
        assert f"submission #{first} (first)" in details["message"]
        assert _verified(client, first)["state"] == "done"


HOSTILE = {
    "import os\nos.system('touch /tmp/pwned')\n": "policy_violation",
    activation("return x.__class__.__bases__[0].__subclasses__()"): "policy_violation",
    activation("return jnp.log(x)"): "nonfinite_output",
    activation("for _ in range(200):\n    x = jnp.sin(x) * jnp.cos(x)\nreturn x"): (
        "cost_over_budget"
    ),
    "def activation_function(x:\n": "syntax_error",
    "x = 1\n": "missing_function",
}


def test_hostile_submissions_fail_with_a_reason_and_affect_no_one(client: TestClient) -> None:
    failing = {
        _submit(client, source, f"hostile {i}"): r for i, (source, r) in enumerate(HOSTILE.items())
    }
    good = _submit(client, activation("return jax.nn.silu(x) + 0.05 * jnp.sin(3.0 * x)"), "good")
    for submission_id, reason in failing.items():
        details = _verified(client, submission_id)
        assert (details["state"], details["reason"]) == ("failed", reason), details["message"]
        assert details["message"]
    assert _verified(client, good)["state"] == "done"
    board = client.get("/api/leaderboard").json()
    assert {entry["submission_id"] for entry in board["entries"]} >= {good, 1, 2}
    assert not set(failing) & {entry["submission_id"] for entry in board["entries"]}
    assert not Path("/tmp/pwned").exists()


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        ({"name": "a", "source": "x", "score": 9.5}, 422, "carry no score"),
        ({"name": "a", "source": "x", "reward": 1}, 422, "remove reward"),
        ({"name": "a", "source": "x", "author": "b"}, 422, "name of your token"),
        ({"name": "a"}, 422, "source: Field required"),
        ({"name": "a", "source": "x", "extra": 1}, 422, "extra: Extra inputs"),
        ({"name": "a", "source": "x" * 16_385}, 422, "at most 16384 characters"),
        ({"name": "n" * 81, "source": "x"}, 422, "name: String should have at most"),
        ({"name": "a\x00b", "source": "x"}, 422, "name: must be one line"),
        ({"name": "a", "source": 42}, 422, "source: Input should be a valid str"),
        (["not", "an", "object"], 422, "valid dictionary"),
    ],
)
def test_malformed_requests_get_422_with_a_clear_message(
    tmp_path: Path, body: object, status: int, message: str
) -> None:
    db = tmp_path / "lb.db"
    app = make_app(db, verify=False)
    with TestClient(app, headers=bearer(token_for(db, "tester"))) as client:
        response = client.post("/api/submissions", json=body)
    assert response.status_code == status
    assert message in response.json()["detail"]


def test_oversized_and_broken_requests_get_4xx(tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    app = make_app(db, verify=False, max_body_bytes=4096)
    token = token_for(db, "tester")
    with TestClient(app, headers=bearer(token)) as client:
        big = client.post("/api/submissions", content=b"{" + b" " * 10_000 + b"}")
        assert big.status_code == 413 and "limit of 4096 bytes" in big.json()["detail"]
        form = client.post("/submit", data={"name": "a", "author": "b", "source": "x" * 5000})
        assert form.status_code == 413
        broken = client.post(
            "/api/submissions", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 422 and "not valid JSON" in broken.json()["detail"]
        assert client.get("/api/submissions/99999").status_code == 404
        assert "no submission #99999" in client.get("/api/submissions/99999").json()["detail"]
        assert client.get("/api/submissions/0").status_code == 422
        assert client.get("/api/submissions/abc").status_code == 422
        secrets = form_secrets(client, token)
        empty = client.post("/submit", data={"name": "", "source": "x", **secrets})
        assert empty.status_code == 422 and 'id="error"' in empty.text


def test_rate_limit_answers_429_per_author(tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    app = make_app(db, verify=False, rate_limit=RateLimit(2, 3600.0))
    ann, bob = bearer(token_for(db, "Ann")), bearer(token_for(db, "Bob"))
    with TestClient(app) as client:
        for index in range(2):
            assert (
                client.post("/api/submissions", json=_body(index), headers=ann).status_code == 202
            )
        refused = client.post("/api/submissions", json=_body(2), headers=ann)
        assert refused.status_code == 429
        assert "Author 'Ann' has made 2 submissions" in refused.json()["detail"]
        assert "the limit; try again in" in refused.json()["detail"]
        assert int(refused.headers["retry-after"]) > 0
        assert client.post("/api/submissions", json=_body(3), headers=bob).status_code == 202


def _body(index: int) -> dict:
    return {"name": f"f{index}", "source": activation(f"return x * {index}.0")}


def test_restart_mid_queue_resumes_rows_left_running(tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    store = Store(db)
    submission_id = store.submissions.add(_as_new(_body(1)))
    board = Board(version=env_version(), profile=PROFILE.name)
    dead = dead_verifier_identity()
    while store.queue.claim(board, None, owner=dead) is not None:  # took everything, then died
        pass
    assert store.queue.verification(board, submission_id)["state"] == "running"
    with TestClient(make_app(db)) as client:
        details = _verified(client, submission_id)
    assert details["state"] == "done"
    assert details["attempts"] == 2


def _as_new(body: dict) -> object:
    from actgym.leaderboard.models import SubmissionIn

    return SubmissionIn.model_validate(body).new_submission("someone")


def test_fifty_concurrent_submissions_over_http(tmp_path: Path) -> None:
    db = tmp_path / "lb.db"
    app = make_app(db, verify=False, rate_limit=RateLimit(100, 3600.0))
    headers = bearer(token_for(db, "someone"))
    with serve(app) as url:

        def post(index: int) -> int:
            response = httpx.post(
                f"{url}/api/submissions", json=_body(index), headers=headers, timeout=60.0
            )
            assert response.status_code == 202, response.text
            return response.json()["id"]

        with ThreadPoolExecutor(max_workers=50) as pool:
            ids = list(pool.map(post, range(50)))
    store = Store(db)
    assert len(set(ids)) == 50
    assert store.submissions.count() == len(REFERENCES) + 50
    assert sorted(store.submissions.get(i)["name"] for i in ids) == sorted(
        f"f{i}" for i in range(50)
    )


def _verified_rows(ood_loss: float) -> tuple[ResultRow, ...]:
    return tuple(
        ResultRow(seed_set, 0, "Harmonics", task, f"h{task}", seed, 1e-4, 1e-4, ood_loss)
        for seed_set in ("public", "hidden")
        for task in range(4)
        for seed in range(2)
    )


def _running_beside_ranked_references(client: TestClient, store: Store, board: Board) -> int:
    """Rank ReLU and GELU by hand, fail the other references, and claim a new submission."""
    while (claim := store.queue.claim(board, None)) is not None:
        loss = {"relu": 1.0, "gelu": 0.5}.get(claim.reference or "")
        outcome = (
            Verdict("failed", "timeout", "skipped")
            if loss is None
            else Verdict(
                "done", "ok", "", str(claim.reference), "{}", 1.0, rows=_verified_rows(loss)
            )
        )
        store.queue.finish(board, claim.submission_id, outcome)
    submission_id = _submit(client, GELU_SINE_TWEAK)
    claim = store.queue.claim(board, None)
    assert claim is not None and claim.submission_id == submission_id
    return submission_id


def _finisher(store: Store, board: Board, submission_id: int) -> Callable[[], None]:
    """Finish the running verification as the best entry, once, whoever calls first."""
    finished = Verdict("done", "ok", "", "mine", "{}", 1.0, rows=_verified_rows(0.25))

    def finish_once() -> None:
        if store.queue.verification(board, submission_id)["state"] == "running":
            store.queue.finish(board, submission_id, finished)

    return finish_once


def test_a_submission_shown_done_is_shown_with_its_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The verifier may finish between the ranking's read and the state's: the details must
    not then say done without the entry (a poller saw exactly that on a loaded machine)."""
    db = tmp_path / "lb.db"
    store, board = Store(db), Board(env_version(), PROFILE.name)
    with TestClient(make_app(db, verify=False), headers=bearer(token_for(db, "tester"))) as client:
        submission_id = _running_beside_ranked_references(client, store, board)
        finish_once = _finisher(store, board, submission_id)

        ranked_before_the_finish = views.CachedRanking.get

        def finish_after_ranking(cache: views.CachedRanking) -> Leaderboard:
            ranking = ranked_before_the_finish(cache)
            finish_once()
            return ranking

        monkeypatch.setattr(views.CachedRanking, "get", finish_after_ranking)
        during = client.get(f"/api/submissions/{submission_id}").json()
        finish_once()
        after = client.get(f"/api/submissions/{submission_id}").json()
        page = client.get(f"/submissions/{submission_id}").text
    for details in (during, after):
        assert (details["state"] == "done") == (details["entry"] is not None), details
    assert after["state"] == "done" and after["entry"]["submission_id"] == submission_id
    assert after["entry"]["rank"] == 1
    assert "<h2>Rank 1 of 3</h2>" in page


def test_the_index_shows_a_submission_finished_while_it_is_assembled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ranking and the not-ranked queue are two reads; a verification finishing between
    them must leave the submission in one of the two tables, not in neither."""
    db = tmp_path / "lb.db"
    store, board = Store(db), Board(env_version(), PROFILE.name)
    with TestClient(make_app(db, verify=False), headers=bearer(token_for(db, "tester"))) as client:
        submission_id = _running_beside_ranked_references(client, store, board)
        finish_once = _finisher(store, board, submission_id)
        ranking_read, queue_read = views.CachedRanking.get, VerificationQueue.unranked

        def finish_after_ranking(cache: views.CachedRanking) -> Leaderboard:
            ranking = ranking_read(cache)
            finish_once()
            return ranking

        def finish_after_queue(queue: VerificationQueue, board: Board) -> list[dict]:
            rows = queue_read(queue, board)
            finish_once()
            return rows

        monkeypatch.setattr(views.CachedRanking, "get", finish_after_ranking)
        monkeypatch.setattr(VerificationQueue, "unranked", finish_after_queue)
        page = client.get("/").text
    assert store.queue.verification(board, submission_id)["state"] == "done"
    rows = page.count(f'id="entry-{submission_id}"') + page.count(f'id="queued-{submission_id}"')
    assert rows == 1, page
