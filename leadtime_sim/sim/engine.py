"""Wires a scenario into a SimPy model, runs it month by month and returns its records.

``run_kernel(scenario, seed)`` is pure: a validated scenario and a seed in, plain records
out; no file I/O, printing or plotting.
"""

from __future__ import annotations

import math
import time

import simpy

from leadtime_sim.dates import months_between
from leadtime_sim.plugins import NO_PLUGINS, Plugins
from leadtime_sim.scenario.checks import component_products
from leadtime_sim.scenario.schema import Scenario
from leadtime_sim.sim import demand
from leadtime_sim.sim.factory import Factory, Lot
from leadtime_sim.sim.policies import BUILTIN, Allocation
from leadtime_sim.sim.records import (
    DeliveryRecord,
    FactoryMonth,
    InvestmentRecord,
    KernelRecords,
    OrderRecord,
    ProductMonth,
    RequirementMonth,
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


class Model:
    """The state of one run and the operations processes perform on it."""

    def __init__(self, scenario: Scenario, seed: int, replication: int = 0,
                 plugins: Plugins = NO_PLUGINS, limits: Limits | None = None):
        self.scenario = scenario
        self.limits = limits or Limits()
        self.plugins = plugins
        self.env = simpy.Environment()
        self.streams = RandomStreams(seed, replication)
        self.horizon = months_between(scenario.start, scenario.end)
        self.budget = BudgetState(scenario.budget)
        self.orders: list[OrderState] = []
        self.deliveries: list[DeliveryRecord] = []
        self.investments: dict[str, InvestmentRecord] = {}
        self.on_order: dict[tuple[str, str], int] = {}
        self.lots_started = 0
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
        policy_class = BUILTIN.get(self.scenario.policy.allocation) or \
            self.plugins.policies[self.scenario.policy.allocation]
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
        order = OrderState(len(self.orders), order_id, customer, product, quantity, priority,
                           source, placed)
        self.orders.append(order)
        state = self.products[product]
        state.awaiting_funds += quantity
        key = (customer, product)
        self.on_order[key] = self.on_order.get(key, 0) + quantity
        cost = 0.0 if paid else quantity * self.scenario.products[product].unit_cost_musd
        self.budget.claim("orders", cost, lambda: self._enter(order))

    def _enter(self, order: OrderState) -> None:
        """The order is paid for: its units join the backlog."""
        state = self.products[order.product]
        order.entered_months = self.env.now
        order.uncommitted = order.quantity
        state.awaiting_funds -= order.quantity
        state.backlog += order.quantity
        state.ordered += order.quantity
        state.policy.add(order)
        for factory in state.factories:
            simple = factory.spec.disruptions is None and not state.bom
            factory.wake(order.quantity if simple else None)
        for component, _ in state.bom:
            component.wake_supply_chain()

    def commit(self, product: ProductState, units: int) -> Allocation:
        """Commit ``units`` backlog units to orders, in the order the policy gives."""
        allocation = [(o, n) for o, n in product.policy.take(units) if n]
        if sum(n for _, n in allocation) != units or any(n > o.uncommitted or n < 0
                                                         for o, n in allocation):
            raise SimulationError(f"allocation policy {product.policy.name!r} answered "
                                  f"{[(o.id, n) for o, n in allocation]} for {units} units")
        for order, n in allocation:
            order.uncommitted -= n
        product.backlog -= units
        return allocation

    def deliver(self, product: ProductState, lot: Lot) -> None:
        allocation = lot.allocation
        if self.scenario.policy.reassign_at_delivery:
            allocation = self._reassign(product, allocation)
        now = self.env.now
        for order, units in allocation:
            assert isinstance(order, OrderState)
            order.delivered += units
            if order.first_delivery_months is None:
                order.first_delivery_months = now
            if order.delivered == order.quantity:
                order.last_delivery_months = now
            key = (order.customer, order.product)
            self.on_order[key] -= units
            self.deliveries.append(DeliveryRecord(now, order.id, order.customer, order.product, units))
            for requirement in self.receivers.get(key, ()):
                requirement.receive(now, units)
        product.delivered += lot.units

    def _reassign(self, product: ProductState, allocation: Allocation) -> Allocation:
        """Let the policy move finished units; orders that lose units rejoin the backlog."""
        new = [(o, n) for o, n in product.policy.reassign(allocation) if n]
        if sum(n for _, n in new) != sum(n for _, n in allocation):
            raise SimulationError(f"policy {product.policy.name!r} changed the lot size at delivery")
        before = {o.index: o.uncommitted for o, _ in allocation + new}
        for order, n in allocation:
            order.uncommitted += n
        for order, n in new:
            order.uncommitted -= n
        for order, _ in allocation + new:
            if order.uncommitted < 0:
                raise SimulationError(f"policy {product.policy.name!r} over-allocated {order.id}")
            if before[order.index] == 0 < order.uncommitted:
                before[order.index] = order.uncommitted
                product.policy.add(order)
        return new

    # -- running -------------------------------------------------------------------
    def start(self) -> None:
        env = self.env
        for name, spec in self.scenario.factories.items():
            for _ in range(spec.lines):
                self.factories[name].add_line()
        demand.place_order_book(self)  # the backlog at start, before any line looks for work
        self._initial_wip()
        env.process(demand.explicit_orders(self))
        for index in range(len(self.scenario.order_streams)):
            env.process(demand.order_stream(self, index))
        for state in self.requirements.values():
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
                lot = Lot(size, self.commit(product, size))
                product.wip += size
                remaining = spec.flow_months.mean * (k + 1) / lots
                self.env.timeout(remaining).callbacks.append(
                    lambda _event, lot=lot, factory=factory: factory.finish(lot))

    def run(self) -> KernelRecords:
        self.start()
        monitor = Monitor(self)
        months = math.floor(self.horizon + 1e-9)
        deadline = time.monotonic() + self.limits.wall_seconds
        for month in range(months):
            self.env.run(until=month + 1)
            monitor.sample(month)
            if time.monotonic() > deadline:
                raise RunLimitExceeded(f"run exceeded its wall-time limit of "
                                       f"{self.limits.wall_seconds:g} s (at month {month + 1})")
        if self.horizon > months:
            self.env.run(until=self.horizon)
        return KernelRecords(
            months=months,
            products=tuple(monitor.products),
            factories=tuple(monitor.factories),
            requirements=tuple(monitor.requirements),
            orders=tuple(_order_record(o) for o in self.orders),
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
        self.delivered = {name: 0 for name in model.products}
        self.areas = {name: (0.0, 0.0, 0) for name in model.factories}

    def sample(self, month: int) -> None:
        model = self.model
        now = model.env.now
        by_product: dict[str, tuple[float, float, float, int]] = {}
        for name, factory in model.factories.items():
            factory._advance_areas()
            busy0, lines0, started0 = self.areas[name]
            busy, line_area = factory.busy_area - busy0, factory.line_area - lines0
            self.areas[name] = (factory.busy_area, factory.line_area, factory.started_units)
            capacity = factory.capacity_per_year(now)
            utilisation = busy / line_area if line_area > 0 else 0.0
            self.factories.append(FactoryMonth(month, name, factory.product.name, len(factory.lines),
                                               capacity, utilisation, factory.started_units - started0))
            cap, b, la, n = by_product.get(factory.product.name, (0.0, 0.0, 0.0, 0))
            by_product[factory.product.name] = (cap + capacity, b + busy, la + line_area,
                                                n + len(factory.lines))
        for name, p in model.products.items():
            cap, busy, line_area, lines = by_product.get(name, (0.0, 0.0, 0.0, 0))
            self.products.append(ProductMonth(
                month, name, p.ordered, p.backlog, p.wip, p.delivered - self.delivered[name],
                p.delivered, p.stock, p.awaiting_funds, cap, lines,
                busy / line_area if line_area > 0 else 0.0))
            self.delivered[name] = p.delivered
        for name, r in model.requirements.items():
            inventory, required = r.inventory(now), r.required(now)
            self.requirements.append(RequirementMonth(month, name, r.product, inventory, required,
                                                      max(0.0, required - inventory)))


def _order_record(order: OrderState) -> OrderRecord:
    entered = None if math.isnan(order.entered_months) else order.entered_months
    return OrderRecord(order.id, order.customer, order.product, order.quantity, order.priority,
                       order.source, order.placed_months, entered, order.delivered,
                       order.first_delivery_months, order.last_delivery_months)


def run_kernel(scenario: Scenario, seed: int, replication: int = 0,
               plugins: Plugins = NO_PLUGINS, limits: Limits | None = None) -> KernelRecords:
    """Simulate ``scenario`` once; the same arguments give the same records, bit for bit."""
    return Model(scenario, seed, replication, plugins, limits).run()
