"""Where orders and capacity come from: the order book, order streams, requirement-driven
reviews, capacity investments and the yearly budget. Each is a SimPy process (or, for
order streams, a chain of calls), given just the parts of the run it uses."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from typing import TYPE_CHECKING

from leadtime_sim.dates import parse_date
from leadtime_sim.distributions import Constant, Exponential
from leadtime_sim.scenario.schema import Investment, Order
from leadtime_sim.scenario.schema import OrderStream as OrderStreamSpec
from leadtime_sim.sim.clock import Calendar, Clock
from leadtime_sim.sim.factory import Factory
from leadtime_sim.sim.ordering import OrderingRule, Review, ordered_units, still_to_order
from leadtime_sim.sim.orders import OrderBook
from leadtime_sim.sim.records import InvestmentRecord
from leadtime_sim.sim.state import BudgetState, RequirementState
from leadtime_sim.sim.streams import RandomStreams

if TYPE_CHECKING:
    import simpy


def _dated_orders(orders: Sequence[Order], calendar: Calendar, book: bool,
                  after_book: Collection[str] = ()) -> list[tuple[int, float]]:
    """(index, placed months) of the listed orders in or after the book, by date; the
    orders of ``after_book`` (ids) are after it even if placed at start."""
    dated = [(i, calendar.months(o.placed)) for i, o in enumerate(orders)]
    return sorted(((i, t) for i, t in dated if (t <= 0 and orders[i].id not in after_book) == book),
                  key=lambda item: item[1])


def place_order_book(orders: Sequence[Order], calendar: Calendar, book: OrderBook,
                     after_book: Collection[str] = ()) -> None:
    """Orders placed by the start: the backlog at start (already paid for), which the initial
    work in progress is committed to; ``after_book``: ids of orders placed at start but after
    it (a what-if order: it finds the work in progress taken)."""
    for index, placed in _dated_orders(orders, calendar, True, after_book):
        spec = orders[index]
        book.place_order(spec.customer, spec.product, spec.quantity, spec.priority, "book",
                         placed, spec.id or f"order-{index}", paid=True)


def explicit_orders(env: Clock, orders: Sequence[Order], calendar: Calendar,
                    book: OrderBook, after_book: Collection[str] = ()) -> simpy.events.ProcessGenerator:
    """Orders listed in the scenario with a date after start (or in ``after_book``), placed
    on their date."""
    for index, placed in _dated_orders(orders, calendar, False, after_book):
        spec = orders[index]
        if placed > env.now:  # (orders of one instant are placed together: idle lines, woken
            yield env.timeout(placed - env.now)  # after the instant's events, serve them by policy)
        book.place_order(spec.customer, spec.product, spec.quantity, spec.priority,
                         "explicit", placed, spec.id or f"order-{index}")


class OrderStream:
    """Poisson orders at the stream's rate between its ``from`` and ``until`` dates.

    Driven by timeout callbacks rather than a process: an order costs one event.
    """

    def __init__(self, env: Clock, spec: OrderStreamSpec, name: str, calendar: Calendar,
                 streams: RandomStreams, book: OrderBook):
        self.env, self.spec, self.name, self.book = env, spec, name, book
        self.until = calendar.months(spec.until) if spec.until else calendar.horizon
        self.t = calendar.months(spec.from_) if spec.from_ else 0.0
        self.count = 0
        if spec.rate_per_year > 0:
            mean_gap = Exponential(dist="exponential", mean=12 / spec.rate_per_year)
            self.gaps = streams.draws(f"order_stream.{name}.arrivals", mean_gap)
            self.sizes = streams.draws(f"order_stream.{name}.quantity", spec.quantity)
            self.fixed_units = _units(spec.quantity.value) if isinstance(spec.quantity, Constant) else 0
            """Every order's units when the quantity is a constant (0: draw them)."""
            self._schedule_next()

    def _schedule_next(self) -> None:
        self.t += next(self.gaps)
        if self.t < self.until:
            self.env.call_later(self.t - self.env.now, self._arrive)

    def _arrive(self, _event: object) -> None:
        spec = self.spec
        units = self.fixed_units or _units(next(self.sizes))
        self.book.place_order(spec.customer, spec.product, units, spec.priority, "stream", self.t,
                              f"{self.name}-{self.count}")
        self.count += 1
        self._schedule_next()


def _units(drawn: float) -> int:
    """A drawn order quantity as whole units (at least one)."""
    return max(1, min(round(drawn), 1_000_000_000))


LeadTime = Callable[[str, int, str], "float | None"]
"""(product, priority, customer) -> the lead time quoted now to a new order (None: not by end)."""


def reviews(env: Clock, state: RequirementState, rule: OrderingRule, calendar: Calendar,
            book: OrderBook, lead_time: LeadTime, members: Sequence[RequirementState] = ()
            ) -> simpy.events.ProcessGenerator:
    """Requirement-driven ordering: at each review, order what the rule says. On order: the
    units every customer of the requirement has ordered and not yet received; ``members``:
    the states of the requirements it defers to (``ordering.defers_to``)."""
    spec = state.spec
    ordering = spec.ordering
    assert ordering is not None
    customer = spec.ordering_customer
    keys = [(c, spec.product) for c in spec.customer_names]
    t = calendar.months(ordering.first_review) if ordering.first_review else 0.0
    until = calendar.months(ordering.until) if ordering.until else calendar.horizon
    count = 0
    while t < until:
        yield env.timeout(t - env.now)
        if ordering.lookahead_months == "lead_time":
            quoted = lead_time(spec.product, ordering.priority, customer)
            lookahead = calendar.horizon - t if quoted is None else quoted
        else:
            lookahead = ordering.lookahead_months
        deferred = sum(still_to_order(m.required(t + lookahead), m.consumption.consumed_over(t, lookahead),
                                      m.inventory(t), sum(book.on_order.get((c, m.product), 0)
                                                          for c in m.spec.customer_names))
                       for m in members)
        review = Review(t, state.name, spec, state.inventory(t), sum(book.on_order.get(k, 0) for k in keys),
                        state.required, state.consumption, lookahead, deferred)
        units = ordered_units(rule, review)
        if units > 0:
            book.place_order(customer, spec.product, units, ordering.priority, "requirement",
                             t, f"{state.name}-{count}")
            count += 1
        t += ordering.review_every_months


class InvestmentLog:
    """The latest record of each investment, in the order they were first noted."""

    def __init__(self) -> None:
        self.latest: dict[str, InvestmentRecord] = {}

    def note(self, record: InvestmentRecord) -> None:
        self.latest[record.name] = record

    def records(self) -> tuple[InvestmentRecord, ...]:
        return tuple(self.latest.values())


def investment(env: Clock, name: str, spec: Investment, calendar: Calendar, budget: BudgetState,
               streams: RandomStreams, factory: Factory,
               log: InvestmentLog) -> simpy.events.ProcessGenerator:
    """Decide, pay (budget permitting), build, then commission ramping lines."""
    decided = calendar.months(spec.decided)
    funded: float | None = None
    commissioned: float | None = None

    def record() -> None:
        capex = spec.total_capex_musd if funded is not None else 0.0
        log.note(InvestmentRecord(name, spec.factory, spec.lines_added, decided, funded,
                                  commissioned, capex))

    record()
    if spec.lines_added == 0:
        return
    if decided > env.now:
        yield env.timeout(decided - env.now)
    paid = env.event()
    start_at = 0.0

    def pay() -> None:
        """Funded: the lines are planned at once (quotes count them from now), then built."""
        nonlocal funded, start_at
        funded = decided if decided <= 0 and env.now == 0 else env.now
        slip = next(streams.draws(f"investment.{name}.slip", spec.slip_months))
        start_at = funded + spec.construction_months + slip
        # At now too, and before start (decided and built before it, in service at start): a
        # quote or review at this instant comes before the commissioning.
        if start_at >= env.now or funded < env.now:
            factory.plan_lines(start_at, spec.lines_added, spec.ramp_months, spec.ramp_start_fraction)
        paid.succeed()

    budget.claim("investments", spec.total_capex_musd, pay)
    yield paid
    record()
    if start_at > env.now:
        yield env.timeout(start_at - env.now)
    commissioned = start_at
    record()
    factory.commission(start_at, spec.lines_added, spec.ramp_months, spec.ramp_start_fraction)


def budget_years(env: Clock, budget: BudgetState, calendar: Calendar) -> simpy.events.ProcessGenerator:
    """A year's money at start and then every January (on its first day, whatever the start's)."""
    year = parse_date(calendar.start)[0]
    budget.top_up()
    t = calendar.months(f"{year + 1:04d}-01")
    while t < calendar.horizon:
        yield env.timeout(t - env.now)
        budget.top_up()
        t += 12
