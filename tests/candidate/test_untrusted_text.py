"""Strings a candidate chooses are made safe once, and then stores, terminals and CLIs hold."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

from fakes import FakeBackend
from sources import activation
from typer.testing import CliRunner

from actgym.candidate.limits import MAX_MESSAGE_CHARS
from actgym.candidate.untrusted_text import sanitise, valid_utf8
from actgym.cli import app
from actgym.evaluation import Evaluator
from actgym.search import run_search
from actgym.search.store import FILENAME

HOSTILE_MESSAGE = activation(
    "x",
    header="import jax\n\nraise ValueError('\\ud800 \\x1b[2J\\x00 [/x] /usr/lib/secret/path.py')\n",
)


def test_sanitise_keeps_valid_visible_text_and_drops_the_rest() -> None:
    assert sanitise("plain: x / y = 2") == "plain: x / y = 2"
    assert sanitise("\ud800") == "?"
    assert sanitise("a\x1b[31mb\x00c\u202ed") == "a[31mbcd"
    assert sanitise("line\nnext\ttab") == "line next tab"
    assert sanitise('File "/home/user/actgym/.venv/lib/jax.py"') == 'File "<path>"'
    long = sanitise("x" * 5000)
    assert len(long) == MAX_MESSAGE_CHARS and long.endswith("…")
    assert sanitise(ValueError("boom")) == "boom"
    assert valid_utf8("keep\nlayout \ud800") == "keep\nlayout ?"


def test_a_message_a_candidate_chose_reaches_info_sanitised(evaluator: Evaluator) -> None:
    result = evaluator.evaluate(HOSTILE_MESSAGE)
    assert result.status == "runtime_error"
    assert result.message.encode("utf-8")
    assert not any(char in result.message for char in "\x1b\x00\ud800")
    assert "/usr/lib" not in result.message and "<path>" in result.message
    json.dumps(result.to_dict(), ensure_ascii=False).encode("utf-8")


def test_actgym_eval_prints_a_message_holding_rich_markup(tmp_path: Path) -> None:
    source = tmp_path / "hostile.py"
    source.write_text(HOSTILE_MESSAGE)
    result = CliRunner().invoke(app, ["eval", str(source), "--fast"])
    assert result.exit_code == 1, result.output
    assert "runtime_error" in result.output and "[/x]" in result.output


def test_a_search_stores_sources_holding_lone_surrogates(tmp_path: Path) -> None:
    config = {"agent": "fakes:Surrogates", "budget": 4, "proposals_per_call": 2}
    backend = FakeBackend()
    run_search(tmp_path, config, backend_factory=backend.factory(), show_progress=False)
    factory = backend.factory()
    run_search(tmp_path, {"agent": config["agent"]}, backend_factory=factory, resume=True)
    with closing(sqlite3.connect(tmp_path / FILENAME)) as connection:
        sources = [row[0] for row in connection.execute("SELECT source FROM evaluations")]
    assert len(sources) == 4 and all(source.endswith(" ?\n") for source in sources)
