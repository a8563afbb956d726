"""`actgym leaderboard ...` as a user runs it: submit, verify, show, export, build."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from actgym.leaderboard import duplicates
from actgym.leaderboard.records import Function
from actgym.leaderboard.schema import REFERENCE_AUTHOR
from actgym.leaderboard.seeds import SECRET_ENV
from actgym.leaderboard.store import Store
from actgym.leaderboard.tokens import InvalidToken
from leaderboard_support import (
    PROFILE,
    SECRET,
    activation,
    allow_missing_layers,
    layers_here,
    make_app,
    serve,
)
from typer.testing import CliRunner

from actgym.candidate import confinement
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.cli import app
from actgym.references import REFERENCES

runner = CliRunner()
MINE = len(REFERENCES) + 1
SCORE = re.compile(r"[+-]\d\.\d\d \[[+-]\d\.\d\d, [+-]\d\.\d\d\]")


def _source(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "my_act.py"
    path.write_text(activation(body))
    return path


def _run(*args: str, env: dict[str, str] | None = None) -> str:
    result = runner.invoke(app, ["leaderboard", *args], env=env)
    assert result.exit_code == 0, result.output
    return result.output


def test_local_submit_verify_show_export_and_build(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    db = str(tmp_path / "lb.db")
    source = _source(tmp_path, "return jax.nn.gelu(x) + 0.1 * jnp.cos(x)")
    author = "[b]me"  # markup in a name is printed, not interpreted
    name = "cosine ripple on GELU, found by a long-named agent run"  # wraps at 80 columns
    local = ["--db", db, "--profile", PROFILE.name, *allow_missing_layers()]
    submitted = _run("submit", str(source), "--name", name, "--author", author, *local)
    assert f"Submitted #{MINE}" in submitted

    reformatted = _source(
        tmp_path, "y = jax.nn.gelu(x)  # the same function\nreturn y + 0.1 * jnp.cos(x)"
    )
    again = runner.invoke(
        app, ["leaderboard", "submit", str(reformatted), "--name", "copy", "--author", "b", *local]
    )
    assert again.exit_code == 1, again.output
    assert f"duplicate of #{MINE} ({name})" in again.output and "nothing was queued" in again.output
    gelu = runner.invoke(
        app,
        [
            "leaderboard",
            "submit",
            str(_source(tmp_path, "return jax.nn.gelu(x)")),
            "--name",
            "g",
            "--author",
            "b",
            *local,
        ],
    )
    assert gelu.exit_code == 1 and "duplicate of #2 (GELU)" in gelu.output
    assert Store(db).submissions.count() == MINE

    verified = _run("verify", *local)
    assert f"Scoring the {len(REFERENCES)} reference activations first" in verified
    for submission_id, submitted_name in [(1, "ReLU"), (2, "GELU"), (MINE, name)]:
        line = f"verifying #{submission_id} {submitted_name} ({submission_id} of {MINE})"
        assert line in verified, verified
    assert f"#{MINE} done (ok) in " in verified
    again_verified = _run("verify", *local)
    assert "The queue is empty." in again_verified and "Scoring" not in again_verified

    shown = _run("show", "--db", db, "--profile", PROFILE.name, env={"COLUMNS": "80"})
    assert "cosine" in shown and "[b]me" in shown
    assert max(len(line) for line in shown.splitlines()) <= 80, shown
    assert len(SCORE.findall(shown)) == MINE, shown  # every score whole, none cut or wrapped
    flops = [line.split()[-1] for line in shown.splitlines() if SCORE.search(line)]
    assert all(re.fullmatch(r"\d+\.\d", value) for value in flops), flops  # one decimal each

    exported = tmp_path / "export.json"
    _run("export", "--db", db, "--profile", PROFILE.name, "--out", str(exported))
    data = json.loads(exported.read_text())
    assert {row["submission_id"] for row in data["results"]} >= {1, 2, MINE}
    assert data["environments"][0]["profile_settings"]["hidden_task_seeds"] == 1
    assert SECRET.decode() not in exported.read_text()

    site = tmp_path / "site"
    _run("build", "--db", db, "--profile", PROFILE.name, "--out", str(site))
    assert "cosine" in (site / "index.html").read_text()
    assert f'href="submissions/{MINE}.html"' in (site / "index.html").read_text()
    page = (site / "submissions" / f"{MINE}.html").read_text()
    assert f'src="../submissions/{MINE}.png"' in page
    assert (site / "submissions" / f"{MINE}.png").read_bytes()[:4] == b"\x89PNG"
    board = json.loads((site / "leaderboard.json").read_text())
    assert any(entry["name"] == name for entry in board["entries"])


def test_submit_to_a_server_and_refusals(tmp_path: Path) -> None:
    source = _source(tmp_path, "return jnp.tanh(x) + 0.5 * x")
    db = tmp_path / "lb.db"
    issued = _run("token", "add", "Ann Example", "--db", str(db))
    token = issued.strip().splitlines()[-1]
    submit = ["leaderboard", "submit", str(source), "--name", "t"]
    with serve(make_app(db, verify=False, required_layers=layers_here())) as url:
        sent = _run(*submit[1:], "--url", url, "--token", token)
        assert f"Submitted #{MINE} (pending): {url}/submissions/{MINE}" in sent
        copy = runner.invoke(app, [*submit, "--url", url, "--token", token])
        assert copy.exit_code == 1 and f"duplicate of #{MINE} (t)" in copy.output
        forged = runner.invoke(app, [*submit, "--url", url, "--token", token[:-1] + "x"])
        assert forged.exit_code == 1 and "401" in forged.output
        assert "The author token is not valid" in forged.output
        named = runner.invoke(app, [*submit, "--url", url, "--token", token, "--author", "B"])
        assert named.exit_code == 2 and "drop --author" in named.output
        tokenless = runner.invoke(app, [*submit, "--url", url])
        assert tokenless.exit_code == 2 and "needs --token" in tokenless.output
    assert Store(db).submissions.get(MINE)["author"] == "Ann Example"
    assert Store(db).submissions.count() == MINE
    too_long = runner.invoke(
        app, ["leaderboard", "submit", str(source), "--name", "n" * 100, "--author", "me"]
    )
    assert too_long.exit_code == 2
    assert "name: String should have at most 80 characters" in too_long.output
    unreachable = runner.invoke(app, [*submit, "--url", url, "--token", token])
    assert unreachable.exit_code == 1 and "could not reach" in unreachable.output


def test_tokens_are_issued_listed_and_revoked(tmp_path: Path) -> None:
    db = str(tmp_path / "lb.db")
    token = _run("token", "add", "Ann", "--db", db).strip().splitlines()[-1]
    assert Store(db).tokens.author(token) == "Ann"
    again = runner.invoke(app, ["leaderboard", "token", "add", "ann ", "--db", db])
    assert again.exit_code == 2 and "already has a token" in again.output
    reserved = runner.invoke(app, ["leaderboard", "token", "add", REFERENCE_AUTHOR, "--db", db])
    assert reserved.exit_code == 2 and "reserved" in reserved.output
    source = tmp_path / "f.py"
    source.write_text(REFERENCES["relu"])
    submit = ["leaderboard", "submit", str(source), "--name", "f", "--db", db]
    posing = runner.invoke(app, [*submit, "--author", "ACTGYM (Reference)"])
    assert posing.exit_code == 2 and "reserved for the reference" in posing.output
    listed = _run("token", "list", "--db", db)
    assert "Ann" in listed and token.split(".")[0] in listed and token not in listed
    assert "Revoked the token of 'Ann'" in _run("token", "revoke", "Ann", "--db", db)
    with pytest.raises(InvalidToken, match="revoked"):
        Store(db).tokens.author(token)
    unknown = runner.invoke(app, ["leaderboard", "token", "revoke", "Ann", "--db", db])
    assert unknown.exit_code == 1 and "has no live token" in unknown.output
    fresh = _run("token", "add", "Ann", "--db", db).strip().splitlines()[-1]
    assert Store(db).tokens.author(fresh) == "Ann"


def test_every_command_refuses_a_file_that_is_not_a_leaderboard(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_sandbox_for_a_refused_file(*args: object, **kwargs: object) -> None:
        raise AssertionError("a function identifier (and its sandbox) was started first")

    monkeypatch.setattr(duplicates, "FunctionIdentifier", no_sandbox_for_a_refused_file)
    db = tmp_path / "notes.db"
    db.write_bytes(b"my notes, not a database" * 10)
    source = tmp_path / "f.py"
    source.write_text(REFERENCES["relu"])
    commands = [
        ["export"],
        ["show"],
        ["verify"],
        ["build", "--out", str(tmp_path / "site")],
        ["requeue", "1"],
        ["token", "list"],
        ["token", "add", "Ann"],
        ["submit", str(source), "--name", "f", "--author", "Ann"],
        ["serve", "--port", "9"],
    ]
    for command in commands:
        result = runner.invoke(app, ["leaderboard", *command, "--db", str(db)])
        assert result.exit_code == 2, (command, result.output)
        assert "not an SQLite file" in result.output, command
    assert db.read_bytes() == b"my notes, not a database" * 10


def test_verify_runs_nothing_where_a_required_layer_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    allowed_here = allow_missing_layers()
    monkeypatch.setenv(SECRET_ENV, SECRET.decode())
    monkeypatch.setenv(confinement.SKIP_ENV, "seccomp")
    db = str(tmp_path / "lb.db")
    verify = ["leaderboard", "verify", "--db", db, "--profile", PROFILE.name]
    refused = runner.invoke(app, [*verify, *allowed_here])
    assert refused.exit_code == 1, refused.output
    assert "seccomp: unavailable: skipped by ACTGYM_CONFINEMENT_SKIP" in refused.output
    assert "The queue is unchanged" in refused.output
    typo = runner.invoke(app, [*verify, "--allow-missing-layer", "seccomb"])
    assert typo.exit_code == 2
    assert "unknown confinement layers" in typo.output and "seccomb" in typo.output


def test_a_local_submit_says_when_the_references_could_not_be_identified(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    identify = duplicates.FunctionIdentifier.identify

    def not_relu(self: duplicates.FunctionIdentifier, source: str) -> Function:
        if source == REFERENCES["relu"]:
            raise CandidateRejected(Reason.TIMEOUT, "the machine was too slow")
        return identify(self, source)

    monkeypatch.setattr(duplicates.FunctionIdentifier, "identify", not_relu)
    db = str(tmp_path / "lb.db")
    source = _source(tmp_path, "return jnp.where(x > 0, x, 0.0)")
    local = ["--db", db, "--profile", PROFILE.name, *allow_missing_layers()]
    submitted = _run("submit", str(source), "--name", "mine", "--author", "Ann", *local)
    assert "Not checked for duplicates here" in submitted and "references" in submitted
    assert "Submitted #" in submitted
