"""Candidates cross into the downstream tasks only as checked programs; runs are deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from sources import activation
from typer.testing import CliRunner

from actgym.candidate.check import Checker
from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.candidate.sandbox import Sandbox
from actgym.cli import app
from actgym.training_process import TrainingBounds, shared_pool
from actgym.transfer import structure
from actgym.transfer.downstream import TransferConfig
from actgym.transfer.process import TransferProcess
from actgym.transfer.runner import Transfer, refuse_another_function

ONE_TASK = TransferConfig.fast(tasks=("structure",))


def test_hostile_sources_are_rejected_by_the_check_stage(tmp_path: Path) -> None:
    marker = tmp_path / "written"
    hostile = {
        "policy_violation": (
            f"import os\n\ndef activation_function(x):\n    os.system('touch {marker}')\n"
            "    return x\n"
        ),
        "forbidden_primitive": activation(
            "lax.while_loop(lambda v: True, lambda v: v + 1.0, x)",
            header="import jax\nimport jax.lax as lax\n",
        ),
        "nonfinite_output": activation("jnp.log(x)"),
    }
    runner = Transfer(ONE_TASK)
    try:
        for status, source in hostile.items():
            report = runner.run(source, label=status)
            assert (report.status, report.tasks) == (status, [])
            assert not report.ok and report.message
        assert runner._process._child is None  # nothing reached the transfer process
    finally:
        runner.close()
    assert not marker.exists()


def test_forged_program_data_is_contained_in_the_transfer_process() -> None:
    runner = TransferProcess()
    try:
        with pytest.raises(CandidateRejected) as raised:
            runner.accuracies({"structure": {"format": "forged", "eqns": []}}, ONE_TASK)
        assert raised.value.reason is Reason.INVALID_PROGRAM
        child = runner._child
        assert child is not None and child.alive()  # rejected as data, the process lives on
        assert child.hardening["undumpable"] is True
        assert child.hardening["memory_limit_bytes"] > 0
    finally:
        runner.close()


def test_a_downstream_task_is_deterministic_given_its_seeds() -> None:
    settings = ONE_TASK.structure
    data = structure.make_data(settings, 0)
    first = structure.accuracies(jnp.tanh, data, settings, (0, 1))
    again = structure.accuracies(jnp.tanh, data, settings, (0, 1))
    for split in ("id", "shifted"):
        np.testing.assert_array_equal(first[split], again[split])
        assert first[split].shape == (2,)
        assert ((first[split] >= 0) & (first[split] <= 1)).all()


def test_cli_transfer_reference_fast_json(tmp_path: Path) -> None:
    plot = tmp_path / "transfer.png"
    result = CliRunner().invoke(
        app,
        [
            "transfer",
            "--reference",
            "gelusine",
            "--fast",
            "--json",
            "--task",
            "structure",
            "--suite-reward",
            "0.25",
            "--plot",
            str(plot),
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["label"], report["status"], report["suite_reward"]) == ("gelusine", "ok", 0.25)
    (score,) = report["tasks"]
    assert score["task"] == "structure"
    assert set(score["per_seed"]) == {"candidate", "relu", "gelu"}
    for runs in score["per_seed"].values():
        assert all(len(runs[split]) == 2 for split in ("id", "shifted"))
    ratio = score["log_ratio_to_relu"]
    assert ratio["low"] <= ratio["mean"] <= ratio["high"]
    assert report["mean_log_ratio_to_relu"] == pytest.approx(ratio["mean"])
    assert score["verdict"]
    assert plot.stat().st_size > 1000


def test_cli_refuses_an_unknown_task_and_a_missing_candidate() -> None:
    unknown = CliRunner().invoke(app, ["transfer", "--reference", "gelu", "--task", "cifar"])
    assert unknown.exit_code != 0 and "unknown downstream task" in unknown.output
    missing = CliRunner().invoke(app, ["transfer"])
    assert missing.exit_code != 0


WIDTH_SWITCH = activation("jax.nn.gelu(x) if x.shape[-1] in (8, 16, 32) else jnp.sin(x)")
"""GELU at every downstream task's width, sin(x) at the suite's (64)."""


def test_a_function_that_changes_with_its_input_width_gets_no_transfer_score() -> None:
    runner = Transfer(ONE_TASK, suite_shape=(64,))
    try:
        report = runner.run(WIDTH_SWITCH)
    finally:
        runner.close()
    assert report.status == "shape_dependent" and not report.tasks
    assert "the structure task's input shape [8] is not the one at the suite's [64]" in (
        report.message
    )


@pytest.mark.parametrize(
    ("body", "locality"),
    [("jax.nn.gelu(x) + 0.1 * jnp.sin(x)", "pointwise"), ("x - jnp.mean(x)", "feature-coupled")],
)
def test_a_function_of_each_element_passes_at_every_width(body: str, locality: str) -> None:
    """A coupled function's outputs depend on the width by design: not compared, reported."""
    limits = ONE_TASK.limits
    sandbox = Sandbox(limits)
    pool = shared_pool(TrainingBounds())
    try:
        suite, task = (
            Checker(limits, shape, sandbox, pool).check(activation(body)) for shape in ((64,), (8,))
        )
    finally:
        sandbox.close()
    assert suite.locality == task.locality == locality
    refuse_another_function(suite, task, "the structure task")
