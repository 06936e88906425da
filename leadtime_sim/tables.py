"""Run records as pandas tables (the analysis layer; the kernel never sees pandas)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from leadtime_sim.dates import date_at
from leadtime_sim.run import RunResult

NOT_BY_END = "not by end"
INTEGER_COLUMNS = {"ordered_units", "backlog_units", "wip_units", "delivered_units",
                   "cumulative_delivered_units", "stock_units", "awaiting_funds_units", "lines",
                   "started_units"}


def series_frame(result: RunResult) -> pd.DataFrame:
    """One row per month and product, factory and requirement (state at the month's end).

    ``entity`` says which: ``product`` rows carry backlog, work in progress, deliveries,
    stock and the quoted lead time of an order placed at the month's end; ``factory`` rows
    lines, capacity and utilisation; ``requirement`` rows inventory, required and gap.
    """
    records, start = result.records, result.scenario.start
    parts = []
    for entity, rows, name_field in (("product", records.products, "product"),
                                     ("factory", records.factories, "factory"),
                                     ("requirement", records.requirements, "requirement")):
        frame = pd.DataFrame([r._asdict() for r in rows])
        if frame.empty:
            continue
        frame.insert(1, "entity", entity)
        frame.insert(2, "name", frame[name_field])
        if name_field != "product":
            frame = frame.drop(columns=[name_field])
        parts.append(frame)
    series = pd.concat(parts, ignore_index=True)
    for column in INTEGER_COLUMNS.intersection(series.columns):
        series[column] = series[column].astype("Int64")
    series.insert(1, "date", [date_at(start, m) for m in series["month"]])
    quotes = series.pop("quoted_lead_time_months")
    series["quoted_lead_time_months"] = pd.to_numeric(quotes, errors="coerce").astype(float)
    return series


def orders_frame(result: RunResult) -> pd.DataFrame:
    """One row per order: dates, quantities and the lead time (or "not by end")."""
    start = result.scenario.start
    rows = []
    for o in result.records.orders:
        last = o.last_delivery_months
        done = last is not None
        rows.append({
            "id": o.id, "customer": o.customer, "product": o.product, "quantity": o.quantity,
            "priority": o.priority, "source": o.source,
            "placed": date_at(start, o.placed_months), "placed_months": o.placed_months,
            "entered_months": o.entered_months, "delivered_units": o.delivered_units,
            "first_delivery": NOT_BY_END if o.first_delivery_months is None
            else date_at(start, o.first_delivery_months),
            "last_delivery": NOT_BY_END if last is None else date_at(start, last),
            "first_delivery_months": o.first_delivery_months,
            "last_delivery_months": o.last_delivery_months,
            "lead_time_months": np.nan if last is None else last - o.placed_months,
            "status": "delivered" if done else NOT_BY_END,
        })
    columns = ["id", "customer", "product", "quantity", "priority", "source", "placed",
               "placed_months", "entered_months", "delivered_units", "first_delivery",
               "last_delivery", "first_delivery_months", "last_delivery_months",
               "lead_time_months", "status"]
    return pd.DataFrame(rows, columns=columns)
