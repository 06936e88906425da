"""The exact projection of a product's lines, lot by lot (deterministic factories).

Every line making the product, and every line an investment already funded will
commission (at the time this run drew for its construction and slip), works without a
break from the time it is next free, one lot of its factory's lot size after another; a
lot takes the work of a lot (the takt, stretched by ramp-up at its start) and is delivered
the flow time after it leaves the line. On a deterministic factory (constant takt, yield 1,
no disruptions) that is what the kernel does: the quote is when the kernel would deliver.

Each line's lot starts are a few explicit ones while it ramps up, then one every ``step``
months: counting the units started by a time costs a bisection per cluster of lines, and
the time a unit starts is found by a secant search on that count. Lines free at the same
instant take the lots as the kernel's idle lines do (``latest_of``).
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from itertools import accumulate
from typing import TYPE_CHECKING, Any, ClassVar

from leadtime_sim.sim.state import ProductState

if TYPE_CHECKING:
    from leadtime_sim.sim.factory import Factory

_EPS = 1e-9

Run = tuple[list[float], list[float], int]
"""Lots a ramping line (or ``lines`` alike lines) starts: their starts, deliveries, lines."""


class Group:
    """Lot starts (or, ``delivered``, their deliveries) of one factory's lines from now on.

    A line at full rate starts a lot every ``step`` months from the time it is next free; a
    line ramping up (now, or once an investment commissions it) first starts the lots of a
    run (``runs``: alike lines, such as those of one investment, share one) and is then
    free. Every lot holds ``lot_units`` units and is delivered ``offset`` months after a
    regular start. Events after ``until`` do not count.

    The lines' free times are kept in clusters that each span less than a step (the lines
    in service now; the lines of each investment). Past a cluster's last free time, its
    line i starts lots at ``first + residue_i (mod step)``: with the residues sorted,
    counting the lots started by a time, or listing those in a short interval, takes a
    bisection, not a loop over the lines (the suppliers of the default scenario have
    nearly 30 lines each).
    """

    __slots__ = ("busy_until", "clusters", "lot_units", "offset", "runs", "step", "until")

    def __init__(self, free: list[float], step: float, lot_units: int, offset: float,
                 runs: list[Run] | None = None, until: float = math.inf,
                 busy_until: float = -math.inf,
                 clusters: list[tuple[float, float, list[float]]] | None = None):
        self.step = step
        self.lot_units = lot_units
        self.offset = offset
        self.runs = runs or []
        self.until = until
        self.busy_until = busy_until
        """The latest end of a lot on a line now (-inf: no line holds one)."""
        if clusters is not None:
            self.clusters = clusters
            return
        self.clusters = []
        """(first free time, last free time, residues from the first, sorted)."""
        if not free:
            return
        free.sort()
        first = free[0]
        width = step if 0 < step < math.inf else 0.0
        if free[-1] - first < width:  # the usual case: one cluster
            self.clusters.append((first, free[-1], [f - first for f in free]))
            return
        for f in free:
            if self.clusters and f - self.clusters[-1][0] < width:
                first, _, residues = self.clusters[-1]
                residues.append(f - first)
                self.clusters[-1] = (first, f, residues)
            else:
                self.clusters.append((f, f, [0.0]))

    def count(self, t: float) -> float:
        """Units of the events at or before ``t``."""
        if t > self.until:
            t = self.until
        lots = 0
        for starts, _, lines in self.runs:
            if t >= starts[0]:
                lots += lines * bisect_right(starts, t)
        step = self.step
        for first, last, residues in self.clusters:
            if t < first:
                break
            if step <= 0:
                return math.inf
            if step == math.inf:
                lots += len(residues) if t >= last else bisect_right(residues, t - first)
                continue
            u = t - first
            m = math.floor(u / step + _EPS)
            if t >= last:  # every line of the cluster free: m + 1 lots, or m if its residue is later
                lots += len(residues) * m + bisect_right(residues, u - m * step + _EPS)
            else:
                for r in residues:
                    if r > u:
                        break
                    lots += math.floor((u - r) / step + _EPS) + 1
        return lots * self.lot_units

    def only_regular_start(self, lot: int) -> float | None:
        """Start of lot ``lot`` (0 first) if there is one cluster and no ramp-up (then lot n
        starts at ``first + residues[n % lines] + (n // lines) * step``), else None."""
        if self.runs or len(self.clusters) != 1 or not 0 < self.step < math.inf:
            return None
        first, _, residues = self.clusters[0]
        lines = len(residues)
        t = first + residues[lot % lines] + (lot // lines) * self.step
        return t if t <= self.until + _EPS else math.inf

    def events(self, lo: float, hi: float) -> list[float]:
        """Times of the events in (lo, hi] (``lot_units`` each; one per line)."""
        hi = min(hi, self.until)
        found: list[float] = []
        for starts, _, lines in self.runs:
            found += starts[bisect_right(starts, lo):bisect_right(starts, hi)] * lines
        step = self.step
        for first, last, residues in self.clusters:
            if first > hi:
                break
            if not 0 < step < math.inf:
                found += [first + r for r in residues if lo < first + r <= hi]
                continue
            if lo >= last and hi - lo < step:
                m_lo = math.floor((lo - first) / step + _EPS)
                m_hi = math.floor((hi - first) / step + _EPS)
                r_lo, r_hi = lo - first - m_lo * step, hi - first - m_hi * step
                base = first + m_lo * step
                if m_lo == m_hi:
                    found += [base + r for r in residues[bisect_right(residues, r_lo + _EPS):
                                                         bisect_right(residues, r_hi + _EPS)]]
                else:
                    found += [base + r for r in residues[bisect_right(residues, r_lo + _EPS):]]
                    found += [base + step + r for r in residues[:bisect_right(residues, r_hi + _EPS)]]
                continue
            for r in residues:
                f = first + r
                if f > hi:
                    break
                k_first = max(0, math.floor((lo - f) / step + _EPS) + 1)
                k_last = math.floor((hi - f) / step + _EPS)
                found.extend(f + k * step for k in range(k_first, k_last + 1))
        return found

    def latest_done(self, lo: float, hi: float) -> float | None:
        """Latest delivery of the lots started in [lo, hi] (None if there is none)."""
        hi = min(hi, self.until)
        best = -math.inf
        for starts, ends, _ in self.runs:
            k = bisect_right(starts, hi)
            if k and starts[k - 1] >= lo - _EPS and ends[k - 1] > best:  # (deliveries follow starts)
                best = ends[k - 1]
        step = self.step
        for first, last, residues in self.clusters:
            if first > hi + _EPS:
                break
            if not 0 < step < math.inf:
                start = first + residues[bisect_right(residues, hi - first + _EPS) - 1]
            elif hi >= last:  # the cluster's last start at or before hi
                m = math.floor((hi - first) / step + _EPS)
                k = bisect_right(residues, hi - first - m * step + _EPS)
                start = first + m * step + residues[k - 1] if k else first + (m - 1) * step + residues[-1]
            else:
                start = max(first + r + math.floor((hi - first - r) / step + _EPS) * step
                            for r in residues if first + r <= hi + _EPS)
            if start >= lo - _EPS:
                best = max(best, start + self.offset)
        return None if best == -math.inf else best

    def done_at(self, t: float) -> list[float]:
        """Deliveries of the lots starting at ``t`` (within ``_TIE``; one per line)."""
        found: list[float] = []
        for starts, ends, lines in self.runs:
            found += ends[bisect_left(starts, t - _TIE):bisect_right(starts, t + _TIE)] * lines
        step = self.step
        if t > self.until + _TIE:
            return found
        for first, last, residues in self.clusters:
            if first > t + _TIE:
                break
            u = t - first
            if not 0 < step < math.inf:
                found += [t + self.offset for r in residues if abs(r - u) <= _TIE]
                continue
            if t >= last:  # the residues at t's place in the step
                rest = u - math.floor(u / step + _EPS) * step
                found += [t + self.offset] * (bisect_right(residues, rest + _TIE)
                                              - bisect_left(residues, rest - _TIE))
                continue
            for r in residues:
                if r > u + _TIE:
                    break
                lap = (u - r) / step
                if abs(lap - round(lap)) * step <= _TIE:
                    found.append(t + self.offset)
        return found

    def delivered(self, cap: float = math.inf) -> Group:
        """These lots' deliveries (of the lots started up to ``cap``)."""
        runs = []
        for starts, ends, lines in self.runs:
            keep = bisect_right(starts, cap)
            if keep:
                runs.append((ends[:keep], ends[:keep], lines))
        offset = self.offset
        return Group([], self.step, self.lot_units, 0.0, runs, min(self.until, cap) + offset,
                     clusters=[(first + offset, last + offset, residues)
                               for first, last, residues in self.clusters])


class Dues:
    """Lots in progress: delivered at known times (``times``, sorted), of any size."""

    __slots__ = ("cumulative", "times")
    step: ClassVar[float] = math.inf
    clusters: ClassVar[list[tuple[float, float, list[float]]]] = []
    """(What ``first_reaching`` reads of a ``Group``: no lines.)"""

    def __init__(self, lots: list[tuple[float, int]]):
        lots.sort()
        self.times: list[float] = []
        units: list[int] = []
        for t, n in lots:  # lots due at the same time are one event
            if self.times and t == self.times[-1]:
                units[-1] += n
            else:
                self.times.append(t)
                units.append(n)
        self.cumulative = list(accumulate(units))

    def count(self, t: float) -> float:
        k = bisect_right(self.times, t)
        return self.cumulative[k - 1] if k else 0

    def events(self, lo: float, hi: float) -> list[float]:
        return self.times[bisect_right(self.times, lo):bisect_right(self.times, hi)]

    def units_at(self, t: float) -> int:
        k = bisect_left(self.times, t)
        return self.cumulative[k] - (self.cumulative[k - 1] if k else 0)


def first_reaching(groups: Sequence[Group | Dues], units: float, now: float, horizon: float) -> float | None:
    """The first time in [now, horizon] by which the events count ``units`` (None: later).

    One regular group: a formula. Otherwise the count is bracketed, starting from the mean
    rate, narrowed by regula falsi (the count is nearly linear in time; a bisection
    whenever one end stays put) until the bracket holds a few dozen lots, which are then
    walked in order. ``None`` if the count falls short at the horizon."""
    if units <= 0:
        return now
    if len(groups) == 1 and isinstance(groups[0], Group) and groups[0].lot_units:
        group = groups[0]
        start = group.only_regular_start(math.ceil(units / group.lot_units - _EPS) - 1)
        if start is not None:
            return max(start, now) if start <= horizon else None
    def count(t: float) -> float:
        return sum(g.count(t) for g in groups)
    lo, reached = now - 1.0, 0.0  # nothing starts before now
    hi, top = math.inf, math.inf  # not bracketed yet
    rate = sum(sum(len(c[2]) for c in g.clusters) * g.lot_units / g.step
               for g in groups if isinstance(g, Group) and 0 < g.step < math.inf)
    largest = max([g.lot_units for g in groups if isinstance(g, Group)], default=1)
    enough = 8 * largest  # lots few enough to walk
    t = now + units / rate if rate > 0 else horizon
    previous: tuple[float, float] | None = None
    stuck = 0
    while top - reached > enough and hi - lo > 1e-9:
        t = min(t, horizon) if hi == math.inf else t
        if not lo < t < hi:
            t = 0.5 * (lo + min(hi, horizon))
        at = count(t)
        if at >= units - _EPS:
            stuck = stuck + 1 if hi == math.inf or top - at < 0.5 * (top - reached) else 0
            hi, top = t, at
        else:
            if t >= horizon:
                return None
            stuck = stuck + 1 if lo > now and at - reached < 0.5 * (top - reached) else 0
            lo, reached = t, at
        if stuck >= 2 and hi < math.inf:  # slow progress: halve the bracket instead
            t, stuck = 0.5 * (lo + hi), 0
            continue
        # Secant step on the count (nearly linear in time) towards ``units``, overshooting by
        # a few lots so that the next count lands on the other side of the target.
        slope = (at - previous[1]) / (t - previous[0]) if previous and t != previous[0] else 0.0
        if slope <= 0:
            slope = rate if rate > 0 else (at + 1) / max(t - now, 1e-6)
        previous = (t, at)
        margin = 0.25 * enough / slope
        t = t + (units - at) / slope + (margin if at < units else -margin)
    if hi == math.inf:
        hi = horizon
    events: list[tuple[float, float]] = []
    for g in groups:
        if isinstance(g, Group):
            events += [(e, g.lot_units) for e in g.events(lo, hi)]
        else:
            events += [(e, g.units_at(e)) for e in g.events(lo, hi)]
    for e, n in sorted(events):
        reached += n
        if reached >= units - _EPS:
            return max(e, now)
    return hi


_TIE = 1e-7
"""Lots starting within this many months of each other start at the same instant."""


def latest_of(groups: Sequence[Group], lo: float, hi: float, units: float) -> float:
    """Latest delivery of the lots started in [lo, hi], where the lots starting at ``hi``
    hold the units up to the ``units``-th (counted from now) only.

    Lines free at the same instant take the lots as the kernel's idle lines do: by factory
    (in the scenario's order), and in a factory the fastest line first (one at full rate
    before one ramping up).
    """
    if len(groups) == 1 and not groups[0].runs and len(groups[0].clusters) == 1:
        done = groups[0].latest_done(lo, hi)  # lots at one instant are all alike
        return hi if done is None else done
    best = -math.inf
    if lo < hi - _TIE:
        for g in groups:
            done = g.latest_done(lo, hi - _TIE)
            if done is not None and done > best:
                best = done
    short = units - sum(g.count(hi - _TIE) for g in groups)
    for _, done, size in sorted((k, d, g.lot_units) for k, g in enumerate(groups) for d in g.done_at(hi)):
        if short <= _EPS:
            break
        best = max(best, done)
        short -= size
    return hi if best == -math.inf else best


class LotProjection:
    """The lot schedule of one product's lines from ``now`` on (see the module docstring)."""

    def __init__(self, product: ProductState, now: float, horizon: float):
        self.product = product
        self.now = now
        self.horizon = horizon
        self.groups = [group_of(factory, now, horizon) for factory in product.factories]

    def start_of(self, units: float) -> float | None:
        """When the lot holding the ``units``-th unit started from now starts."""
        return first_reaching(self.groups, units, self.now, self.horizon)

    def last_delivery(self, first: float, last: float) -> float | None:
        """Delivery of the last lot holding units ``first`` to ``last`` to start from now."""
        t_last = self.start_of(last)
        if t_last is None:
            return None
        t_first = t_last if first == last else self.start_of(first)
        assert t_first is not None
        supply = self.supply_delay(t_last, last)
        if supply is None:
            return None
        return latest_of(self.groups, t_first, t_last, last) + supply

    def delivered_by(self, units: float, start_cap_units: float) -> float | None:
        """When ``units`` units are delivered from now: the work in progress and the lots
        holding the next ``start_cap_units`` units to start, in order of delivery (the
        units go to the most urgent orders whatever lot they were started for)."""
        product, now, horizon = self.product, self.now, self.horizon
        new_units = units - product.wip
        if new_units <= 0:
            return first_reaching([in_progress(product.factories, now)], units, now, horizon)
        if new_units >= start_cap_units - _EPS:  # every lot to start: the last one delivered
            start = self.start_of(start_cap_units)
            started_units = start_cap_units
            if start is None:
                return None
            done = max(latest_of(self.groups, now, start, start_cap_units),
                       latest_due(product.factories, self.groups))
        else:
            cap = math.inf
            if len(self.groups) > 1:  # deliveries need not follow starts: only lots to start count
                cap = self.start_of(start_cap_units) or horizon
            deliveries = [g.delivered(cap) for g in self.groups]
            found = first_reaching(deliveries, new_units, now, horizon)
            if found is None:
                return None
            if found < latest_due(product.factories, self.groups):  # a lot in progress comes later
                found = first_reaching([in_progress(product.factories, now), *deliveries], units,
                                       now, horizon)
                if found is None:
                    return None
            done = found
            start = self.start_of(new_units) if product.bom else None
            started_units = new_units
        if product.bom:
            supply = self.supply_delay(start, started_units) if start is not None else None
            if supply is None:
                return None
            done += supply
        return done

    def supply_delay(self, start: float, units: float) -> float | None:
        """How much later than ``start`` the components for the units started by then, at
        most ``units`` (a line starts a lot with the units there are, and takes components
        for those only), arrive (0 if they are there in time; None if not by the horizon).
        The components' own suppliers are assumed not to bind, and no other product to use
        them meanwhile."""
        delay = 0.0
        if not self.product.bom:
            return delay
        started = min(sum(g.count(start) for g in self.groups), units)
        for component, per_unit in self.product.bom:
            needed = per_unit * started - component.stock
            if needed <= 0:
                continue
            arrives = available_by(component, needed, self.now, self.horizon)
            if arrives is None:
                return None
            delay = max(delay, arrives - start)
        return delay


def available_by(component: ProductState, units: float, now: float, horizon: float) -> float | None:
    """When ``units`` more units of a component reach stock: lots in progress, then its
    lines working from now on."""
    factories = component.factories
    new_units = units - component.wip
    if new_units <= 0:
        return first_reaching([in_progress(factories, now)], units, now, horizon)
    lines = [group_of(f, now, horizon) for f in factories]
    made = [g.delivered() for g in lines]
    done = first_reaching(made, new_units, now, horizon)
    if done is not None and done < latest_due(factories, lines):
        done = first_reaching([in_progress(factories, now), *made], units, now, horizon)
    return done


def in_progress(factories: Iterable[Factory], now: float) -> Dues:
    """Deliveries of the lots in progress: past the lines (when due) and on a line (the mean
    flow after the line's lot ends)."""
    lots = [(lot.due, lot.units) for f in factories for lot in f.flowing]
    lots += [(max(line.busy_until, now) + f.flow_mean, line.lot.units)
             for f in factories for line in f.lines if line.lot is not None]
    return Dues(lots)


def latest_due(factories: Sequence[Factory], groups: Sequence[Group]) -> float:
    """When the last lot in progress is delivered (-inf if none); ``groups``: the
    factories' ``group_of``."""
    latest = -math.inf
    for f, g in zip(factories, groups, strict=True):
        if f.in_flow and f.latest_due > latest:
            latest = f.latest_due
        if g.busy_until + f.flow_mean > latest:
            latest = g.busy_until + f.flow_mean
    return latest


def group_of(factory: Factory, now: float, horizon: float) -> Group:
    """Lot starts of the factory's lines and of the lines funded investments will add."""
    work = factory.expected_work_months()
    flow = factory.flow_mean
    lines = factory.lines
    busy = [line.busy_until for line in lines]
    busy_until = max(busy, default=-math.inf)  # (a line holds a lot, or is stopped, until then)
    if busy_until <= now:
        busy_until = -math.inf
    if factory.ramp_end <= now and not factory.planned:  # every line at full rate
        return Group([t if t > now else now for t in busy], work, factory.spec.lot_size, work + flow,
                     busy_until=busy_until)
    free: list[float] = []
    runs: dict[tuple[float, float, float, float], list[Any]] = {}
    ramping = [(line.busy_until, line.commissioned, line.ramp_months, line.ramp_start_fraction)
               for line in lines]
    ramping += [(at, at, ramp_months, fraction) for at, ramp_months, fraction, count in factory.planned
                for _ in range(count)]
    for line_busy, commissioned, ramp_months, fraction in ramping:
        t = line_busy if line_busy > now else now
        if ramp_months > 0 and t < commissioned + ramp_months:
            key = (t, commissioned, ramp_months, fraction)
            if key in runs:  # a line alike one seen (of the same investment, not yet built)
                runs[key][2] += 1
                free.append(runs[key][3])
                continue
            starts, ends, t = _ramp_lots(t, commissioned, ramp_months, fraction, work, flow, horizon)
            if starts:
                runs[key] = [starts, ends, 1, t]
        free.append(t)
    return Group(free, work, factory.spec.lot_size, work + flow,
                 [(starts, ends, lines) for starts, ends, lines, _ in runs.values()], busy_until=busy_until)


def _ramp_lots(t: float, commissioned: float, ramp_months: float, fraction: float, work: float,
               flow: float, horizon: float) -> tuple[list[float], list[float], float]:
    """Lots a ramping line starts from ``t`` until it reaches full rate (their starts and
    deliveries) and when it then is free: each takes ``work`` divided by the rate reached at
    its start, as in the kernel."""
    starts: list[float] = []
    ends: list[float] = []
    ramp_end = min(commissioned + ramp_months, horizon)
    gain = (1 - fraction) / ramp_months
    while t < ramp_end:
        lot_work = work / (fraction + gain * (t - commissioned if t > commissioned else 0.0))
        starts.append(t)
        t += lot_work
        ends.append(t + flow)
    return starts, ends, t
