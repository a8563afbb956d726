"""A transfer report for people: a table, one verdict per probe, the gap line, a plot."""

from __future__ import annotations

from pathlib import Path

from rich.table import Table

from actgym.transfer.probes import PROBES
from actgym.transfer.runner import PRIMARY_SPLIT, TransferReport


def table(report: TransferReport) -> Table:
    """Accuracy (mean and 95% interval over seeds) per probe, and the log-ratio to ReLU."""
    seeds = len(report.config.seeds)
    result = Table(
        title=f"transfer of {report.label}: accuracy, mean ± 95% interval over {seeds} seeds"
    )
    for column in ("probe", "split", "candidate", "ReLU", "GELU", "log-ratio to ReLU"):
        result.add_column(column, justify="left" if column in ("probe", "split") else "right")
    for score in report.probes:
        for split in ("id", PRIMARY_SPLIT):
            cells = [
                score.accuracy[name][split].text(signed=False)
                for name in ("candidate", "relu", "gelu")
            ]
            ratio = score.to_relu.text() if split == PRIMARY_SPLIT else ""
            result.add_row(score.probe if split == "id" else "", split, *cells, ratio)
    return result


def verdict_lines(report: TransferReport) -> list[str]:
    return [
        f"{score.probe} ({PROBES[score.probe].paper}): {score.verdict}" for score in report.probes
    ]


def plot(report: TransferReport, path: Path) -> Path:
    """Bars of the candidate's log-ratio to ReLU per probe (95% intervals), saved to `path`."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [score.probe for score in report.probes]
    means = [score.to_relu.mean for score in report.probes]
    errors = [
        [score.to_relu.mean - score.to_relu.low for score in report.probes],
        [score.to_relu.high - score.to_relu.mean for score in report.probes],
    ]
    figure, axes = plt.subplots(figsize=(1.6 * len(names) + 2, 3.2))
    axes.bar(names, means, yerr=errors, capsize=4, color="#4c72b0")
    axes.axhline(0.0, color="black", linewidth=0.8)
    axes.set_ylabel("log(ReLU error / candidate error)")
    axes.set_title(f"{report.label}: transfer to downstream probes ({PRIMARY_SPLIT} split)")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
