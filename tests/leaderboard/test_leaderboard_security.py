"""The leaderboard as a public service: author tokens, CSRF on the form, and old databases.

Every refusal is checked to store nothing; requests go through the real app (TestClient)
and the real SQLite store, without verification, so these tests are fast.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from actgym.leaderboard.csrf import COOKIE
from actgym.leaderboard.schema import REFERENCE_AUTHOR
from actgym.leaderboard.store import Store
from fastapi.testclient import TestClient
from leaderboard_support import activation, bearer, form_secrets, make_app, token_for

from actgym.references import REFERENCES

SOURCE = activation("return jnp.tanh(x) + 0.1 * x")
BODY = {"name": "tanh plus", "source": SOURCE}
WELL_FORMED_UNKNOWN = "0123456789abcdef." + "A" * 43


@dataclass
class Server:
    client: TestClient
    store: Store
    token: str


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    db = tmp_path / "lb.db"
    token = token_for(db, "Ann")
    with TestClient(make_app(db, verify=False)) as client:
        yield Server(client, Store(db), token)


def _stored(server: Server) -> int:
    return server.store.submissions.count() - len(REFERENCES)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "Submitting needs an author token"),
        ({"Authorization": "Basic QW5uOnB3"}, "Submitting needs an author token"),
        ({"Authorization": "Bearer "}, "Submitting needs an author token"),
        ({"Authorization": "Bearer not-a-token"}, "The author token is not valid"),
        ({"Authorization": f"Bearer {WELL_FORMED_UNKNOWN}"}, "The author token is not valid"),
    ],
)
def test_the_api_refuses_a_missing_or_invalid_token(
    server: Server, headers: dict[str, str], message: str
) -> None:
    response = server.client.post("/api/submissions", json=BODY, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert message in response.json()["detail"]
    assert _stored(server) == 0


def test_a_tampered_token_is_refused(server: Server) -> None:
    token_id, secret = server.token.split(".")
    tampered = f"{token_id}.{secret[:-1]}{'B' if secret[-1] != 'B' else 'C'}"
    response = server.client.post("/api/submissions", json=BODY, headers=bearer(tampered))
    assert response.status_code == 401 and "not valid" in response.json()["detail"]
    assert _stored(server) == 0


def test_a_revoked_token_is_refused(server: Server) -> None:
    assert server.store.tokens.revoke("ann")
    response = server.client.post("/api/submissions", json=BODY, headers=bearer(server.token))
    assert response.status_code == 401
    assert "was revoked: ask the operator for a new one" in response.json()["detail"]
    assert _stored(server) == 0


def test_the_author_is_the_token_name(server: Server) -> None:
    headers = bearer(server.token)
    claimed = server.client.post(
        "/api/submissions", json={**BODY, "author": "Someone Else"}, headers=headers
    )
    assert claimed.status_code == 422 and "remove author" in claimed.json()["detail"]
    assert _stored(server) == 0
    created = server.client.post("/api/submissions", json=BODY, headers=headers)
    assert created.status_code == 202, created.text
    submission_id = created.json()["id"]
    assert server.client.get(f"/api/submissions/{submission_id}").json()["author"] == "Ann"
    assert "<dd>Ann</dd>" in server.client.get(f"/submissions/{submission_id}").text


def test_tokens_are_stored_only_as_salted_hashes(server: Server) -> None:
    other = server.store.tokens.add("Bob")
    secrets = [token.split(".")[1].encode() for token in (server.token, other)]
    for path in server.store.database.path.parent.glob("lb.db*"):
        content = path.read_bytes()
        assert not any(secret in content for secret in secrets), path
    with sqlite3.connect(server.store.database.path) as connection:
        salts, digests = zip(*connection.execute("SELECT salt, digest FROM tokens"), strict=True)
    assert len(set(salts)) == len(set(digests)) == 2
    assert "tokens" not in server.store.export()
    listed = server.store.tokens.issued()
    assert [row["name"] for row in listed] == ["Ann", "Bob"]
    assert all(set(row) == {"name", "token_id", "created_at", "revoked_at"} for row in listed)


def test_the_form_refuses_a_post_without_its_csrf_token(server: Server) -> None:
    fields = {**BODY, "token": server.token}
    missing = server.client.post("/submit", data=fields)
    assert missing.status_code == 403
    assert "security token is missing or does not match" in missing.text
    secrets = form_secrets(server.client, server.token)
    forged = server.client.post("/submit", data={**fields, "csrf_token": "0" * 64})
    assert forged.status_code == 403
    server.client.cookies.clear()  # another browser: its own cookie, not the signed one
    form_secrets(server.client)
    crossed = server.client.post("/submit", data={**fields, **secrets})
    assert crossed.status_code == 403
    assert _stored(server) == 0


def test_the_form_accepts_a_post_with_its_csrf_and_author_tokens(server: Server) -> None:
    without_token = server.client.post("/submit", data={**BODY, **form_secrets(server.client)})
    assert without_token.status_code == 401 and "Enter your author token" in without_token.text
    secrets = form_secrets(server.client, server.token)
    accepted = server.client.post("/submit", data={**BODY, **secrets}, follow_redirects=False)
    assert accepted.status_code == 303, accepted.text
    submission_id = int(accepted.headers["location"].rsplit("/", 1)[1])
    assert server.store.submissions.get(submission_id)["author"] == "Ann"
    assert _stored(server) == 1


def test_the_csrf_cookie_is_strict_and_the_form_asks_for_a_token(server: Server) -> None:
    page = server.client.get("/submit")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/submit" in cookie
    assert 'id="token" name="token" type="password"' in page.text
    assert 'name="author"' not in page.text


def test_a_database_from_before_tokens_gains_them(tmp_path: Path) -> None:
    db = tmp_path / "old.db"
    Store(db)
    with sqlite3.connect(db) as connection:
        connection.execute("DROP INDEX live_token_by_name")
        connection.execute("DROP TABLE tokens")
    store = Store(db)
    assert store.submissions.count() == len(REFERENCES)
    assert store.tokens.author(store.tokens.add("Ann")) == "Ann"


def test_an_open_development_server_takes_the_author_from_the_submission(
    tmp_path: Path,
) -> None:
    db = tmp_path / "lb.db"
    with TestClient(make_app(db, verify=False, open_submissions=True)) as client:
        response = client.post("/api/submissions", json={**BODY, "author": "Bea"})
        assert response.status_code == 202, response.text
        page = client.get("/submit").text
        for posing in (REFERENCE_AUTHOR, "ACTGYM  (Reference)", "actgym (r\u0435ference)"):
            refused = client.post("/api/submissions", json={**BODY, "author": posing})
            assert refused.status_code == 422, refused.text
            assert "reserved for the reference activations" in refused.text
    assert 'id="author"' in page and 'id="token"' not in page
    assert Store(db).submissions.get(response.json()["id"])["author"] == "Bea"
