"""Why a gap stays open: what limits a requirement at a date, read from a run's records.

Over the months the gap was open up to the date, each month is classed by what the lines
making the product did:

* ``budget``: units waited for money (orders not yet paid), or an investment in lines making
  the product or its components waited for money (decided, not yet paid), in a quarter of
  the months or more;
* ``capacity``: the lines were busy (90% of their time or more), or there were none while
  units waited;
* ``supply:<factory>``: the lines were idle while units waited for them - final assembly
  lacked a component; the factory named makes the component that was scarcest;
* ``orders``: the lines were idle with nothing to start - not enough was on order.

The label is ``closed`` if the gap is closed at the date; else ``orders`` if the gap is larger
than what the requirement's customers had on order then (no capacity could close it: the
units short are given); else ``budget`` as above; else the most frequent of the other three
(ties go to capacity, then supply).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from leadtime_sim.dates import months_between
from leadtime_sim.scenario.schema import Scenario
from leadtime_sim.sim.records import KernelRecords, ProductMonth, RequirementMonth

CLASSES = ("capacity", "supply", "orders")
"""The classes a month can fall in (ties between them go to the first)."""
BUSY = 0.9
BUDGET_SHARE = 0.25
GAP_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Limit:
    """What limits a requirement at a date."""

    label: str
    """``closed``, ``capacity``, ``orders``, ``supply:<factory>`` or ``budget``."""
    units_short: float | None = None
    """With ``orders``: units the requirement's customers had not ordered at the date."""
    months: int = 0
    """Months the gap was open up to the date (the months classed)."""


def limits_at(scenario: Scenario, records: KernelRecords, at_months: dict[str, float]
              ) -> dict[str, dict[str, Limit]]:
    """Per requirement, what limits it at each named time (months from start)."""
    by_requirement: dict[str, list[RequirementMonth]] = {}
    for r in records.requirements:
        by_requirement.setdefault(r.requirement, []).append(r)
    by_product: dict[str, list[ProductMonth]] = {}
    for p in records.products:
        by_product.setdefault(p.product, []).append(p)
    return {name: {key: _limit(scenario, records, name, by_requirement.get(name, []), by_product, t)
                   for key, t in at_months.items()}
            for name in scenario.requirements}


def _limit(scenario: Scenario, records: KernelRecords, requirement: str, months: list[RequirementMonth],
           by_product: dict[str, list[ProductMonth]], at_months: float) -> Limit:
    spec = scenario.requirements[requirement]
    horizon = months_between(scenario.start, scenario.end)  # (a last month it cuts short ends there)
    mine = [r for r in months if min(r.month + 1, horizon) <= at_months + 1e-9]
    if not mine or mine[-1].gap_units <= GAP_TOLERANCE:
        return Limit("closed")
    open_months = {r.month for r in mine if r.gap_units > GAP_TOLERANCE}
    short = _units_short(records, mine[-1].gap_units, spec.customer_names, spec.product, at_months)
    if short >= 0.5:  # more capacity cannot close it: the units are not even on order
        return Limit("orders", short, len(open_months))
    product = [p for p in by_product.get(spec.product, []) if p.month in open_months]
    if sum(p.awaiting_funds_units > 0 for p in product) >= BUDGET_SHARE * len(product) > 0:
        return Limit("budget", months=len(open_months))
    if _investment_waits(scenario, records, spec.product, open_months) >= BUDGET_SHARE * len(open_months) > 0:
        return Limit("budget", months=len(open_months))
    classes: Counter[str] = Counter()
    starved = set()
    for p in product:
        if (p.lines > 0 and p.utilisation >= BUSY) or (p.lines == 0 and p.backlog_units > 0):
            classes["capacity"] += 1
        elif p.backlog_units > 0 and scenario.products[spec.product].bom:
            classes["supply"] += 1
            starved.add(p.month)
        elif p.backlog_units > 0:
            classes["capacity"] += 1  # idle with work waiting and no components: stoppages, lot sizes
        else:
            classes["orders"] += 1
    label = max(CLASSES, key=lambda name: (classes[name], -CLASSES.index(name)))
    if label == "supply":
        supplier = _scarcest_supplier(scenario, by_product, spec.product, starved)
        return Limit(f"supply:{supplier}", months=len(open_months))
    if label == "orders":
        return Limit("orders", short, len(open_months))
    return Limit("capacity", months=len(open_months))


def _investment_waits(scenario: Scenario, records: KernelRecords, product: str, months: set[int]) -> int:
    """Of ``months``, how many an investment in lines making ``product`` or one of its
    components spent decided but waiting for money (at mid-month)."""
    made = {product, *scenario.products[product].bom}
    makers = {name for name, f in scenario.factories.items() if f.product in made}
    waits = [(max(0.0, i.decided_months), math.inf if i.funded_months is None else i.funded_months)
             for i in records.investments if i.factory in makers and i.lines_added > 0]
    return sum(any(w0 <= m + 0.5 < w1 for w0, w1 in waits) for m in months)


def _scarcest_supplier(scenario: Scenario, by_product: dict[str, list[ProductMonth]], product: str,
                       months: set[int]) -> str:
    """The factory making the component with the least stock (per unit needed) in ``months``."""
    bom = scenario.products[product].bom
    stock = {c: [p.stock_units / per_unit for p in by_product.get(c, []) if p.month in months]
             for c, per_unit in bom.items()}
    component = min(bom, key=lambda c: (sum(stock[c]) / max(1, len(stock[c])), c))
    return next((name for name, f in scenario.factories.items() if f.product == component), component)


def _units_short(records: KernelRecords, gap: float, customers: tuple[str, ...], product: str,
                 at_months: float) -> float:
    """The gap at the date less the units the customers had on order then. (As the month-end
    sample that gives the gap: before the orders and deliveries of that very instant.)"""
    ordered = sum(o.quantity for o in records.orders if o.customer in customers and o.product == product
                  and (o.placed_months < at_months or o.placed_months <= 0))
    delivered = sum(d.units for d in records.deliveries
                    if d.customer in customers and d.product == product and d.time_months < at_months)
    return max(0.0, round(gap - (ordered - delivered), 6))


def limit_words(label: str | None, units_short: float | None = None) -> str:
    """``orders: 13 units not ordered`` and the like (``limits.py`` defines the labels)."""
    if label is None or label == "closed":
        return "closed" if label else ""
    if label == "orders":
        return f"orders: {units_short:,.0f} units not ordered" if units_short else "orders"
    if label.startswith("supply:"):
        return f"supply of {label.split(':', 1)[1]}"
    return {"capacity": "capacity (lines busy)", "budget": "budget (waiting for money)"}.get(label, label)
