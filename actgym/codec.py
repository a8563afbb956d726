"""One JSON codec for nested frozen dataclasses (configs, setups), instead of one per class.

`encode` is `dataclasses.asdict`; `decode` rebuilds the dataclass from the JSON value by its
type hints: nested dataclasses, tuples (JSON lists), optional fields and dicts. The value
comes from a user's config file or a run directory someone handed over, so each field is
checked against its hint and a wrong type is refused by its dotted name, before any of it
reaches a trainer that would fail on it far from the cause.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def encode(value: Any) -> dict[str, Any]:
    """A dataclass instance as plain JSON-ready data."""
    return dataclasses.asdict(value)


def decode(kind: type[T], data: Mapping[str, Any], *, name: str | None = None) -> T:
    """The `kind` dataclass that `encode` turned into `data`; missing fields take defaults.

    Raises:
        TypeError: `data` is not a mapping, has a field `kind` does not have, lacks a
            required one, or holds a value of another type than the field's hint (named
            `Kind.field.subfield`); a float must be finite.
        ValueError: the dataclass's own checks refused a value.
    """
    name = name or kind.__name__
    if not isinstance(data, Mapping):
        raise TypeError(f"{name} must be a table, not {_type_name(data)}")
    hints = typing.get_type_hints(kind)
    names = {field.name for field in dataclasses.fields(kind)}
    unknown = set(data) - names
    if unknown:
        raise TypeError(f"{name} has no field {', '.join(sorted(map(str, unknown)))}")
    return kind(**{key: _value(hints[key], value, f"{name}.{key}") for key, value in data.items()})


def _value(hint: Any, value: Any, name: str) -> Any:
    origin, arguments = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in arguments:
            return None
        options = [argument for argument in arguments if argument is not type(None)]
        if len(options) != 1:
            raise TypeError(f"{name}: the codec decodes only X | None unions, not {hint}")
        return _value(options[0], value, name)
    if dataclasses.is_dataclass(hint):
        return decode(hint, value, name=name)
    if origin is tuple:
        return _tuple(arguments, value, name)
    if origin in (dict, Mapping):
        return _table(arguments, value, name)
    if hint is Any:
        return value
    return _scalar(hint, value, name)


def _table(arguments: tuple[Any, ...], value: Any, name: str) -> dict[str, Any]:
    """A str-keyed dict: JSON and TOML keys are strings, so any other key type would come
    back changed."""
    key_hint, item_hint = arguments or (str, Any)
    if key_hint is not str:
        raise TypeError(f"{name}: the codec decodes only str-keyed dicts, not {key_hint}")
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a table, not {_type_name(value)}")
    for key in value:
        if not isinstance(key, str):
            raise TypeError(f"{name} keys must be strings, not {_type_name(key)}")
    return {key: _value(item_hint, item, f"{name}.{key}") for key, item in value.items()}


def _tuple(arguments: tuple[Any, ...], value: Any, name: str) -> tuple[Any, ...]:
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise TypeError(f"{name} must be a list, not {_type_name(value)}")
    if len(arguments) == 2 and arguments[1] is Ellipsis:
        return tuple(_value(arguments[0], item, f"{name}[{i}]") for i, item in enumerate(value))
    if len(value) != len(arguments):
        raise TypeError(f"{name} must hold {len(arguments)} items, not {len(value)}")
    return tuple(
        _value(argument, item, f"{name}[{i}]")
        for i, (argument, item) in enumerate(zip(arguments, value, strict=True))
    )


def _scalar(hint: Any, value: Any, name: str) -> Any:
    """`value` if it is a `hint` (an int is a float; a bool is no number), else TypeError."""
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"{name} must be a number, not {_type_name(value)}")
        if not math.isfinite(value):
            raise TypeError(f"{name} must be a finite number, not {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an integer, not {_type_name(value)}")
        return value
    if isinstance(hint, type) and not isinstance(value, hint):
        raise TypeError(f"{name} must be a {hint.__name__}, not {_type_name(value)}")
    return value


def _type_name(value: Any) -> str:
    return "null" if value is None else type(value).__name__
