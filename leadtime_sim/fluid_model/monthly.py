"""Month-end columns of a solved fluid model: per factory and per product, one array per
field of ``FactoryMonth`` / ``ProductMonth`` (the records take them month by month)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from leadtime_sim.fluid_model.model import FluidModel
    from leadtime_sim.fluid_model.records import Delivered

Columns = dict[str, Any]


def _month_steps(model: FluidModel) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Month ends (the horizon for a last month it cuts short); the grid index of each and
    of the one before (0 for the first)."""
    ends = model.ends
    idx = model.month_index
    prev = np.concatenate([[0], idx[:-1]]).astype(np.int64)
    return ends, idx, prev


def _at_most_one(x: np.ndarray) -> np.ndarray:
    """``min(1.0, x)`` elementwise (Python's: 1.0 unless x < 1.0)."""
    return np.where(x < 1.0, x, 1.0)


def factory_columns(model: FluidModel, rates_only: bool = False) -> dict[str, Columns]:
    """Per factory: lines in service, capacity (units a year) and, unless ``rates_only``
    (all that the product columns read), utilisation and units started."""
    ends, idx, prev = _month_steps(model)
    before_end = ends - 1e-12
    result = {}
    for f, spec in model.scenario.factories.items():
        cohorts = model.cohorts[f]
        cap_rate = sum((c.rate_at(before_end) for c in cohorts), np.zeros_like(ends)) * 12
        lines = sum((c.lines * ((c.at < before_end) | (c.at <= 0)) for c in cohorts),
                    np.zeros(len(ends), np.int64))
        result[f] = columns = {"product": spec.product, "lines": lines, "capacity": cap_rate}
        if rates_only:
            continue
        out = model.curves[spec.product].factory_output[f]
        cap = model.capacity[f]
        d_cap = cap[idx] - cap[prev]
        used = np.divide(out[idx] - out[prev], d_cap, out=np.zeros_like(ends), where=d_cap > 0)
        begun = model.curves[spec.product].factory_started[f]
        started = np.round(begun[idx]).astype(np.int64) - np.round(begun[prev]).astype(np.int64)
        columns.update(utilisation=_at_most_one(used), started=started)
    return result


def product_columns(model: FluidModel, flows: dict[str, Delivered], factories: dict[str, Columns],
                    quoted: np.ndarray | None = None) -> dict[str, Columns]:
    """Per product: units ordered, backlog, WIP, delivered (in the month and in all), stock,
    capacity (units a year), lines, utilisation, and the month-end quote (at the months
    ``quoted``, default all; None elsewhere and for components)."""
    scenario, components = model.scenario, model.components
    ends, idx, prev = _month_steps(model)
    months = len(ends)
    lowest = model.classes.lowest
    result = {}
    for p in scenario.products:
        c = model.curves[p]
        mine = sorted((o.entered, o.quantity) for o in model.orders_of[p])
        cum_ordered = np.concatenate([[0], np.cumsum([q for _, q in mine], dtype=np.int64)])
        ordered = cum_ordered[np.searchsorted(np.array([t for t, _ in mine], float), ends - 1e-12)]
        out_now = c.output[idx]
        d_units = c.delivered_on_grid[idx]
        if p in components:
            wip = np.maximum(0, np.round(model.wip0[p] + out_now - d_units))
            backlog = 0 * ends
            parents = [(parent, spec.bom[p]) for parent, spec in scenario.products.items() if p in spec.bom]
            used_up = sum((per_unit * model.curves[parent].started[idx] for parent, per_unit in parents),
                          np.zeros_like(ends))
            stock = np.maximum(0, np.round(scenario.products[p].initial_stock_units + d_units - used_up))
            cum = np.zeros(months, np.int64)  # (as a run's: a component goes to stock, never delivered)
            monthly = cum
        else:
            # (the backlog: ordered and not started)
            backlog = np.maximum(0, np.round(c.arrivals[np.maximum(idx - 1, 0)] - c.committed[idx]))
            stock = np.zeros_like(ends)
            f = flows[p]
            m = np.floor(f.time + 1e-12).astype(np.int64)
            inside = (m >= 0) & (m < months)
            monthly = np.bincount(m[inside], weights=f.units[inside], minlength=months).astype(np.int64)
            cum = np.cumsum(monthly)
            wip = np.maximum(0, ordered - cum - backlog)  # (each unit ordered: delivered, waiting or in WIP)
        cap = sum((factories[f]["capacity"] for f in model.makers[p]), np.zeros_like(ends))
        lines = sum((factories[f]["lines"] for f in model.makers[p]), np.zeros(months))
        k = model.product_capacity[p]
        dk = k[idx] - k[prev]
        used = np.divide(out_now - c.output[prev], dk, out=np.zeros_like(ends), where=dk > 0)
        quotes: list[float | None] = [None] * months
        if p not in components and months:
            at = np.arange(months) if quoted is None else quoted
            opened = list(map(model.allocators[p].sampled.__getitem__, idx[at].tolist()))
            for m_, q in zip(at.tolist(), model.quotes(p, ends[at], lowest, opened), strict=True):
                quotes[m_] = q
        result[p] = {"ordered": ordered, "backlog": backlog, "wip": wip, "monthly": monthly, "cum": cum,
                     "stock": stock, "capacity": cap, "lines": lines, "utilisation": _at_most_one(used),
                     "quotes": quotes}
    return result
