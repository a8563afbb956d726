"""A transfer report for people: a table, one verdict per downstream task, the gap line, a plot."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from actgym.transfer.downstream import DOWNSTREAM_TASKS
from actgym.transfer.runner import PRIMARY_SPLIT, TransferReport


def table(report: TransferReport) -> Table:
    """Accuracy (mean and 95% interval over seeds) per task, and the log-ratio to ReLU."""
    seeds = len(report.config.seeds)
    result = Table(
        title=f"transfer of {report.label}: accuracy, mean ± 95% interval over {seeds} seeds"
    )
    for column in ("task", "split", "candidate", "ReLU", "GELU", "log-ratio to ReLU"):
        result.add_column(column, justify="left" if column in ("task", "split") else "right")
    for score in report.tasks:
        for split in ("id", PRIMARY_SPLIT):
            cells = [
                score.accuracy[name][split].text(signed=False)
                for name in ("candidate", "relu", "gelu")
            ]
            ratio = score.to_relu.text() if split == PRIMARY_SPLIT else ""
            result.add_row(score.task if split == "id" else "", split, *cells, ratio)
    return result


def verdict_lines(report: TransferReport) -> list[str]:
    return [
        f"{score.task} ({DOWNSTREAM_TASKS[score.task].paper}): {score.verdict}"
        for score in report.tasks
    ]


def plot(report: TransferReport, path: Path) -> Path:
    """Bars of the candidate's log-ratio to ReLU per task (95% intervals), saved to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [score.task for score in report.tasks]
    means = [score.to_relu.mean for score in report.tasks]
    errors = [
        [score.to_relu.mean - score.to_relu.low for score in report.tasks],
        [score.to_relu.high - score.to_relu.mean for score in report.tasks],
    ]
    figure, axes = plt.subplots(figsize=(1.6 * len(names) + 2, 3.2))
    axes.bar(names, means, yerr=errors, capsize=4, color="#4c72b0")
    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.set_ylabel("log(ReLU error / candidate error)")
    axes.set_title(f"{report.label}: transfer to downstream tasks ({PRIMARY_SPLIT} split)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
