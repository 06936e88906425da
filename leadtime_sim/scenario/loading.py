"""Scenario files -> validated, frozen ``Scenario`` objects (the one place that validates)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from leadtime_sim.errors import (
    InputError,
    parse_assignment,
    problem,
    pydantic_problems,
    read_toml,
    set_path,
)
from leadtime_sim.plugins import NO_PLUGINS, Plugins
from leadtime_sim.scenario.checks import check_scenario
from leadtime_sim.scenario.schema import Scenario

NAMED_TABLES = ("products", "factories", "investments", "requirements")
"""Tables of named entities: ``--set`` changes their entries but never invents one."""


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str],
                    source: str = "--set") -> dict[str, Any]:
    """A copy of ``data`` with each ``path=value`` assignment applied."""
    result = copy.deepcopy(dict(data))
    problems = []
    for text in overrides:
        try:
            path, value = parse_assignment(text)
            set_path(result, path, value, NAMED_TABLES)
        except ValueError as exc:
            problems.append(f"{source} {text}: {exc}")
    if problems:
        raise InputError(problems)
    return result


def validate_scenario(data: Mapping[str, Any], source: str = "<scenario>",
                      plugins: Plugins = NO_PLUGINS) -> Scenario:
    """Validate a parsed scenario; raise InputError listing every problem."""
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, source, Scenario)) from None
    problems = check_scenario(scenario, plugins.all_policies.names, plugins.all_ordering_rules.names)
    if problems:
        raise InputError([problem(source, path, message) for path, message in problems])
    return scenario


def load_scenario(
    path: str | Path, overrides: Iterable[str] = (), plugins: Plugins = NO_PLUGINS
) -> Scenario:
    """Read, override and validate a scenario file."""
    data = apply_overrides(read_toml(path), overrides)
    return validate_scenario(data, str(path), plugins)
