"""Reports: every file written and non-empty, the numbers right, and no candidate source run.

The run's stored sources would write a marker file if anything executed them; the
programs stored beside them are real (checked references), so the plots have content.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from actgym.agent import Agent, History, Proposal
from actgym.cli import app
from actgym.evaluation import EvaluationResult, Evaluator
from actgym.references import REFERENCES
from actgym.search import run_search
from actgym.search.backends import Item, Outcome
from actgym.search.report import function_label, plot_best_so_far, program_values, write_report

THIS = Path(__file__).stem
REFERENCE_NAMES = ("relu", "gelu", "tanh", "gelu_sine", "silu")
runner = CliRunner()


class MarkerWriter(Agent):
    """Sources that leave a marker file behind if anyone runs them."""

    def propose(self, count: int, history: History) -> Sequence[Proposal]:
        marker = self.context.options["marker"]
        return [
            Proposal(
                f"open({marker!r}, 'w').write('ran')\n\n\ndef activation_function(x):\n"
                f"    return x * {len(history) + index}\n"
            )
            for index in range(count)
        ]


class ReferenceBackend:
    """Scores proposal i as reference i mod 5 with a made-up reward; id 3 is rejected."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.programs = [evaluator.check(REFERENCES[name]) for name in REFERENCE_NAMES]

    def evaluate(self, items: Sequence[Item]) -> Iterator[Outcome]:
        for identifier, _ in items:
            if identifier == 3:
                result = EvaluationResult(status="timeout", message="fake", reward=-10.0)
                yield Outcome(identifier, result, None, 0.1)
                continue
            program = self.programs[identifier % len(self.programs)]
            result = EvaluationResult(
                status="ok",
                message="fake",
                reward=[0.0, 0.4, -3.0, 0.9, -0.2][identifier % 5] + identifier / 100,
                ood_loss=1.0,
                id_loss=0.5,
                train_loss=0.2,
                flops_per_element=program.flops_per_element,
                program_hash=program.digest,
            )
            yield Outcome(identifier, result, program.data, 0.1)

    def close(self) -> None:
        return None


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, evaluator: Evaluator) -> Path:
    directory = tmp_path_factory.mktemp("report")
    backend = ReferenceBackend(evaluator)
    marker = directory / "MARKER"
    config = {"agent": f"{THIS}:MarkerWriter", "budget": 12, "proposals_per_call": 4}
    config["agent_options"] = {"marker": str(marker)}
    run_search(directory, config, backend_factory=lambda *_: backend, show_progress=False)
    return directory


def test_the_report_writes_every_file_and_runs_no_candidate(run_dir: Path) -> None:
    report = write_report(run_dir, top=3)
    names = {path.name for path in report.files}
    assert names == {
        "best_so_far.png",
        "best_so_far.svg",
        "best_functions.png",
        "best_functions.svg",
        "summary.json",
        "best.py",
    }
    assert not (run_dir / "MARKER").exists(), "the report ran a candidate's source"
    for stem in ("best_so_far", "best_functions"):
        assert (run_dir / f"{stem}.png").read_bytes().startswith(b"\x89PNG")
        svg = (run_dir / f"{stem}.svg").read_text()
        assert svg.count("<path") > 20
        assert _colours(run_dir / f"{stem}.png") > 3


def _colours(png: Path) -> int:
    from matplotlib.image import imread

    pixels = imread(png)[..., :3].reshape(-1, 3)
    return len({tuple(pixel) for pixel in np.round(pixels, 1)})


def test_the_report_numbers(run_dir: Path) -> None:
    report = write_report(run_dir, top=3)
    summary = json.loads((run_dir / "summary.json").read_text())
    curve = summary["best_so_far"]
    assert len(curve) == summary["completed"] == 12 and summary["finished"]
    assert curve == sorted(curve) and curve[0] == 0.0 and curve[-1] == pytest.approx(0.98)
    assert summary["statuses"] == {"ok": 11, "timeout": 1}
    assert [entry["id"] for entry in summary["top"]] == [8, 11, 10]  # 6 repeats 11, 3 is rejected
    assert report.best is not None and report.best["id"] == 8
    best = (run_dir / "best.py").read_text()
    assert best.startswith("# Best of a") and "evaluation 9, reward +0.9800" in best
    assert best.endswith("    return x * 8\n")


def test_report_command(run_dir: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", str(run_dir), "--top", "2"])
    assert result.exit_code == 0, result.output
    assert "best distinct functions" in result.output and "timeout 1" in result.output
    assert "best function: evaluation 9," in result.output  # numbered from 1
    assert "Harmonics" in result.output and "+0.980" in result.output  # per-family reward
    assert "def activation_function" in result.output
    missing = runner.invoke(app, ["report", str(tmp_path)])
    assert missing.exit_code == 2 and "no run store" in missing.output


def test_plotted_values_come_from_the_program(evaluator: Evaluator) -> None:
    x = np.linspace(-5, 5, 101, dtype=np.float32)
    values, slopes = program_values(evaluator.check(REFERENCES["relu"]).data, x)
    np.testing.assert_allclose(values, np.maximum(x, 0))
    np.testing.assert_allclose(slopes[x != 0], (x[x != 0] > 0) * 1.0)


def _svg_text(rows: list[dict], stem: Path) -> str:
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none"}):  # text as text, to read it back
        plot_best_so_far(rows, stem)
    return stem.with_suffix(".svg").read_text()


def test_best_so_far_counts_from_one_in_whole_evaluations(tmp_path: Path) -> None:
    rows = [{"id": i, "status": "ok", "reward": 0.1 * i} for i in range(3)]
    svg = _svg_text(rows, tmp_path / "close")
    assert "lower" not in svg, "no 'lower' legend when none are lower"
    assert ">1<" in svg and ">3<" in svg and ">0.5<" not in svg and ">1.5<" not in svg
    rows.append({"id": 3, "status": "ok", "reward": -5.0})
    assert "1 lower, drawn at the floor" in _svg_text(rows, tmp_path / "far")


def test_function_labels_name_the_expression() -> None:
    source = (
        "import jax.numpy as jnp\n\n\ndef activation_function(x):\n    return x * jnp.tanh(x)\n"
    )
    assert function_label({"notes": "{}", "source": source}) == "x * jnp.tanh(x)"
    assert function_label({"notes": '{"name": "swish-ish"}', "source": source}) == "swish-ish"
    grammar = (
        "def activation_function(x):\n    x = jnp.clip(x, -1e4, 1e4)\n"
        "    # b1 = exp(-x^2)\n    b1 = jnp.exp(-jnp.square(x))\n    return b1\n"
    )
    assert function_label({"notes": "{}", "source": grammar}) == "exp(-x^2)"
