"""The `actgym` command line, run as a user would."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

from rich.console import Console
from sources import GELU_SINE
from typer.testing import CliRunner

from actgym.cli import app, results_tables
from actgym.result import EvaluationResult, FamilyScore
from actgym.tasks import SUITE

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
    for label in ("my_act.py", "relu", "gelu", "Harmonics", "OOD (test)", "+0.000", "training"):
        assert label in result.output
    for label in ("gap closed", "0.0%", "mean model", "ceiling"):  # the scale, stated
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


def test_eval_of_a_named_reference_prints_it_against_relu_and_gelu() -> None:
    result = runner.invoke(app, ["eval", "--reference", "Turbulent", "--task", "Poly1D", "--fast"])
    assert result.exit_code == 0, result.output
    for label in ("turbulent", "relu", "gelu", "Poly1D", "OOD (test)", "+0.000", "training"):
        assert label in result.output


def test_eval_in_batch_scope_scores_a_batch_statistics_function() -> None:
    result = runner.invoke(
        app, ["eval", "--reference", "turbulent", "--scope", "Batch", "--fast", "--json"]
    )
    assert result.exit_code == 0, result.output
    scored = json.loads(result.stdout)
    assert scored["turbulent"]["status"] == "ok"
    assert scored["turbulent"]["locality"] == "batch-coupled"
    assert scored["relu"]["locality"] == "pointwise"


def test_an_unknown_scope_lists_the_choices() -> None:
    result = runner.invoke(app, ["eval", "--reference", "relu", "--scope", "dataset"])
    assert result.exit_code == 2
    assert "unknown scope 'dataset'; choose from example, batch" in result.output


def test_an_unknown_reference_lists_the_names() -> None:
    result = runner.invoke(app, ["eval", "--reference", "nope"])
    assert result.exit_code == 2
    assert "unknown reference 'nope'" in result.output
    for name in ("gelusine", "gelu_sinc", "gmtu", "turbulent", "neighbour", "relu"):
        assert name in result.output


def test_eval_takes_a_file_or_a_reference_not_both(tmp_path: Path) -> None:
    source = tmp_path / "my_act.py"
    source.write_text(GELU_SINE)
    both = runner.invoke(app, ["eval", str(source), "--reference", "gmtu"])
    assert both.exit_code == 2 and "not both" in both.output
    neither = runner.invoke(app, ["eval"])
    assert neither.exit_code == 2 and "--reference NAME" in neither.output


def _result(reward: float, flops: float) -> EvaluationResult:
    scores = {
        family: FamilyScore(reward + index / 10, ("a",), [[1.0]], [[0.5]], [[2.0]])
        for index, family in enumerate(SUITE)
    }
    return EvaluationResult(
        "ok", "", reward, 0.045, ood_loss=0.01, flops_per_element=flops, families=scores
    )


def _render(width: int) -> str:
    results = {"candidate_with_a_long_name.py": _result(0.123, 16.015625), "relu": _result(0, 1)}
    console = Console(width=width, file=StringIO(), record=True)
    for table in results_tables(results, SUITE, width):
        console.print(table)
    return console.export_text()


def test_eval_tables_fit_80_columns_with_the_reward_in_full() -> None:
    text = _render(80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "+0.123 ± 0.045" in text and "…" not in text
    assert all(family in text for family in SUITE) and "+0.423" in text  # per-family rewards
    assert "FLOPs/elem" not in text, "the less important columns go at narrow widths"
    wide = _render(160)
    assert "FLOPs/elem" in wide and " 16.0 " in wide and " 1.0 " in wide
