"""Mutable state of one run: orders, lots, products (backlog and stock), requirements,
budget, and the guard that counts lots and watches the wall clock."""

from __future__ import annotations

import bisect
import math
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leadtime_sim.dates import months_between
from leadtime_sim.scenario.schema import Budget as BudgetSpec
from leadtime_sim.scenario.schema import Requirement
from leadtime_sim.sim.consumption import ConsumptionSchedule
from leadtime_sim.sim.policies import Allocation, AllocationPolicy

if TYPE_CHECKING:
    from leadtime_sim.sim.clock import Clock
    from leadtime_sim.sim.factory import Factory


class SimulationError(RuntimeError):
    """The model reached an impossible state (a plugin broke a rule, or a bug)."""


@dataclass(frozen=True)
class Limits:
    """Guards against runaway runs: most lots started, and wall-clock seconds."""

    max_lots: float = math.inf
    wall_seconds: float = math.inf


NO_LIMITS = Limits()


class RunLimitExceeded(SimulationError):
    """A run hit one of its ``Limits``."""


class RunGuard:
    """Enforces a run's ``Limits``: counts the lots started and watches the wall clock."""

    def __init__(self, limits: Limits, env: Clock):
        self.limits = limits
        self.env = env
        self.max_lots = limits.max_lots
        self.lots_started = 0
        self.deadline = time.monotonic() + limits.wall_seconds

    def too_many_lots(self) -> None:
        """Stop the run: factories count ``lots_started`` themselves (in their hot path) and
        call this when it passes ``max_lots``."""
        raise RunLimitExceeded(f"run started more than {self.max_lots:,.0f} lots "
                               "(raise the limit with --max-lots)")

    def check_deadline(self) -> None:
        """Stop a run past its wall-time limit (checked at month ends and every 4,096 orders)."""
        if time.monotonic() > self.deadline:
            raise RunLimitExceeded(f"run exceeded its wall-time limit of {self.limits.wall_seconds:g} s "
                                   f"(at month {int(self.env.now)})")


@dataclass(eq=False, slots=True)
class OrderState:
    index: int
    id: str
    customer: str
    product: str
    quantity: int
    priority: int
    source: str
    placed_months: float
    key: tuple[str, str]
    """(customer, product): what deliveries count towards, on order and in requirements."""
    entered_months: float = float("nan")
    uncommitted: int = 0
    delivered: int = 0
    first_delivery_months: float | None = None
    last_delivery_months: float | None = None


@dataclass(slots=True, eq=False)
class Lot:
    """Units started together on a line, and the orders they are committed to."""

    units: int
    allocation: Allocation
    """Units committed to each order (a delivery-time reassignment may change it)."""
    due: float = math.inf
    """When it will be delivered (known once it leaves the line)."""
    seq: int = 0
    """Order of commitment (kept only when deliveries may be reassigned)."""


@dataclass(eq=False)
class ProductState:
    """Backlog (uncommitted units), work in progress, stock and who makes and uses it."""

    name: str
    policy: AllocationPolicy
    is_component: bool
    stock_target: int
    stock: int = 0
    backlog: int = 0
    wip: int = 0
    ordered: int = 0
    delivered: int = 0
    awaiting_funds: int = 0
    bom: list[tuple[ProductState, int]] = field(default_factory=list)
    parents: list[tuple[ProductState, int]] = field(default_factory=list)
    factories: list[Factory] = field(default_factory=list)
    open_orders: dict[int, OrderState] = field(default_factory=dict)
    """Orders not fully delivered (kept only when deliveries may be reassigned)."""
    lots: dict[Lot, None] = field(default_factory=dict)
    """Lots in progress (kept only when deliveries may be reassigned)."""

    def start_need(self) -> int:
        """Units of this product that should start now to meet orders and buffers."""
        if not self.is_component:
            return self.backlog
        downstream = 0
        for parent, q in self.parents:  # (a loop: sum() over a generator cost 2% of a run)
            downstream += q * parent.start_need()
        return max(0, self.stock_target + downstream - self.stock - self.wip)

    def close(self) -> None:
        """Drop the links to other products and to factories (they refer back: cycles)."""
        self.bom.clear()
        self.parents.clear()
        self.factories.clear()
        self.open_orders.clear()
        self.lots.clear()

    def wake_factories(self) -> None:
        for factory in self.factories:
            factory.wake()

    def wake_supply_chain(self) -> None:
        """This product's demand changed: wake its makers and, recursively, its suppliers."""
        self.wake_factories()
        for component, _ in self.bom:
            component.wake_supply_chain()


GAP_TOLERANCE = 1e-9


class RequirementState:
    """Inventory of one requirement: initial + deliveries - consumption (never below 0).

    The gap is watched at every delivery (just before and after it), at month ends, at the
    required points and where the consumption rate changes. Between those instants required
    and inventory are both linear, so the largest gap and the last time the gap closed are
    exact.
    """

    def __init__(self, name: str, spec: Requirement, start: str,
                 consumption: ConsumptionSchedule | None = None):
        self.name = name
        self.spec = spec
        self.product = spec.product
        self.level = spec.initial_units
        self.consumption = consumption or ConsumptionSchedule.of(name, spec, start)
        """Units used over time (a run passes its own: a drawn rate needs the run's streams)."""
        self.updated = 0.0
        self.times, self.units = required_curve(spec, start)
        self.max_gap = 0.0
        self.peak_gap = 0.0
        """Largest gap since the last month end."""
        self.closed_at: float | None = None
        self._last = (0.0, 0.0)
        """The last observation: time and required - inventory."""
        self.observe(0.0)

    def observe(self, now: float) -> float:
        """Note the gap at ``now``; return it. A gap that closes between two observations
        (a falling requirement) closes where the line between them crosses zero."""
        short = self.required(now) - self.inventory(now)
        gap = max(0.0, short)
        if gap > GAP_TOLERANCE:
            self.closed_at = None
            self.max_gap = max(self.max_gap, gap)
            self.peak_gap = max(self.peak_gap, gap)
        elif self.closed_at is None:
            self.closed_at = closing_time(*self._last, float(now), short)
        self._last = (float(now), short)
        return gap

    def inventory(self, now: float) -> float:
        if self.consumption.periods:  # (the integral, across any rate changes since the update)
            used = self.consumption.consumed_over(self.updated, now - self.updated)
            self.level = max(0.0, self.level - used)
        self.updated = now
        return self.level

    def receive(self, now: float, units: int) -> None:
        self.observe(now)
        self.level += units
        self.observe(now)

    def required(self, t: float) -> float:
        return interpolate(self.times, self.units, t)


def closing_time(t0: float, short0: float, t1: float, short1: float) -> float:
    """When a gap open at ``t0`` (``short0`` = required - inventory > tolerance) and closed
    at ``t1`` closed: between the two both curves are linear (every bend is observed), so
    where the straight line reaches zero (``t1`` if only within the tolerance there); ``t1``
    for a jump (a delivery)."""
    if t1 <= t0 or short0 <= GAP_TOLERANCE or short1 >= short0:
        return t1
    return min(t1, max(t0, t0 + (t1 - t0) * short0 / (short0 - short1)))


def required_curve(spec: Requirement, start: str) -> tuple[list[float], list[float]]:
    """Break points (months from start, units) of the required inventory."""
    if spec.multiple is not None:
        assert spec.by is not None
        return [0.0, months_between(start, spec.by)], [spec.initial_units, spec.multiple * spec.initial_units]
    points = [(months_between(start, p.date), p.units) for p in spec.required or []]
    if points[0][0] > 0:
        points.insert(0, (0.0, spec.initial_units))
    return [t for t, _ in points], [u for _, u in points]


def interpolate(times: list[float], values: list[float], t: float) -> float:
    """Piecewise linear through the points, flat outside them."""
    if t <= times[0]:
        return values[0]
    if t >= times[-1]:
        return values[-1]
    k = bisect.bisect_right(times, t)
    t0, t1, v0, v1 = times[k - 1], times[k], values[k - 1], values[k]
    return v0 + (v1 - v0) * (t - t0) / (t1 - t0)


class Account:
    """One budget: money per year; claims it cannot pay now wait, first come first paid."""

    def __init__(self, spec: BudgetSpec):
        self.spec = spec
        self.balance = spec.initial_musd
        self.waiting: deque[tuple[float, Callable[[], object]]] = deque()

    def covers(self, kind: str, customer: str | None) -> bool:
        return kind in self.spec.covers and (
            kind != "orders" or self.spec.customers is None or customer in self.spec.customers)

    def claim(self, cost_musd: float, pay: Callable[[], object]) -> None:
        if not self.waiting and self.balance >= cost_musd:
            self.balance -= cost_musd
            pay()
        else:
            self.waiting.append((cost_musd, pay))

    def top_up(self) -> None:
        self.balance += self.spec.per_year_musd
        while self.waiting and self.waiting[0][0] <= self.balance:
            cost, pay = self.waiting.popleft()
            self.balance -= cost
            pay()


class BudgetState:
    """A run's budgets (``Scenario.all_budgets``): each claim is paid from the first that
    covers it (its kind, and for orders its customer), or at once if none does."""

    def __init__(self, specs: Sequence[BudgetSpec]):
        self.accounts = [Account(spec) for spec in specs]

    @property
    def active(self) -> bool:
        return bool(self.accounts)

    def account(self, kind: str, customer: str | None = None) -> Account | None:
        return next((a for a in self.accounts if a.covers(kind, customer)), None)

    def claim(self, kind: str, cost_musd: float, pay: Callable[[], object],
              customer: str | None = None) -> None:
        """Call ``pay`` once the money is there (at once if it is and nobody waits)."""
        account = self.account(kind, customer) if cost_musd > 0 else None
        if account is None:
            pay()
        else:
            account.claim(cost_musd, pay)

    def close(self) -> None:
        """Drop the claims still waiting (their callbacks refer to the order book)."""
        for account in self.accounts:
            account.waiting.clear()

    def top_up(self) -> None:
        """A year's money arrives in every budget; each pays its waiting claims in order while
        it lasts."""
        for account in self.accounts:
            account.top_up()
