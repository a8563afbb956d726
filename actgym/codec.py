"""One JSON codec for nested frozen dataclasses (configs, setups), instead of one per class.

`encode` is `dataclasses.asdict`; `decode` rebuilds the dataclass from the JSON value by its
type hints: nested dataclasses, tuples (JSON lists), optional fields and dicts.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: Any) -> dict[str, Any]:
    """A dataclass instance as plain JSON-ready data."""
    return dataclasses.asdict(value)


def decode(kind: type[T], data: Mapping[str, Any]) -> T:
    """The `kind` dataclass that `encode` turned into `data`; missing fields take defaults.

    Raises:
        TypeError: `data` has a field `kind` does not have, or lacks a required one.
    """
    hints = typing.get_type_hints(kind)
    names = {field.name for field in dataclasses.fields(kind)}
    unknown = set(data) - names
    if unknown:
        raise TypeError(f"{kind.__name__} has no field {', '.join(sorted(unknown))}")
    return kind(**{name: _value(hints[name], value) for name, value in data.items()})


def _value(hint: Any, value: Any) -> Any:
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None:
            return None
        return _value(next(a for a in arguments if a is not type(None)), value)
    if dataclasses.is_dataclass(hint) and isinstance(value, Mapping):
        return decode(hint, value)
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(_value(arguments[0], item) for item in value)
        return tuple(_value(a, item) for a, item in zip(arguments, value, strict=True))
    if origin in (dict, Mapping) and len(arguments) == 2:
        return {key: _value(arguments[1], item) for key, item in value.items()}
    return value
