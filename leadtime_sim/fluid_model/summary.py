"""The fluid summary without the full records (``fluid_summary``): for a pre-screen that
reads only the summary.

``metrics.summarize`` reads, of a run's records, the orders, the investments, the quotes,
the requirements' outcomes, their month-end rows while the gap is open and at the end, the
rows of their products (and components) in those months, each product's last row and the
month-end quotes at the quote times, and the units delivered (in all, to each customer, and
before the end). ``summary_records`` builds just those, from the same columns as the full
records (so the summary is the same, to the bit): deliveries one per order (its units, at its
last delivery), and the month-end quotes at the quote times only (None at the other months).
They are not a run's records: nothing else should read them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from leadtime_sim.fluid_model.model import FluidModel
from leadtime_sim.fluid_model.monthly import factory_columns, product_columns
from leadtime_sim.fluid_model.records import (
    _records,
    delivered,
    lots_started,
    order_records,
    quote_records,
    requirement_gaps,
)
from leadtime_sim.fluid_model.requirements import GapSeries
from leadtime_sim.sim.records import (
    DeliveryRecord,
    KernelRecords,
    ProductMonth,
    RequirementMonth,
    RequirementOutcome,
)
from leadtime_sim.sim.state import GAP_TOLERANCE


def quote_months(model: FluidModel) -> np.ndarray:
    """The months whose end is a quote time."""
    wanted = set(model.quote_index)
    return np.array([m for m, i in enumerate(model.month_index.tolist()) if i in wanted], np.int64)


def summary_records(model: FluidModel) -> KernelRecords:
    """What ``summarize`` reads of a solved model's records (module docstring); solve it with
    ``keep=model.quote_index``."""
    scenario = model.scenario
    flows = {p: delivered(model, p) for p in scenario.products if p not in model.components}
    gaps = requirement_gaps(model, flows)
    quoted = quote_months(model)
    opened, wanted = _months_read(model, gaps, quoted)
    requirements = _rows(RequirementMonth, opened, lambda name, at: [
        np.full(len(at), name, object), np.full(len(at), scenario.requirements[name].product, object),
        gaps[name].inventory[at], gaps[name].required[at], gaps[name].gap[at], gaps[name].peak[at]])
    columns = product_columns(model, flows, factory_columns(model, rates_only=True), quoted)
    counts = ("ordered", "backlog", "wip", "monthly", "cum", "stock")
    products = _rows(ProductMonth, wanted, lambda p, at: [
        np.full(len(at), p, object), *(columns[p][k][at].astype(np.int64) for k in counts),
        np.zeros(len(at), np.int64), columns[p]["capacity"][at], columns[p]["lines"][at].astype(np.int64),
        columns[p]["utilisation"][at], _pick(columns[p]["quotes"], at)])
    deliveries = [DeliveryRecord(end, o.id, o.customer, p, got) for p, f in flows.items()
                  for o, got, end in zip(f.orders, f.got.tolist(), f.last.tolist(), strict=True) if got]
    outcomes = tuple(RequirementOutcome(name, g.closed_at, g.max_gap) for name, g in gaps.items())
    return KernelRecords(model.months, tuple(products), (), tuple(requirements), outcomes,
                         tuple(order_records(model, flows)), tuple(deliveries), tuple(model.investments),
                         lots_started(model), tuple(quote_records(model)))


def _pick(values: list[Any], at: np.ndarray) -> np.ndarray:
    """``np.array(values, object)[at]``, without the array of all of them."""
    picked = np.empty(len(at), object)
    picked[:] = list(map(values.__getitem__, at.tolist()))
    return picked


def _months_read(model: FluidModel, gaps: dict[str, GapSeries], quoted: np.ndarray
                 ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The months of each requirement's rows (gap open, and the last) and of each product's
    (the last; the quote months of a final product; a requirement's months for its product
    and components)."""
    scenario = model.scenario
    last = {model.rows - 1} if model.rows else set()
    wanted = {p: set(last) if p in model.components else {*last, *quoted.tolist()} for p in scenario.products}
    opened = {}
    for name, g in gaps.items():
        months = {*np.flatnonzero(g.gap > GAP_TOLERANCE).tolist(), *last}
        opened[name] = np.array(sorted(months), np.int64)
        product = scenario.requirements[name].product
        for p in (product, *scenario.products[product].bom):
            wanted[p] |= months
    return opened, {p: np.array(sorted(m), np.int64) for p, m in wanted.items()}


def _rows(kind: type, months: dict[str, np.ndarray], fields: Callable[[str, np.ndarray], list[np.ndarray]]
          ) -> list[Any]:
    """Records of each subject at its ``months`` (``fields``: the columns after the month),
    month by month, subjects in order (as the full records)."""
    subjects = list(months)
    month = np.concatenate([months[s] for s in subjects] + [np.zeros(0, np.int64)])
    which = np.repeat(np.arange(len(subjects)), [len(months[s]) for s in subjects])
    order = np.lexsort((which, month))
    columns = [np.concatenate(c) for c in zip(*(fields(s, months[s]) for s in subjects), strict=True)]
    return _records(kind, len(order), [c[order].tolist() for c in [month, *columns]])
