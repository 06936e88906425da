"""Promise dates from the state of a run: when would an order placed now be delivered?

A forward projection of the line schedule, from what is known at the quote time only (no
order placed later can change the answer):

* every line making the product, and every line that an investment already funded will
  commission (at the time this run drew for its construction and slip), works without a
  break from the time it is next free, one lot of its factory's lot size after another;
* a lot takes the expected work of a lot: the mean takt, stretched by ramp-up at the lot's
  start, by learning (at the units started so far), by rework (1 / yield) and by expected
  downtime (1 / availability), and is delivered the mean flow time after it leaves the line;
* the allocation policy says where the new order would stand (``AllocationPolicy.standing``):
  the uncommitted units started before its own or, when finished units are reassigned at
  delivery, the undelivered units (work in progress included) delivered before its own; a
  policy without the hook is taken as first come, first served (``FALLBACK``);
* components: the stock, the component lots in progress and the suppliers' lines
  (projected the same way) delay the order's last lot where they bind.

Two projections do it (``projector``): ``lots_ahead`` lot by lot, exact where every
factory is deterministic (constant takt, yield 1, no disruptions: the quote is when the
kernel delivers), and ``mean_rates`` by mean rates elsewhere, where the schedule is an
estimate anyway and the lot-by-lot one would cost more than the run (the run quotes every
product at every month end).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.scenario.checks import component_products
from leadtime_sim.scenario.schema import Scenario
from leadtime_sim.sim.lots_ahead import LotProjection
from leadtime_sim.sim.mean_rates import RateProjection, one_factory
from leadtime_sim.sim.policies import Prospect, Standing
from leadtime_sim.sim.records import new_record
from leadtime_sim.sim.state import ProductState

FALLBACK = "fallback"
"""The ``basis`` of a quote whose policy has no ``standing`` hook: the new order is assumed
to stand behind every uncommitted unit (first come, first served)."""

_EPS = 1e-9


class Projection(Protocol):
    """What a projection of a product's lines answers (``lots_ahead``, ``mean_rates``)."""

    def last_delivery(self, first: float, last: float) -> float | None:
        """Delivery of the last lot holding units ``first`` to ``last`` to start from now."""
        ...

    def delivered_by(self, units: float, start_cap_units: float) -> float | None:
        """When ``units`` units are delivered from now (work in progress first, then the
        lots holding the next ``start_cap_units`` units to start)."""
        ...


QUOTE_CUSTOMER = "quote"
"""The customer of the run's own quotes (a new one: under ``fair-share`` it is served first)."""


@dataclass(frozen=True, slots=True)
class QuoteAsk:
    """A quote the run should give: an order of ``quantity`` placed at ``at_months``."""

    at_months: float
    product: str
    quantity: int = 1
    priority: int = 1
    customer: str = QUOTE_CUSTOMER


class Quoter:
    """Answers quotes in a run from its state (see the module docstring)."""

    def __init__(self, products: dict[str, ProductState], reassigning: bool, horizon: float):
        self.products = products
        self.reassigning = reassigning
        self.horizon = horizon
        self.fallback: set[str] = set()
        """Products whose policy had no ``standing`` hook (quoted first come, first served)."""
        self._projection: tuple[float, str, Projection] | None = None
        self._exact: dict[str, bool] = {}
        """Per product: projected lot by lot (every factory deterministic), else by rates."""
        self.min_lots: dict[str, tuple[int, int]] = {}
        """Per end product without components whose factories all take lots of the same size
        and minimum, the minimum above 1: (lot size, minimum). Its lines leave the last units
        of the backlog waiting when they are fewer than the minimum (``waits_for_more``)."""
        for name, p in products.items():
            kinds = {(f.spec.lot_size, f.spec.min_lot_size) for f in p.factories}
            if len(kinds) == 1 and not p.is_component and not p.bom and (kind := kinds.pop())[1] > 1:
                self.min_lots[name] = kind

    def projector(self, product: ProductState, now: float) -> Projection:
        """The product's projection now (kept while several quotes ask at the same time):
        lot by lot where every factory making it or its components is deterministic, else
        by mean rates."""
        cached = self._projection
        if cached is None or cached[0] != now or cached[1] != product.name:
            exact = self._exact.get(product.name)
            if exact is None:
                exact = self._exact[product.name] = all(f.deterministic for f in product.factories) and all(
                    f.deterministic for component, _ in product.bom for f in component.factories)
            projection = (LotProjection if exact else RateProjection)(product, now, self.horizon)
            cached = (now, product.name, projection)
            self._projection = cached
        return cached[2]

    def forget(self) -> None:
        """Drop the projection kept (a test or benchmark quoting the same state again)."""
        self._projection = None

    def lead_time(self, product: ProductState, now: float, quantity: int = 1, priority: int = 1,
                  customer: str = QUOTE_CUSTOMER) -> float | None:
        """Months from ``now`` to the last delivery of an order placed now (None: not by end)."""
        standing = product.policy.standing(new_record(Prospect, (
            quantity, priority, customer, product.backlog, product.wip, self.reassigning)))
        if standing is None:
            self.fallback.add(product.name)
            undelivered = product.backlog + product.wip if self.reassigning else None
            standing = Standing(product.backlog, undelivered)
        if product.name in self.min_lots and self.waits_for_more(product, standing, quantity):
            return None
        if len(product.factories) == 1 and not self._exact.get(product.name, True):  # perhaps a formula
            ahead = standing.start_ahead if standing.deliver_ahead is None else standing.deliver_ahead
            done = one_factory(product, now, ahead, quantity, standing.deliver_ahead is not None)
            if done is not None:
                return None if done >= self.horizon - _EPS else max(0.0, done - now)
        projector = self.projector(product, now)
        if standing.deliver_ahead is None:
            done = projector.last_delivery(standing.start_ahead + 1, standing.start_ahead + quantity)
        else:
            done = projector.delivered_by(standing.deliver_ahead + quantity, product.backlog + quantity)
        if done is None or done >= self.horizon - _EPS:  # (the run ends before events at its end)
            return None
        return max(0.0, done - now)

    def waits_for_more(self, product: ProductState, standing: Standing, quantity: int) -> bool:
        """Whether the order's last unit is among the last units to start, which wait for
        orders placed later: lines start lots of ``lot_size`` while the backlog (with the
        order) holds as many, then one of what is left if that is ``min_lot_size`` or more;
        fewer wait. The units waiting are the last the policy serves."""
        lot_size, minimum = self.min_lots[product.name]
        to_start = product.backlog + quantity
        left = to_start % lot_size
        started = to_start - (left if left < minimum else 0)
        if standing.deliver_ahead is None:
            return standing.start_ahead + quantity > started
        return standing.deliver_ahead + quantity > product.wip + started


@dataclass(frozen=True)
class QuoteClasses:
    """Which classes a run quotes: ``by_product`` at start, ``lowest`` at the other times."""

    lowest: int
    by_product: dict[str, list[int]]


def quote_classes(scenario: Scenario) -> QuoteClasses:
    """Per end product, the classes its orders use (orders, streams, ordering rules) and
    the scenario's least urgent class; a product without orders is quoted in the latter."""
    used: dict[str, set[int]] = {}
    for product, priority in ([(o.product, o.priority) for o in scenario.orders]
                              + [(s.product, s.priority) for s in scenario.order_streams]
                              + [(r.product, r.ordering.priority) for r in scenario.requirements.values()
                                 if r.ordering is not None]):
        used.setdefault(product, set()).add(priority)
    lowest = max((k for classes in used.values() for k in classes), default=1)
    components = component_products(scenario)
    return QuoteClasses(lowest, {name: sorted(used.get(name, {lowest})) for name in scenario.products
                                 if name not in components})


def quote_times(scenario: Scenario) -> dict[str, float]:
    """Start, each January in the horizon and the scenario's extra quote dates (months)."""
    horizon = months_between(scenario.start, scenario.end)
    times = {date_at(scenario.start, 0): 0.0}
    year = int(scenario.start[:4]) + 1
    while (t := months_between(scenario.start, f"{year:04d}-01")) < horizon:
        times[f"{year:04d}-01"] = t
        year += 1
    for date in scenario.quote_dates:
        times[date] = months_between(scenario.start, date)
    return dict(sorted(times.items(), key=lambda item: item[1]))
