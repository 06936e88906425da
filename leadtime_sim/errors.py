"""Input errors that name the file, the field path and what is wrong.

Every bad input (scenario, experiment, ``--set`` value) ends as an ``InputError`` holding
one line per problem, ``FILE: field.path: what is wrong``; the CLI prints them and exits
with status 2. (Reading and setting values at such paths: ``scenario/paths.py``.)
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError


class InputError(Exception):
    """One or more problems with user input, each a complete one-line message."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its problems (from a worker process): by its joined text it came back
        as one problem per character."""
        return type(self), (self.problems,)


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


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _resolve(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``Optional``: a model class, a container or a union."""
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, UnionType):
        members = [m for m in get_args(annotation) if m is not type(None)]
        if len(members) == 1:
            return _resolve(members[0])
    return annotation


_UNION_TAG = re.compile(r"^(int|float|str|bool|list|dict|tuple|literal|function-\w+|constrained-\w+)"
                        r"(\[.*\])?$")


def _step(current: Any, part: Any) -> tuple[Any, bool]:
    """Follow one path element from a model class or annotation.

    Returns the next position and whether ``part`` is a tag that pydantic inserted for a
    member of a union (a distribution's name, 'int', 'list[...]'), to be dropped from the
    path shown to the user.
    """
    if _is_model(current):
        for name, field in current.model_fields.items():
            if part in (name, field.alias):
                return _resolve(field.annotation), False
        return None, False
    origin = get_origin(current)
    if origin in (dict, list, tuple):
        args = get_args(current)
        return (_resolve(args[-1] if origin is dict else args[0]) if args else None), False
    if origin in (Union, UnionType) and isinstance(part, str):
        for member in get_args(current):
            if any(isinstance(m, Tag) and m.tag == part for m in getattr(member, "__metadata__", ())):
                return _resolve(member), True  # a member of a union with a callable discriminator
            member = _resolve(member)
            dist = member.model_fields.get("dist") if _is_model(member) else None
            if dist is not None and part in (dist.default, *get_args(dist.annotation)):
                return member, True
            if _is_model(member) and member.__name__ == part:
                return member, True
        if _UNION_TAG.match(part):
            return current, True
        models = [m for m in map(_resolve, get_args(current)) if _is_model(m)]
        if len(models) == 1:
            return _step(models[0], part)
    return None, False


def _walk(model: type[BaseModel], loc: tuple[Any, ...]) -> tuple[list[Any], Any]:
    """The path without pydantic's distribution tags, and the model the last key is in."""
    shown: list[Any] = []
    current: Any = model
    parent: Any = model
    for part in loc:
        parent = current
        if current is not None:
            current, is_tag = _step(current, part)
        else:
            is_tag = _BUILTIN_TAG.match(str(part)) is not None
        if not is_tag:
            shown.append(part)
    return shown, parent


_BUILTIN_TAG = re.compile(r"^(int|float|str|bool|none|constrained-\w+|list\[.*\]|dict\[.*\]"
                          r"|function-\w+\[.*\])$")
"""pydantic's tags for the members of a union of plain types (``Scalar``), found where the
path has left the models (inside a mapping of free keys) and ``_step`` cannot tell."""


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


NAME_PATTERN = r"^[A-Za-z0-9_.\-]+$"
"""What a name (a product, factory, customer, ...) may hold: ASCII letters, digits, ``_.-``."""
NAME_RULE = "a name may hold only the letters A-Z and a-z, digits, '_', '.' and '-' (no spaces or accents)"


PATH_PATTERN = r"^[A-Za-z0-9_.\-\[\]\"']+$"
"""What a scenario path (an experiment's axis, tie or override) may hold."""
PATH_RULE = ("a scenario path such as factories.NAME.lines or orders[0].quantity may hold only the "
             "letters A-Z and a-z, digits, '_', '.', '-', [ ] and quotes (no spaces)")


def _pattern(err: Any) -> Any:
    return (err.get("ctx") or {}).get("pattern")


def pydantic_problems(error: ValidationError, source: str, model: type[BaseModel]) -> list[str]:
    """One line per field path, with a hint for misspelt keys.

    A value that fits no member of a union (a number or a string, say) gives pydantic one
    error per member; they become one line saying what would have fitted.
    """
    by_path: dict[str, list[str]] = {}
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
        elif err["type"] == "string_pattern_mismatch" and _pattern(err) == NAME_PATTERN:
            message = f"{NAME_RULE} (got {err['input']!r})"
        elif err["type"] == "string_pattern_mismatch" and _pattern(err) == PATH_PATTERN:
            message = f"{PATH_RULE} (got {err['input']!r})"
        elif not isinstance(err.get("input"), dict | list) and "(got " not in message \
                and not (isinstance(err.get("input"), str) and repr(err["input"]) in message):
            # (a text once, where the message quotes it already)
            message += f" (got {err['input']!r})"
        by_path.setdefault(format_path(loc), []).append(message)
    lines = []
    for path, messages in by_path.items():
        message = messages[0]
        if len(messages) > 1:
            wanted = [m.removeprefix("Input should be ").split(" (got ")[0] for m in messages]
            got = messages[0].partition(" (got ")[2]
            message = "should be " + " or ".join(dict.fromkeys(wanted)) + (f" (got {got}" if got else "")
        lines.append(problem(source, path, message))
    return lines


def read_input(path: str | Path) -> bytes:
    """An input file's bytes, every way of failing to read it an InputError naming it."""
    source, file = str(path), Path(path)
    try:
        if file.exists() and not file.is_dir() and not file.is_file():
            raise InputError([f"{source}: not a regular file (a pipe or a device?)"])
        return file.read_bytes()
    except FileNotFoundError:
        raise InputError([f"{source}: no such file"]) from None
    except IsADirectoryError:
        raise InputError([f"{source}: is a directory, not a file"]) from None
    except OSError as exc:
        raise InputError([f"{source}: cannot read: {exc.strerror or exc}"]) from None


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file, turning every way of failing into an InputError."""
    source = str(path)
    raw = read_input(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError([f"{source}: not UTF-8 text (byte {exc.start})"]) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError([f"{source}: not valid TOML: {exc}"]) from None
    except RecursionError:
        raise InputError([f"{source}: nested more than {MAX_DEPTH} deep"]) from None
    if nesting_depth(data) > MAX_DEPTH:
        raise InputError([f"{source}: nested more than {MAX_DEPTH} deep"])
    return data


MAX_DEPTH = 32
"""Tables and arrays nested deeper than this are refused: no scenario needs it, and deep
nesting would exhaust Python's recursion limit in validation and copying."""


def nesting_depth(value: Any) -> int:
    """How deep tables and arrays nest in ``value`` (0 for a plain value), without recursion."""
    deepest = 0
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth + 1)
            if depth + 1 <= MAX_DEPTH:  # deeper than that is refused anyway: stop looking
                stack += [(child, depth + 1) for child in (node.values() if isinstance(node, dict) else node)]
    return deepest
