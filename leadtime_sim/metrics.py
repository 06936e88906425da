"""What planners ask of a run: gap-close dates, quoted and realised lead times.

Pure functions of the kernel's records; ``None`` always means "not by end".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.scenario.schema import Scenario
from leadtime_sim.sim.records import DeliveryRecord, KernelRecords, OrderRecord
from leadtime_sim.sim.state import interpolate, required_curve

EPS = 1e-9


def cumulative_curve(times: Sequence[float], units: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Sorted event times and the cumulative units up to and including each."""
    order = np.argsort(np.asarray(times, dtype=float), kind="stable")
    t = np.asarray(times, dtype=float)[order]
    return t, np.cumsum(np.asarray(units, dtype=float)[order])


def quoted_lead_times(orders: Sequence[OrderRecord], deliveries: Sequence[DeliveryRecord],
                      at_months: Sequence[float] | np.ndarray) -> list[float | None]:
    """FIFO quoted lead time of a one-unit order placed at each time (DESIGN.md).

    With A(t) units ordered by t and D(s) delivered by s, an order placed at t is done at the
    first s with D(s) >= A(t) + 1.
    """
    entered = [(o.entered_months, o.quantity) for o in orders if o.entered_months is not None]
    a_times, a_cum = cumulative_curve([t for t, _ in entered], [q for _, q in entered])
    d_times, d_cum = cumulative_curve([d.time_months for d in deliveries],
                                      [d.units for d in deliveries])
    t = np.asarray(at_months, dtype=float)
    k = np.searchsorted(a_times, t + EPS, side="right")
    ahead = np.concatenate([[0.0], a_cum])[k]
    j = np.searchsorted(d_cum, ahead + 1 - EPS, side="left")
    done = np.concatenate([d_times, [np.nan]])[j]
    quotes: list[float | None] = [None if np.isnan(s) else max(0.0, float(s - x))
                                  for s, x in zip(done, t, strict=True)]
    return quotes


def requirement_summary(scenario: Scenario, records: KernelRecords) -> dict[str, dict[str, Any]]:
    """Per requirement: when the gap closed for good (None: not by end) and its largest."""
    result = {}
    outcomes = {o.requirement: o for o in records.outcomes}
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


def product_summary(scenario: Scenario, records: KernelRecords) -> dict[str, dict[str, Any]]:
    horizon = months_between(scenario.start, scenario.end)
    at = quote_times(scenario, horizon)
    result = {}
    last = {r.product: r for r in records.products}
    for name in scenario.products:
        orders = [o for o in records.orders if o.product == name]
        deliveries = [d for d in records.deliveries if d.product == name]
        quotes = dict(zip(at, quoted_lead_times(orders, deliveries, list(at.values())), strict=True))
        lead = [o.last_delivery_months - o.placed_months for o in orders
                if o.last_delivery_months is not None]
        row = last.get(name)
        result[name] = {
            "ordered_units": sum(o.quantity for o in orders),
            "delivered_units": sum(d.units for d in deliveries),
            "backlog_end_units": row.backlog_units if row else 0,
            "wip_end_units": row.wip_units if row else 0,
            "orders_delivered": len(lead),
            "orders_open": len(orders) - len(lead),
            "quoted_lead_time_months": quotes[date_at(scenario.start, 0)],
            "quoted_lead_time_by_date": quotes,
            "mean_lead_time_months": float(np.mean(lead)) if lead else None,
            "capacity_end_units_per_year": row.capacity_units_per_year if row else 0.0,
        }
    return result


def summarize(scenario: Scenario, records: KernelRecords, seed: int,
              replication: int = 0) -> dict[str, Any]:
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
        "products": product_summary(scenario, records),
        "investments": investments,
        "capex_musd": math.fsum(i.capex_musd for i in records.investments),
        "lots_started": records.lots_started,
    }
