"""The result record survives JSON (run stores, info, exports) with its scale and gap closed."""

from __future__ import annotations

import json

import pytest

from actgym.candidate.reasons import CandidateRejected, Reason
from actgym.result import EvaluationResult, FamilyScore
from actgym.reward import FamilyScale, suite_scale


def _family(reward: float, scale: FamilyScale) -> FamilyScore:
    return FamilyScore(
        reward=reward,
        instances=("a", "b"),
        train_loss=[[0.1, 0.1], [0.2, 0.2]],
        id_loss=[[0.1, 0.1], [0.2, 0.2]],
        ood_loss=[[1.0, 2.0], [3.0, 4.0]],
        instance_rewards=(reward, reward),
        fitted=(True, True),
        fit_required=(0.3, 0.3),
        scale=scale,
        gap_closed=scale.gap_closed(reward),
    )


def test_a_result_round_trips_through_json_with_its_scale() -> None:
    harmonics, poly = FamilyScale(-1.0, 2.9, 12.0), FamilyScale(-3.0, -1.1, 13.0)
    result = EvaluationResult(
        status="ok",
        message="fine",
        reward=0.5,
        families={"Harmonics": _family(1.0, harmonics), "Poly1D": _family(0.2, poly)},
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert EvaluationResult.from_dict(data) == result
    expected = suite_scale({"Harmonics": harmonics, "Poly1D": poly})
    assert result.scale == expected
    assert data["scale"]["ceiling"] == pytest.approx(expected.ceiling)
    assert data["gap_closed"] == pytest.approx(0.5 / expected.ceiling)


def test_a_rejected_result_closes_no_gap() -> None:
    rejected = EvaluationResult.rejected(CandidateRejected(Reason.SYNTAX_ERROR, "no"))
    assert rejected.scale is None and rejected.gap_closed is None
    assert rejected.to_dict()["gap_closed"] is None
