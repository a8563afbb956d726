"""A run store is untrusted input: its structure and every row are checked before use.

Run directories are handed around (to compare agents, to resume someone's run), and a
SQLite file can hold more than data: a view or a trigger runs SQL on every read, and a
row can hold anything in any column. Readers therefore refuse a file whose schema holds
code, stop any statement that runs past a deadline, and check each row's types, JSON
included (objects where objects belong, nesting bounded), before a caller sees it. Every
refusal is a StoreError naming the table, the row and the column.
"""

from __future__ import annotations

import json
import math
import sqlite3
import time
from collections.abc import Callable, Mapping
from typing import Any

MAX_JSON_DEPTH = 64
"""Deeper than anything actgym writes (agent state included) and far from Python's stack."""


class StoreError(RuntimeError):
    """The directory holds no usable run store, or another process is driving it."""


def refuse_code_in_schema(connection: sqlite3.Connection) -> None:
    """Refuse views, triggers, virtual and shadow tables and generated columns: tables only.

    Kinds come from SQLite itself (`PRAGMA table_list`), not from the stored `CREATE` text,
    which a tampered file can dress up.
    """
    trigger = connection.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchone()
    if trigger is not None:
        raise StoreError(f"the run store holds a trigger ({trigger[0]!r}); it must be tables only")
    for entry in connection.execute("PRAGMA main.table_list"):
        kind, name = entry["type"], entry["name"]
        if kind != "table":
            raise StoreError(f"the run store holds a {kind} ({name!r}); a run store is tables only")
        for column in connection.execute(f'PRAGMA table_xinfo("{_quoted(name)}")'):
            if column["hidden"] in (2, 3):
                raise StoreError(
                    f"the run store's column {name}.{column['name']} is generated (computed "
                    "on read); a run store is data only"
                )


def bound_reads(connection: sqlite3.Connection, seconds: float) -> None:
    """Interrupt any statement still running `seconds` after this call (a reader's budget)."""
    deadline = time.monotonic() + seconds
    connection.set_progress_handler(lambda: int(time.monotonic() > deadline), 10_000)


def _quoted(name: str) -> str:
    return name.replace('"', '""')


# -- rows ------------------------------------------------------------------------------

Check = Callable[[Any], bool]


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _text(value: Any) -> bool:
    return isinstance(value, str)


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _json(kind: type, of: Check | None = None) -> tuple[type, Check | None]:
    return kind, of


def _scores(value: Any) -> bool:
    """`families`: per family an object with a numeric reward."""
    return all(isinstance(score, dict) and _number(score.get("reward")) for score in value.values())


def _ids(value: Any) -> bool:
    return all(_integer(item) for item in value)


PLAIN: dict[str, dict[str, Check]] = {
    "run": {
        "agent": _text,
        "env_id": _text,
        "seed": _integer,
        "budget": _integer,
        "fingerprint": _text,
        "created_at": _text,
        "finished_at": _optional(_text),
    },
    "proposals": {
        "id": _integer,
        "batch": _integer,
        "source": _text,
        "generation": _integer,
        "fidelity": _text,
        "charge": _number,
    },
    "evaluations": {
        "id": _integer,
        "batch": _integer,
        "agent": _text,
        "env_id": _text,
        "seed": _integer,
        "task_seed": _integer,
        "source": _text,
        "program_hash": _optional(_text),
        "locality": _optional(_text),
        "behaviour": _optional(_text),
        "duplicate_of": _optional(_integer),
        "generation": _integer,
        "fidelity": _text,
        "charge": _number,
        "status": _text,
        "message": _text,
        "reward": _number,
        **{
            key: _optional(_number)
            for key in ("reward_stderr", "fit_share", "ood_loss", "id_loss", "train_loss")
        },
        "flops_per_element": _optional(_number),
        **{key: _number for key in ("check_s", "compile_s", "train_s", "total_s", "wall_s")},
        "cached": _integer,
        "completed_at": _text,
    },
    "agent_state": {
        "batch": _integer,
        "phase": lambda value: value in ("proposed", "observed"),
        "issued": _integer,
    },
}
"""Columns and what they must hold; a column an older store lacks is left to its reader."""

JSON: dict[str, dict[str, tuple[type, Check | None]]] = {
    "run": {
        "config": _json(dict),
        "evaluation_config": _json(dict),
        "versions": _json(dict),
    },
    "proposals": {"parents": _json(list, _ids), "notes": _json(dict)},
    "evaluations": {
        "trainer_seeds": _json(list, _ids),
        "program": _json(dict),
        "parents": _json(list, _ids),
        "notes": _json(dict),
        "families": _json(dict, _scores),
        "descriptors": _json(dict),
        "versions": _json(dict),
    },
    "agent_state": {"rng": _json(dict), "state": _json(dict)},
}
"""JSON columns, the type each must decode to, and a check of its content. `program` may be
NULL (a rejected candidate has none)."""


def checked(table: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """`row` of `table` as a dict, once every known column holds what it must."""
    data = dict(row)
    where = f"{table} row {data['id']!r}" if "id" in data else f"{table} row"
    for column, check in PLAIN[table].items():
        if column in data and not check(data[column]):
            raise StoreError(f"{where}: {column} holds {_kind(data[column])}, not what it must")
    for column, (kind, check) in JSON[table].items():
        if column not in data or (column == "program" and data[column] is None):
            continue
        value = parse_json(data[column], f"{where}: {column}")
        if not isinstance(value, kind) or (check is not None and not check(value)):
            raise StoreError(f"{where}: {column} is not the JSON {kind.__name__} it must be")
    return data


def parse_json(text: Any, what: str) -> Any:
    """Decoded JSON of bounded nesting, with finite numbers only; StoreError if it is not."""
    if not isinstance(text, str):
        raise StoreError(f"{what} holds {_kind(text)}, not JSON text")
    try:
        value = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite)
    except (ValueError, RecursionError):
        raise StoreError(f"{what} is not JSON of finite numbers (or nests too deeply)") from None
    if json_depth(value) > MAX_JSON_DEPTH:
        raise StoreError(f"{what} nests deeper than {MAX_JSON_DEPTH} levels")
    return value


def _refuse_constant(name: str) -> float:
    raise ValueError(name)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def json_depth(value: Any) -> int:
    """Nesting depth, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return deepest


def _kind(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    return type(value).__name__
