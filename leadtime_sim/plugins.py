"""Researchers' own allocation policies and ordering rules, without editing the package.

A plugin is a Python module that defines ``POLICIES`` (name -> policy class) and/or
``ORDERING_RULES`` (name -> function). It is loaded only from a module named on the
command line (``--plugin my_project.policies``), an experiment's ``plugins`` list, or
passed in Python - never from a scenario file, which is data. Its entries join the
built-in registries (``sim.policies.POLICIES``, ``sim.ordering.ORDERING_RULES``) in a
``Plugins`` value that validation and the kernel both read.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import Any

from leadtime_sim.errors import InputError
from leadtime_sim.registry import Registry
from leadtime_sim.sim.ordering import ORDERING_RULES, OrderingRule
from leadtime_sim.sim.policies import POLICIES, AllocationPolicy


@dataclass(frozen=True)
class Plugins:
    """Policies and ordering rules from plugin ``modules``, on top of the built-in ones."""

    policies: Mapping[str, type[AllocationPolicy]] = field(default_factory=dict)
    ordering_rules: Mapping[str, OrderingRule] = field(default_factory=dict)
    modules: tuple[str, ...] = ()

    def __reduce__(self) -> tuple[Any, ...]:
        """Loaded from modules, it pickles as their names and is imported again where it is
        unpickled (a worker): a plugin's entries need not pickle (a lambda rule)."""
        if self.modules:
            return load_plugins, (self.modules,)
        return Plugins, (dict(self.policies), dict(self.ordering_rules))

    @cached_property
    def code_modules(self) -> frozenset[str]:
        """The modules the plugins' code lives in (their own, and those they were named by)."""
        entries: list[Any] = [*self.policies.values(), *self.ordering_rules.values()]
        return frozenset(self.modules) | {str(getattr(e, "__module__", None)) for e in entries} - {"None"}

    @cached_property
    def all_policies(self) -> Registry[type[AllocationPolicy]]:
        """Every policy a run may name: the built-in ones, then the plugins'."""
        return POLICIES.extended(self.policies)

    @cached_property
    def all_ordering_rules(self) -> Registry[OrderingRule]:
        """Every ordering rule a run may name: the built-in ones, then the plugins'."""
        return ORDERING_RULES.extended(self.ordering_rules)


NO_PLUGINS = Plugins()
"""The built-in policies and rules only."""


def _table(module: Any, name: str, label: str) -> Mapping[str, Callable[..., Any]]:
    found = getattr(module, label, {})
    if not isinstance(found, Mapping) or not all(
            isinstance(k, str) and callable(v) for k, v in found.items()):
        raise InputError([f"plugin {name}: {label} must map names to classes or functions"])
    return found


def load_plugins(modules: Iterable[str], search: Iterable[str | Path] = ()) -> Plugins:
    """Import each module and add its ``POLICIES`` and ``ORDERING_RULES`` to the built-ins.

    ``search``: folders to import from first (an experiment's own folder, the working
    directory), put at the front of ``sys.path`` if they are not on it - so that a plugin
    next to its experiment imports the same way in the command, in Python and in workers."""
    for folder in reversed([str(Path(f).resolve()) for f in search]):
        if folder not in sys.path:
            sys.path.insert(0, folder)
    policies: dict[str, type[AllocationPolicy]] = {}
    rules: dict[str, OrderingRule] = {}
    names = tuple(modules)
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # any import failure is the user's input problem
            raise InputError([f"plugin {name}: cannot import: {type(exc).__name__}: {exc}"]) from None
        found_policies = _table(module, name, "POLICIES")
        found_rules = _table(module, name, "ORDERING_RULES")
        if not found_policies and not found_rules:
            raise InputError([f"plugin {name}: defines neither POLICIES nor ORDERING_RULES"])
        policies.update(found_policies)  # type: ignore[arg-type]
        rules.update(found_rules)
    return Plugins(policies, rules, names)


class PluginError(InputError):
    """A plugin's policy or ordering rule raised: one line naming the plugin, the function
    and the error (the user's code, not the simulator's: no traceback)."""


def plugin_failure(exc: BaseException, plugins: Plugins) -> str | None:
    """``plugin MODULE: FUNCTION raised TYPE: message (FILE:LINE)`` if ``exc`` was raised in a
    plugin's code (the first plugin frame of its traceback: the function the simulator
    called; the line where it was raised), else None."""
    modules = plugins.code_modules
    if not modules:
        return None
    frames: list[TracebackType] = []
    seen: set[int] = set()
    while not frames and exc is not None and id(exc) not in seen:  # (SimPy raises a copy, caused by it)
        seen.add(id(exc))
        tb = exc.__traceback__
        while tb is not None:
            name = tb.tb_frame.f_globals.get("__name__", "")
            if name in modules or name.partition(".")[0] in modules:
                frames.append(tb)
            tb = tb.tb_next
        if not frames:
            exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    if not frames:
        return None
    entry, last = frames[0], frames[-1]
    module = entry.tb_frame.f_globals.get("__name__", "")
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    where = f"{Path(last.tb_frame.f_code.co_filename).name}:{last.tb_lineno}"
    return (f"plugin {module}: {entry.tb_frame.f_code.co_qualname} raised {type(exc).__name__}"
            f"{': ' + text if text else ''} ({where})")


@contextlib.contextmanager
def plugin_errors(plugins: Plugins) -> Iterator[None]:
    """Within the block, an exception raised in a plugin's code becomes a PluginError."""
    try:
        yield
    except InputError:
        raise
    except Exception as exc:
        line = plugin_failure(exc, plugins)
        if line is None:
            raise
        raise PluginError([line]) from exc
