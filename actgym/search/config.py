"""What defines a search run, so a resumed run can be checked against the one it continues.

A `SearchConfig` holds everything that changes what a run proposes or scores: the agent,
environment, budget, seed, proposals per agent call, agent options, the cascade's
promoted share (None: no cascade), and the one
`EvaluationConfig` the env and the leaderboard hold too. How it is executed (workers,
progress output) is not part of it and may differ between a run and its resumption.

Configs come from CLI options over a TOML or JSON file. Besides the fields, a file may
give the evaluation by its common settings: `fast` (the trainer preset), `num_instances`,
`task_seed` and a `trainer` table of fields to replace; or whole, as `evaluation` (the
stored form).
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actgym.codec import decode, encode
from actgym.config import EvaluationConfig
from actgym.tasks import ENV_IDS, families_of
from actgym.trainer import TrainerConfig

TRAINER_KEYS = frozenset(field.name for field in dataclasses.fields(TrainerConfig))
EVALUATION_SETTINGS = ("evaluation", "fast", "num_instances", "task_seed", "trainer")
RENAMED = {"batch_size": "proposals_per_call", "instances": "num_instances"}
"""Keys that runs stored before the one-config release name differently."""


class ConfigError(ValueError):
    """A config that is malformed, or that differs from the run it should resume."""


@dataclass(frozen=True)
class SearchConfig:
    agent: str = "random"
    env: str = "ActSearch-Harmonics-v0"
    budget: int = 100
    seed: int = 0
    proposals_per_call: int = 8
    agent_options: Mapping[str, Any] = field(default_factory=dict)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    cascade: float | None = None
    """Screen every proposal at low fidelity and promote this share (actgym.search.cascade)."""

    def __post_init__(self) -> None:
        _check_int(self.budget, "budget", 1)
        _check_int(self.seed, "seed", 0)
        _check_int(self.proposals_per_call, "proposals_per_call", 1)
        if not isinstance(self.agent, str) or not self.agent:
            raise ConfigError("agent must be a non-empty name")
        if self.env not in ENV_IDS:
            raise ConfigError(f"unknown env {self.env!r}; choose from {', '.join(ENV_IDS)}")
        if not isinstance(self.agent_options, Mapping):
            raise ConfigError("agent_options must be a table of options")
        if self.cascade is not None and (
            isinstance(self.cascade, bool)
            or not isinstance(self.cascade, int | float)
            or not 0.0 < self.cascade <= 1.0
        ):
            raise ConfigError(f"cascade is the promoted share, in (0, 1]; got {self.cascade!r}")
        if self.evaluation.families != families_of(self.task):
            raise ConfigError(f"the evaluation's families are not {self.env}'s")

    @classmethod
    def from_mapping(
        cls, data: Mapping[str, Any], base: SearchConfig | None = None
    ) -> SearchConfig:
        """The config `data` gives, its missing keys taken from `base` (else the defaults)."""
        fields = {item.name for item in dataclasses.fields(cls)} - {"evaluation"}
        unknown = set(data) - fields - set(EVALUATION_SETTINGS)
        if unknown:
            known = sorted(fields | set(EVALUATION_SETTINGS))
            raise ConfigError(f"unknown config keys {sorted(unknown)}; known: {known}")
        data = _json_normalised(dict(data))
        base = base or cls()
        env = data.get("env", base.env)
        if env not in ENV_IDS:
            raise ConfigError(f"unknown env {env!r}; choose from {', '.join(ENV_IDS)}")
        evaluation = _evaluation(data, base.evaluation, families_of(ENV_IDS[env]))
        return dataclasses.replace(
            base, **{key: data[key] for key in fields if key in data}, evaluation=evaluation
        )

    def to_dict(self) -> dict[str, Any]:
        return _json_normalised(encode(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def differences(self, other: SearchConfig) -> list[str]:
        """`key: stored ..., given ...` for each field (or evaluation field) that differs."""
        mine, theirs = self.to_dict(), other.to_dict()
        changed = [
            f"{key}: stored {mine[key]!r}, given {theirs[key]!r}"
            for key in sorted(mine)
            if key != "evaluation" and mine[key] != theirs[key]
        ]
        return changed + [
            f"evaluation {line}" for line in self.evaluation.differences(other.evaluation)
        ]

    @property
    def task(self) -> str:
        return ENV_IDS[self.env]

    @property
    def families(self) -> tuple[str, ...]:
        return self.evaluation.families


def _evaluation(
    data: Mapping[str, Any], start: EvaluationConfig, families: tuple[str, ...]
) -> EvaluationConfig:
    """`start` with the evaluation settings `data` gives, scoring `families`."""
    try:
        if "evaluation" in data:
            if not isinstance(data["evaluation"], Mapping):
                raise ConfigError("evaluation must be a table")
            start = decode(EvaluationConfig, data["evaluation"])
        trainer = start.trainer
        if "fast" in data:
            if not isinstance(data["fast"], bool):
                raise ConfigError("fast must be true or false")
            trainer = TrainerConfig.preset(fast=data["fast"])
        if "trainer" in data:
            trainer = _trainer(trainer, data["trainer"])
        changes = {key: data[key] for key in ("task_seed", "num_instances") if key in data}
        if changes.get("num_instances") is not None:
            _check_int(changes["num_instances"], "num_instances", 1)
        if "task_seed" in changes:
            _check_int(changes["task_seed"], "task_seed", 0)
        return dataclasses.replace(start, families=families, trainer=trainer, **changes)
    except (TypeError, ValueError) as error:
        if isinstance(error, ConfigError):
            raise
        raise ConfigError(f"bad evaluation settings: {error}") from None


def _trainer(start: TrainerConfig, overrides: object) -> TrainerConfig:
    if not isinstance(overrides, Mapping):
        raise ConfigError("trainer must be a table of options")
    unknown = set(overrides) - TRAINER_KEYS
    if unknown:
        raise ConfigError(f"unknown trainer keys {sorted(unknown)}; known: {sorted(TRAINER_KEYS)}")
    try:
        return TrainerConfig.preset(**{**dataclasses.asdict(start), **overrides})
    except (TypeError, ValueError) as error:
        raise ConfigError(f"bad trainer settings: {error}") from None


def load_config_file(path: Path) -> dict[str, Any]:
    """The keys of a `.toml` or `.json` file (a `.json` must hold an object)."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read config {path}: {error}") from None
    if path.suffix not in (".toml", ".json") or not isinstance(data, dict):
        raise ConfigError(f"{path}: a config is a .toml or .json file holding a table")
    return data


def resolve(given: Mapping[str, Any], stored: Mapping[str, Any] | None) -> SearchConfig:
    """The config of a fresh run (`stored` None) or of a resumed one.

    Resuming, keys not given come from the stored run, and any given key that differs
    from it is refused: a run continues only under the config it started with. The one
    exception is a larger budget, which extends the run: the evaluations done stay valid,
    since the budget decides only when the search stops.
    """
    if stored is None:
        return SearchConfig.from_mapping(given)
    started = SearchConfig.from_mapping({RENAMED.get(k, k): value for k, value in stored.items()})
    wanted = SearchConfig.from_mapping(given, base=started)
    differences = started.differences(dataclasses.replace(wanted, budget=started.budget))
    if wanted.budget < started.budget:
        differences.append(f"budget: stored {started.budget}, given {wanted.budget}")
    if differences:
        raise ConfigError(
            "--resume needs the config the run started with (only the budget may grow); "
            "these differ:\n  " + "\n  ".join(differences)
        )
    return wanted


def _check_int(value: object, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")


def _json_normalised(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(data, sort_keys=True))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"config values must be JSON-serialisable: {error}") from None
