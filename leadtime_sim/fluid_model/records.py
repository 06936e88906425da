"""A solved fluid model's records, as a run's (``KernelRecords``): built column-wise, with
NumPy, and turned into record tuples at the end.

Deliveries are recorded by lot: one record per lot-size group of an order's positions, at
the time the delivery curve crosses the group's last unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, repeat
from typing import Any

import numpy as np

from leadtime_sim.fluid_model.allocation import EPS, HALF
from leadtime_sim.fluid_model.curves import first_crossing
from leadtime_sim.fluid_model.model import FluidModel, consumption_of
from leadtime_sim.fluid_model.monthly import factory_columns, product_columns
from leadtime_sim.fluid_model.orders import FluidOrder
from leadtime_sim.fluid_model.requirements import GapSeries, gap_series
from leadtime_sim.sim.promise import QUOTE_CUSTOMER
from leadtime_sim.sim.records import (
    DeliveryRecord,
    FactoryMonth,
    KernelRecords,
    OrderRecord,
    ProductMonth,
    QuoteRecord,
    RequirementMonth,
    RequirementOutcome,
    new_record,
)
from leadtime_sim.sim.state import required_curve


@dataclass(frozen=True)
class Delivered:
    """One product's deliveries by lot (``time``, ``units`` and the ``order`` each is for, as
    a position in ``orders``) and, per order, the units delivered by the horizon and the
    times of the first and last of them (NaN: none)."""

    orders: list[FluidOrder]
    time: np.ndarray
    units: np.ndarray
    order: np.ndarray
    got: np.ndarray
    first: np.ndarray
    last: np.ndarray


def _split_at(first: np.ndarray, end: np.ndarray, owner: np.ndarray, bounds: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Segments of positions (``first`` to ``end``, of order ``owner``) cut at each of
    ``bounds`` (sorted: where the lots of the initial WIP end, a run's WIP lots being their
    factory's own, of its lot size, and no lot holding WIP and new units)."""
    lo = bounds.searchsorted(first, side="right")
    inside = bounds.searchsorted(end, side="left") - lo
    if not len(bounds) or not (inside > 0).any():
        return first, end, owner
    inside = np.maximum(inside, 0)
    pieces = 1 + inside
    k = np.repeat(np.arange(len(first)), pieces)
    j = np.arange(len(k)) - np.repeat(np.cumsum(pieces) - pieces, pieces)
    last = len(bounds) - 1
    starts = np.where(j == 0, first[k], bounds[np.clip(lo[k] + j - 1, 0, last)])
    ends = np.where(j < inside[k], bounds[np.clip(lo[k] + j, 0, last)], end[k])
    return starts, ends, owner[k]


def wip_lot_ends(model: FluidModel, product: str) -> np.ndarray:
    """The positions at which the product's initial WIP lots end (``_split_at``), the lots of
    all its factories in the order they are delivered (the delivery curve's steps)."""
    dues, sizes = [], []
    for m in model.curves[product].makers:
        w, lot = round(m.wip_units), m.lot_units
        if w:
            dues.append(m.wip_dues())
            k = np.arange(len(dues[-1]))
            sizes.append(np.minimum((k + 1) * lot, w) - k * lot)
    if not dues:
        return np.zeros(0, np.int64)
    by_due = np.argsort(np.concatenate(dues), kind="stable")
    return np.cumsum(np.concatenate(sizes)[by_due])


def delivered(model: FluidModel, product: str) -> Delivered:
    """The product's orders' deliveries (module docstring); an order's deliveries stop at the
    first lot not delivered by the horizon."""
    scenario = model.scenario
    mine = model.orders_of[product]
    lot = min((scenario.factories[f].lot_size for f in model.makers[product]), default=1)
    segments = model.allocators[product].segments
    held = [segments.get(o.index, ()) for o in mine]
    owner = np.repeat(np.arange(len(mine)), [len(h) for h in held])
    ends = np.fromiter(chain.from_iterable(chain.from_iterable(held)), float, 2 * len(owner))
    # lots: each segment's whole positions in groups of the lot size, order by order
    positions = np.floor(ends.reshape(-1, 2) + HALF).astype(np.int64)  # (see UnitCount)
    first_pos, end_pos = positions[:, 0], positions[:, 1]
    first_pos, end_pos, owner = _split_at(first_pos, end_pos, owner, wip_lot_ends(model, product))
    counts = np.where(end_pos > first_pos, (end_pos - first_pos + lot - 1) // lot, 0)
    seg = np.repeat(np.arange(len(first_pos)), counts)
    offset = np.arange(len(seg)) - np.repeat(np.cumsum(counts) - counts, counts)
    start = first_pos[seg] + lot * offset
    end = np.minimum(start + lot, end_pos[seg])
    order = owner[seg]
    n = len(mine)
    is_first = np.ones(len(order), bool)  # (an order's first lot)
    is_first[1:] = order[1:] != order[:-1]
    # when each lot's last unit, and each order's first unit, is delivered
    c = model.curves[product]
    bounds = np.concatenate([end, start[is_first] + 1]).astype(float)
    times = first_crossing(c.delivered, c.delivered_times, bounds)
    time, first_unit = times[:len(end)], times[len(end):]
    # an order's lots up to its first one late (at or after the horizon)
    late = (time >= model.horizon - EPS).astype(np.int64)
    late_before = np.cumsum(late) - late
    at_first = np.maximum.accumulate(np.where(is_first, np.arange(len(order)), 0))
    ok = late_before - late_before[at_first] + late == 0
    units = end - start
    got = np.bincount(order[ok], weights=units[ok], minlength=n).astype(np.int64)
    first = np.full(n, np.nan)
    first[order[is_first]] = first_unit
    first[got == 0] = np.nan
    last = np.full(n, np.nan)
    kept = np.flatnonzero(ok)
    owners = order[kept]
    final = np.ones(len(kept), bool)
    final[:-1] = owners[1:] != owners[:-1]
    last[owners[final]] = time[kept[final]]
    return Delivered(mine, time[ok], units[ok], order[ok], got, first, last)


def order_records(model: FluidModel, flows: dict[str, Delivered]) -> list[OrderRecord]:
    """One record per order of a final product, as they entered (and were placed)."""
    records = []
    for product, f in flows.items():
        for o, got, first, last in zip(f.orders, f.got.tolist(), f.first.tolist(), f.last.tolist(),
                                       strict=True):
            records.append(new_record(OrderRecord, (
                o.id, o.customer, product, o.quantity, o.priority, o.source, o.placed, o.entered, got,
                None if first != first else first, last if got >= o.quantity else None)))
    index_of = {o.id: k for k, o in enumerate(model.orders)}
    records.sort(key=lambda r: (r.entered_months or 0.0, index_of[r.id]))
    return records


def delivery_records(flows: dict[str, Delivered]) -> list[DeliveryRecord]:
    """Every lot delivered, in time order (ties: by product, order, position)."""
    parts = [(p, f) for p, f in flows.items() if len(f.time)]
    if not parts:
        return []
    time = np.concatenate([f.time for _, f in parts])
    ids = [o.id for _, f in parts for o in f.orders]
    customers = [o.customer for _, f in parts for o in f.orders]
    offsets = np.cumsum([0] + [len(f.orders) for _, f in parts])[:-1]
    owner = np.concatenate([f.order + off for (_, f), off in zip(parts, offsets, strict=True)])
    product = np.repeat(np.arange(len(parts)), [len(f.time) for _, f in parts])
    units = np.concatenate([f.units for _, f in parts])
    by_time = np.argsort(time, kind="stable")
    names = [p for p, _ in parts]
    who = owner[by_time].tolist()
    return _records(DeliveryRecord, len(who), [
        time[by_time].tolist(), list(map(ids.__getitem__, who)), list(map(customers.__getitem__, who)),
        list(map(names.__getitem__, product[by_time].tolist())), units[by_time].tolist()])


def requirement_gaps(model: FluidModel, flows: dict[str, Delivered]) -> dict[str, GapSeries]:
    """Each requirement's gap series, from the deliveries to its customers."""
    result = {}
    for name, spec in model.scenario.requirements.items():
        f = flows.get(spec.product)
        customers = set(spec.customer_names)
        if f is None:
            times, units = np.zeros(0), np.zeros(0, np.int64)
        else:
            mine = np.array([o.customer in customers for o in f.orders], bool)
            to = mine[f.order] if len(mine) else np.zeros(0, bool)
            times, units = f.time[to], f.units[to]
        required_times, required_units = required_curve(spec, model.start)
        result[name] = gap_series(spec, consumption_of(name, spec, model.start), required_times,
                                  required_units, model.ends, model.horizon, times, units)
    return result


def requirement_records(model: FluidModel, gaps: dict[str, GapSeries]
                        ) -> tuple[list[RequirementMonth], list[RequirementOutcome]]:
    names = list(gaps)
    series = list(gaps.values())
    months = model.rows
    month = np.repeat(np.arange(months), len(names)).tolist()
    rows = _records(RequirementMonth, len(month), [
        month, names * months, [model.scenario.requirements[name].product for name in names] * months,
        _by_month([g.inventory for g in series]), _by_month([g.required for g in series]),
        _by_month([g.gap for g in series]), _by_month([g.peak for g in series])])
    outcomes = [RequirementOutcome(name, gaps[name].closed_at, gaps[name].max_gap) for name in names]
    return rows, outcomes


def quote_records(model: FluidModel) -> list[QuoteRecord]:
    """Quotes at start (each class of each product) and at the quote dates that are not
    month ends (those are in the monthly rows)."""
    classes = model.classes
    asks = [(0.0, p, k) for p, ks in classes.by_product.items() for k in ks]
    asks += [(t, p, classes.lowest) for t in model.quote_times.values()
             if t > 0 and not (float(t).is_integer() and t <= model.months) and t < model.horizon
             for p in classes.by_product]
    out = []
    for t, p, k in sorted(asks, key=lambda a: a[0]):
        i = model.index_of(t)
        lead = model.quote_at(p, i, k, model.allocators[p].sampled.get(i, {}))
        out.append(QuoteRecord(t, p, 1, k, QUOTE_CUSTOMER, lead, "policy"))
    return out


def quote_samples(model: FluidModel) -> list[int]:
    """The grid indices at which records need the units not handed out: month ends and the
    quote times."""
    return sorted({*model.month_index.tolist(), *model.quote_index})


def full_records(model: FluidModel) -> KernelRecords:
    """All of a solved model's records (``model.solve(quote_samples(model))``)."""
    scenario = model.scenario
    flows = {p: delivered(model, p) for p in scenario.products if p not in model.components}
    deliveries = delivery_records(flows)
    products, factories = monthly_records(model, flows)
    requirements, outcomes = requirement_records(model, requirement_gaps(model, flows))
    return KernelRecords(model.months, tuple(products), tuple(factories), tuple(requirements),
                         tuple(outcomes), tuple(order_records(model, flows)), tuple(deliveries),
                         tuple(model.investments), lots_started(model), tuple(quote_records(model)))


def lots_started(model: FluidModel) -> int:
    return sum(int(model.curves[spec.product].factory_output[f][-1] / spec.lot_size)
               for f, spec in model.scenario.factories.items())


def _by_month(columns: list[np.ndarray], as_int: bool = False) -> list[Any]:
    """One field of month-end rows from each subject's column: month by month, subjects in
    order (as the kernel writes them)."""
    if not columns:
        return []
    values = np.stack(columns, axis=1).ravel()
    return (values.astype(np.int64) if as_int else values).tolist()


def _records(kind: type, n: int, fields: list[list[Any]]) -> list[Any]:
    return list(map(new_record, repeat(kind, n), zip(*fields, strict=True)))


def monthly_records(model: FluidModel, flows: dict[str, Delivered]
                    ) -> tuple[list[ProductMonth], list[FactoryMonth]]:
    """Every product's and factory's month-end rows."""
    months = model.rows
    factory_cols = factory_columns(model)
    cols = list(factory_cols.values())
    month = np.repeat(np.arange(months), len(cols)).tolist()
    factories = _records(FactoryMonth, len(month), [
        month, list(factory_cols) * months, [c["product"] for c in cols] * months,
        _by_month([c["lines"] for c in cols], True), _by_month([c["capacity"] for c in cols]),
        _by_month([c["utilisation"] for c in cols]), _by_month([c["started"] for c in cols], True)])
    product_cols = product_columns(model, flows, factory_cols)
    cols = list(product_cols.values())
    month = np.repeat(np.arange(months), len(cols)).tolist()
    n = len(month)
    counts = ("ordered", "backlog", "wip", "monthly", "cum", "stock")
    quotes = list(chain.from_iterable(zip(*(c["quotes"] for c in cols), strict=True)))
    products = _records(ProductMonth, n, [
        month, list(product_cols) * months, *(_by_month([c[k] for c in cols], True) for k in counts),
        [0] * n, _by_month([c["capacity"] for c in cols]), _by_month([c["lines"] for c in cols], True),
        _by_month([c["utilisation"] for c in cols]), quotes])
    return products, factories
