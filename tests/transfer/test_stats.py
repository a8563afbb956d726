"""Intervals, the log-ratio to ReLU and the verdict."""

from __future__ import annotations

import math

import numpy as np
import pytest

from actgym.transfer.stats import ERROR_FLOOR, SeedInterval, interval, log_ratio, verdict


def test_interval_is_the_student_t_interval() -> None:
    result = interval([1.0, 2.0, 3.0])
    half = 4.302652729911275 * 1.0 / math.sqrt(3)  # t(0.975, 2) * sd / sqrt(n)
    assert result.mean == pytest.approx(2.0)
    assert (result.low, result.high) == pytest.approx((2.0 - half, 2.0 + half))


def test_log_ratio_is_positive_when_the_candidate_errs_less_and_floors_perfection() -> None:
    ratios = log_ratio([0.9, 0.8], [0.8, 0.8])
    np.testing.assert_allclose(ratios, [math.log(2.0), 0.0])
    assert log_ratio([0.5], [0.9])[0] < 0
    assert log_ratio([1.0], [0.9])[0] == pytest.approx(math.log(0.1 / ERROR_FLOOR))


def test_verdict_reads_the_intervals() -> None:
    better, worse, unclear = (
        SeedInterval(0.2, 0.1, 0.3),
        SeedInterval(-0.2, -0.3, -0.1),
        SeedInterval(0, -1, 1),
    )
    assert verdict(better, unclear) == "transfers: better than ReLU, level with GELU"
    assert verdict(worse, worse) == "does not transfer: worse than ReLU, worse than GELU"
    assert verdict(unclear, better).startswith("no clear difference from ReLU")
