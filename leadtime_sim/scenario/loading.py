"""Scenario files -> validated, frozen ``Scenario`` objects (the one place that validates).

Changes to a scenario arrive as text (``--set path=value`` on the command line) or as typed
values (an experiment's ``overrides`` and the values of a design point); both are set at
their path in the scenario's data, and the result is validated once.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from leadtime_sim.errors import InputError, problem, pydantic_problems, read_toml
from leadtime_sim.plugins import NO_PLUGINS, Plugins
from leadtime_sim.scenario.checks import check_scenario, scenario_warnings
from leadtime_sim.scenario.paths import parse_assignment, set_path, split_path
from leadtime_sim.scenario.schema import Scenario

log = logging.getLogger(__name__)
NAMED_TABLES = ("products", "factories", "investments", "requirements")
"""Tables of named entities: ``--set`` changes their entries but never invents one."""


def apply_values(data: Mapping[str, Any], values: Mapping[str, Any], source: str = "--set",
                 names: Mapping[str, str] | None = None) -> dict[str, Any]:
    """A copy of scenario ``data`` with each ``path: value`` set (values as they are); a
    problem is told against ``source``, the field that set the path (``names``) and the path."""
    result = copy.deepcopy(dict(data))
    problems = []
    for path, value in values.items():
        try:
            set_path(result, split_path(path), value, NAMED_TABLES)
        except ValueError as exc:
            where = f"{names[path]}: {path}" if names and path in names else path
            text = str(exc)
            if names and path in names and text.startswith(f"{path}: "):  # (the path once, not twice)
                where = names[path]
            problems.append(f"{source} {where}: {text}")
    if problems:
        raise InputError(problems)
    return result


def override_texts(overrides: Iterable[str], source: str = "overrides") -> list[str]:
    """``overrides`` as a list of ``path=value`` texts; an InputError for one text not in a
    list (whose letters would be taken one by one as assignments), or for an item that is not a
    text (a ``{path: value}`` table is a scenario's data, for ``apply_values``)."""
    if isinstance(overrides, str | bytes | Mapping):
        kind = "a table" if isinstance(overrides, Mapping) else "one text"
        raise InputError([f"{source}: {overrides!r}: expected a list of 'path=value' texts, not {kind} "
                          "(as --set: overrides=['factories.NAME.lines=2'])"])
    texts = list(overrides)
    bad = [t for t in texts if not isinstance(t, str)]
    if bad:
        raise InputError([f"{source}: {t!r}: expected a 'path=value' text" for t in bad])
    return texts


def apply_overrides(data: Mapping[str, Any], overrides: Iterable[str],
                    source: str = "--set") -> dict[str, Any]:
    """A copy of ``data`` (a scenario's data, as its TOML reads) with each ``path=value`` text
    assignment applied (values read as TOML)."""
    if not isinstance(data, Mapping):
        raise InputError([f"{source}: the data to override must be a scenario's table (as read from its "
                          f"TOML), not {type(data).__name__}: load_scenario(path, overrides=[...]) "
                          "reads, overrides and validates a file"])
    texts = override_texts(overrides)
    result = copy.deepcopy(dict(data))
    problems = []
    for text in texts:
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
    if isinstance(data, Mapping) and not data:  # (one line, not one per required key)
        raise InputError([f"{source}: (top level): the file holds no settings: a scenario needs name, start, "
                          "end, products and factories (leadtime-sim schema prints the format)"])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        if "model" in data and "factories" not in data and "products" not in data:
            raise InputError([f"{source}: this is an experiment (or calibration) file - it names a model - "
                              "not a scenario: give it to sweep, optimize or sensitivity"]) from None
        raise InputError(pydantic_problems(exc, source, Scenario)) from None
    problems = check_scenario(scenario, plugins.all_policies.names, plugins.all_ordering_rules.names)
    if problems:
        raise InputError([problem(source, path, message) for path, message in problems])
    return scenario


def scenario_with(scenario: Scenario, values: Mapping[str, Any], source: str = "<scenario>",
                  plugins: Plugins = NO_PLUGINS) -> Scenario:
    """``scenario`` with typed values set at their paths, validated (a design point)."""
    if not values:
        return scenario
    data = apply_values(scenario.model_dump(by_alias=True), values, source)
    return validate_scenario(data, source, plugins)


Patch = tuple[tuple[str, Any], ...]
"""Top-level fields of a validated scenario that differ from a base: (field, value) pairs."""


def patch_between(base: Scenario, changed: Scenario, paths: Iterable[str]) -> Patch:
    """The top-level fields that ``paths`` touch, as ``changed`` has them (already validated)."""
    fields = dict.fromkeys(_field_name(str(split_path(path)[0])) for path in paths)
    return tuple((name, getattr(changed, name)) for name in fields
                 if getattr(changed, name) != getattr(base, name))


def patched(base: Scenario, patch: Patch) -> Scenario:
    """``base`` with a patch's fields replaced: no validation (the patch was validated)."""
    return base.model_copy(update=dict(patch)) if patch else base


def _field_name(key: str) -> str:
    """The attribute of a scenario key (``from`` style aliases)."""
    for name, field in Scenario.model_fields.items():
        if key in (name, field.alias):
            return name
    return key


def load_scenario(
    path: str | Path, overrides: Iterable[str] = (), plugins: Plugins = NO_PLUGINS
) -> Scenario:
    """Read, override and validate a scenario file (what is odd but allowed is logged).

    When the overridden scenario is invalid but the file alone is not, the problems are
    told against ``--set (on FILE)``: the file is not to blame."""
    overrides = override_texts(overrides)
    raw = read_toml(path)
    data = apply_overrides(raw, overrides)
    try:
        scenario = validate_scenario(data, str(path), plugins)
        if overrides:
            _warn_with_overrides(scenario, raw, path, plugins)
        else:
            warn_about(scenario, str(path))
    except InputError:
        if not overrides:
            raise
        validate_scenario(raw, str(path), plugins)  # the file's own problems, if it has any
        where = f"--set (on {Path(path).name})"
        return warn_about(validate_scenario(data, where, plugins), where)
    log.info(f"{path}: scenario {scenario.name!r}, {scenario.start} to {scenario.end}: "
             f"{len(scenario.products)} product(s), {len(scenario.factories)} factory(ies), "
             f"{len(scenario.orders)} order(s), {len(scenario.order_streams)} order stream(s), "
             f"{len(scenario.requirements)} requirement(s), {len(scenario.investments)} investment(s)"
             + (f"; with {', '.join(overrides)}" if overrides else ""))
    return scenario


def _warn_with_overrides(scenario: Scenario, raw: Mapping[str, Any], path: str | Path,
                         plugins: Plugins) -> None:
    """Log the warnings of an overridden scenario, each told against the file if the file
    alone has it, else against ``--set (on FILE)`` (``--set orders=[]`` leaves the work in
    progress at start no order: the file is not to blame)."""
    try:
        own = set(scenario_warnings(validate_scenario(raw, str(path), plugins)))
    except InputError:  # (the file alone is invalid: --set made it a scenario)
        own = set()
    for where, message in scenario_warnings(scenario):
        source = str(path) if (where, message) in own else f"--set (on {Path(path).name})"
        log.warning(problem(source, where, message))


def warn_about(scenario: Scenario, source: str) -> Scenario:
    """Log ``scenario_warnings`` as ``FILE: path: message`` warnings; return the scenario."""
    for path, message in scenario_warnings(scenario):
        log.warning(problem(source, path, message))
    return scenario
