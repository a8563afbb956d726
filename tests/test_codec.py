"""One codec for every nested config: JSON out and back gives the same value."""

from __future__ import annotations

import dataclasses
import json
import typing

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


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"num_instances": "x"}, "EvaluationConfig.num_instances must be an integer, not str"),
        ({"trainer": 5}, "EvaluationConfig.trainer must be a table, not int"),
        ({"trainer": {"learning_rate": "fast"}}, "trainer.learning_rate must be a number"),
        ({"trainer": {"learning_rate": float("nan")}}, "must be a finite number, not nan"),
        ({"trainer": {"steps": True}}, "EvaluationConfig.trainer.steps must be an integer"),
        ({"trainer": {"seeds": "01"}}, "EvaluationConfig.trainer.seeds must be a list, not str"),
        ({"trainer": {"seeds": [0, 1.5]}}, r"EvaluationConfig.trainer.seeds\[1\] must be an int"),
        ({"families": [7]}, r"EvaluationConfig.families\[0\] must be a str, not int"),
        ({"limits": {"memory_bytes": None}}, "limits.memory_bytes must be an integer, not null"),
        ({"sizes": [1, 2, 3]}, "EvaluationConfig.sizes must be a table, not list"),
        ({"region": 3}, "EvaluationConfig.region must be a str, not int"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused_by_its_dotted_name(
    data: dict[str, object], message: str
) -> None:
    """Config files and handed-over run directories reach the trainer only well-typed."""
    with pytest.raises(TypeError, match=message):
        decode(EvaluationConfig, data)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"num_instances": 0}, "num_instances must be None or an int >= 1"),
        ({"task_seed": -1}, "task_seed must be >= 0"),
        ({"families": []}, "families must name at least one family"),
        ({"limits": {"memory_bytes": 0}}, "CandidateLimits.memory_bytes must be positive"),
        ({"limits": {"flops_budget": -1.0}}, "CandidateLimits.flops_budget must be positive"),
    ],
)
def test_a_value_out_of_range_is_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode(EvaluationConfig, data)


def test_a_fixed_length_tuple_needs_its_length() -> None:
    with pytest.raises(TypeError, match=r"TransferConfig.vision.shifted_scale must hold 2 items"):
        decode(TransferConfig, {"vision": {"shifted_scale": [1.0]}})


def test_an_int_stands_for_a_float_and_null_for_an_optional() -> None:
    config = decode(EvaluationConfig, {"trainer": {"learning_rate": 1}, "num_instances": None})
    assert config.trainer.learning_rate == 1 and config.num_instances is None


@dataclasses.dataclass(frozen=True)
class Tables:
    """Dict hints the codec meets: with arguments, bare `typing.Dict`, and an int key."""

    scales: dict[str, float] = dataclasses.field(default_factory=dict)
    anything: typing.Dict = dataclasses.field(default_factory=dict)  # noqa: UP006
    by_number: dict[int, float] = dataclasses.field(default_factory=dict)


def test_a_dict_hint_checks_its_items_and_a_bare_one_takes_any() -> None:
    decoded = decode(Tables, {"scales": {"a": 1.5}, "anything": {"b": [1, "x"]}})
    assert decoded == Tables(scales={"a": 1.5}, anything={"b": [1, "x"]})
    with pytest.raises(TypeError, match=r"Tables.scales.a must be a number, not str"):
        decode(Tables, {"scales": {"a": "1.5"}})
    with pytest.raises(TypeError, match=r"Tables.anything keys must be strings, not int"):
        decode(Tables, {"anything": {1: 2}})


def test_a_dict_keyed_by_anything_but_str_is_refused_as_not_round_tripping() -> None:
    with pytest.raises(TypeError, match=r"Tables.by_number: the codec decodes only str-keyed"):
        decode(Tables, {"by_number": {"1": 2.0}})
