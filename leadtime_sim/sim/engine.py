"""Wires a scenario into a SimPy model, runs it month by month and returns its records.

``run_kernel(scenario, seed)`` is pure: a validated scenario and a seed in, plain records
out; no file I/O, printing or plotting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import simpy

from leadtime_sim.dates import months_between
from leadtime_sim.scenario.checks import component_products
from leadtime_sim.scenario.schema import Scenario
from leadtime_sim.sim import demand
from leadtime_sim.sim.clock import URGENT, Clock
from leadtime_sim.sim.collector import fewer_collections, settle
from leadtime_sim.sim.factory import Factory, Lot
from leadtime_sim.sim.ordering import ORDERING_RULES
from leadtime_sim.sim.policies import POLICIES, Allocation, OrderView
from leadtime_sim.sim.records import (
    DeliveryRecord,
    FactoryMonth,
    InvestmentRecord,
    KernelRecords,
    OrderRecord,
    ProductMonth,
    RequirementMonth,
    RequirementOutcome,
    new_record,
)
from leadtime_sim.sim.state import (
    BudgetState,
    Limits,
    OrderState,
    ProductState,
    RequirementState,
    RunLimitExceeded,
    SimulationError,
)
from leadtime_sim.sim.streams import RandomStreams

if TYPE_CHECKING:
    from leadtime_sim.plugins import Plugins


class Model:
    """The state of one run and the operations processes perform on it."""

    def __init__(self, scenario: Scenario, seed: int, replication: int = 0,
                 plugins: Plugins | None = None, limits: Limits | None = None):
        self.scenario = scenario
        self.limits = limits or Limits()
        self.policies = plugins.all_policies if plugins else POLICIES
        self.ordering_rules = plugins.all_ordering_rules if plugins else ORDERING_RULES
        self.env = Clock()
        self.streams = RandomStreams(seed, replication)
        self.horizon = months_between(scenario.start, scenario.end)
        self.budget = BudgetState(scenario.budget)
        self.orders: list[OrderState] = []
        self.deliveries: list[DeliveryRecord] = []
        self.investments: dict[str, InvestmentRecord] = {}
        self.on_order: dict[tuple[str, str], int] = {}
        self.lots_started = 0
        self.lots_committed = 0
        self.lots_of: dict[int, dict[Lot, None]] = {}
        """Per order, the lots in progress that may hold its units (when reassigning)."""
        self.reassigning = scenario.policy.reassign_at_delivery
        self.deadline = time.monotonic() + self.limits.wall_seconds
        self.products = self._products()
        self.factories = {name: Factory(name, spec, self.products[spec.product], self)
                          for name, spec in scenario.factories.items()}
        for factory in self.factories.values():
            factory.product.factories.append(factory)
        self.requirements = {name: RequirementState(name, spec, scenario.start)
                             for name, spec in scenario.requirements.items()}
        self.receivers: dict[tuple[str, str], list[RequirementState]] = {}
        for state in self.requirements.values():
            for customer in state.spec.customer_names:
                self.receivers.setdefault((customer, state.product), []).append(state)

    def months(self, date: str) -> float:
        return months_between(self.scenario.start, date)

    def _products(self) -> dict[str, ProductState]:
        components = component_products(self.scenario)
        policy_class = self.policies[self.scenario.policy.allocation]
        products = {
            name: ProductState(name, policy_class(), name in components, spec.stock_target_units,
                               stock=spec.initial_stock_units)
            for name, spec in self.scenario.products.items()
        }
        for name, spec in self.scenario.products.items():
            for component, per_unit in spec.bom.items():
                products[name].bom.append((products[component], per_unit))
                products[component].parents.append((products[name], per_unit))
        return products

    # -- orders --------------------------------------------------------------------
    def place_order(self, customer: str, product: str, quantity: int, priority: int,
                    source: str, placed: float, order_id: str, paid: bool = False) -> None:
        index = len(self.orders)
        if not index & 4095:
            self.check_deadline()
        order = OrderState(index, order_id, customer, product, quantity, priority, source, placed,
                           (customer, product))
        self.orders.append(order)
        state = self.products[product]
        state.awaiting_funds += quantity
        self.on_order[order.key] = self.on_order.get(order.key, 0) + quantity
        if self.budget.spec is None or paid:
            self._enter(order)
        else:
            cost = quantity * self.scenario.products[product].unit_cost_musd
            self.budget.claim("orders", cost, lambda: self._enter(order))

    def _enter(self, order: OrderState) -> None:
        """The order is paid for: its units join the backlog."""
        state = self.products[order.product]
        order.entered_months = float(self.env.now)
        order.uncommitted = order.quantity
        state.awaiting_funds -= order.quantity
        state.backlog += order.quantity
        state.ordered += order.quantity
        state.policy.add(order)
        if self.reassigning:
            state.open_orders[order.index] = order
        for factory in state.factories:
            factory.wake()
        for component, _ in state.bom:
            component.wake_supply_chain()

    def commit(self, product: ProductState, units: int, lot: Lot) -> Allocation:
        """Commit ``units`` backlog units of a new lot to orders, in the policy's order."""
        allocation = product.policy.take(units)
        if len(allocation) == 1:  # one order fills the lot (the common case): nothing to merge
            order, n = allocation[0]
            if n != units or n > order.uncommitted:
                raise SimulationError(f"allocation policy {product.policy.name!r} answered "
                                      f"{[(order.id, n)]} for {units} units")
            order.uncommitted -= n
        else:
            allocation = _merged(allocation)
            if sum(n for _, n in allocation) != units or any(n > o.uncommitted or n < 0
                                                             for o, n in allocation):
                raise SimulationError(f"allocation policy {product.policy.name!r} answered "
                                      f"{[(o.id, n) for o, n in allocation]} for {units} units")
            for order, n in allocation:
                order.uncommitted -= n
        product.backlog -= units
        if self.reassigning:
            product.lots[lot] = None
            lot.seq = self.lots_committed
            self.lots_committed += 1
            for order, _ in allocation:
                self.lots_of.setdefault(order.index, {})[lot] = None
        return allocation

    def deliver(self, product: ProductState, lot: Lot) -> None:
        if self.reassigning:
            del product.lots[lot]
            for order, _ in lot.allocation:
                self.lots_of[order.index].pop(lot, None)
            lot.allocation = self._reassign(product, lot)
        now = self.env.now
        for order, units in lot.allocation:
            assert isinstance(order, OrderState)
            order.delivered += units
            if order.first_delivery_months is None:
                order.first_delivery_months = now
            if order.delivered == order.quantity:
                order.last_delivery_months = now
                if self.reassigning:
                    product.open_orders.pop(order.index, None)
            self.on_order[order.key] -= units
            self.deliveries.append(new_record(DeliveryRecord, (now, order.id, order.customer, order.product,
                                                                units)))
            for requirement in self.receivers.get(order.key, ()):
                requirement.receive(now, units)
        product.delivered += lot.units

    def _reassign(self, product: ProductState, lot: Lot) -> Allocation:
        """Let the policy give the finished units to other open orders.

        An order that gains units gives up as many of its own: uncommitted ones first, then
        its commitments in the lots started last, which pass to the orders that lost units
        (any loss left over returns to the backlog). Units in each state are conserved.
        """
        old = lot.allocation
        new = [(o, n) for o, n in product.policy.reassign(old, product.open_orders.values()) if n]
        if new == old:  # the units go where they were meant to (the usual case)
            return _merged(new)
        change: dict[int, int] = {}
        orders = {o.index: o for o, _ in old + new}
        for order, n in new:
            change[order.index] = change.get(order.index, 0) + n
        for order, n in old:
            change[order.index] = change.get(order.index, 0) - n
        if sum(change.values()) != 0 or any(n < 0 for _, n in new) or any(
                orders[i].quantity - orders[i].delivered < sum(n for o, n in new if o.index == i)
                for i in change):
            raise SimulationError(f"policy {product.policy.name!r} reassigned {[(o.id, n) for o, n in new]} "
                                  f"for a lot of {lot.units} units")
        freed: list[tuple[Lot, int]] = []
        for index, gain in change.items():
            if gain > 0:
                freed += self._release(product, orders[index], gain, lot)
        for index, loss in change.items():
            loser = orders[index]
            loss = -loss
            while loss > 0 and freed:
                other, k = freed.pop()
                m = min(k, loss)
                other.allocation.append((loser, m))
                self.lots_of.setdefault(loser.index, {})[other] = None
                if k > m:
                    freed.append((other, k - m))
                loss -= m
            if loss > 0:
                loser.uncommitted += loss
                product.backlog += loss
                if loser.uncommitted == loss:
                    product.policy.add(loser)
        return _merged(new)

    def _release(self, product: ProductState, order: OrderView, units: int,
                 delivering: Lot) -> list[tuple[Lot, int]]:
        """Free ``units`` of ``order``'s other claims: uncommitted first, then latest lots."""
        take = min(units, order.uncommitted)
        order.uncommitted -= take
        product.backlog -= take
        units -= take
        freed: list[tuple[Lot, int]] = []
        mine_maybe = self.lots_of.get(order.index, {})
        # The lots started last (due last, near enough), among those with units of the order.
        for other in sorted(mine_maybe, key=attrgetter("seq"), reverse=True):
            if units == 0:
                break
            if other not in product.lots:  # delivered since
                del mine_maybe[other]
                continue
            mine = sum(n for o, n in other.allocation if o is order)
            k = min(units, mine)
            if k:
                other.allocation = _merged([*other.allocation, (order, -k)])
                freed.append((other, k))
                units -= k
        if units:
            raise SimulationError(f"reassigned more units to {order.id} than it has open")
        return freed


    # -- running -------------------------------------------------------------------
    def check_deadline(self) -> None:
        """Stop a run past its wall-time limit (checked at month ends and every 4,096 orders)."""
        if time.monotonic() > self.deadline:
            raise RunLimitExceeded(f"run exceeded its wall-time limit of {self.limits.wall_seconds:g} s "
                                   f"(at month {int(self.env.now)})")

    def dismantle(self) -> None:
        """Drop the run's references between its parts, so that reference counting frees
        them now: the model, its factories, lines and pending events refer to one another,
        and ``settle`` has frozen them, so the collector would free them only in a full
        pass, which may not come for thousands of runs."""
        self.env._queue.clear()
        parts: list[object] = list(self.products.values())  # (not what plugins may keep: reviews)
        for factory in self.factories.values():
            parts += [factory, *factory.lines]
        for part in parts:
            vars(part).clear()
        vars(self).clear()

    def start(self) -> None:
        env = self.env
        for factory in self.factories.values():
            for _ in range(factory.spec.lines):
                factory.add_line()
        demand.place_order_book(self)  # the backlog at start, before any line looks for work
        self._initial_wip()
        env.process(demand.explicit_orders(self))
        for index in range(len(self.scenario.order_streams)):
            demand.OrderStream(self, index)
        for state in self.requirements.values():
            for t in state.times:  # required points between month ends (YYYY-MM-DD dates)
                if 0 < t < self.horizon and not float(t).is_integer():
                    env.call_later(t, _call(state.observe, t))
            if state.spec.ordering is not None:
                env.process(demand.reviews(self, state))
        for name, spec in self.scenario.investments.items():
            env.process(demand.investment(self, name, spec))
        if self.scenario.budget is not None:
            env.process(demand.budget_years(self))

    def _initial_wip(self) -> None:
        """Fill each factory's downstream flow with its initial work in progress."""
        for factory in self.factories.values():
            product, spec = factory.product, factory.spec
            units = min(spec.initial_wip_units, product.backlog)
            lots = math.ceil(units / spec.lot_size)
            for k in range(lots):
                size = min(spec.lot_size, units - k * spec.lot_size)
                lot = Lot(size, [], due=spec.flow_months.mean * (k + 0.5) / lots)
                lot.allocation = self.commit(product, size, lot)
                product.wip += size
                self.env.call_later(lot.due, _call(factory.finish, lot))

    def run(self) -> KernelRecords:
        self.start()
        monitor = Monitor(self)
        months = math.floor(self.horizon + 1e-9)
        if months > 1:
            monitor.schedule(months)
        self.env.run(until=months)  # stops before events at exactly the last month's end
        if months:
            monitor.month_end()
        if self.horizon > months:
            self.env.run(until=self.horizon)
        return KernelRecords(
            months=months,
            products=tuple(monitor.products),
            factories=tuple(monitor.factories),
            requirements=tuple(monitor.requirements),
            outcomes=tuple(RequirementOutcome(name, r.closed_at, r.max_gap)
                           for name, r in self.requirements.items()),
            orders=_order_records(self.orders),
            deliveries=tuple(self.deliveries),
            investments=tuple(self.investments.values()),
            lots_started=self.lots_started,
        )


class Monitor:
    """Samples the model at each month end (events at the boundary fall in the next month)."""

    def __init__(self, model: Model):
        self.model = model
        self.products: list[ProductMonth] = []
        self.factories: list[FactoryMonth] = []
        self.requirements: list[RequirementMonth] = []
        self.month = 0
        self.months = 0
        self.delivered = {name: 0 for name in model.products}
        self.factory_list = list(model.factories.items())
        self.previous = [(0.0, 0.0, 0)] * len(self.factory_list)
        """Busy area, line area and units started at the last sample, per factory."""
        self.made_by = {name: [k for k, (_, f) in enumerate(self.factory_list) if f.product.name == name]
                        for name in model.products}

    def schedule(self, months: int) -> None:
        """Sample at the end of each month but the last (which ``Model.run`` samples)."""
        self.months = months
        self.model.env.call_later(1.0, self.month_end, URGENT)

    def month_end(self, _event: object = None) -> None:
        """Sample this month, check the wall-time limit, and come back at the next month's
        end (URGENT, as SimPy's own ``run(until=...)``: events at exactly a month's end fall
        in the next month, whenever they were scheduled)."""
        self.sample(self.month)
        self.model.check_deadline()
        settle()  # what lived through the month is mostly records: no GC pass walks it again
        self.month += 1
        if self.month + 1 < self.months:
            self.model.env.call_later(1.0, self.month_end, URGENT)

    def sample(self, month: int) -> None:
        model = self.model
        now = model.env.now
        sampled = []
        for k, (name, factory) in enumerate(self.factory_list):
            factory._advance_areas()
            busy_area, line_area, started = factory.busy_area, factory.line_area, factory.started_units
            busy0, line_area0, started0 = self.previous[k]
            self.previous[k] = (busy_area, line_area, started)
            busy, line_area = busy_area - busy0, line_area - line_area0
            capacity = factory.capacity_per_year(now)
            lines = len(factory.lines)
            self.factories.append(new_record(FactoryMonth, (
                month, name, factory.product.name, lines, capacity,
                busy / line_area if line_area > 0 else 0.0, started - started0)))
            sampled.append((capacity, busy, line_area, lines))
        for name, p in model.products.items():
            capacity = busy = line_area = 0.0
            lines = 0
            for k in self.made_by[name]:
                c, b, a, n = sampled[k]
                capacity, busy, line_area, lines = capacity + c, busy + b, line_area + a, lines + n
            self.products.append(new_record(ProductMonth, (
                month, name, p.ordered, p.backlog, p.wip, p.delivered - self.delivered[name],
                p.delivered, p.stock, p.awaiting_funds, capacity, lines,
                busy / line_area if line_area > 0 else 0.0)))
            self.delivered[name] = p.delivered
        for name, r in model.requirements.items():
            gap = r.observe(now)
            self.requirements.append(RequirementMonth(month, name, r.product, r.level, r.required(now),
                                                      gap, r.peak_gap))
            r.peak_gap = 0.0


_ORDER_FIELDS = attrgetter("id", "customer", "product", "quantity", "priority", "source",
                           "placed_months", "entered_months", "delivered", "first_delivery_months",
                           "last_delivery_months")
"""An order's state in the order of ``OrderRecord``'s fields (one C call per order)."""


def _order_records(orders: list[OrderState]) -> tuple[OrderRecord, ...]:
    """The orders as records (``entered_months`` NaN, never entered, becomes None)."""
    records = list(map(new_record, repeat(OrderRecord), map(_ORDER_FIELDS, orders)))
    for k, order in enumerate(orders):
        if order.entered_months != order.entered_months:  # NaN: still waiting for money
            records[k] = records[k]._replace(entered_months=None)
    return tuple(records)


def run_kernel(scenario: Scenario, seed: int, replication: int = 0,
               plugins: Plugins | None = None, limits: Limits | None = None) -> KernelRecords:
    """Simulate ``scenario`` once; the same arguments give the same records, bit for bit."""
    with fewer_collections():
        model = Model(scenario, seed, replication, plugins, limits)
        try:
            return model.run()
        finally:
            model.dismantle()


def _merged(allocation: Allocation) -> Allocation:
    """Sum units per order, dropping orders left with none."""
    totals: dict[int, int] = {}
    orders = {}
    for order, n in allocation:
        totals[order.index] = totals.get(order.index, 0) + n
        orders[order.index] = order
    return [(orders[i], n) for i, n in totals.items() if n]


def _call(function: Callable[[Any], object], argument: Any) -> Callable[[simpy.Event], None]:
    """An event callback that calls ``function(argument)``."""
    def callback(_event: simpy.Event) -> None:
        function(argument)
    return callback
