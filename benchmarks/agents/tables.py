"""The agent benchmark's results.md: its tables, rendered from the report run.py writes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

CHECKPOINTS = (0.1, 0.25, 0.5, 1.0)
"""Shares of the budget at which the best reward so far is reported."""


def cell(mean: float, half: float | None) -> str:
    return f"{mean:+.3f}" + ("" if half is None or math.isnan(half) else f" ± {half:.3f}")


def markdown(report: Mapping[str, Any]) -> str:
    """results.md: what made it, then rewards, who beats whom, families and spending, waste."""
    scale, results = report["scale"], report["results"]
    lines = [
        f"`{report['command']}`",
        "",
        f"{report['date']}, {report['machine']}. Budget {scale['budget']}, seeds "
        f"{scale['seeds']}, batch size {scale['batch_size']}, fast={scale['fast']}, "
        f"instances={scale['instances'] or 'all'}. Rewards: ReLU = 0, higher is better; "
        "± is the half-width of the 95% t-interval over seeds."
        + (
            " The tables were rebuilt from the finished runs (`--report-only`); the same "
            "command without it makes the runs."
            if report.get("report_only")
            else ""
        )
        + _pauses_sentence(report.get("pauses")),
        "",
        *_reward_table(results),
        *_beats_tables(report["beats"]),
        *_family_table(results),
        *_accounting_table(results),
    ]
    if report["failures"]:
        lines += ["", "Runs that failed (not in the tables):"]
        lines += [f"- {line}" for line in report["failures"]]
    return "\n".join(lines) + "\n"


def _pauses_sentence(pauses: Mapping[str, Any] | None) -> str:
    if not pauses:
        return ""
    return (
        f" Compute seconds leave out {pauses['seconds']:.0f} s of evaluation walls that"
        f" fell in the {pauses['windows']} pauses logged in `{pauses['log']}`"
        " (benchmarks/agents/pauses.py)."
    )


def _table_head(header: Sequence[str]) -> list[str]:
    """A markdown table's first two lines: agent and env, then right-aligned numbers."""
    return ["| " + " | ".join(header) + " |", "|" + " --- |" * 2 + " ---: |" * (len(header) - 2)]


def _reward_table(results: Sequence[Mapping[str, Any]]) -> list[str]:
    header = ["agent", "env", "seeds", "best reward (95% CI)"]
    header += [f"best after {fraction:.0%}" for fraction in CHECKPOINTS[:-1]]
    lines = _table_head(header)
    for result in results:
        cells = [result["agent"], result["env"], str(result["seeds"]), cell(*result["best"])]
        cells += [cell(*result["checkpoints"][str(f)]) for f in CHECKPOINTS[:-1]]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _beats_tables(matrices: Mapping[str, Mapping[str, Mapping[str, list[float]]]]) -> list[str]:
    lines = [
        "",
        "Who beats whom: the cell in row A, column B is the probability that a run of A ends "
        "with a better best reward than a run of B (all pairs of seeds, ties counting half: "
        "the Vargha-Delaney A12), with its 95% bootstrap interval over seeds and the p-value "
        "of the two-sided Mann-Whitney U test. 0.50 is a coin toss; the cell in row B, "
        "column A is one minus it. With few seeds the interval can shrink to a point "
        "([1.00, 1.00]: every seed of A beat every seed of B); the p-value says what that is "
        "worth (with 5 seeds each, 0.008 is the smallest possible).",
    ]
    for env, matrix in matrices.items():
        agents = list(matrix)
        lines += ["", f"{env}:", "", "| beats → | " + " | ".join(agents) + " |"]
        lines.append("| --- |" + " ---: |" * len(agents))
        for row in agents:
            cells = [
                _beatscell(*matrix[row][column]) if column != row else "—" for column in agents
            ]
            lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return lines


def _beatscell(probability: float, low: float, high: float, p_value: float) -> str:
    return f"{probability:.2f} [{low:.2f}, {high:.2f}] p={p_value:.3f}"


def _family_table(results: Sequence[Mapping[str, Any]]) -> list[str]:
    families = sorted({name for result in results for name in result["families"]})
    header = ["agent", "env", *families, "compute seconds", "LLM tokens"]
    lines = [
        "",
        "Per family, the reward of each run's best function (mean ± 95% t-interval over "
        "seeds), and what a run spent in all (mean over seeds; n/a: the agent uses no LLM). "
        "comparison.png shows best so far against each.",
        "",
        *_table_head(header),
    ]
    for result in results:
        bands = result["families"]
        cells = [cell(*bands[name]) if name in bands else "-" for name in families]
        cells += [
            _amount(result["spent"]["seconds"], "{:.0f}"),
            _amount(result["spent"]["tokens"], "{:,.0f}"),
        ]
        lines.append(f"| {result['agent']} | {result['env']} | " + " | ".join(cells) + " |")
    return lines


def _accounting_table(results: Sequence[Mapping[str, Any]]) -> list[str]:
    header = ["agent", "env", "charged", "duplicates", "unusable replies", "usable new replies"]
    lines = [
        "",
        "Where a run's evaluations went (means over seeds): charged against the budget, "
        "behavioural duplicates of an earlier evaluation and unusable replies (both free), "
        "and the share of LLM replies (seeds excluded, pooled over seeds) that were new "
        "functions that trained.",
        "",
        *_table_head(header),
    ]
    for result in results:
        counts = result["accounting"]
        share = counts["usable_share"]
        cells = [f"{counts[key]:.1f}" for key in ("charged", "duplicates", "unusable")]
        cells.append("n/a" if share is None else f"{share:.0%}")
        lines.append(f"| {result['agent']} | {result['env']} | " + " | ".join(cells) + " |")
    return lines


def _amount(value: float | None, form: str) -> str:
    return "n/a" if value is None else form.format(value)
