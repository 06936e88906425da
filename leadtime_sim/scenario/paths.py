"""Paths into scenario data (``factories.camden.lines``, ``orders[2].quantity``): parse them,
read the value at one, and set one - the one way ``--set``, an experiment's ``overrides``
and its axes change a scenario.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from typing import Any

from leadtime_sim.errors import MAX_DEPTH, format_path, nesting_depth


def parse_assignment(text: str) -> tuple[list[str | int], Any]:
    """``factories.camden.lines=4`` -> (['factories', 'camden', 'lines'], 4).

    The value is read as a TOML value (numbers, booleans, strings, arrays, inline tables);
    anything that is not valid TOML is taken as a plain string.
    """
    if "=" not in text:
        raise ValueError("expected PATH=VALUE (there is no '=')")  # (the caller names the text)
    path_text, value_text = text.split("=", 1)
    path = split_path(path_text.strip())
    try:
        value = tomllib.loads(f"v = {value_text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()
    except RecursionError:
        raise ValueError(f"the value is nested more than {MAX_DEPTH} deep") from None
    if nesting_depth(value) > MAX_DEPTH:
        raise ValueError(f"the value is nested more than {MAX_DEPTH} deep")
    return path, value


_INDEX = re.compile(r"-?[0-9]+")


def split_path(text: str) -> list[str | int]:
    """``orders[2].quantity`` or ``orders.2.quantity`` -> ['orders', 2, 'quantity'].

    A name holding a dot is quoted, as in TOML: ``factories."camden.2".lines``. A negative
    index (``orders[-1]``) is kept as a number, for ``set_path`` and ``get_path`` to refuse
    with the list's length: items are numbered from 0 only, so that one item has one path
    (an experiment's axes and overrides are matched by their paths)."""
    parts: list[str | int] = []
    i, n = 0, len(text)
    while True:
        if i < n and text[i] in "\"'":  # a quoted name, taken as it is
            close = text.find(text[i], i + 1)
            if close < 0:
                raise ValueError(f"{text!r}: a quote is not closed")
            parts.append(text[i + 1:close])
            i = close + 1
        else:
            j = i
            while j < n and text[j] not in ".[]\"'":
                j += 1
            part = text[i:j]
            if not part:
                raise ValueError(f"{text!r}: empty part in the path")
            parts.append(int(part) if _INDEX.fullmatch(part) else part)
            i = j
        if i < n and text[i] == "]":
            i += 1
        if i >= n:
            return parts
        if text[i] not in ".[":
            raise ValueError(f"{text!r}: expected '.' or '[' after {text[:i]!r}")
        i += 1


def set_path(data: dict[str, Any], path: Sequence[str | int], value: Any,
             named_tables: Sequence[str] = ()) -> None:
    """Set ``value`` at ``path`` inside nested dicts and lists (in place).

    Missing tables on the way are created (the schema then judges whether they may
    exist), except new entries of the top-level ``named_tables``: a misspelt name there
    would otherwise add an entity that nothing uses.
    """
    node: Any = data
    for i, key in enumerate(path):
        if i == 1 and path[0] in named_tables and isinstance(node, dict) and str(key) not in node:
            known = ", ".join(sorted(node)) or "none"
            raise ValueError(f"{format_path(path[:2])}: no such entry in {path[0]} (known: {known})")
        if i == len(path) - 1:
            break
        if isinstance(node, dict) and node.get(str(key)) is None:  # missing, or an unset option
            node[str(key)] = {}
        node = _child(node, key, path[: i + 1])
    last = path[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or not 0 <= last < len(node):
            raise ValueError(_no_item(node, path))
        node[last] = value
    elif isinstance(node, dict):
        node[str(last)] = value
    else:
        raise ValueError(f"{format_path(path[:-1])}: is a value, not a table")


def get_path(data: Any, path: Sequence[str | int]) -> Any:
    """The value at ``path``; ValueError naming the path if it does not exist."""
    node = data
    for i, key in enumerate(path):
        node = _child(node, key, path[: i + 1])
    return node


def _child(node: Any, key: str | int, path: Sequence[str | int]) -> Any:
    if isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
        return node[key]
    if isinstance(node, dict) and str(key) in node:
        return node[str(key)]
    if isinstance(node, list):
        raise ValueError(_no_item(node, path))
    raise ValueError(f"{format_path(path)}: no such key in the file")


def _no_item(items: list[Any], path: Sequence[str | int]) -> str:
    """Why ``path[-1]`` names no item of ``items``, the path written as the user wrote it."""
    key, where = path[-1], format_path(path)
    count = len(items)
    numbers = (f"{format_path([*path[:-1], 0])} to {format_path([*path[:-1], count - 1])}" if count
               else "it is empty")
    if isinstance(key, int) and key < 0:
        last = f"; the last is {format_path([*path[:-1], count - 1])}" if count else ""
        return (f"{where}: list items are numbered from 0 (a negative index is not taken): the list "
                f"has {count}{last}")
    if isinstance(key, int):
        return f"{where}: no such list item (the list has {count}: {numbers})"
    return (f"{format_path(path[:-1])}: is a list, so {key!r} names no item: give a number "
            f"(the list has {count}: {numbers})")
