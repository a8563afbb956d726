"""`actgym export`: one JSON line per evaluation, joining the store's columns and notes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from fakes import FakeBackend
from typer.testing import CliRunner

from actgym.agent import Agent, History, Proposal
from actgym.cli import app
from actgym.search import run_search

runner = CliRunner()


class Chatty(Agent):
    """Each proposal edits the last one, with the notes an LLM agent stores."""

    def propose(self, count: int, history: History) -> Sequence[Proposal | str]:
        proposals = []
        for index in range(len(history), len(history) + count):
            parents = (len(history) - 1,) if history else ()
            source = f"# step {index}\n" + ("# reject me\n" if index == 2 else "")
            notes = {
                "prompt": [{"role": "user", "content": f"improve step {index - 1}"}],
                "reply": f"```python\n{source}```",
                "prompt_tokens": 10 + index,
                "completion_tokens": 3,
            }
            proposals.append(Proposal(source, parents=parents, notes=notes))
        return proposals


def test_export_writes_one_record_per_evaluation(tmp_path: Path) -> None:
    config = {"agent": "test_export:Chatty", "budget": 4, "proposals_per_call": 2}
    run_search(tmp_path, config, backend_factory=FakeBackend().factory(), show_progress=False)
    result = runner.invoke(app, ["export", str(tmp_path)])
    assert result.exit_code == 0 and "wrote 4 evaluations" in result.output, result.output
    lines = (tmp_path / "trajectories.jsonl").read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["id"] for record in records] == [0, 1, 2, 3]
    assert [record["parent_ids"] for record in records] == [[], [], [1], [1]]
    first, _, rejected, last = records
    assert first["edit"] is None and first["prompt"][0]["content"] == "improve step -1"
    assert "-# step 1\n+# step 2\n+# reject me\n" in rejected["edit"]
    assert rejected["status"] == "policy_violation" and rejected["reward"] == -10.0
    assert last["tokens"] == {"prompt": 13, "completion": 3}
    assert last["reply"] == "```python\n# step 3\n```" and last["status"] == "ok"
    assert last["losses"] == {"train": 0.25, "id": 0.5, "ood": 1.0}
    assert set(last["timings"]) == {
        "check_s",
        "compile_s",
        "train_s",
        "total_s",
        "wall_s",
        "cached",
    }
    assert last["run"] == {
        "agent": "test_export:Chatty",
        "env_id": "ActSearch-Harmonics-v0",
        "seed": 0,
    }
    to_stdout = runner.invoke(app, ["export", str(tmp_path), "--out", "-"])
    assert to_stdout.exit_code == 0 and to_stdout.output.splitlines() == lines


def test_export_of_a_directory_without_a_run_is_refused(tmp_path: Path) -> None:
    result = runner.invoke(app, ["export", str(tmp_path)])
    assert result.exit_code == 2 and "no run store" in result.output
    assert list(tmp_path.iterdir()) == []
