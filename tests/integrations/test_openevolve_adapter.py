"""actgym.integrations: the score scale, the metrics and artifacts, the cascade's stages,
the scaffold and the task prompt, called as OpenEvolve calls them (without running it)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sources import activation
from typer.testing import CliRunner

from actgym.cli import app
from actgym.integrations import openevolve
from actgym.integrations.scoring import combined_score
from actgym.integrations.settings import EvaluatorSettings, program_source
from actgym.result import EvaluationResult

pytest.importorskip("openevolve", reason="OpenEvolve is the extra actgym[openevolve]")

SETTINGS = {"task": "Harmonics", "fast": True, "instances": 1}
HARNESS = '\n\nif __name__ == "__main__":\n    import sys\n    print(activation_function(1.0))\n'


def _program(tmp_path: Path, source: str, name: str = "program.py") -> str:
    path = tmp_path / name
    path.write_text(source)
    return str(path)


def test_every_trained_candidate_scores_above_every_failure() -> None:
    trained = [EvaluationResult("ok", "", reward) for reward in (-4.0, -0.5, 0.0, 2.3)]
    failed = [EvaluationResult(status, "", -10.0) for status in ("syntax_error", "timeout")]
    scores = [combined_score(result) for result in trained]
    assert scores == sorted(scores) and min(scores) > 0.0, "the reward's order, all above 0"
    assert combined_score(trained[2]) == 1.0, "ReLU scores 1"
    assert math.isclose(combined_score(trained[3]), math.exp(2.3)), "no ceiling"
    assert [combined_score(result) for result in failed] == [0.0, 0.0], "a crash's score"


def test_evaluate_reports_metrics_and_artifacts(tmp_path: Path) -> None:
    good = openevolve.evaluate(
        _program(tmp_path, activation("jnp.tanh(x) + 0.1 * x") + HARNESS), **SETTINGS
    )
    assert good.metrics["trained"] == 1.0 and good.metrics["full"] == 1.0, good.artifacts
    assert good.metrics["combined_score"] == pytest.approx(math.exp(good.metrics["reward"]))
    for name in ("reward_Harmonics", "ood_loss", "fit_share", "flops_per_element", "seconds"):
        assert name in good.metrics, name
    assert good.artifacts["status"] == "ok", "the __main__ harness was left out"
    bad = openevolve.evaluate(_program(tmp_path, activation("jnp.log(x)")), **SETTINGS)
    assert bad.metrics["combined_score"] == 0.0 and bad.metrics["reward"] == -10.0
    assert bad.artifacts["status"] == "nonfinite_output" and bad.artifacts["hint"]


def test_the_cascade_checks_then_screens_then_evaluates_fully(tmp_path: Path) -> None:
    evaluate, stage1, stage2, stage3 = openevolve.stages(**SETTINGS)
    path = _program(tmp_path, activation("jax.nn.silu(x)"))
    checked = stage1(path)
    assert checked.metrics["combined_score"] == 1.0 and "reward" not in checked.metrics
    refused = stage1(_program(tmp_path, "def activation_function(x:\n", "broken.py"))
    assert refused.metrics["combined_score"] == 0.0
    assert refused.artifacts["status"] == "syntax_error"
    low, full = stage2(path), stage3(path)
    assert (low.metrics["full"], full.metrics["full"]) == (0.0, 1.0)
    assert low.metrics["combined_score"] > 0.0 and full.metrics["combined_score"] > 0.0
    timeless = {name: value for name, value in full.metrics.items() if name != "seconds"}
    assert evaluate(path, **SETTINGS).metrics.items() >= timeless.items(), "the same scores"
    with pytest.raises(ValueError, match="set them in stages"):
        evaluate(path, task="Poly1D")


def test_unknown_evaluator_arguments_and_tasks_are_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"unknown evaluator argument.*choose from"):
        EvaluatorSettings.from_args({"taks": "Suite"})
    with pytest.raises(ValueError, match="unknown task 'Sweet'"):
        EvaluatorSettings.from_args({"task": "Sweet"})


def test_only_a_top_level_main_guard_is_left_out(tmp_path: Path) -> None:
    body = activation("x")
    path = Path(_program(tmp_path, body + HARNESS))
    assert program_source(path) == body + "\n\n"
    nested = body + "    if __name__ == '__main__':\n        pass\n"
    assert program_source(_program(tmp_path, nested, "nested.py")) == nested
    assert program_source(_program(tmp_path, "def (", "bad.py")) == "def ("


def test_init_writes_a_task_directory_and_never_overwrites(tmp_path: Path) -> None:
    runner = CliRunner()
    target = tmp_path / "task"
    done = runner.invoke(app, ["openevolve", "init", str(target), "--task", "poly1d", "--fast"])
    assert done.exit_code == 0, done.output
    assert sorted(path.name for path in target.iterdir()) == [
        "config.yaml",
        "evaluator.py",
        "initial_program.py",
    ]
    namespace: dict = {}
    exec((target / "evaluator.py").read_text(), namespace)
    assert {"evaluate", "evaluate_stage1", "evaluate_stage2", "evaluate_stage3"} <= set(namespace)
    config = (target / "config.yaml").read_text()
    assert "cascade_thresholds: [0.5, 0.8]" in config and "timeout: 600" in config
    assert "Poly1D: 1-D polynomial regression" in config, "the task prompt is in"
    again = runner.invoke(app, ["openevolve", "init", str(target)])
    assert again.exit_code == 1 and "nothing written" in again.output
    prompt = runner.invoke(app, ["prompt", "--task", "Harmonics"])
    assert prompt.exit_code == 0 and "def activation_function(x):" in prompt.output
    assert prompt.output.count("Harmonics: 1-D periodic") == 1
