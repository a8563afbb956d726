"""What defines a search run, so a resumed run can be checked against the one it continues.

A `SearchConfig` holds everything that changes what a run proposes or scores (agent,
environment, budget, seeds, trainer and agent options). How it is executed (workers,
progress output) is not part of it and may differ between a run and its resumption.
Configs come from CLI options over a TOML or JSON file with the same keys.
"""

from __future__ import annotations

import dataclasses
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from actgym.tasks import ENV_IDS, families_of
from actgym.trainer import TrainerConfig

TRAINER_KEYS = frozenset(field.name for field in dataclasses.fields(TrainerConfig))


class ConfigError(ValueError):
    """A config that is malformed, or that differs from the run it should resume."""


@dataclass(frozen=True)
class SearchConfig:
    agent: str = "random"
    env: str = "ActSearch-Harmonics-v0"
    budget: int = 100
    seed: int = 0
    batch_size: int = 8
    fast: bool = False
    instances: int | None = None
    task_seed: int = 0
    trainer: Mapping[str, Any] = field(default_factory=dict)
    agent_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_int(self.budget, "budget", 1)
        _check_int(self.seed, "seed", 0)
        _check_int(self.batch_size, "batch_size", 1)
        _check_int(self.task_seed, "task_seed", 0)
        if self.instances is not None:
            _check_int(self.instances, "instances", 1)
        if not isinstance(self.agent, str) or not self.agent:
            raise ConfigError("agent must be a non-empty name")
        if self.env not in ENV_IDS:
            raise ConfigError(f"unknown env {self.env!r}; choose from {', '.join(ENV_IDS)}")
        if not isinstance(self.fast, bool):
            raise ConfigError("fast must be true or false")
        for name in ("trainer", "agent_options"):
            if not isinstance(getattr(self, name), Mapping):
                raise ConfigError(f"{name} must be a table of options")
        unknown = set(self.trainer) - TRAINER_KEYS
        if unknown:
            raise ConfigError(
                f"unknown trainer keys {sorted(unknown)}; known: {sorted(TRAINER_KEYS)}"
            )
        self.trainer_config()

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> SearchConfig:
        known = {item.name for item in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ConfigError(f"unknown config keys {sorted(unknown)}; known: {sorted(known)}")
        return cls(**_json_normalised(dict(data)))

    def to_dict(self) -> dict[str, Any]:
        return _json_normalised(dataclasses.asdict(self))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    @property
    def task(self) -> str:
        return ENV_IDS[self.env]

    @property
    def families(self) -> tuple[str, ...]:
        return families_of(self.task)

    def trainer_config(self) -> TrainerConfig:
        try:
            return TrainerConfig.preset(fast=self.fast, **self.trainer)
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
    wanted = SearchConfig.from_mapping({**stored, **given}).to_dict()
    differences = [
        f"{key}: stored {stored.get(key)!r}, given {wanted[key]!r}"
        for key in sorted(wanted)
        if wanted[key] != stored.get(key) and not (key == "budget" and _grows(wanted, stored))
    ]
    if differences:
        raise ConfigError(
            "--resume needs the config the run started with (only the budget may grow); "
            "these differ:\n  " + "\n  ".join(differences)
        )
    return SearchConfig.from_mapping({**stored, "budget": wanted["budget"]})


def _grows(wanted: Mapping[str, Any], stored: Mapping[str, Any]) -> bool:
    return isinstance(stored.get("budget"), int) and wanted["budget"] > stored["budget"]


def _check_int(value: object, name: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{name} must be an int >= {minimum}, got {value!r}")


def _json_normalised(data: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(data, sort_keys=True))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"config values must be JSON-serialisable: {error}") from None
