"""The mean-rate projection of a product's lines (factories with a random takt, rework or
disruptions).

Where the takt is random, the lot-by-lot schedule of ``lots_ahead`` is itself an estimate;
this projection counts the lots the lines start by a time as a near-linear function. Lines
commissioned together (a cohort) are counted as one, at their mean free time ``f``: at full
rate a line has started ``(t - f) / w + 1/2`` lots by ``t >= f`` (the lot count averaged
over its phase), ``w`` being the expected work of a lot; while a cohort ramps up, its few
lots are stepped through as the kernel does (a lot takes the work at the rate reached at
its start). The count is inverted by
Newton's method (with bisection as a safeguard). It is within about a lot per line of the
lot-by-lot count at a fraction of its cost: the run quotes every product at every month
end.

Lots in progress are taken as delivered evenly until the last is due; a lot started at
``t`` is delivered ``w / rate(t)`` plus the mean flow after it.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from leadtime_sim.sim.state import ProductState

if TYPE_CHECKING:
    from leadtime_sim.sim.factory import Factory

Cohort = tuple[int, float, float, float, float, float, list[float], float]
"""(lines, mean free time, earliest free time, commissioned, ramp months, start fraction,
starts of the lots while ramping up, free time at full rate)."""


def _fraction(t: float, commissioned: float, ramp_months: float, fraction: float) -> float:
    """Rate fraction reached at ``t`` (as ``Line.rate_fraction``)."""
    if ramp_months <= 0 or t >= commissioned + ramp_months:
        return 1.0
    return fraction + (1 - fraction) * max(0.0, t - commissioned) / ramp_months


class FactoryRates:
    """Lots a factory's lines (and the lines funded investments will add) start from now."""

    __slots__ = ("base", "cohorts", "deliveries", "flow", "latest_due", "linear_from", "lot_units", "rate",
                 "work")

    def __init__(self, factory: Factory, now: float):
        learning = factory.spec.learning is not None
        self.work = work = factory.expected_work_months() if learning else factory.full_work
        self.lot_units = factory.spec.lot_size
        self.flow = factory.flow_mean
        self.cohorts: list[Cohort] = []
        self.deliveries: list[Cohort] = []
        """The cohorts' lots as they leave the lines (a lot started at one start leaves at the
        next): the same counts, a flow time before the lots are delivered."""
        self.rate = self.base = 0.0
        self.linear_from = -math.inf if 0 < work < math.inf else math.inf
        """From then on (every cohort at full rate and counting), ``units started = rate * t +
        base``: a count and its inverse cost one multiplication."""
        lot_units = self.lot_units
        regular = 0 < work < math.inf
        for c in factory.cohorts:  # the mean time a cohort's line is free: busy ones later
            lines = c.lines
            free = (c.busy_until_sum + (lines - c.busy_lines) * now) / lines
            if not regular or (c.ramp_months > 0 and free < c.commissioned + c.ramp_months):
                self._add(lines, free, now, c.commissioned, c.ramp_months, c.start_fraction)
                continue
            self.cohorts.append((lines, free, now, c.commissioned, c.ramp_months, c.start_fraction, [], free))
            self.deliveries.append((lines, free + work, now + work, c.commissioned, c.ramp_months,
                                    c.start_fraction, [], free + work))
            units = lines * lot_units  # (as ``_add``, inlined: the usual cohort, at full rate)
            self.rate += units / work
            self.base += units * (0.5 - free / work)
            if free - 0.5 * work > self.linear_from:
                self.linear_from = free - 0.5 * work
        for at, ramp_months, fraction, lines in factory.planned:
            free_at = at if at > now else now
            self._add(lines, free_at, free_at, at, ramp_months, fraction)
        latest = factory.latest_due if factory.in_flow else -math.inf
        if factory.latest_busy > now and factory.latest_busy + self.flow > latest:
            latest = factory.latest_busy + self.flow
        self.latest_due = latest
        """When the last lot in progress is delivered (-inf: none is)."""

    def _add(self, lines: int, free: float, earliest: float, commissioned: float, ramp_months: float,
             fraction: float) -> None:
        """A cohort; while it ramps up its lots are stepped through (a lot takes the work at
        the rate reached at its start, as in the kernel: a few lots), then counted."""
        starts: list[float] = []
        work = self.work
        t = free
        if not 0 < work < math.inf:
            self.cohorts.append((lines, free, earliest, commissioned, ramp_months, fraction, starts, t))
            self.deliveries.append((lines, free + work, earliest + work, commissioned, ramp_months, fraction,
                                    starts, t + work))
            return
        if ramp_months > 0 and t < commissioned + ramp_months:
            ramp_end = commissioned + ramp_months
            gain = (1 - fraction) / ramp_months
            while t < ramp_end:
                starts.append(t)
                t += work / (fraction + gain * (t - commissioned if t > commissioned else 0.0))
            earliest = free  # counted from its (mean) first start
        self.cohorts.append((lines, free, earliest, commissioned, ramp_months, fraction, starts, t))
        if starts:  # each ramp-up lot leaves the line when the next starts
            off = [*starts[1:], t]
            self.deliveries.append((lines, off[0], off[0], commissioned, ramp_months, fraction, off,
                                    t + work))
        else:
            self.deliveries.append((lines, free + work, earliest + work, commissioned, ramp_months, fraction,
                                    starts, t + work))
        units = lines * self.lot_units
        self.rate += units / work
        self.base += units * (0.5 + len(starts) - t / work)
        start_counting = t if starts else free - 0.5 * work
        if start_counting > self.linear_from:
            self.linear_from = start_counting

    def lots(self, t: float, delivered: bool = False) -> tuple[float, float]:
        """Lots started from now by ``t`` (``delivered``: delivered by ``t``), and the count's
        slope there (lots a month). The count is piecewise linear in ``t``: between two
        starts of a ramping cohort, and at full rate, it rises evenly."""
        work = self.work
        cohorts = self.cohorts
        if delivered:
            cohorts = self.deliveries
            t -= self.flow
        if not 0 < work < math.inf:
            return (math.inf if work <= 0 and cohorts and t >= cohorts[0][2] else 0.0), 0.0
        total = slope = 0.0
        for lines, free, earliest, _, _, _, starts, full in cohorts:
            if t < earliest:
                continue
            if t >= full:
                total += lines * ((t - full) / work + 0.5 + len(starts))
                slope += lines / work
            elif t >= free:  # ramping: between its k-th and next lot start
                k = bisect_right(starts, t) - 1
                following = starts[k + 1] if k + 1 < len(starts) else full
                total += lines * (k + 0.5 + (t - starts[k]) / (following - starts[k]))
                slope += lines / (following - starts[k])
            elif not starts and t > free - 0.5 * work:  # (lines free before the mean free time)
                total += lines * ((t - free) / work + 0.5)
                slope += lines / work
        return total, slope

    def lot_months(self, t: float) -> float:
        """Line time plus flow of the slowest lot started at ``t`` (0 if none can start)."""
        slowest = 0.0
        for _, _, earliest, commissioned, ramp_months, fraction, _, _ in self.cohorts:
            if t >= earliest - 1e-9:
                slowest = max(slowest, self.work / _fraction(t, commissioned, ramp_months, fraction))
        return slowest + self.flow if slowest else 0.0


def solve(evaluate: Callable[[float], tuple[float, float]], units: float, now: float, horizon: float,
          jumps_of: Callable[[], Sequence[float]] = tuple) -> float | None:
    """The first time in [now, horizon] when a nondecreasing count reaches ``units`` (None:
    not by the horizon); ``evaluate(t)`` gives the count and its slope.

    The count is linear between the sorted ``jumps_of()`` (where a cohort starts counting)
    and may step up at them: Newton's method from below is exact within a piece, and a step
    that would cross a jump stops at it first (the target may be reached there). Bisection
    keeps it safe where neither holds."""
    if units <= 0:
        return now
    tolerance = 1e-9 * max(1.0, units)
    lo, hi = now, horizon
    count, rate = evaluate(now)
    gap = count - units
    if gap >= -tolerance:
        return now
    reached_at_hi = False
    t = lo
    jumps: Sequence[float] | None = None
    for _ in range(100):
        if gap < 0:  # from below: on along the piece, but not past the next jump
            target = t - gap / rate if rate > 0 else math.inf
            if jumps is None:
                jumps = jumps_of()
            k = bisect_right(jumps, t + 1e-12)
            if k < len(jumps) and jumps[k] <= target:
                target = jumps[k]
        else:
            target = t - gap / rate if rate > 0 else 0.5 * (lo + hi)
        if target >= hi:
            if not reached_at_hi:  # is it reached by the horizon at all?
                if evaluate(hi)[0] < units - tolerance:
                    return None
                reached_at_hi = True
            if gap < 0 and target > hi - 1e-12:  # the piece from below reaches it only at hi
                return hi
            target = 0.5 * (lo + hi)
        elif target <= lo:
            target = 0.5 * (lo + hi)
        t = target
        count, rate = evaluate(t)
        gap = count - units
        if abs(gap) <= tolerance:
            return t
        if gap > 0:
            hi, reached_at_hi = t, True
        else:
            lo = t
        if hi - lo < 1e-9:
            return hi
    return hi


class RateProjection:
    """The mean-rate projection of one product's lines from ``now`` (module docstring)."""

    def __init__(self, product: ProductState, now: float, horizon: float):
        self.product = product
        self.now = now
        self.horizon = horizon
        self.factories: list[FactoryRates] = []
        self.rate = self.base = self.offset = 0.0
        self.linear_from = -math.inf if product.factories else math.inf
        self.latest_due = -math.inf
        for factory in product.factories:  # (a loop: this runs at every month end)
            f = FactoryRates(factory, now)
            self.factories.append(f)
            self.rate += f.rate
            self.base += f.base
            if f.linear_from > self.linear_from:
                self.linear_from = f.linear_from
            if f.cohorts and f.work + f.flow > self.offset:
                self.offset = f.work + f.flow
            if f.latest_due > self.latest_due:
                self.latest_due = f.latest_due
        """``offset``: a lot's work and flow, the longest (at full rate); ``latest_due``: when the
        last lot in progress is delivered."""

    def started(self, t: float) -> tuple[float, float]:
        """Units started from now by ``t``, and how many a month there."""
        if t >= self.linear_from:
            return self.rate * t + self.base, self.rate
        total = slope = 0.0
        for f in self.factories:
            lots, per_month = f.lots(t)
            total += f.lot_units * lots
            slope += f.lot_units * per_month
        return total, slope

    def start_of(self, units: float) -> float | None:
        """When the ``units``-th unit from now starts."""
        if self.rate > 0:
            t = (units - self.base) / self.rate
            if t >= self.linear_from:
                return (t if t > self.now else self.now) if t <= self.horizon else None
        factories = self.factories
        return solve(self.started, units, self.now, self.horizon, lambda: _jumps(factories, 0.0))

    def _done_after(self, start: float) -> float:
        """Delivery of the last lot started at ``start``."""
        if start >= self.linear_from:
            return start + self.offset
        return start + max((f.lot_months(start) for f in self.factories), default=0.0)

    def last_delivery(self, first: float, last: float) -> float | None:
        """Delivery of the last lot holding units ``first`` to ``last`` to start from now."""
        start = self.start_of(last)
        if start is None:
            return None
        supply = self.supply_delay(start, last)
        return None if supply is None else self._done_after(start) + supply

    def delivered_by(self, units: float, start_cap_units: float) -> float | None:
        """When ``units`` units are delivered from now: the work in progress and the lots
        holding the next ``start_cap_units`` units to start (units go to the most urgent
        orders at delivery, whatever lot they were started for)."""
        wip = self.product.wip
        latest = self.latest_due
        new_units = units - wip
        if new_units <= 0:
            return _in_progress_by(units, wip, latest, self.now)
        if new_units >= start_cap_units - 1e-9:  # every lot to start: the last one delivered
            start = self.start_of(start_cap_units)
            started_units = start_cap_units
            if start is None:
                return None
            done = max(self._done_after(start), latest)
        else:
            start = self.start_of(new_units)
            started_units = new_units
            found = arrival(self.factories, units, wip, latest, self.now, self.horizon)
            if found is None or start is None:
                return None
            done = found
        supply = self.supply_delay(start, started_units)
        return None if supply is None else done + supply

    def supply_delay(self, start: float, units: float) -> float | None:
        """How much later than ``start`` the components for the units started by then, at
        most ``units`` (a lot takes components for the units it starts with only), arrive
        (0 if in time; None if not by the horizon). Components' own suppliers are taken not
        to bind, and no other product to use them meanwhile."""
        delay = 0.0
        bom = self.product.bom
        if not bom:
            return delay
        started = min(self.started(start)[0], units)
        now = self.now
        for component, per_unit in bom:
            needed = per_unit * started - component.stock
            if needed <= 0:
                continue
            makers = []
            latest = -math.inf
            for factory in component.factories:
                f = FactoryRates(factory, now)
                makers.append(f)
                if f.latest_due > latest:
                    latest = f.latest_due
            arrives = arrival(makers, needed, component.wip, latest, now, self.horizon)
            if arrives is None:
                return None
            if arrives - start > delay:
                delay = arrives - start
        return delay


def one_factory(product: ProductState, now: float, standing_units: float, quantity: int,
                reassigning: bool) -> float | None:
    """``RateProjection``'s answer, without building one, where one factory at full rate,
    without learning, makes a product without components (most quotes of most products).
    ``standing_units``: the units ahead (started, or with reassignment, delivered). None
    where the projection is needed."""
    if len(product.factories) != 1 or product.bom:
        return None
    factory = product.factories[0]
    work = factory.full_work
    if (factory.spec.learning is not None or factory.planned or factory.ramp_end > now
            or not 0 < work < math.inf):
        return None
    lines = FactoryRates(factory, now)  # (at full rate: its count is linear from the start)
    flow = factory.flow_mean
    units = standing_units + quantity
    if reassigning:
        if units - product.wip < product.backlog + quantity - 1e-9:
            return None  # not every lot to start: the projection counts deliveries
        units = product.backlog + quantity
    if lines.rate <= 0:
        return None
    start = (units - lines.base) / lines.rate
    if start < lines.linear_from:
        return None
    done = max(start, now) + work + flow
    return max(done, lines.latest_due) if reassigning else done


def arrival(factories: Sequence[FactoryRates], units: float, wip: float, latest: float, now: float,
            horizon: float) -> float | None:
    """When ``units`` are delivered from now: the ``wip`` units in progress (evenly until
    ``latest``), then the lots the lines start, a lot's work and flow after their start."""
    rate = base = 0.0
    linear_from = latest
    for f in factories:  # (a loop, not three: this runs at every month end)
        rate += f.rate
        base += f.base - f.rate * (f.work + f.flow)
        if f.linear_from + f.work + f.flow > linear_from:
            linear_from = f.linear_from + f.work + f.flow
    if rate > 0:  # past every ramp-up and the last lot in progress: linear
        t = (units - wip - base) / rate
        if t >= linear_from:
            return (t if t > now else now) if t <= horizon else None
    return solve(lambda t: _delivered(factories, t, wip, latest, now), units, now, horizon,
                 lambda: _jumps(factories, 1.0, latest))


def _in_progress_by(units: float, wip: float, latest: float, now: float) -> float:
    """When ``units`` of the ``wip`` units in progress are delivered (evenly until ``latest``)."""
    if latest <= now or wip <= 0:
        return now
    return now + (latest - now) * min(1.0, units / wip)


def _delivered(factories: Sequence[FactoryRates], t: float, wip: float, latest: float,
               now: float) -> tuple[float, float]:
    """Units delivered from now by ``t``, and how many a month there: lots in progress
    (evenly until the last is due) and the lots started from now, a lot's work and flow
    after they start."""
    if t >= latest:
        done, slope = wip, 0.0
    else:
        done, slope = wip * max(0.0, t - now) / (latest - now), wip / (latest - now)
    for f in factories:
        lots, per_month = f.lots(t, True)
        done += f.lot_units * lots
        slope += f.lot_units * per_month
    return done, slope


def _jumps(factories: Sequence[FactoryRates], delivered: float, *more: float) -> list[float]:
    """Times where a count may rise after a flat stretch: where each cohort starts counting
    (``delivered`` 1: is delivered), and ``more``."""
    times = list(more)
    for f in factories:
        shift = delivered * f.flow
        for _, free, earliest, *_ in (f.deliveries if delivered else f.cohorts):
            times += [earliest + shift, max(earliest, free - 0.5 * f.work) + shift]
    return sorted(times)
