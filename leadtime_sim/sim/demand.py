"""Where orders and capacity come from: the order book, order streams, requirement-driven
reviews, capacity investments and the yearly budget. Each is a SimPy process."""

from __future__ import annotations

from typing import TYPE_CHECKING

from leadtime_sim.dates import parse_date
from leadtime_sim.distributions import Constant, Exponential
from leadtime_sim.scenario.schema import Investment
from leadtime_sim.sim.ordering import Review
from leadtime_sim.sim.records import InvestmentRecord
from leadtime_sim.sim.state import RequirementState

if TYPE_CHECKING:
    import simpy

    from leadtime_sim.sim.engine import Model


def _dated_orders(model: Model, book: bool) -> list[tuple[int, float]]:
    """(index, placed months) of the listed orders in or after the book, by date."""
    dated = [(i, model.months(o.placed)) for i, o in enumerate(model.scenario.orders)]
    return sorted(((i, t) for i, t in dated if (t <= 0) == book), key=lambda item: item[1])


def place_order_book(model: Model) -> None:
    """Orders placed before start: the backlog at start (already paid for)."""
    for index, placed in _dated_orders(model, book=True):
        spec = model.scenario.orders[index]
        model.place_order(spec.customer, spec.product, spec.quantity, spec.priority, "book",
                          placed, spec.id or f"order-{index}", paid=True)


def explicit_orders(model: Model) -> simpy.events.ProcessGenerator:
    """Orders listed in the scenario with a date after start, placed on their date."""
    env = model.env
    for index, placed in _dated_orders(model, book=False):
        spec = model.scenario.orders[index]
        yield env.timeout(placed - env.now)
        model.place_order(spec.customer, spec.product, spec.quantity, spec.priority,
                          "explicit", placed, spec.id or f"order-{index}")


class OrderStream:
    """Poisson orders at the stream's rate between its ``from`` and ``until`` dates.

    Driven by timeout callbacks rather than a process: an order costs one event.
    """

    def __init__(self, model: Model, index: int):
        spec = model.scenario.order_streams[index]
        self.model, self.spec = model, spec
        self.name = model.scenario.stream_name(index)
        self.until = model.months(spec.until) if spec.until else model.horizon
        self.t = model.months(spec.from_) if spec.from_ else 0.0
        self.count = 0
        if spec.rate_per_year > 0:
            mean_gap = Exponential(dist="exponential", mean=12 / spec.rate_per_year)
            self.gaps = model.streams.draws(f"order_stream.{self.name}.arrivals", mean_gap)
            self.sizes = model.streams.draws(f"order_stream.{self.name}.quantity", spec.quantity)
            self.fixed_units = _units(spec.quantity.value) if isinstance(spec.quantity, Constant) else 0
            """Every order's units when the quantity is a constant (0: draw them)."""
            self._schedule_next()

    def _schedule_next(self) -> None:
        self.t += next(self.gaps)
        if self.t < self.until:
            self.model.env.call_later(self.t - self.model.env.now, self._arrive)

    def _arrive(self, _event: object) -> None:
        spec = self.spec
        units = self.fixed_units or _units(next(self.sizes))
        self.model.place_order(spec.customer, spec.product, units, spec.priority, "stream", self.t,
                               f"{self.name}-{self.count}")
        self.count += 1
        self._schedule_next()


def _units(drawn: float) -> int:
    """A drawn order quantity as whole units (at least one)."""
    return max(1, min(round(drawn), 1_000_000_000))


def reviews(model: Model, state: RequirementState) -> simpy.events.ProcessGenerator:
    """Requirement-driven ordering: at each review, order what the rule says."""
    spec = state.spec
    ordering = spec.ordering
    assert ordering is not None
    env = model.env
    rule = model.ordering_rules[ordering.rule]
    customer = spec.customer_names[0]
    t = model.months(ordering.first_review) if ordering.first_review else 0.0
    until = model.months(ordering.until) if ordering.until else model.horizon
    count = 0
    while t < until:
        yield env.timeout(t - env.now)
        review = Review(t, state.name, spec, state.inventory(t),
                        model.on_order.get((customer, spec.product), 0), state.required)
        units = int(rule(review))
        if units > 0:
            model.place_order(customer, spec.product, units, ordering.priority, "requirement",
                              t, f"{state.name}-{count}")
            count += 1
        t += ordering.review_every_months


def investment(model: Model, name: str, spec: Investment) -> simpy.events.ProcessGenerator:
    """Decide, pay (budget permitting), build, then commission ramping lines."""
    env = model.env
    decided = model.months(spec.decided)
    funded: float | None = None
    commissioned: float | None = None

    def record() -> None:
        capex = spec.total_capex_musd if funded is not None else 0.0
        model.investments[name] = InvestmentRecord(name, spec.factory, spec.lines_added, decided,
                                                   funded, commissioned, capex)

    record()
    if spec.lines_added == 0:
        return
    if decided > env.now:
        yield env.timeout(decided - env.now)
    paid = env.event()
    model.budget.claim("investments", spec.total_capex_musd, paid.succeed)
    yield paid
    funded = decided if decided <= 0 and env.now == 0 else env.now
    record()
    slip = next(model.streams.draws(f"investment.{name}.slip", spec.slip_months))
    start_at = funded + spec.construction_months + slip
    if start_at > env.now:
        yield env.timeout(start_at - env.now)
    commissioned = start_at
    record()
    factory = model.factories[spec.factory]
    for _ in range(spec.lines_added):
        factory.add_line(start_at, spec.ramp_months, spec.ramp_start_fraction)
    factory.wake()


def budget_years(model: Model) -> simpy.events.ProcessGenerator:
    """A year's money at start and then every January."""
    env = model.env
    budget = model.budget
    month = parse_date(model.scenario.start)[1]
    next_january = 12.0 if month == 1 else float(13 - month)
    budget.top_up()
    t = next_january
    while t < model.horizon:
        yield env.timeout(t - env.now)
        budget.top_up()
        t += 12
