"""Researchers' own allocation policies and ordering rules, without editing the package.

A plugin is a Python module that defines ``POLICIES`` (name -> policy class) and/or
``ORDERING_RULES`` (name -> function). It is loaded only from a module named on the
command line (``--plugin my_project.policies``) or passed in Python - never from a
scenario file, which is data.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from leadtime_sim.errors import InputError

BUILTIN_POLICIES = ("fifo", "priority", "fair-share")
BUILTIN_ORDERING_RULES = ("shortfall",)


@dataclass(frozen=True)
class Plugins:
    """Extra policies and ordering rules by name, plus the modules they came from."""

    policies: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    ordering_rules: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    modules: tuple[str, ...] = ()

    @property
    def policy_names(self) -> tuple[str, ...]:
        return (*BUILTIN_POLICIES, *self.policies)

    @property
    def ordering_rule_names(self) -> tuple[str, ...]:
        return (*BUILTIN_ORDERING_RULES, *self.ordering_rules)


NO_PLUGINS = Plugins(MappingProxyType({}), MappingProxyType({}))


def load_plugins(modules: Iterable[str]) -> Plugins:
    """Import each module and collect its ``POLICIES`` and ``ORDERING_RULES``."""
    policies: dict[str, Callable[..., Any]] = {}
    rules: dict[str, Callable[..., Any]] = {}
    names = tuple(modules)
    for name in names:
        try:
            module = importlib.import_module(name)
        except Exception as exc:  # any import failure is the user's input problem
            raise InputError([f"--plugin {name}: cannot import: {type(exc).__name__}: {exc}"]) from None
        found_policies = getattr(module, "POLICIES", {})
        found_rules = getattr(module, "ORDERING_RULES", {})
        for label, table in (("POLICIES", found_policies), ("ORDERING_RULES", found_rules)):
            if not isinstance(table, Mapping) or not all(
                    isinstance(k, str) and callable(v) for k, v in table.items()):
                raise InputError([f"--plugin {name}: {label} must map names to classes or functions"])
        if not found_policies and not found_rules:
            raise InputError([f"--plugin {name}: defines neither POLICIES nor ORDERING_RULES"])
        policies.update(found_policies)
        rules.update(found_rules)
    return Plugins(policies, rules, names)
