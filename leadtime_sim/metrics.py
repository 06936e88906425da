"""What planners ask of a run: gap-close dates, quoted and realised lead times.

Pure functions of the kernel's records (the quotes are the run's own, ``sim/promise.py``);
``None`` always means "not by end".
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
from leadtime_sim.sim.promise import FALLBACK, QUOTE_CUSTOMER, quote_classes, quote_times
from leadtime_sim.sim.records import DeliveryRecord, KernelRecords, OrderRecord, ProductMonth
from leadtime_sim.sim.state import interpolate, required_curve
from leadtime_sim.survival import kaplan_meier_median

EPS = 1e-9


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


def product_summary(scenario: Scenario, records: KernelRecords,
                    flows: dict[str, Flows] | None = None) -> dict[str, dict[str, Any]]:
    """Per product: quoted lead times (start, each January, the quote dates), realised lead
    times, units ordered and delivered (``flows``: ``product_flows(records)``, if at hand)."""
    dates = {t: date for date, t in quote_times(scenario).items()}
    classes = quote_classes(scenario)
    quotes = _run_quotes(records, classes.lowest)
    result = {}
    last: dict[str, ProductMonth] = {}
    for r in reversed(records.products):  # the last month's rows are at the end
        last.setdefault(r.product, r)
        if len(last) == len(scenario.products):
            break
    if flows is None:
        flows = product_flows(records)
    horizon = months_between(scenario.start, scenario.end)
    for name in scenario.products:
        f = flows.get(name, NO_FLOWS)
        mine = quotes.get(name, {})
        done = ~np.isnan(f.last_delivery_months)
        lead = f.last_delivery_months[done] - f.placed_months[done]
        waited = np.where(done, f.last_delivery_months, horizon) - f.placed_months
        row = last.get(name)
        result[name] = {
            "ordered_units": int(f.quantity.sum()),
            "delivered_units": int(f.delivery_units.sum()),
            "backlog_end_units": row.backlog_units if row else 0,
            "wip_end_units": row.wip_units if row else 0,
            "orders_delivered": len(lead),
            "orders_open": len(f.quantity) - len(lead),
            "quoted_lead_time_months": mine.get((0.0, classes.lowest)),
            "quoted_lead_time_by_date": {date: mine.get((t, classes.lowest)) for t, date in dates.items()},
            "quoted_lead_time_by_priority": {str(k): mine.get((0.0, k))
                                             for k in classes.by_product.get(name, [])},
            "quote_basis": _basis(records, name),
            "mean_lead_time_months": float(np.mean(lead)) if len(lead) else None,
            "median_lead_time_months": kaplan_meier_median(waited, ~done),
            "capacity_end_units_per_year": row.capacity_units_per_year if row else 0.0,
        }
    return result


def _run_quotes(records: KernelRecords, lowest: int) -> dict[str, dict[tuple[float, int], float | None]]:
    """The run's own quotes (one unit, the run's customer): product -> (time, class) -> months;
    at month ends, the monthly quote of the least urgent class."""
    result: dict[str, dict[tuple[float, int], float | None]] = {}
    for row in records.products:
        result.setdefault(row.product, {})[(float(row.month + 1), lowest)] = row.quoted_lead_time_months
    for q in records.quotes:
        if q.quantity == 1 and q.customer == QUOTE_CUSTOMER:
            result.setdefault(q.product, {})[(q.time_months, q.priority)] = q.lead_time_months
    return result


def _basis(records: KernelRecords, product: str) -> str:
    """``policy``, or the fallback's words if the policy could not say where an order stands."""
    if any(q.basis == FALLBACK for q in records.quotes if q.product == product):
        return ("fallback: the allocation policy has no standing() hook; quoted as if the "
                "order stood behind every unit on order")
    return "policy"


def customer_products(scenario: Scenario) -> list[str]:
    """Every ``customer:product`` that can order (listed orders, streams, requirement-driven
    ordering), in the scenario's order: the subjects of the per-customer metrics."""
    pairs = [f"{o.customer}:{o.product}" for o in scenario.orders]
    pairs += [f"{s.customer}:{s.product}" for s in scenario.order_streams]
    pairs += [f"{r.ordering_customer}:{r.product}" for r in scenario.requirements.values() if r.ordering]
    return list(dict.fromkeys(pairs))


def customer_summary(scenario: Scenario, records: KernelRecords) -> dict[str, dict[str, Any]]:
    """Per ``customer:product``: units ordered and delivered, the mean lead time (placed to
    last delivery) of its orders delivered in full by end (None: none was) and the median
    lead time of all its orders, those not delivered by end censored there (Kaplan-Meier;
    None: not by end)."""
    horizon = months_between(scenario.start, scenario.end)
    result: dict[str, dict[str, Any]] = {
        pair: {"ordered_units": 0, "delivered_units": 0, "orders_delivered": 0, "lead_months": [],
               "waited_months": [], "open": []}
        for pair in customer_products(scenario)}
    for o in records.orders:
        entry = result[f"{o.customer}:{o.product}"]
        entry["ordered_units"] += o.quantity
        entry["delivered_units"] += o.delivered_units
        last = o.last_delivery_months
        entry["open"].append(last is None)
        entry["waited_months"].append((horizon if last is None else last) - o.placed_months)
        if last is not None:
            entry["orders_delivered"] += 1
            entry["lead_months"].append(last - o.placed_months)
    for entry in result.values():
        lead = entry.pop("lead_months")
        waited, still_open = np.array(entry.pop("waited_months"), float), np.array(entry.pop("open"), bool)
        entry["mean_lead_time_months"] = math.fsum(lead) / len(lead) if lead else None
        entry["median_lead_time_months"] = kaplan_meier_median(waited, still_open)
    return result


def summarize(scenario: Scenario, records: KernelRecords, seed: int,
              replication: int = 0, flows: dict[str, Flows] | None = None) -> dict[str, Any]:
    """The run summary of docs/design.md, as plain JSON-ready data."""
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
        "customers": customer_summary(scenario, records),
        "investments": investments,
        "capex_musd": math.fsum(i.capex_musd for i in records.investments),
        "lots_started": records.lots_started,
    }


# -- the run metrics a sweep records ------------------------------------------------------

Subject = Literal["requirement", "product", "customer", "run"]


@dataclass(frozen=True)
class Metric:
    """A number read from each run's summary, per requirement, per product, per customer and
    product (subject ``customer:product``) or once per run.

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
_metric("median_lead_time_months", "months", "product",
        "median lead time of the orders (Kaplan-Meier: an order not delivered by end counts as "
        "waiting at least until the end; none: half or more had not been seen delivered by end)")
_metric("delivered_units", "units", "product", "units delivered over the horizon")
_metric("backlog_end_units", "units", "product", "backlog at the end of the horizon")
_metric("capex_musd", "$M", "run", "capex of the investments funded in the run")
METRICS.add("customer_lead_time_months", Metric(
    "customer_lead_time_months", "months", "customer", itemgetter("mean_lead_time_months"),
    "mean lead time of the customer's orders of the product delivered by end (none: none was; "
    "orders not delivered by end are left out: customer_undelivered_units counts them)"))
METRICS.add("customer_median_lead_time_months", Metric(
    "customer_median_lead_time_months", "months", "customer", itemgetter("median_lead_time_months"),
    "median lead time of the customer's orders of the product, those not delivered by end counted as "
    "waiting at least until the end (Kaplan-Meier; none: not by end)"))
METRICS.add("customer_delivered_units", Metric(
    "customer_delivered_units", "units", "customer", itemgetter("delivered_units"),
    "units of the product delivered to the customer over the horizon"))
METRICS.add("customer_undelivered_units", Metric(
    "customer_undelivered_units", "units", "customer",
    lambda entry: entry["ordered_units"] - entry["delivered_units"],
    "units of the product the customer ordered and did not receive by end (whose orders its "
    "mean lead time leaves out)"))


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
        "customer": summary.get("customers", {}),
        "run": {"": summary}}
    row: dict[str, float] = {}
    for metric in METRICS.values():
        for subject, entry in subjects[metric.per].items():
            value = metric.read(entry)
            row[metric.column(subject)] = math.nan if value is None else value
    return row
