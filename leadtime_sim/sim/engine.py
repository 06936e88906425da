"""Wires a scenario into a SimPy simulation, runs it month by month and returns its records.

``run_kernel(scenario, seed)`` is pure: a validated scenario and a seed in, plain records
out; no file I/O, printing or plotting. ``Run`` builds the parts of one run and hands each
the few others it uses; no part refers to the ``Run``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Generator, Sequence
from itertools import repeat
from operator import attrgetter
from typing import TYPE_CHECKING, Any

import simpy

from leadtime_sim.scenario.checks import component_products
from leadtime_sim.scenario.schema import Scenario
from leadtime_sim.sim import demand
from leadtime_sim.sim.clock import URGENT, Calendar, Clock
from leadtime_sim.sim.collector import fewer_collections, settle
from leadtime_sim.sim.consumption import ConsumptionSchedule
from leadtime_sim.sim.factory import Factory
from leadtime_sim.sim.monitor import Monitor
from leadtime_sim.sim.ordering import ORDERING_RULES
from leadtime_sim.sim.orders import OrderBook
from leadtime_sim.sim.outlets import outlet_of
from leadtime_sim.sim.policies import POLICIES
from leadtime_sim.sim.promise import FALLBACK, QuoteAsk, Quoter, quote_classes, quote_times
from leadtime_sim.sim.records import KernelRecords, OrderRecord, QuoteRecord, RequirementOutcome, new_record
from leadtime_sim.sim.state import (
    BudgetState,
    Limits,
    OrderState,
    ProductState,
    RequirementState,
    RunGuard,
)
from leadtime_sim.sim.streams import RandomStreams

if TYPE_CHECKING:
    from leadtime_sim.plugins import Plugins


class Run:
    """One run of a scenario: its parts, the processes that drive them, and its records."""

    def __init__(self, scenario: Scenario, seed: int, replication: int = 0,
                 plugins: Plugins | None = None, limits: Limits | None = None,
                 asks: Sequence[QuoteAsk] = (), after_book: Collection[str] = ()):
        self.scenario = scenario
        self.asks = asks
        """Quotes asked for besides the run's own (``quote_times``)."""
        self.after_book = frozenset(after_book)
        """Ids of listed orders placed at start that join after the book (``demand``)."""
        self.limits = limits or Limits()
        self.policies = plugins.all_policies if plugins else POLICIES
        self.ordering_rules = plugins.all_ordering_rules if plugins else ORDERING_RULES
        self.env = env = Clock()
        self.calendar = Calendar.of(scenario.start, scenario.end)
        self.guard = guard = RunGuard(self.limits, env)
        self.streams = RandomStreams(seed, replication)
        self.budget = BudgetState(scenario.all_budgets)
        self.products = self._products()
        self.requirements = {
            name: RequirementState(name, spec, scenario.start,
                                   ConsumptionSchedule.of(name, spec, scenario.start, self.streams))
            for name, spec in scenario.requirements.items()}
        self.book = OrderBook(env, guard, self.products,
                              {name: spec.unit_cost_musd for name, spec in scenario.products.items()},
                              self.budget, self.requirements.values(),
                              scenario.policy.reassign_at_delivery)
        self.factories: dict[str, Factory] = {}
        for name, spec in scenario.factories.items():
            product = self.products[spec.product]
            factory = Factory(name, spec, product, outlet_of(product, self.book), env, self.streams, guard)
            self.factories[name] = factory
            product.factories.append(factory)
        self.quoter = Quoter(self.products, scenario.policy.reassign_at_delivery, self.calendar.horizon)
        self.classes = quote_classes(scenario)
        """Per end product, the priority classes it is quoted for at start; the least urgent
        class of the scenario is quoted at the other quote times and each month end."""
        self.quotes: list[QuoteRecord] = []
        self.investments = demand.InvestmentLog()
        self.processes: list[Generator[Any, Any, Any]] = []
        """The generators of the processes started (closed by ``close``)."""

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

    def close(self) -> None:
        """Break the run's reference cycles, so that reference counting frees it as soon as
        it is dropped.

        Pending events refer to the parts, which refer to the clock; lines and factories,
        products and their factories and components, waiting budget claims and the order
        book refer to one another; a process waiting at the end holds what its generator
        holds. ``settle`` froze all of it at each month end, so without this the collector
        would free a run only in a full pass, which may not come for thousands of runs.
        Measured: 200 runs of the default scenario in a row, in one ``fewer_collections``
        block as a sweep does, peak at 54-55 MiB RSS with this and 499 MiB without (53 MiB
        after the first run), and take no longer (17.5-19.2 s against 19.2-22.1 s).
        """
        self.env.close()
        for process in self.processes:
            process.close()
        for factory in self.factories.values():
            factory.close()
        for product in self.products.values():  # (a plugin policy's own state is its own)
            product.close()
        self.budget.close()
        self.book.close()

    def _process(self, generator: Generator[Any, Any, Any]) -> None:
        self.processes.append(generator)
        self.env.process(generator)

    def start(self) -> None:
        """Give factories their lines, place the order book and start demand."""
        env, calendar, book, scenario = self.env, self.calendar, self.book, self.scenario
        for factory in self.factories.values():
            for _ in range(factory.spec.lines):
                factory.add_line()
        demand.place_order_book(scenario.orders, calendar, book, self.after_book)  # before lines look
        for factory in self.factories.values():
            factory.fill_flow()
        self._process(demand.explicit_orders(env, scenario.orders, calendar, book, self.after_book))
        for index, stream in enumerate(scenario.order_streams):
            demand.OrderStream(env, stream, scenario.stream_name(index), calendar, self.streams, book)
        for state in self.requirements.values():
            for t in [*state.times, *state.consumption.breaks]:  # between month ends (YYYY-MM-DD)
                if 0 < t < calendar.horizon and not float(t).is_integer():
                    env.call_later(t, _call(state.observe, t))
            if state.spec.ordering is not None:
                rule = self.ordering_rules[state.spec.ordering.rule]
                members = [self.requirements[m] for m in state.spec.ordering.defers_to]
                self._process(demand.reviews(env, state, rule, calendar, book,
                                             self._review_lead_time, members))
        for name, spec in scenario.investments.items():
            self._process(demand.investment(env, name, spec, calendar, self.budget, self.streams,
                                            self.factories[spec.factory], self.investments))
        if self.budget.active:
            self._process(demand.budget_years(env, self.budget, calendar))
        self._ask_quotes()

    def _ask_quotes(self) -> None:
        """Quote at start for every class of each end product; at each quote time for the
        least urgent class (unless a month end, whose sample quotes it); and the quotes asked
        for.

        At start the quote comes after the processes started (investments funded at start
        are planned) and before the lines take their first lots: an order placed at start
        competes for them with the order book, by policy."""
        lowest = self.classes.lowest
        asks = [QuoteAsk(0.0, name, 1, k) for name, classes in self.classes.by_product.items()
                for k in classes]
        ends = math.floor(self.calendar.horizon + 1e-9)  # (month ends quote anyway: ProductMonth)
        asks += [QuoteAsk(t, name, 1, lowest) for t in quote_times(self.scenario).values()
                 if t > 0 and not (float(t).is_integer() and t <= ends) for name in self.classes.by_product]
        asks += list(self.asks)
        horizon = self.calendar.horizon
        for ask in sorted(asks, key=lambda a: a.at_months):
            if ask.at_months < horizon:
                self.env.call_later(max(0.0, ask.at_months), _call(self._quote, ask), URGENT)

    def _review_lead_time(self, product: str, priority: int, customer: str) -> float | None:
        """The lead time a requirement's review is quoted for a new order now (None: not by end).
        The quoter's projection is dropped before and after: one kept from a quote earlier at
        this instant may predate lots started since, and the review's order changes it."""
        self.quoter.forget()
        lead = self.quoter.lead_time(self.products[product], float(self.env.now), 1, priority, customer)
        self.quoter.forget()
        return lead

    def _quote(self, ask: QuoteAsk) -> None:
        product = self.products[ask.product]
        now = float(self.env.now)
        lead = self.quoter.lead_time(product, now, ask.quantity, ask.priority, ask.customer)
        basis = FALLBACK if ask.product in self.quoter.fallback else "policy"
        self.quotes.append(QuoteRecord(now, ask.product, ask.quantity, ask.priority, ask.customer,
                                       lead, basis))

    def run(self) -> KernelRecords:
        """Simulate to the horizon, sampling each month end; the records."""
        self.start()
        monitor = Monitor(self.env, self.factories, self.products, self.requirements, self.quoter,
                          self.classes.lowest)
        horizon = self.calendar.horizon
        months = math.floor(horizon + 1e-9)
        month_ends = MonthEnds(self.env, monitor, self.guard, months)
        month_ends.schedule()
        self.env.run(until=months)  # stops before events at exactly the last month's end
        if months:
            month_ends.month_end()
        if horizon > months:  # a horizon inside a month: its rows are the state at the horizon
            self.env.run(until=horizon)
            monitor.sample(months)
        return KernelRecords(
            months=months,
            products=tuple(monitor.products),
            factories=tuple(monitor.factories),
            requirements=tuple(monitor.requirements),
            outcomes=tuple(RequirementOutcome(name, r.closed_at, r.max_gap)
                           for name, r in self.requirements.items()),
            orders=_order_records(self.book.orders),
            deliveries=tuple(self.book.deliveries),
            investments=self.investments.records(),
            lots_started=self.guard.lots_started,
            quotes=tuple(self.quotes),
        )


class MonthEnds:
    """At each month end: sample, check the wall-time limit, let the collector leave alone
    what lived through the month, and come back at the next month's end.

    URGENT, as SimPy's own ``run(until=...)``: events at exactly a month's end fall in the
    next month, whenever they were scheduled. One call a month to each of ``sample``,
    ``check_deadline`` and ``settle``: a call more a month costs about 0.2% of the M/M/c
    benchmark's machine instructions (8,640 months)."""

    def __init__(self, env: Clock, monitor: Monitor, guard: RunGuard, months: int):
        self.env = env
        self.monitor = monitor
        self.guard = guard
        self.months = months
        self.month = 0

    def schedule(self) -> None:
        """Come at the end of each month but the last (which ``Run.run`` calls itself)."""
        if self.months > 1:
            self.env.call_later(1.0, self.month_end, URGENT)

    def month_end(self, _event: object = None) -> None:
        self.monitor.sample(self.month)
        self.guard.check_deadline()
        settle()  # what lived through the month is mostly records: no GC pass walks it again
        self.month += 1
        if self.month + 1 < self.months:
            self.env.call_later(1.0, self.month_end, URGENT)


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
               plugins: Plugins | None = None, limits: Limits | None = None,
               asks: Sequence[QuoteAsk] = (), after_book: Collection[str] = ()) -> KernelRecords:
    """Simulate ``scenario`` once; the same arguments give the same records, bit for bit.
    ``asks``: quotes to give besides the run's own (they do not change the run);
    ``after_book``: ids of listed orders placed at start that join after the order book and
    its work in progress (a what-if order), not as part of it."""
    with fewer_collections():
        run = Run(scenario, seed, replication, plugins, limits, asks, after_book)
        try:
            return run.run()
        finally:
            run.close()


def _call(function: Callable[[Any], object], argument: Any) -> Callable[[simpy.Event], None]:
    """An event callback that calls ``function(argument)``."""
    def callback(_event: simpy.Event) -> None:
        function(argument)
    return callback
