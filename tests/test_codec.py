"""One codec for every nested config: JSON out and back gives the same value."""

from __future__ import annotations

import json

import pytest

from actgym.codec import decode, encode
from actgym.config import EvaluationConfig
from actgym.tasks import TaskSizes
from actgym.trainer import TrainerConfig
from actgym.transfer.downstream import TransferConfig


@pytest.mark.parametrize(
    "value",
    [
        EvaluationConfig(),
        EvaluationConfig(
            families=("Poly1D", "Feynman"),
            trainer=TrainerConfig.preset(fast=True, seeds=(3, 4, 5)),
            task_seed=7,
            num_instances=2,
            sizes=TaskSizes(n_train=64, n_validation=32, n_test=32),
        ),
        TransferConfig(),
        TransferConfig.fast(seeds=(5, 9)),
    ],
    ids=["evaluation-default", "evaluation-changed", "transfer-default", "transfer-fast"],
)
def test_a_config_survives_json(value: object) -> None:
    back = decode(type(value), json.loads(json.dumps(encode(value))))
    assert back == value  # a tuple that came back as a list would compare unequal


def test_an_unknown_field_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match="EvaluationConfig has no field families_typo"):
        decode(EvaluationConfig, {**encode(EvaluationConfig()), "families_typo": []})
