"""What planners ask of a run: gap-close dates, quoted and realised lead times.

Pure functions of the kernel's records; ``None`` always means "not by end".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter, itemgetter
from typing import Any, Literal

import numpy as np

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.limits import limits_at
from leadtime_sim.registry import Registry
from leadtime_sim.scenario.schema import Scenario
from leadtime_sim.sim.records import DeliveryRecord, KernelRecords, OrderRecord, ProductMonth
from leadtime_sim.sim.state import interpolate, required_curve

EPS = 1e-9


def cumulative_curve(times: Sequence[float] | np.ndarray, units: Sequence[int] | np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """Sorted event times and the cumulative units up to and including each."""
    order = np.argsort(np.asarray(times, dtype=float), kind="stable")
    t = np.asarray(times, dtype=float)[order]
    return t, np.cumsum(np.asarray(units, dtype=float)[order])


@dataclass(frozen=True)
class Flows:
    """The orders and deliveries of one product as arrays, in record order.

    NaN stands for None: an order that never entered the backlog (it waited for money),
    or was not fully delivered by end.
    """

    entered_months: np.ndarray
    placed_months: np.ndarray
    quantity: np.ndarray
    last_delivery_months: np.ndarray
    delivery_months: np.ndarray
    delivery_units: np.ndarray


def _column(rows: Sequence[Any], name: str, dtype: Any = float) -> np.ndarray:
    if dtype is object:
        return np.array(list(map(attrgetter(name), rows)), dtype=object)
    return np.fromiter(map(attrgetter(name), rows), dtype=dtype, count=len(rows))


def _optional_column(rows: Sequence[Any], name: str) -> np.ndarray:
    """Floats, None as NaN."""
    return np.array(list(map(attrgetter(name), rows)), dtype=float)


def flows_of(orders: Sequence[OrderRecord], deliveries: Sequence[DeliveryRecord]) -> Flows:
    return Flows(_optional_column(orders, "entered_months"), _column(orders, "placed_months"),
                 _column(orders, "quantity", np.int64), _optional_column(orders, "last_delivery_months"),
                 _column(deliveries, "time_months"), _column(deliveries, "units", np.int64))


def product_flows(records: KernelRecords) -> dict[str, Flows]:
    """Flows per product (every product of the scenario that has orders or deliveries)."""
    orders, deliveries = records.orders, records.deliveries
    everything = flows_of(orders, deliveries)
    product = attrgetter("product")
    names = dict.fromkeys([*map(product, orders), *map(product, deliveries)])
    if len(names) == 1:
        return {name: everything for name in names}
    order_product = _column(orders, "product", object)
    delivery_product = _column(deliveries, "product", object)
    result = {}
    for name in names:
        mine, theirs = order_product == name, delivery_product == name
        result[name] = Flows(everything.entered_months[mine], everything.placed_months[mine],
                             everything.quantity[mine], everything.last_delivery_months[mine],
                             everything.delivery_months[theirs], everything.delivery_units[theirs])
    return result


NO_FLOWS = flows_of([], [])


def quotes_at(flows: Flows, at_months: Sequence[float] | np.ndarray, units: int = 1) -> list[float | None]:
    """FIFO quoted lead time of an order of ``units`` placed at each time (DESIGN.md).

    With A(t) units ordered by t and D(s) delivered by s, an order placed at t is done at the
    first s with D(s) >= A(t) + units.
    """
    entered = ~np.isnan(flows.entered_months)
    a_times, a_cum = cumulative_curve(flows.entered_months[entered], flows.quantity[entered])
    d_times, d_cum = cumulative_curve(flows.delivery_months, flows.delivery_units)
    t = np.asarray(at_months, dtype=float)
    k = np.searchsorted(a_times, t + EPS, side="right")
    ahead = np.concatenate([[0.0], a_cum])[k]
    j = np.searchsorted(d_cum, ahead + units - EPS, side="left")
    done = np.concatenate([d_times, [np.nan]])[j]
    wait = done - t
    wait = np.where(wait > 0.0, wait, 0.0)  # as max(0.0, wait): never -0.0
    return [None if not_by_end else w
            for not_by_end, w in zip(np.isnan(done).tolist(), wait.tolist(), strict=True)]


def quoted_lead_times(orders: Sequence[OrderRecord], deliveries: Sequence[DeliveryRecord],
                      at_months: Sequence[float] | np.ndarray) -> list[float | None]:
    """``quotes_at`` for records of one product."""
    return quotes_at(flows_of(orders, deliveries), at_months)


def requirement_summary(scenario: Scenario, records: KernelRecords) -> dict[str, dict[str, Any]]:
    """Per requirement: when the gap closed for good (None: not by end) and its largest."""
    result = {}
    outcomes = {o.requirement: o for o in records.outcomes}
    limits = limits_at(scenario, records, {"end": months_between(scenario.start, scenario.end)})
    for name, spec in scenario.requirements.items():
        rows = [r for r in records.requirements if r.requirement == name]
        closed = outcomes[name].closed_months
        times, units = required_curve(spec, scenario.start)
        result[name] = {
            "customers": list(spec.customer_names),
            "product": spec.product,
            "gap_closed": None if closed is None else date_at(scenario.start, closed),
            "gap_closed_months": closed,
            "max_gap_units": outcomes[name].max_gap_units,
            "gap_end_units": rows[-1].gap_units if rows else 0.0,
            "inventory_end_units": rows[-1].inventory_units if rows else spec.initial_units,
            "required_end_units": rows[-1].required_units if rows else interpolate(times, units, 0),
            "limited_by": limits[name]["end"].label,
            "units_short": limits[name]["end"].units_short,
        }
    return result


def quote_times(scenario: Scenario, horizon: float) -> dict[str, float]:
    """Start, each January in the horizon and the scenario's extra quote dates."""
    times = {date_at(scenario.start, 0): 0.0}
    year = int(scenario.start[:4]) + 1
    while (t := months_between(scenario.start, f"{year:04d}-01")) < horizon:
        times[f"{year:04d}-01"] = t
        year += 1
    for date in scenario.quote_dates:
        times[date] = months_between(scenario.start, date)
    return dict(sorted(times.items(), key=lambda item: item[1]))


def product_summary(scenario: Scenario, records: KernelRecords,
                    flows: dict[str, Flows] | None = None) -> dict[str, dict[str, Any]]:
    """Per product: quoted lead times (start, each January, the quote dates), realised lead
    times, units ordered and delivered (``flows``: ``product_flows(records)``, if at hand)."""
    horizon = months_between(scenario.start, scenario.end)
    at = quote_times(scenario, horizon)
    result = {}
    last: dict[str, ProductMonth] = {}
    for r in reversed(records.products):  # the last month's rows are at the end
        last.setdefault(r.product, r)
        if len(last) == len(scenario.products):
            break
    if flows is None:
        flows = product_flows(records)
    for name in scenario.products:
        f = flows.get(name, NO_FLOWS)
        quotes = dict(zip(at, quotes_at(f, list(at.values())), strict=True))
        done = ~np.isnan(f.last_delivery_months)
        lead = f.last_delivery_months[done] - f.placed_months[done]
        row = last.get(name)
        result[name] = {
            "ordered_units": int(f.quantity.sum()),
            "delivered_units": int(f.delivery_units.sum()),
            "backlog_end_units": row.backlog_units if row else 0,
            "wip_end_units": row.wip_units if row else 0,
            "orders_delivered": len(lead),
            "orders_open": len(f.quantity) - len(lead),
            "quoted_lead_time_months": quotes[date_at(scenario.start, 0)],
            "quoted_lead_time_by_date": quotes,
            "mean_lead_time_months": float(np.mean(lead)) if len(lead) else None,
            "capacity_end_units_per_year": row.capacity_units_per_year if row else 0.0,
        }
    return result


def summarize(scenario: Scenario, records: KernelRecords, seed: int,
              replication: int = 0, flows: dict[str, Flows] | None = None) -> dict[str, Any]:
    """The run summary of DESIGN.md, as plain JSON-ready data."""
    investments = {
        i.name: {"factory": i.factory, "lines_added": i.lines_added,
                 "decided": date_at(scenario.start, i.decided_months),
                 "commissioned": None if i.commissioned_months is None
                 else date_at(scenario.start, i.commissioned_months),
                 "capex_musd": i.capex_musd}
        for i in records.investments
    }
    return {
        "scenario": scenario.name,
        "seed": seed,
        "replication": replication,
        "start": scenario.start,
        "end": scenario.end,
        "requirements": requirement_summary(scenario, records),
        "products": product_summary(scenario, records, flows),
        "investments": investments,
        "capex_musd": math.fsum(i.capex_musd for i in records.investments),
        "lots_started": records.lots_started,
    }


# -- the run metrics a sweep records ------------------------------------------------------

Subject = Literal["requirement", "product", "run"]


@dataclass(frozen=True)
class Metric:
    """A number read from each run's summary, per requirement, per product or once per run.

    Its columns are ``name.<subject>`` (``name`` alone for a run metric) in ``runs.parquet``
    and ``points.csv``. ``None`` in the summary is "not by end": written as an empty cell,
    it counts as later than any value (quantiles) and makes a mean undefined.
    """

    name: str
    unit: str
    per: Subject
    read: Callable[[Mapping[str, Any]], float | None]
    """The value from the subject's entry of the summary (the whole summary for ``run``)."""
    description: str
    by_target: bool = False
    """A date metric: ``points.csv`` adds P(value <= each target) with a Wilson interval."""

    def column(self, subject: str | None = None) -> str:
        return self.name if self.per == "run" else f"{self.name}.{subject}"


METRICS: Registry[Metric] = Registry("metric")
"""Every metric of a run, in the order the run tables list them."""


def _metric(name: str, unit: str, per: Subject, description: str, by_target: bool = False) -> None:
    """Declare a metric read from the summary key of the same name."""
    METRICS.add(name, Metric(name, unit, per, itemgetter(name), description, by_target))


_metric("gap_closed_months", "months from start", "requirement",
        "when the gap closed for good (none: not by end)", by_target=True)
_metric("max_gap_units", "units", "requirement", "the largest gap over the horizon")
_metric("gap_end_units", "units", "requirement", "the gap at the end of the horizon")
_metric("quoted_lead_time_months", "months", "product",
        "lead time quoted at start to a new one-unit order (none: not by end)")
_metric("mean_lead_time_months", "months", "product",
        "mean lead time of the orders delivered by end (none: no order delivered)")
_metric("delivered_units", "units", "product", "units delivered over the horizon")
_metric("backlog_end_units", "units", "product", "backlog at the end of the horizon")
_metric("capex_musd", "$M", "run", "capex of the investments funded in the run")


def metric_of(column: str) -> Metric:
    """The metric a ``name.subject`` column belongs to (KeyError if none)."""
    return METRICS[column.split(".", 1)[0]]


def flat_metrics(summary: Mapping[str, Any], scenario: Scenario) -> dict[str, float]:
    """The run summary as flat metric columns; NaN = not by end. Components that nobody
    orders have no product metrics (they are made to stock)."""
    components = {c for p in scenario.products.values() for c in p.bom}
    subjects: dict[Subject, Mapping[str, Any]] = {
        "requirement": summary["requirements"],
        "product": {name: p for name, p in summary["products"].items()
                    if p["ordered_units"] or name not in components},
        "run": {"": summary}}
    row: dict[str, float] = {}
    for metric in METRICS.values():
        for subject, entry in subjects[metric.per].items():
            value = metric.read(entry)
            row[metric.column(subject)] = math.nan if value is None else value
    return row
