"""The fluid model of one scenario: its grid, curves, allocation and reviews (``FluidModel``)."""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from leadtime_sim.dates import months_between
from leadtime_sim.fluid_model.allocation import EPS, Allocator, UnitCount
from leadtime_sim.fluid_model.capacity import Cohort, line_rate
from leadtime_sim.fluid_model.curves import Maker, ProductCurves, crossing, first_crossing
from leadtime_sim.fluid_model.orders import FluidOrder, known_orders
from leadtime_sim.fluid_model.requirements import consumed
from leadtime_sim.plugins import NO_PLUGINS, Plugins
from leadtime_sim.scenario import Scenario
from leadtime_sim.scenario.checks import component_products
from leadtime_sim.scenario.schema import Requirement
from leadtime_sim.sim.consumption import ConsumptionSchedule
from leadtime_sim.sim.ordering import ORDERING_RULES, Review, ordered_units, still_to_order
from leadtime_sim.sim.promise import quote_classes, quote_times
from leadtime_sim.sim.records import InvestmentRecord
from leadtime_sim.sim.state import RequirementState


def consumption_of(name: str, spec: Requirement, start: str) -> ConsumptionSchedule:
    """The requirement's consumption; a drawn yearly rate at its mean."""
    value = spec.consumption_per_year
    if isinstance(value, int | float | list):
        return ConsumptionSchedule.of(name, spec, start)
    return ConsumptionSchedule.constant(max(0.0, value.mean))


@dataclass
class Watch:
    """A requirement with an ordering rule, as its reviews see it."""

    name: str
    spec: Requirement
    customers: frozenset[str]
    consumption: ConsumptionSchedule
    state: RequirementState
    """For its required curve only."""
    placed: tuple[list[float], list[float]] = field(default_factory=lambda: ([], []))
    ordered_before: tuple[list[int], list[int]] = field(default_factory=lambda: ([0], [0]))
    """The customers' orders of the product by time placed (those known at start, those its
    reviews and others placed), and the units in those before each."""
    level: tuple[float, float, int] = (0.0, 0.0, 0)
    """The inventory when last looked at (``FluidModel._holding``): time, units, and the
    product's units delivered by then."""

    def add(self, kind: int, order: FluidOrder) -> None:
        self.placed[kind].append(order.placed)
        self.ordered_before[kind].append(self.ordered_before[kind][-1] + order.quantity)

    def ordered(self, t: float) -> int:
        """Units the customers ordered by ``t`` (the book, and orders placed earlier at ``t``
        itself, as reviews in the same instant see them in a run)."""
        return sum(before[bisect_right(placed, t)] for placed, before in zip(self.placed, self.ordered_before,
                                                                           strict=True))


class AllocationCurve:
    """Positions handed to orders by each grid point: committed (started on the line, as a
    run commits a lot at its start; WIP at start) or, when reassigning, delivered; as a list,
    remade when the curves change."""

    def __init__(self, curves: ProductCurves, wip_units: float, reassign: bool):
        self.curves = curves
        self.wip_units = wip_units
        self.reassign = reassign
        self.version = -1
        self.values: list[float] = []

    def __call__(self) -> list[float]:
        c = self.curves
        if self.reassign:
            return c.on_grid_list()
        if self.version != c.version:
            self.values = (self.wip_units + c.committed).tolist()
            self.version = c.version
        return self.values


class FluidModel:
    """The fluid model of one scenario (the package docstring): ``solve()`` runs its reviews;
    ``records.full_records`` reads the result."""

    def __init__(self, scenario: Scenario, plugins: Plugins = NO_PLUGINS):
        self.scenario = scenario
        self.rules = plugins.all_ordering_rules if plugins is not NO_PLUGINS else ORDERING_RULES
        self.start = scenario.start
        self.horizon = horizon = months_between(scenario.start, scenario.end)
        self.months = math.floor(horizon + 1e-9)
        self.components = component_products(scenario)
        self.priority = scenario.policy.allocation == "priority"
        self.reassign = scenario.policy.reassign_at_delivery
        self.orders = orders = known_orders(scenario, horizon)
        self.orders_of: dict[str, list[FluidOrder]] = {p: [] for p in scenario.products}
        """Each product's orders, in ``orders``' order."""
        for o in orders:
            self.orders_of[o.product].append(o)
        self.cohorts: dict[str, list[Cohort]] = {}
        self.cohort_decided: dict[str, list[float]] = {}
        """When each factory's cohorts were decided (months; 0 for the lines at start)."""
        self.investments: list[InvestmentRecord] = []
        events = self._capacity_events()
        self.makers = {p: [f for f, s in scenario.factories.items() if s.product == p]
                       for p in scenario.products}
        self.reviews = self._reviews()
        self.least_urgent = max([o.priority for o in orders] + [
            r.ordering.priority for r in scenario.requirements.values() if r.ordering is not None], default=1)
        """The largest class any order can have."""
        events += [o.entered for o in orders] + [t for t, _ in self.reviews]
        self.quote_times = quote_times(scenario)
        self.classes = quote_classes(scenario)
        """The run's quote times (date: months) and classes."""
        events += [t for t in self.quote_times.values()]
        grid = np.unique(np.concatenate([np.arange(self.months + 1, dtype=float),
                                         np.array([t for t in events if 0 <= t <= horizon], dtype=float),
                                         np.array([horizon])]))
        self.grid = grid
        ends = np.arange(1, self.months + 1, dtype=float)
        self.ends = np.append(ends, horizon) if horizon > self.months + 1e-9 else ends
        """The time of each month's row: its end (the horizon for a last month it cuts short)."""
        self.rows = len(self.ends)
        """Rows per subject: the months, and a last one the horizon cuts short, as a run's."""
        self.month_index = np.searchsorted(grid, self.ends - 1e-12)
        """Grid index of each month's row."""
        self.quote_index = np.searchsorted(grid, np.array(
            [t for t in self.quote_times.values() if t < horizon]) - 1e-12).tolist()
        """Grid index of each quote time."""
        self.cohort_capacity = {f: [c.cumulative(grid) for c in cs] for f, cs in self.cohorts.items()}
        """Each cohort's cumulative capacity on the grid."""
        self.capacity = {f: sum(ks, np.zeros_like(grid)) for f, ks in self.cohort_capacity.items()}
        self.product_capacity = {p: sum((self.capacity[f] for f in fs), np.zeros_like(grid))
                                 for p, fs in self.makers.items()}
        self.decisions = {p: sorted({d for f in fs for d in self.cohort_decided[f] if 0 < d < horizon})
                          for p, fs in self.makers.items()}
        """Per product, the times after start at which lines of its factories are decided
        (a quote counts the lines decided by then: ``known_capacity``)."""
        self._known: dict[tuple[str, int], tuple[np.ndarray, list[float]]] = {}
        self._initial_wip()
        self.order_of = self._topological()
        self.groups = self._groups()
        self.curves = {p: ProductCurves(p, grid, self.product_capacity[p], [
            Maker(f, scenario.factories[f].flow_months.mean, self.wip_by_factory[f], self.capacity[f],
                  *self._lots_on_lines(f), scenario.factories[f].lot_size) for f in self.makers[p]])
            for p in scenario.products}
        entered = np.array([o.entered for o in orders])
        for o, at in zip(orders, np.searchsorted(grid, entered - 1e-12).tolist(), strict=True):
            o.at = at
        self.work: dict[str, np.ndarray] = {}
        self.allocators: dict[str, Allocator] = {}
        self.watches: dict[str, Watch] = {}
        """The requirements reviews order for, and those they defer to."""

    # -- set-up ------------------------------------------------------------------------

    def _capacity_events(self) -> list[float]:
        """Cohorts of lines per factory and the investments' records; the times at which
        capacity bends."""
        scenario, horizon = self.scenario, self.horizon
        rates = {}
        for name, spec in scenario.factories.items():
            rates[name] = rate = line_rate(spec)
            self.cohorts[name] = [Cohort(spec.lines, 0.0, 0.0, 1.0, rate)] if spec.lines else []
            self.cohort_decided[name] = [0.0] if spec.lines else []
        events = []
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
                                                    inv.ramp_start_fraction, rates[inv.factory]))
            self.cohort_decided[inv.factory].append(decided)
            events += [at, at + inv.ramp_months]
        return events

    def _lots_on_lines(self, factory: str) -> tuple[float, np.ndarray]:
        """The months a lot holds one of ``factory``'s lines at full rate, and the units its
        lines in service can hold at each grid point (a lot each): a run commits a lot's units
        to orders when the lot starts, so these are started, not yet made."""
        spec = self.scenario.factories[factory]
        rate = line_rate(spec)
        lot_months = spec.lot_size / rate if 0 < rate < math.inf else 0.0
        lines = sum((c.lines * (self.grid >= c.at - 1e-12) for c in self.cohorts[factory]),
                    np.zeros_like(self.grid))
        return lot_months, spec.lot_size * lines

    def _reviews(self) -> list[tuple[float, str]]:
        """(time, requirement) of every review, in time order (ties: requirements in order)."""
        reviews: list[tuple[float, str]] = []
        for rname, req in self.scenario.requirements.items():
            ordering = req.ordering
            if ordering is None:
                continue
            t = months_between(self.start, ordering.first_review) if ordering.first_review else 0.0
            until = months_between(self.start, ordering.until) if ordering.until else self.horizon
            while t < until and t < self.horizon:
                reviews.append((t, rname))
                t += ordering.review_every_months
        reviews.sort(key=lambda r: r[0])
        return reviews

    def _initial_wip(self) -> None:
        """The initial WIP at each factory (a final product's no more than its book)."""
        book = {p: 0 for p in self.scenario.products}
        for fo in self.orders:
            if fo.source == "book":
                book[fo.product] += fo.quantity
        self.wip_by_factory: dict[str, float] = {}
        self.wip0: dict[str, float] = {}
        for p, fs in self.makers.items():
            left = book[p] if p not in self.components else math.inf
            for f in fs:
                w = min(self.scenario.factories[f].initial_wip_units, left)
                self.wip_by_factory[f] = w
                left -= w
            self.wip0[p] = sum(self.wip_by_factory[f] for f in fs)

    def _topological(self) -> list[str]:
        """Products, components before the products that use them."""
        done: list[str] = []
        for name in self.scenario.products:
            self._visit(name, done)
        return done

    def _visit(self, name: str, done: list[str]) -> None:
        if name not in done:
            for c in self.scenario.products[name].bom:
                self._visit(c, done)
            done.append(name)

    def _groups(self) -> dict[str, list[str]]:
        """Per product, the products whose curves an order of it can change (those linked
        to it through bills of materials), components first."""
        linked = {p: set(spec.bom) for p, spec in self.scenario.products.items()}
        for p, spec in self.scenario.products.items():
            for c in spec.bom:
                linked[c].add(p)
        groups: dict[str, list[str]] = {}
        for p in self.order_of:
            if p in groups:
                continue
            seen, todo = {p}, [p]
            while todo:
                for q in linked[todo.pop()] - seen:
                    seen.add(q)
                    todo.append(q)
            group = [q for q in self.order_of if q in seen]
            for q in group:
                groups[q] = group
        return groups

    def index_of(self, t: float) -> int:
        """The grid index of time ``t`` (on the grid), past the end for a time after it."""
        return int(np.searchsorted(self.grid, t - 1e-12))

    # -- curves ------------------------------------------------------------------------

    def _compute(self, products: list[str]) -> None:
        """The curves of ``products`` (components first) from the work ordered so far."""
        scenario, work = self.scenario, self.work
        for p in reversed(products):  # parents first: components' work from their parents'
            if p in self.components:
                spec = scenario.products[p]
                need = np.zeros(len(self.grid))
                for parent, pspec in scenario.products.items():
                    if p in pspec.bom:
                        need += pspec.bom[p] * np.maximum(work[parent], 0.0)
                raw = need + spec.stock_target_units - spec.initial_stock_units - self.wip0[p]
                work[p] = np.maximum.accumulate(np.maximum(raw, 0.0))
        for p in products:
            limits = [(scenario.products[c].initial_stock_units + self.curves[c].delivered_on_grid) / per_unit
                      for c, per_unit in scenario.products[p].bom.items()]
            self.curves[p].update(work[p], limits)

    def _initial_work(self) -> None:
        """Each final product's work: units ordered by each grid point less its initial WIP."""
        n = len(self.grid)
        for p in self.scenario.products:
            if p in self.components:
                continue
            lumps = np.zeros(n)
            mine = self.orders_of[p]
            if mine:
                at = np.minimum([o.at for o in mine], n - 1)
                np.add.at(lumps, at, np.array([o.quantity for o in mine], float))
            self.work[p] = np.cumsum(lumps) - self.wip0[p]

    # -- the run -----------------------------------------------------------------------

    def solve(self, keep: list[int]) -> None:
        """Curves, reviews (each order placed joins the curves from then on) and allocation
        to the end; ``keep``: the grid indices at which to keep the units not handed out."""
        scenario = self.scenario
        self._initial_work()
        self._compute(self.order_of)
        watched = {r for _, r in self.reviews} | {m for r in scenario.requirements.values() if r.ordering
                                                  for m in r.ordering.defers_to}
        self.watches = watches = {name: self._watch(name) for name in sorted(watched)}
        for p in scenario.products:
            counted = {w.name: w.customers for w in watches.values() if w.spec.product == p}
            if p in self.components and not counted:
                continue  # (components are not ordered)
            self.allocators[p] = Allocator(self.orders_of[p],
                                           AllocationCurve(self.curves[p], self.wip0[p], self.reassign),
                                           self.priority, keep, counted)
        counts = {name: 0 for name in scenario.requirements}
        reviewed: set[str] = set()
        at = np.searchsorted(self.grid, np.array([t for t, _ in self.reviews]) - 1e-12).tolist()
        for (t, rname), i in zip(self.reviews, at, strict=True):
            w = watches[rname]
            units = self._review(t, i, w, rname not in reviewed)
            reviewed.add(rname)
            if units > 0:
                spec = w.spec
                assert spec.ordering is not None
                order = FluidOrder(len(self.orders), f"{rname}-{counts[rname]}", spec.ordering_customer,
                                   spec.product, units, spec.ordering.priority, "requirement", t, t, i)
                counts[rname] += 1
                self._place(order, watches.values())
        for allocator in self.allocators.values():
            allocator.advance(len(self.grid) - 1)

    def _watch(self, name: str) -> Watch:
        """A requirement's ``Watch``, with the orders known at start."""
        spec = self.scenario.requirements[name]
        consumption = consumption_of(name, spec, self.start)
        w = Watch(name, spec, frozenset(spec.customer_names), consumption,
                  RequirementState(name, spec, self.start, consumption), level=(0.0, spec.initial_units, 0))
        for o in sorted((o for o in self.orders_of[spec.product] if o.customer in w.customers),
                        key=lambda o: o.placed):
            w.add(0, o)
        return w

    def _review(self, t: float, i: int, w: Watch, first: bool) -> int:
        """The units the requirement's rule orders at ``t`` (grid index ``i``), from the fluid
        state then; ``first``: its first review (which, in a run, comes before the investments
        decided at its instant; a later one comes after them)."""
        spec, product = w.spec, w.spec.product
        ordering = spec.ordering
        assert ordering is not None
        allocator = self.allocators[product]
        allocator.advance(i)
        inventory, on_order = self._holding(t, i, w)
        if ordering.lookahead_months == "lead_time":
            quoted = self.quote_at(product, i, ordering.priority, allocator.open, decided_now=not first)
            lookahead = self.horizon - t if quoted is None else quoted
        else:
            lookahead = ordering.lookahead_months
        deferred = 0.0
        for m in (self.watches[name] for name in ordering.defers_to):
            m_inventory, m_on_order = self._holding(t, i, m)
            deferred += still_to_order(m.state.required(t + lookahead),
                                       m.consumption.consumed_over(t, lookahead), m_inventory, m_on_order)
        review = Review(t, w.name, spec, inventory, on_order, w.state.required, w.consumption, lookahead,
                        deferred)
        return ordered_units(self.rules[ordering.rule], review)

    def _holding(self, t: float, i: int, w: Watch) -> tuple[float, int]:
        """A requirement's inventory and units on order at ``t`` (grid index ``i``, to which
        its product's allocator has advanced; called at nondecreasing times): as a run's,
        the inventory is never consumed below 0 (a unit delivered later to an empty one is
        consumed later: ``floored``)."""
        c = self.curves[w.spec.product]
        d = math.floor(float(c.delivered_on_grid[i]) + 1e-9)
        count = self.allocators[w.spec.product].counted[w.name]
        delivered = count.below(d)
        if not w.consumption.periods:
            return w.spec.initial_units + delivered, w.ordered(t) - delivered
        inventory = floored(w, count, c, t, d)
        return inventory, w.ordered(t) - delivered

    def _place(self, order: FluidOrder, watches: Iterable[Watch]) -> None:
        """A requirement-driven order joins the curves from its grid point on."""
        self.orders.append(order)
        self.orders_of[order.product].append(order)
        for w in watches:
            if w.spec.product == order.product and order.customer in w.customers:
                w.add(1, order)
        self.allocators[order.product].add(order)
        if order.product not in self.components:
            self.work[order.product][min(order.at, len(self.grid) - 1):] += order.quantity
        self._compute(self.groups[order.product])

    # -- quotes ------------------------------------------------------------------------

    def ahead(self, opened: dict[int, float], priority: int) -> float:
        """Units not handed out that the policy serves before a new order of ``priority``."""
        if not self.priority or priority >= self.least_urgent:
            return sum(opened.values())
        return sum(v for k, v in opened.items() if k <= priority)

    def known_capacity(self, product: str, n: int) -> tuple[np.ndarray, list[float]]:
        """The product's cumulative capacity (array, list) counting the lines in service at
        start and those decided by its ``n``-th decision after start (``decisions``); made
        once per ``n``."""
        decisions = self.decisions[product]
        if n >= len(decisions):
            c = self.curves[product]
            return c.capacity, c.capacity_list
        key = (product, n)
        if key not in self._known:
            last = decisions[n - 1] if n else 0.0
            grid = self.grid
            k = np.zeros_like(grid)
            for f in self.makers[product]:
                for made, d in zip(self.cohort_capacity[f], self.cohort_decided[f], strict=True):
                    if d <= last:
                        k = k + made
            self._known[key] = (k, k.tolist())
        return self._known[key]

    def quote_at(self, product: str, i: int, priority: int, opened: dict[int, float],
                 decided_now: bool = False) -> float | None:
        """``quotes`` at one grid index, on lists (the same arithmetic); ``decided_now``: count
        the lines decided at that instant too (as a requirement's review after its first)."""
        c = self.curves[product]
        t = c.grid_list[i]
        capacity = c.capacity_list
        if decisions := self.decisions[product]:
            known = (bisect_right if decided_now else bisect_left)(decisions, t)
            capacity = self.known_capacity(product, known)[1]
        k_now = capacity[i]
        made = self.wip0[product] + float(c.output[i])
        ahead = float(self.ahead(opened, priority))
        if self.reassign:
            position = float(c.delivered_on_grid[i]) + ahead + 1
            extra = max(position - made, 0.0)
            if position <= made + EPS:
                done = crossing(c.delivered_list(), c.delivered_times_list, position)
            else:
                out = crossing(capacity, c.grid_list, k_now + extra)
                done = max(max(out, self._parts_at(product, t, i, position)) + c.flow_months, t)
        else:  # behind the units committed (started) and those the policy serves first
            position = self.wip0[product] + float(c.committed[i]) + ahead + 1
            extra = max(position - made, 0.0)
            out = crossing(capacity, c.grid_list, k_now + extra)
            if extra > EPS:
                out = max(out, self._parts_at(product, t, i, position))
            done = max(out + c.flow_months, t)
        return None if not math.isfinite(done) or done >= self.horizon - EPS else max(0.0, done - t)

    def _parts_at(self, product: str, t: float, i: int, position: float) -> float:
        """When the components of the product's unit at ``position`` (counted with the
        initial WIP) are on hand, as known at ``t`` (grid index ``i``): from stock and the
        suppliers' deliveries, or, for those not yet made, from the suppliers' lines at full
        rate on the lines known then, a flow time later (``-inf``: no components)."""
        ready = -math.inf
        for part, per_unit in self.scenario.products[product].bom.items():
            ready = max(ready, self._parts_ready(part, t, i, per_unit * (position - self.wip0[product])))
        return ready

    def _parts_ready(self, part: str, t: float, i: int, need: float) -> float:
        """When ``need`` units of component ``part`` have been on hand, counted from start
        (``_parts_at``)."""
        c = self.curves[part]
        stock = self.scenario.products[part].initial_stock_units
        made = stock + self.wip0[part] + float(c.output[i])
        if need <= made + EPS:
            return crossing(c.delivered_list(), c.delivered_times_list, need - stock)
        capacity = c.capacity_list
        if decisions := self.decisions[part]:
            capacity = self.known_capacity(part, bisect_left(decisions, t))[1]
        return crossing(capacity, c.grid_list, capacity[i] + need - made) + c.flow_months

    def quotes(self, product: str, ts: np.ndarray, priority: int,
               opened: list[dict[int, float]]) -> list[float | None]:
        """Lead times to new one-unit orders of class ``priority`` placed at each of ``ts``
        (ascending), given the units not yet handed out by class then: the order stands behind
        those the policy serves first and is delivered when the curves, at the capacity of the
        lines in service or decided before then (a run quotes before a decision at its
        instant), reach it."""
        if not self.priority or priority >= self.least_urgent:
            ahead = np.array(list(map(sum, map(dict.values, opened))), float)
        else:
            ahead = np.array([self.ahead(o, priority) for o in opened], float)
        c = self.curves[product]
        o_now = np.interp(ts, self.grid, c.output)
        made = self.wip0[product] + o_now
        if self.reassign:  # positions past what the lines have made by t need new output
            positions = np.interp(ts, c.delivered_times, c.delivered, left=0.0) + ahead + 1
            existing = first_crossing(c.delivered, c.delivered_times, positions)
            extra = np.maximum(positions - made, 0.0)
            out = self._made_by(product, ts, extra)
            if self.scenario.products[product].bom:
                out = np.maximum(out, self._parts_by(product, ts, positions))
            done = np.where(positions <= made + EPS, existing, np.maximum(out + c.flow_months, ts))
        else:  # behind the units committed (started) and those the policy serves first
            positions = self.wip0[product] + np.interp(ts, self.grid, c.committed) + ahead + 1
            extra = positions - made
            out = self._made_by(product, ts, np.maximum(extra, 0.0))
            if self.scenario.products[product].bom:
                out = np.where(extra > EPS, np.maximum(out, self._parts_by(product, ts, positions)), out)
            done = np.maximum(out + c.flow_months, ts)
        lead = done - ts
        lead = np.where(lead > 0.0, lead, 0.0)  # (max(0.0, lead), as Python's)
        late = ~np.isfinite(done) | (done >= self.horizon - EPS)
        return [None if never else months for never, months in zip(late.tolist(), lead.tolist(), strict=True)]

    def _parts_by(self, product: str, ts: np.ndarray, positions: np.ndarray) -> np.ndarray:
        """``_parts_at`` at each of ``ts`` (ascending), on arrays."""
        ready = np.full(len(ts), -math.inf)
        for part, per_unit in self.scenario.products[product].bom.items():
            c = self.curves[part]
            stock = self.scenario.products[part].initial_stock_units
            need = per_unit * (positions - self.wip0[product])
            made = stock + self.wip0[part] + np.interp(ts, self.grid, c.output)
            have = first_crossing(c.delivered, c.delivered_times, need - stock)
            new = self._made_by(part, ts, np.maximum(need - made, 0.0)) + c.flow_months
            ready = np.maximum(ready, np.where(need <= made + EPS, have, new))
        return ready

    def _made_by(self, product: str, ts: np.ndarray, units: np.ndarray) -> np.ndarray:
        """When the lines known at each of ``ts`` (ascending; the lines in service and those
        decided before it) have made ``units`` more units from then (inf: never)."""
        grid = self.grid
        decisions = self.decisions[product]
        if not decisions:
            k = self.product_capacity[product]
            return first_crossing(k, grid, np.interp(ts, grid, k) + units)
        done = np.empty_like(ts)
        ends = [*np.searchsorted(ts, decisions, side="right").tolist(), len(ts)]
        begin = 0
        for n, end in enumerate(ends):  # ts[begin:end]: after n decisions, at or before the next
            if end > begin:
                k = self.known_capacity(product, n)[0]
                at = slice(begin, end)
                done[at] = first_crossing(k, grid, np.interp(ts[at], grid, k) + units[at])
                begin = end
        return done


def floored(w: Watch, count: UnitCount, c: ProductCurves, t: float, d: int) -> float:
    """The requirement's inventory at ``t``, the product's first ``d`` units delivered: from
    its level when last looked at, the units of its customers delivered since (each when the
    delivery curve reaches it) less consumption, never below 0 (the lowest the running sum
    falls to, just before a delivery or at ``t``, is taken back), as a run's state does."""
    t0, level, seen = w.level
    units = count.units_in(seen, d)
    used_t = w.consumption.consumed_between(t0, t)
    low = min(0.0, level + len(units) - used_t)
    if len(units):
        times = first_crossing(c.delivered, c.delivered_times, units + 1.0)
        used = consumed(w.consumption, np.full(len(times), t0), np.maximum(times - t0, 0.0))
        low = min(low, float((level + np.arange(len(units)) - used).min()))
    inventory = level + len(units) - used_t - low
    w.level = (t, inventory, d)
    return inventory
