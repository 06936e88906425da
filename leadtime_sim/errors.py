"""Input errors that name the file, the field path and what is wrong.

Every bad input (scenario, experiment, ``--set`` value) ends as an ``InputError`` holding
one line per problem, ``FILE: field.path: what is wrong``; the CLI prints them and exits
with status 2.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError


class InputError(Exception):
    """One or more problems with user input, each a complete one-line message."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class OutputError(InputError):
    """Results cannot be written (unwritable directory, full disk): one line per problem."""


def format_path(loc: Iterable[Any]) -> str:
    """``('orders', 2, 'quantity')`` -> ``orders[2].quantity``."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def problem(source: str, path: str, message: str) -> str:
    return f"{source}: {path}: {message}"


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    return [t for t in _types_in(annotation) if isinstance(t, type) and issubclass(t, BaseModel)]


def _is_container(annotation: Any) -> bool:
    """A dict or list (possibly optional or annotated) rather than a model."""
    return any(t in (dict, list, tuple) for t in _types_in(annotation))


def _step(current: Any, part: Any) -> tuple[Any, bool]:
    """Follow one path element from a model class or annotation.

    Returns the next position and whether ``part`` is a distribution tag that pydantic
    inserted (to be dropped from the path shown to the user).
    """
    if isinstance(current, type) and issubclass(current, BaseModel):
        for name, field in current.model_fields.items():
            if part in (name, field.alias):
                annotation = field.annotation
                models = _models_in(annotation)
                if len(models) == 1 and not _is_container(annotation):
                    return models[0], False
                return annotation, False
        return None, False
    models = _models_in(current)
    tagged = [m for m in models if ("dist" in m.model_fields and m.model_fields["dist"].default == part)
              or ("dist" in m.model_fields and part in getattr(m.model_fields["dist"].annotation,
                                                              "__args__", ()))]
    if tagged and not _is_container(current):
        return tagged[0], True
    if _is_container(current):  # a dict key or list index: step into the element type
        inner = [m for m in models if "dist" not in m.model_fields]
        if len(inner) == 1:
            return inner[0], False
        return (next(iter(getattr(current, "__args__", ())[-1:]), None), False)
    return None, False


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[Any], Any]:
    """The path without pydantic's distribution tags, and the model the last key is in."""
    shown: list[Any] = []
    current: Any = model
    parent: Any = model
    for part in loc:
        parent = current
        current, is_tag = _step(current, part) if current is not None else (None, False)
        if not is_tag:
            shown.append(part)
    return shown, parent


def _keys_of(model: Any) -> set[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return {field.alias or name for name, field in model.model_fields.items()}
    return set()


def _field_names(model: type[BaseModel], seen: set[type] | None = None) -> set[str]:
    """All keys any model reachable from ``model`` accepts."""
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    names = _keys_of(model)
    for field in model.model_fields.values():
        for arg in _models_in(field.annotation):
            names |= _field_names(arg, seen)
    return names


def _types_in(annotation: Any) -> list[Any]:
    found = [annotation]
    for arg in getattr(annotation, "__args__", ()) or ():
        found += _types_in(arg)
    for meta in getattr(annotation, "__metadata__", ()) or ():
        found += _types_in(meta)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None:
        found.append(origin)
    return found


def pydantic_problems(error: ValidationError, source: str, model: type[BaseModel]) -> list[str]:
    """One line per pydantic error, with the field path and a hint for misspelt keys."""
    lines = []
    for err in error.errors(include_url=False):
        loc, parent = _walk(model, tuple(err["loc"]))
        message = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = _keys_of(parent) or _field_names(model)
            close = difflib.get_close_matches(key, allowed - {key}, n=1)
            message = f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close else "")
            if not close and allowed:
                message += f" (allowed here: {', '.join(sorted(allowed))})"
        elif err["type"] == "missing":
            message = "required key is missing"
        elif not isinstance(err.get("input"), dict | list) and "(got " not in message:
            message += f" (got {err['input']!r})"
        lines.append(problem(source, format_path(loc), message))
    return lines


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning every way of failing into an InputError."""
    source = str(path)
    file = Path(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise InputError([f"{source}: no such file"]) from None
    except IsADirectoryError:
        raise InputError([f"{source}: is a directory, not a file"]) from None
    except OSError as exc:
        raise InputError([f"{source}: cannot read: {exc.strerror or exc}"]) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([f"{source}: not UTF-8 text (byte {exc.start})"]) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([f"{source}: not valid TOML: {exc}"]) from None


def parse_assignment(text: str) -> tuple[list[str | int], Any]:
    """``factories.camden.lines=4`` -> (['factories', 'camden', 'lines'], 4).

    The value is read as a TOML value (numbers, booleans, strings, arrays, inline tables);
    anything that is not valid TOML is taken as a plain string.
    """
    if "=" not in text:
        raise ValueError(f"{text!r}: expected PATH=VALUE")
    path_text, value_text = text.split("=", 1)
    path = split_path(path_text.strip())
    try:
        value = tomllib.loads(f"v = {value_text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = value_text.strip()
    return path, value


def split_path(text: str) -> list[str | int]:
    """``orders[2].quantity`` or ``orders.2.quantity`` -> ['orders', 2, 'quantity']."""
    parts: list[str | int] = []
    for part in text.replace("[", ".").replace("]", "").split("."):
        if not part:
            raise ValueError(f"{text!r}: empty part in the path")
        parts.append(int(part) if part.isdigit() else part)
    return parts


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
        if isinstance(node, dict) and str(key) not in node:
            node[str(key)] = {}
        node = _child(node, key, path[: i + 1])
    last = path[-1]
    if isinstance(node, list):
        if not isinstance(last, int) or not 0 <= last < len(node):
            raise ValueError(f"{format_path(path)}: no such list item")
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
        raise ValueError(f"{format_path(path)}: no such list item (the list has {len(node)})")
    raise ValueError(f"{format_path(path)}: no such key in the file")
