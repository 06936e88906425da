"""One run of a sweep, as a worker executes it: point values in, a flat outcome out.

Whatever a run raises is caught and returned as a failed outcome with its error, so one
bad design point never stops a sweep.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from leadtime_sim.limits import limits_at
from leadtime_sim.metrics import flat_metrics
from leadtime_sim.plugins import NO_PLUGINS, Plugins, load_plugins
from leadtime_sim.run import RunResult, simulate
from leadtime_sim.scenario import Scenario
from leadtime_sim.scenario.checks import component_products
from leadtime_sim.scenario.loading import Patch, patched
from leadtime_sim.sim import Limits
from leadtime_sim.sim.state import NO_LIMITS

LIMITED_BY = "limited_by."
"""Prefix of the run table's label columns (what limits a gap: ``limits.py``)."""
SERIES_FIELDS = {
    "product": ("backlog_units", "wip_units", "cumulative_delivered_units", "capacity_units_per_year"),
    "requirement": ("inventory_units", "required_units", "gap_units"),
    "factory": ("utilisation", "lines"),
}
"""Monthly values kept per run for the fan charts (plus each product's quoted lead time)."""


@dataclass(frozen=True)
class SweepContext:
    """What every run of a sweep shares; sent to each worker once."""

    base: Scenario
    """The validated scenario with the experiment's and the command line's overrides."""
    seed: int
    plugins: tuple[str, ...] = ()
    source: str = "<scenario>"
    limits: Limits = NO_LIMITS
    metrics: tuple[str, ...] = ()
    """Metric name prefixes to keep (empty: all)."""
    targets: tuple[tuple[str, float], ...] = ()
    """The experiment's target dates (and months from start): what limits each gap then."""
    plugin_folders: tuple[str, ...] = ()
    """Folders the plugins are imported from (``runner.plugin_folders``)."""


@dataclass(frozen=True)
class RunTask:
    point_id: int
    replication: int
    patch: Patch = ()
    """The point's validated scenario fields that differ from the base (``patch_between``)."""


@dataclass
class RunOutcome:
    point_id: int
    replication: int
    status: str
    """``ok`` or ``failed``."""
    error: str
    seconds: float
    lots: int
    metrics: dict[str, float]
    series: dict[str, np.ndarray]
    """``entity|name|field`` -> monthly float32 values."""
    labels: dict[str, str] = field(default_factory=dict)
    """``limited_by.<requirement>`` (at the end) and ``limited_by.<requirement>@<target>``."""


@lru_cache(maxsize=8)
def _plugins(modules: tuple[str, ...], folders: tuple[str, ...] = ()) -> Plugins:
    return load_plugins(modules, folders) if modules else NO_PLUGINS


def _monthly_columns(rows: Sequence[NamedTuple], entity: str,
                     fields: Sequence[str]) -> dict[str, dict[str, np.ndarray]]:
    """name -> field -> its monthly float32 values, from month records of several names.

    The records are transposed at once (C-level ``zip``); when every month lists the same
    names in the same order, as the kernel writes them, each field is one reshape."""
    columns = dict(zip(rows[0]._fields, zip(*rows, strict=True), strict=True))
    names: tuple[str, ...] = columns[entity]
    distinct = list(dict.fromkeys(names))
    width = len(distinct)
    values = {f: np.array(columns[f], np.float32) for f in fields}
    if len(names) % width == 0 and list(names) == distinct * (len(names) // width):
        tables = {f: v.reshape(-1, width).T.copy() for f, v in values.items()}
        return {name: {f: tables[f][j] for f in fields} for j, name in enumerate(distinct)}
    where: dict[str, list[int]] = {}
    for index, name in enumerate(names):
        where.setdefault(name, []).append(index)
    return {name: {f: v[index] for f, v in values.items()} for name, index in where.items()}


def compact_series(result: RunResult) -> dict[str, np.ndarray]:
    """The monthly values the fan charts need, one float32 array per entity, name and field."""
    records = result.records
    series: dict[str, np.ndarray] = {}
    for entity, rows in (("product", records.products), ("requirement", records.requirements),
                         ("factory", records.factories)):
        if rows:
            for name, fields in _monthly_columns(rows, entity, SERIES_FIELDS[entity]).items():
                for field_name, values in fields.items():
                    series[f"{entity}|{name}|{field_name}"] = values
    components = component_products(result.scenario)
    by_product: dict[str, list[float]] = {}
    for row in records.products:
        quote = row.quoted_lead_time_months
        by_product.setdefault(row.product, []).append(math.nan if quote is None else quote)
    for product, quotes in by_product.items():
        if product not in components:
            series[f"product|{product}|quoted_lead_time_months"] = np.array(quotes, dtype=np.float32)
    return series


def limit_labels(result: RunResult, targets: Sequence[tuple[str, float]]) -> dict[str, str]:
    """What limits each requirement at the end (from the summary) and at each target."""
    labels = {f"{LIMITED_BY}{name}": r["limited_by"] for name, r in result.summary["requirements"].items()}
    if targets:
        for name, at in limits_at(result.scenario, result.records, dict(targets)).items():
            labels.update({f"{LIMITED_BY}{name}@{date}": limit.label for date, limit in at.items()})
    return labels


def execute(context: SweepContext, task: RunTask) -> RunOutcome:
    """Run one replication of one design point; never raises."""
    began = time.perf_counter()
    try:
        scenario = patched(context.base, task.patch)
        plugins = _plugins(context.plugins, context.plugin_folders)
        result = simulate(scenario, context.seed, task.replication, plugins,
                          context.limits)
        metrics = flat_metrics(result.summary, scenario)
        if context.metrics:
            metrics = {k: v for k, v in metrics.items() if k.startswith(context.metrics)}
        return RunOutcome(task.point_id, task.replication, "ok", "", time.perf_counter() - began,
                          result.records.lots_started, metrics, compact_series(result),
                          limit_labels(result, context.targets))
    except Exception as exc:  # a failing run is recorded, the sweep goes on
        detail = f"{type(exc).__name__}: {exc}".strip().splitlines()[0] if str(exc) else type(exc).__name__
        message = getattr(exc, "problems", None)
        return RunOutcome(task.point_id, task.replication, "failed",
                          "; ".join(message) if message else detail,
                          time.perf_counter() - began, 0, {}, {})
