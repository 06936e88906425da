"""The fluid model (``lts.fluid``): a deterministic cumulative-curve estimate of a run.

``fluid(scenario)`` computes, without random draws, what a run of the scenario would give
if every random quantity took its mean, and returns it as a run does (a ``RunResult``:
scenario, records, summary), so that ``metrics.summarize`` and every writer of a run read it.

How it models the scenario
  * Time is a grid: every month end plus every instant something happens (an order is placed,
    a review, lines commissioned, a ramp-up ends). Between grid points nothing jumps, so the
    curves below are exact at the grid points where capacity is piecewise constant (linear
    within a step during a ramp: the cumulative capacity is integrated exactly, quadratic).
  * Capacity: each factory's lines (and each investment's, commissioned at decided +
    construction + mean slip, ramping linearly from ``ramp_start_fraction``) work at the
    mean rate of a line, ``lot_size / (mean takt / yield / availability)`` units a month.
    ``K(t)`` is a product's cumulative capacity, summed over the factories making it.
    Learning is not modelled (the takt at start).
  * Work: ``A(t)``, the units ordered (less the initial WIP they take) is what the lines can
    work on; the lines' cumulative output is the fluid queue ``O(t_k) = min(X_k, O(t_{k-1}) +
    K(t_k) - K(t_{k-1}))`` with ``X_k`` the work there before the step and, for a product with
    a bill of materials, the components on hand: ``(initial stock + delivered) / per unit``.
    Unrolled it is one vector expression, ``O = K + cummin(X - K)``.
  * A unit leaves the line as the cumulative output crosses it and is delivered the factory's
    mean flow time later; the initial WIP is delivered evenly over the first mean flow time.
    For one line, lot 1, takt 2 and flow 3 this gives unit ``k`` at ``2k + 3``, as the DES; a
    lot of ``L`` units leaves the DES's line at once and the fluid's one by one over the
    takt, so fluid dates are within one takt per lot of the DES's on deterministic cases.
  * Components are made to stock: a supplier's lines work while its stock and work in
    progress are below the stock target plus what its parents' backlog needs, so its work is
    ``target + per_unit x parent's A(t) - initial stock - initial WIP``; final assembly
    starts no more than the components delivered allow.
  * Order streams are deterministic: the ``k``-th order of a stream is placed at ``from +
    k x mean gap`` (the Poisson stream's expected ``k``-th arrival), with the mean quantity
    rounded so that the first ``k`` orders hold ``round(k x mean)`` units.
  * Requirement-driven orders: at each review the ordering rule sees the fluid state (the
    inventory and on-order units of integer deliveries, the lead time quoted now) and its
    order joins the curves from then on (the past is unchanged: orders act forward only).
  * Allocation: units go to orders by the policy, class by class (``priority``: class 1
    first, first come first served within a class; every other policy: first come, first
    served), when they leave the line, or when they are delivered if the scenario reassigns
    finished units at delivery.
  * Quotes: a new one-unit order stands behind the units the policy puts before it
    (uncommitted, or undelivered when reassigning) and is delivered when the projected
    curves reach it at full capacity.
  * Not modelled: budgets (orders and investments are taken as paid when placed or
    decided), disruptions and yield other than through the mean rate, learning, and the
    fair-share and plugin policies (taken as first come, first served). A component used
    by several products is shared by their demand but each parent's limit counts its whole
    stock.

Deliveries are recorded by lot: one record per lot-size group of an order's units, at the
time the fluid cumulative crosses the group's last unit.
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from leadtime_sim.dates import months_between
from leadtime_sim.metrics import product_flows, summarize
from leadtime_sim.plugins import NO_PLUGINS, Plugins
from leadtime_sim.run import RunResult
from leadtime_sim.scenario import Scenario
from leadtime_sim.scenario.checks import component_products
from leadtime_sim.scenario.loading import load_scenario
from leadtime_sim.scenario.schema import Factory as FactorySpec
from leadtime_sim.sim.consumption import ConsumptionSchedule
from leadtime_sim.sim.ordering import ORDERING_RULES, Review
from leadtime_sim.sim.promise import QUOTE_CUSTOMER, quote_classes, quote_times
from leadtime_sim.sim.records import (
    DeliveryRecord,
    FactoryMonth,
    InvestmentRecord,
    KernelRecords,
    OrderRecord,
    ProductMonth,
    QuoteRecord,
    RequirementMonth,
    RequirementOutcome,
    new_record,
)
from leadtime_sim.sim.state import RequirementState

EPS = 1e-9
FLUID_SEED = 0
"""The seed a fluid result reports (it draws nothing)."""


# -- capacity --------------------------------------------------------------------------


@dataclass(frozen=True)
class Cohort:
    """Lines commissioned together: ``lines`` lines of ``rate`` units a month at full rate."""

    lines: int
    at: float
    ramp: float
    fraction: float
    rate: float

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """Units the cohort can make from the start (time 0) to each ``t``."""
        return self._from_commissioning(t - self.at) - self._from_commissioning(np.array([-self.at]))[0]

    def _from_commissioning(self, x: np.ndarray) -> np.ndarray:
        x = np.maximum(x, 0.0)
        scale = self.lines * self.rate
        if self.ramp <= 0:
            return scale * x
        r, f = self.ramp, self.fraction
        inside = np.minimum(x, r)
        ramped = f * inside + (1 - f) * inside * inside / (2 * r)
        return scale * (ramped + np.maximum(x - r, 0.0))

    def rate_at(self, t: np.ndarray) -> np.ndarray:
        """Units a month at ``t`` (0 before commissioning)."""
        if self.ramp <= 0:
            share = np.ones_like(t)
        else:
            gain = (1 - self.fraction) / self.ramp
            share = np.minimum(1.0, self.fraction + gain * np.maximum(t - self.at, 0.0))
        return np.where(t >= self.at, self.lines * self.rate * share, 0.0)


def line_rate(spec: FactorySpec) -> float:
    """Mean units a month of one line at full rate (as the kernel's expected work of a lot:
    mean takt, rework 1 / yield, downtime 1 / availability)."""
    availability = 1.0
    if spec.disruptions is not None:
        up = spec.disruptions.between_months.mean
        availability = up / (up + spec.disruptions.repair_months.mean) if up > 0 else 0.0
    takt = spec.takt_months.mean
    if availability <= 0 or takt <= 0:
        return math.inf if takt <= 0 else 0.0
    return spec.lot_size * spec.yield_fraction * availability / takt


# -- orders ----------------------------------------------------------------------------


@dataclass
class FluidOrder:
    index: int
    id: str
    customer: str
    product: str
    quantity: int
    priority: int
    source: str
    placed: float
    entered: float


def _stream_orders(scenario: Scenario, horizon: float) -> list[FluidOrder]:
    """Each stream as mean-size orders at its mean intervals (module docstring)."""
    out = []
    for index, spec in enumerate(scenario.order_streams):
        if spec.rate_per_year <= 0:
            continue
        name = scenario.stream_name(index)
        gap = 12 / spec.rate_per_year
        t0 = months_between(scenario.start, spec.from_) if spec.from_ else 0.0
        until = months_between(scenario.start, spec.until) if spec.until else horizon
        mean = spec.quantity.mean
        k = 1
        while (t := t0 + k * gap) < until:
            units = max(1, round(k * mean) - round((k - 1) * mean))
            if t >= 0:
                out.append(FluidOrder(0, f"{name}-{k - 1}", spec.customer, spec.product, units,
                                      spec.priority, "stream", t, t))
            k += 1
    return out


# -- the model ---------------------------------------------------------------------------


class Curves:
    """One product's cumulative curves on the grid."""

    def __init__(self, name: str):
        self.name = name
        self.arrivals: np.ndarray = np.zeros(0)
        self.output: np.ndarray = np.zeros(0)
        self.factory_output: dict[str, np.ndarray] = {}
        self.delivered_times: np.ndarray = np.zeros(0)
        self.delivered: np.ndarray = np.zeros(0)


def _first_crossing(values: np.ndarray, times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The first time a nondecreasing piecewise-linear curve (``values`` at ``times``) reaches
    each target (inf: never)."""
    k = np.searchsorted(values, targets - 1e-9, side="left")
    n = len(values)
    inside = np.clip(k, 1, n - 1)
    v0, v1 = values[inside - 1], values[inside]
    t0, t1 = times[inside - 1], times[inside]
    span = np.where(v1 - v0 > 0, v1 - v0, 1.0)
    t = t0 + (t1 - t0) * np.clip((targets - v0) / span, 0.0, 1.0)
    t = np.where(k <= 0, times[0], t)
    return np.where(k >= n, math.inf, t)


class FluidModel:
    """The fluid model of one scenario (module docstring); ``run()`` gives its records."""

    def __init__(self, scenario: Scenario, plugins: Plugins = NO_PLUGINS):
        self.scenario = scenario
        self.rules = plugins.all_ordering_rules if plugins is not NO_PLUGINS else ORDERING_RULES
        self.start = scenario.start
        self.horizon = horizon = months_between(scenario.start, scenario.end)
        self.months = math.floor(horizon + 1e-9)
        self.components = component_products(scenario)
        self.priority = scenario.policy.allocation == "priority"
        self.reassign = scenario.policy.reassign_at_delivery
        # orders known in advance
        orders: list[FluidOrder] = []
        for index, o in enumerate(scenario.orders):
            placed = months_between(scenario.start, o.placed)
            source = "book" if placed <= 0 else "explicit"
            orders.append(FluidOrder(0, o.id or f"order-{index}", o.customer, o.product, o.quantity,
                                     o.priority, source, placed, max(placed, 0.0)))
        orders.sort(key=lambda o: o.entered)  # (stable: the book in file order, as the DES)
        orders += _stream_orders(scenario, horizon)
        self.orders = orders
        # investments and cohorts
        self.cohorts: dict[str, list[Cohort]] = {}
        self.rates: dict[str, float] = {}
        self.investments: list[InvestmentRecord] = []
        events = []
        for name, spec in scenario.factories.items():
            rate = line_rate(spec)
            self.rates[name] = rate
            self.cohorts[name] = [Cohort(spec.lines, 0.0, 0.0, 1.0, rate)] if spec.lines else []
        for name, inv in scenario.investments.items():
            decided = months_between(scenario.start, inv.decided)
            if inv.lines_added == 0:
                self.investments.append(InvestmentRecord(name, inv.factory, 0, decided, None, None, 0.0))
                continue
            at = inv.in_service_months(scenario.start)
            on = at < horizon
            self.investments.append(InvestmentRecord(
                name, inv.factory, inv.lines_added, decided, decided if decided < horizon else None,
                at if on else None, inv.total_capex_musd if decided < horizon else 0.0))
            self.cohorts[inv.factory].append(Cohort(inv.lines_added, at, inv.ramp_months,
                                                    inv.ramp_start_fraction, self.rates[inv.factory]))
            events += [at, at + inv.ramp_months]
        self.makers = {p: [f for f, s in scenario.factories.items() if s.product == p]
                       for p in scenario.products}
        # reviews
        self.reviews: list[tuple[float, str]] = []
        for rname, req in scenario.requirements.items():
            ordering = req.ordering
            if ordering is None:
                continue
            t = months_between(scenario.start, ordering.first_review) if ordering.first_review else 0.0
            until = months_between(scenario.start, ordering.until) if ordering.until else horizon
            while t < until and t < horizon:
                self.reviews.append((t, rname))
                t += ordering.review_every_months
        self.reviews.sort(key=lambda r: r[0])
        events += [o.entered for o in orders] + [t for t, _ in self.reviews]
        events += [t for t in quote_times(scenario).values()]
        grid = np.unique(np.concatenate([np.arange(self.months + 1, dtype=float),
                                         np.array([t for t in events if 0 <= t <= horizon], dtype=float),
                                         np.array([horizon])]))
        self.grid = grid
        self.capacity = {f: sum((c.cumulative(grid) for c in cs), np.zeros_like(grid))
                         for f, cs in self.cohorts.items()}
        self.product_capacity = {p: sum((self.capacity[f] for f in fs), np.zeros_like(grid))
                                 for p, fs in self.makers.items()}
        self.wip0: dict[str, float] = {}
        book = {p: 0 for p in scenario.products}
        for fo in orders:
            if fo.source == "book":
                book[fo.product] += fo.quantity
        self.wip_by_factory: dict[str, float] = {}
        for p, fs in self.makers.items():
            left = book[p] if p not in self.components else math.inf
            for f in fs:
                w = min(scenario.factories[f].initial_wip_units, left)
                self.wip_by_factory[f] = w
                left -= w
            self.wip0[p] = sum(self.wip_by_factory[f] for f in fs)
        self.order_of = self._topological()
        self.curves: dict[str, Curves] = {}

    def _topological(self) -> list[str]:
        """Products, components before the products that use them."""
        done: list[str] = []

        def visit(name: str) -> None:
            if name in done:
                return
            for c in self.scenario.products[name].bom:
                visit(c)
            done.append(name)
        for name in self.scenario.products:
            visit(name)
        return done

    # -- curves ------------------------------------------------------------------------

    def _arrivals(self) -> dict[str, np.ndarray]:
        """Per product, the work the lines can take at each grid point (lumps there included)."""
        grid = self.grid
        result = {}
        for p in self.scenario.products:
            mine = [o for o in self.orders if o.product == p]
            lumps = np.zeros_like(grid)
            if mine:
                idx = np.searchsorted(grid, np.array([o.entered for o in mine]) - 1e-12)
                np.add.at(lumps, np.minimum(idx, len(grid) - 1), np.array([o.quantity for o in mine], float))
            result[p] = np.cumsum(lumps) - (self.wip0[p] if p not in self.components else 0.0)
        for p in reversed(self.order_of):  # parents first: components' work from their parents'
            if p in self.components:
                spec = self.scenario.products[p]
                need = np.zeros_like(grid)
                for parent, pspec in self.scenario.products.items():
                    if p in pspec.bom:
                        need += pspec.bom[p] * np.maximum(result[parent], 0.0)
                raw = need + spec.stock_target_units - spec.initial_stock_units - self.wip0[p]
                result[p] = np.maximum.accumulate(np.maximum(raw, 0.0))
        return result

    def compute(self) -> None:
        """Every product's curves from the orders placed so far."""
        grid = self.grid
        arrivals = self._arrivals()
        for p in self.order_of:
            c = Curves(p)
            a = np.maximum(arrivals[p], 0.0)
            c.arrivals = a
            k = self.product_capacity[p]
            x = np.empty_like(grid)
            x[0] = 0.0
            x[1:] = a[:-1]
            spec = self.scenario.products[p]
            for comp, per_unit in spec.bom.items():
                cc = self.curves[comp]
                stock = self.scenario.products[comp].initial_stock_units
                have = (stock + self._delivered_at(cc, grid)) / per_unit
                x = np.minimum(x, have)
            if np.isinf(k[-1]):  # (an infinitely fast line: output is the work there)
                out = np.minimum(np.concatenate([[0.0], a[:-1]]), x)
            else:
                out = k + np.minimum.accumulate(x - k)
            out = np.maximum.accumulate(np.maximum(out, 0.0))
            c.output = out
            d_out = np.diff(out, prepend=0.0)
            d_cap = np.diff(k, prepend=0.0)
            fs = self.makers[p]
            for f in fs:
                share = np.divide(np.diff(self.capacity[f], prepend=0.0), d_cap,
                                  out=np.full_like(grid, 1.0 / len(fs)), where=d_cap > 0)
                c.factory_output[f] = np.cumsum(d_out * share)
            self._delivery_curve(c)
            self.curves[p] = c

    def _delivery_curve(self, c: Curves) -> None:
        """Delivered units (initial WIP evenly over the mean flow, then the output a flow
        time after it leaves the line) at the times where the curve bends."""
        times = [self.grid]
        for f in self.makers[c.name]:
            flow = self.scenario.factories[f].flow_months.mean
            times += [self.grid + flow, np.array([flow])]
        t = np.unique(np.concatenate(times))
        c.delivered_times = t
        c.delivered = self._delivered_at(c, t)

    def _delivered_at(self, c: Curves, t: np.ndarray) -> np.ndarray:
        total = np.zeros_like(t)
        for f in self.makers[c.name]:
            flow = self.scenario.factories[f].flow_months.mean
            w = self.wip_by_factory[f]
            if w:
                total += w * (np.clip(t / flow, 0.0, 1.0) if flow > 0 else (t >= 0))
            total += np.interp(t - flow, self.grid, c.factory_output[f], left=0.0)
        return total

    def flow_of(self, product: str) -> float:
        fs = self.makers[product]
        return max((self.scenario.factories[f].flow_months.mean for f in fs), default=0.0)

    def delivered_by(self, product: str, t: float) -> float:
        c = self.curves[product]
        return float(np.interp(t, c.delivered_times, c.delivered, left=0.0))

    def allocation_curve(self, product: str, t: np.ndarray) -> np.ndarray:
        """Positions handed to orders by ``t``: committed (leaving the line, WIP at start) or,
        when reassigning, delivered."""
        c = self.curves[product]
        if self.reassign:
            return np.interp(t, c.delivered_times, c.delivered, left=0.0)
        return self.wip0[product] + np.interp(t, self.grid, c.output, left=0.0)

    # -- allocation --------------------------------------------------------------------

    def allocate(self, product: str, until: float, samples: np.ndarray | None = None
                 ) -> tuple[dict[int, list[tuple[float, float]]], list[dict[int, float]]]:
        """Positions of each order (``index``: list of (from, to)) up to ``until``; and at
        each of the sorted ``samples`` times, the units not yet handed out by class."""
        orders = [o for o in self.orders if o.product == product and o.entered <= until]
        orders.sort(key=lambda o: (o.entered, o.index))
        stamps = sorted({o.entered for o in orders} | {until})
        sample_list = [] if samples is None else list(samples)
        all_times = sorted(set(stamps) | set(sample_list))
        ys = self.allocation_curve(product, np.array(all_times, float)) if all_times else np.zeros(0)
        y_at = dict(zip(all_times, ys.tolist(), strict=True))
        heap: list[tuple[Any, int]] = []
        remaining: dict[int, float] = {}
        segments: dict[int, list[tuple[float, float]]] = {}
        by_class: list[dict[int, float]] = []
        open_by_class: dict[int, float] = {}
        y = 0.0
        i = 0
        n = len(orders)
        for t in all_times:
            target = y_at[t]
            while heap and y < target - EPS:
                key, idx = heap[0]
                take = min(remaining[idx], target - y)
                seg = segments.setdefault(idx, [])
                if seg and abs(seg[-1][1] - y) < EPS:
                    seg[-1] = (seg[-1][0], y + take)
                else:
                    seg.append((y, y + take))
                y += take
                remaining[idx] -= take
                open_by_class[key[0]] -= take
                if remaining[idx] <= EPS:
                    heapq.heappop(heap)
            while i < n and orders[i].entered <= t:
                o = orders[i]
                cls = o.priority if self.priority else 0
                heapq.heappush(heap, ((cls, o.entered, o.index), o.index))
                remaining[o.index] = float(o.quantity)
                open_by_class[cls] = open_by_class.get(cls, 0.0) + o.quantity
                i += 1
            if samples is not None and t in sample_list:
                by_class.append(dict(open_by_class))
        return segments, by_class

    def _delivered_units(self, segments: list[tuple[float, float]], d: float) -> int:
        """Whole units of an order's positions delivered once ``d`` positions are."""
        return sum(max(0, min(_whole(hi), math.floor(d + 1e-9)) - _whole(lo)) for lo, hi in segments)

    # -- quotes ------------------------------------------------------------------------

    def quote(self, product: str, t: float, priority: int, open_by_class: dict[int, float]) -> float | None:
        """Lead time to a new one-unit order of class ``priority`` placed at ``t``."""
        return self.quotes(product, np.array([t]), priority, [open_by_class])[0]

    def quotes(self, product: str, ts: np.ndarray, priority: int,
               opened: list[dict[int, float]]) -> list[float | None]:
        """Lead times to new one-unit orders of class ``priority`` placed at each of ``ts``,
        given the units not yet handed out by class then: the order stands behind those the
        policy serves first and is delivered when the curves, at full capacity from then,
        reach it."""
        ahead = np.array([sum(v for k, v in o.items() if not self.priority or k <= priority)
                          for o in opened], float)
        c = self.curves[product]
        k = self.product_capacity[product]
        grid = self.grid
        flow = self.flow_of(product)
        o_now = np.interp(ts, grid, c.output)
        k_now = np.interp(ts, grid, k)
        made = self.wip0[product] + o_now
        if self.reassign:  # positions past what the lines have made by t need new output
            positions = np.interp(ts, c.delivered_times, c.delivered, left=0.0) + ahead + 1
            existing = _first_crossing(c.delivered, c.delivered_times, positions)
            extra = np.maximum(positions - made, 0.0)
            done_new = _first_crossing(k, grid, k_now + extra) + flow
            done = np.where(positions <= made + EPS, existing, np.maximum(done_new, ts))
        else:
            positions = made + ahead + 1
            extra = positions - made
            done = np.maximum(_first_crossing(k, grid, k_now + np.maximum(extra, 0.0)) + flow, ts)
        return [None if not math.isfinite(d) or d >= self.horizon - EPS else max(0.0, d - t)
                for d, t in zip(done.tolist(), ts.tolist(), strict=True)]

    # -- the run -----------------------------------------------------------------------

    def run(self) -> KernelRecords:
        scenario = self.scenario
        for index, o in enumerate(self.orders):
            o.index = index
        self.compute()
        counts = {name: 0 for name in scenario.requirements}
        for t, rname in self.reviews:
            spec = scenario.requirements[rname]
            ordering = spec.ordering
            assert ordering is not None
            product = spec.product
            segments, classes = self.allocate(product, t, np.array([t]))
            d = self.delivered_by(product, t)
            customers = set(spec.customer_names)
            delivered = ordered = 0
            for o in self.orders:
                if o.product == product and o.customer in customers and o.placed < t:
                    ordered += o.quantity
                    delivered += self._delivered_units(segments.get(o.index, []), d)
            consumption = _consumption(rname, spec, self.start)
            inventory = max(0.0, spec.initial_units + delivered - consumption.consumed_between(0.0, t))
            if ordering.lookahead_months == "lead_time":
                quoted = self.quote(product, t, ordering.priority, classes[0] if classes else {})
                lookahead = self.horizon - t if quoted is None else quoted
            else:
                lookahead = ordering.lookahead_months
            state = RequirementState(rname, spec, self.start, consumption)
            review = Review(t, rname, spec, inventory, ordered - delivered, state.required, consumption,
                            lookahead)
            units = int(self.rules[ordering.rule](review))
            if units > 0:
                self.orders.append(FluidOrder(len(self.orders), f"{rname}-{counts[rname]}",
                                              spec.ordering_customer, product, units, ordering.priority,
                                              "requirement", t, t))
                counts[rname] += 1
                self.compute()
        return self._records()

    def _records(self) -> KernelRecords:
        scenario, horizon = self.scenario, self.horizon
        month_ends = np.arange(1, self.months + 1, dtype=float)
        order_records: list[OrderRecord] = []
        deliveries: list[DeliveryRecord] = []
        open_at: dict[str, list[dict[int, float]]] = {}
        for p in scenario.products:
            if p in self.components:
                continue
            c = self.curves[p]
            segments, open_at[p] = self.allocate(p, horizon, month_ends)
            lot = min((scenario.factories[f].lot_size for f in self.makers[p]), default=1)
            for o in self.orders:
                if o.product != p:
                    continue
                chunks: list[tuple[int, int]] = []  # (first position, last position) of each lot-size group
                for lo, hi in segments.get(o.index, []):
                    a, b = _whole(lo), _whole(hi)
                    while a < b:
                        chunks.append((a, min(a + lot, b)))
                        a += lot
                got = 0
                last_time: float | None = None
                first: float | None = None
                if chunks:
                    bounds = np.array([e for _, e in chunks] + [chunks[0][0] + 1], float)
                    times = _first_crossing(c.delivered, c.delivered_times, bounds).tolist()
                    for (a, e), tm in zip(chunks, times, strict=False):
                        if tm >= horizon - EPS:
                            break
                        got += e - a
                        last_time = tm
                        deliveries.append(new_record(DeliveryRecord, (tm, o.id, o.customer, p, e - a)))
                    if got:
                        first = times[-1]
                order_records.append(new_record(OrderRecord, (
                    o.id, o.customer, p, o.quantity, o.priority, o.source, o.placed, o.entered, got,
                    first, last_time if got >= o.quantity else None)))
        deliveries.sort(key=lambda r: r.time_months)
        index_of = {o.id: k for k, o in enumerate(self.orders)}
        order_records.sort(key=lambda r: (r.entered_months or 0.0, index_of[r.id]))
        products, factories = self._monthly(deliveries, open_at)
        requirements, outcomes = self._requirements(deliveries)
        quotes = self._quotes()
        lots = sum(int(self.curves[scenario.factories[f].product].factory_output[f][-1]
                       / scenario.factories[f].lot_size) for f in scenario.factories)
        return KernelRecords(self.months, tuple(products), tuple(factories), tuple(requirements),
                             tuple(outcomes), tuple(order_records), tuple(deliveries),
                             tuple(self.investments), lots, tuple(quotes))

    def _quotes(self) -> list[QuoteRecord]:
        classes = quote_classes(self.scenario)
        out = []
        asks = [(0.0, p, k) for p, ks in classes.by_product.items() for k in ks]
        ends = self.months
        asks += [(t, p, classes.lowest) for t in quote_times(self.scenario).values()
                 if t > 0 and not (float(t).is_integer() and t <= ends) and t < self.horizon
                 for p in classes.by_product]
        for t, p, k in sorted(asks, key=lambda a: a[0]):
            _, by_class = self.allocate(p, t, np.array([t]))
            lead = self.quote(p, t, k, by_class[0] if by_class else {})
            out.append(QuoteRecord(t, p, 1, k, QUOTE_CUSTOMER, lead, "policy"))
        return out

    def _monthly(self, deliveries: list[DeliveryRecord],
                 open_at: dict[str, list[dict[int, float]]]) -> tuple[list[ProductMonth], list[FactoryMonth]]:
        scenario, grid = self.scenario, self.grid
        ends = np.arange(1, self.months + 1, dtype=float)
        idx = np.searchsorted(grid, ends - 1e-12)
        prev_idx = np.concatenate([[0], idx[:-1]])
        lowest = quote_classes(scenario).lowest
        factory_rows: list[list[Any]] = [[] for _ in ends]
        sampled: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for f, spec in scenario.factories.items():
            p = spec.product
            cap_rate = sum((c.rate_at(ends - 1e-12) for c in self.cohorts[f]), np.zeros_like(ends)) * 12
            lines = np.array([sum(c.lines for c in self.cohorts[f] if c.at < t - 1e-12 or c.at <= 0)
                              for t in ends])
            out = self.curves[p].factory_output[f]
            cap = self.capacity[f]
            started = out[idx] - out[prev_idx]
            used = np.divide(started, cap[idx] - cap[prev_idx], out=np.zeros_like(ends),
                             where=cap[idx] - cap[prev_idx] > 0)
            sampled[f] = (cap_rate, lines)
            for m in range(len(ends)):
                factory_rows[m].append(new_record(FactoryMonth, (
                    m, f, p, int(lines[m]), float(cap_rate[m]), float(min(1.0, used[m])),
                    round(out[idx[m]]) - round(out[prev_idx[m]]))))
        per_month = {p: np.zeros(len(ends), dtype=np.int64) for p in scenario.products}
        if deliveries:
            d_month = np.floor(np.array([d.time_months for d in deliveries]) + 1e-12).astype(int)
            for d, m in zip(deliveries, d_month.tolist(), strict=True):
                if 0 <= m < len(ends):
                    per_month[d.product][m] += d.units
        product_rows: list[list[Any]] = [[] for _ in ends]
        for p in scenario.products:
            c = self.curves[p]
            mine = sorted((o.entered, o.quantity) for o in self.orders if o.product == p)
            cum_ordered = np.concatenate([[0], np.cumsum([q for _, q in mine])])
            ordered = cum_ordered[np.searchsorted(np.array([t for t, _ in mine], float), ends - 1e-12)]
            line_work = c.arrivals[np.maximum(idx - 1, 0)] if p not in self.components else c.arrivals[idx]
            backlog = (np.maximum(0, np.round(line_work - c.output[idx])) if p not in self.components
                       else 0 * ends)
            d_units = self._delivered_at(c, ends)
            wip = np.maximum(0, np.round(self.wip0[p] + c.output[idx] - d_units))
            if p in self.components:
                used_up = sum((pspec.bom[p] * self.curves[parent].output[idx]
                               for parent, pspec in scenario.products.items() if p in pspec.bom),
                              np.zeros_like(ends))
                stock = np.maximum(0, np.round(scenario.products[p].initial_stock_units + d_units - used_up))
                cum = np.floor(d_units + 1e-9).astype(int)
                monthly = np.diff(cum, prepend=0)
            else:
                stock = np.zeros_like(ends)
                monthly = per_month[p]
                cum = np.cumsum(monthly)
            cap = sum((sampled[f][0] for f in self.makers[p]), np.zeros_like(ends))
            lines = sum((sampled[f][1] for f in self.makers[p]), np.zeros(len(ends)))
            k = self.product_capacity[p]
            dk = k[idx] - k[prev_idx]
            used = np.divide(c.output[idx] - c.output[prev_idx], dk, out=np.zeros_like(ends), where=dk > 0)
            quotes: list[float | None] = [None] * len(ends)
            if p not in self.components and len(ends):
                quotes = self.quotes(p, ends, lowest, open_at[p])
            for m in range(len(ends)):
                product_rows[m].append(new_record(ProductMonth, (
                    m, p, int(ordered[m]), int(backlog[m]), int(wip[m]), int(monthly[m]), int(cum[m]),
                    int(stock[m]), 0, float(cap[m]), int(lines[m]), float(min(1.0, used[m])), quotes[m])))
        return ([r for rows in product_rows for r in rows], [r for rows in factory_rows for r in rows])

    def _requirements(self, deliveries: list[DeliveryRecord]) -> tuple[list[RequirementMonth],
                                                                        list[RequirementOutcome]]:
        rows: list[list[RequirementMonth]] = [[] for _ in range(self.months)]
        outcomes = []
        for name, spec in self.scenario.requirements.items():
            consumption = _consumption(name, spec, self.start)
            state = RequirementState(name, spec, self.start, consumption)
            customers = set(spec.customer_names)
            events: list[tuple[float, int, int]] = []  # (time, 0 month end / 1 point / 2 delivery, value)
            events += [(float(m + 1), 0, m) for m in range(self.months)]
            events += [(t, 1, 0) for t in [*state.times, *consumption.breaks] if 0 < t < self.horizon]
            events += [(d.time_months, 2, d.units) for d in deliveries
                       if d.product == spec.product and d.customer in customers]
            events.sort()
            for t, kind, value in events:
                if kind == 2:
                    state.receive(t, value)
                elif kind == 1:
                    state.observe(t)
                else:
                    gap = state.observe(t)
                    rows[value].append(RequirementMonth(value, name, state.product, state.level,
                                                        state.required(t), gap, state.peak_gap))
                    state.peak_gap = 0.0
            state.observe(self.horizon) if self.horizon > self.months else None
            outcomes.append(RequirementOutcome(name, state.closed_at, state.max_gap))
        return [r for month in rows for r in month], outcomes


def _whole(position: float) -> int:
    """A position rounded half up (the same way for the end of one segment and the start of
    the next, so that no unit is counted twice)."""
    return math.floor(position + 0.5)


def _consumption(name: str, spec: Any, start: str) -> ConsumptionSchedule:
    """The requirement's consumption; a drawn yearly rate at its mean."""
    value = spec.consumption_per_year
    if isinstance(value, int | float | list):
        return ConsumptionSchedule.of(name, spec, start)
    return ConsumptionSchedule.constant(max(0.0, value.mean))


def fluid_records(scenario: Scenario, plugins: Plugins = NO_PLUGINS) -> KernelRecords:
    """The fluid model's records of ``scenario`` (module docstring)."""
    return FluidModel(scenario, plugins).run()


def fluid(scenario: Scenario | str | Path, plugins: Plugins = NO_PLUGINS) -> RunResult:
    """The fluid estimate of a scenario (a ``Scenario`` or a file path): a ``RunResult``
    (seed 0, nothing drawn) whose records and summary are a run's, computed from mean rates;
    its summary says ``"estimate": "fluid"``."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, plugins=plugins)
    records = fluid_records(scenario, plugins)
    flows = product_flows(records)
    summary = {**summarize(scenario, records, FLUID_SEED, 0, flows), "estimate": "fluid"}
    return RunResult(scenario, FLUID_SEED, 0, records, summary, flows)


__all__ = ["FluidModel", "fluid", "fluid_records", "line_rate"]
