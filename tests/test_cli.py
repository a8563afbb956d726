"""The `actgym` command line, run as a user would."""

from __future__ import annotations

from pathlib import Path

from sources import GELU_SINE
from typer.testing import CliRunner

from actgym.cli import app

runner = CliRunner()


def test_tasks_lists_every_family() -> None:
    result = runner.invoke(app, ["tasks"])
    assert result.exit_code == 0, result.output
    for family in ("Harmonics", "Poly1D", "Poly20D", "Feynman", "I.6.20a"):
        assert family in result.output


def test_version_prints_the_package_version() -> None:
    from actgym import __version__

    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"actgym {__version__}"


def test_an_unknown_task_lists_the_choices(tmp_path: Path) -> None:
    source = tmp_path / "my_act.py"
    source.write_text(GELU_SINE)
    result = runner.invoke(app, ["eval", str(source), "--task", "nope"])
    assert result.exit_code == 2
    assert "unknown task 'nope'" in result.output and "Poly20D" in result.output


def test_eval_prints_candidate_against_relu_and_gelu(tmp_path: Path) -> None:
    source = tmp_path / "my_act.py"
    source.write_text(GELU_SINE)
    result = runner.invoke(app, ["eval", str(source), "--task", "harmonics", "--fast"])
    assert result.exit_code == 0, result.output
    for label in ("my_act.py", "relu", "gelu", "Harmonics OOD", "+0.0000"):
        assert label in result.output


def test_eval_of_a_rejected_file_exits_nonzero_with_reason(tmp_path: Path) -> None:
    source = tmp_path / "bad.py"
    source.write_text("import os\n")
    result = runner.invoke(app, ["eval", str(source), "--fast"])
    assert result.exit_code == 1
    assert "policy_violation" in result.output


def test_eval_of_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["eval", str(tmp_path / "missing.py")])
    assert result.exit_code == 2
    assert "cannot read" in result.output
