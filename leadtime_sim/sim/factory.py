"""Factories and their lines: the servers of the simulation.

A line works one lot at a time for its takt (stretched by ramp-up, learning, rework of
failed lots and disruptions), then the lot spends its flow time downstream and is
delivered (or, for a component, put in stock). The time a lot occupies a line is computed
in one step, so a lot costs one timeout however often the line stops during it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from functools import partial

from leadtime_sim.distributions import Constant
from leadtime_sim.scenario.schema import Factory as FactorySpec
from leadtime_sim.sim.clock import Clock
from leadtime_sim.sim.outlets import Outlet
from leadtime_sim.sim.state import Lot, ProductState, RunGuard, SimulationError
from leadtime_sim.sim.streams import RandomStreams


class Cohort:
    """Lines commissioned together (those in service at start, or one investment's): how
    many, and how many are busy (holding a lot, or stopped) until when, summed. Kept as
    lots start and end, for quotes (``mean_rates``): a month-end quote then reads a few
    numbers per cohort instead of every line."""

    __slots__ = ("busy_lines", "busy_until_sum", "commissioned", "lines", "ramp_months", "start_fraction")

    def __init__(self, commissioned: float, ramp_months: float, start_fraction: float):
        self.commissioned = commissioned
        self.ramp_months = ramp_months
        self.start_fraction = start_fraction
        self.lines = 0
        self.busy_lines = 0
        self.busy_until_sum = 0.0


class Line:
    """One production line: its random streams, ramp-up and failure clock."""

    def __init__(self, factory: Factory, number: int, streams: RandomStreams, cohort: Cohort,
                 commissioned: float = -math.inf, ramp_months: float = 0.0,
                 ramp_start_fraction: float = 1.0):
        spec = factory.spec
        self.cohort = cohort
        cohort.lines += 1
        source = f"factory.{factory.name}.line.{number}"
        self.takt = streams.draws(f"{source}.takt", spec.takt_months)
        self.yield_draws = streams.uniforms(f"{source}.yield") if spec.yield_fraction < 1 else None
        self.commissioned = commissioned
        self.ramp_months = ramp_months
        self.ramp_start_fraction = ramp_start_fraction
        self.ramp_end = commissioned + ramp_months if ramp_months > 0 else -math.inf
        """Full rate from then on."""
        self.lot: Lot | None = None
        """The lot on the line."""
        self.busy_until = -math.inf
        """When the lot on the line ends (or a stopped line is up again)."""
        self.off_line: Callable[[object], None] = partial(factory._off_line, self)
        """The callback of the lot's end on the line (one per line, not one per lot)."""
        self.between_failures: Iterator[float] | None = None
        self.repair: Iterator[float] | None = None
        self.next_failure = math.inf
        if spec.disruptions is not None:
            self.between_failures = streams.draws(f"{source}.failures", spec.disruptions.between_months)
            self.repair = streams.draws(f"{source}.repairs", spec.disruptions.repair_months)
            self.next_failure = max(commissioned, 0.0) + next(self.between_failures)

    def close(self) -> None:
        """Drop the callback, which refers to the line itself (a cycle)."""
        del self.off_line

    def rate_fraction(self, now: float) -> float:
        """Share of the full rate reached ``now`` (linear ramp after commissioning)."""
        if now >= self.ramp_end:
            return 1.0
        progress = max(0.0, now - self.commissioned) / self.ramp_months
        return self.ramp_start_fraction + (1 - self.ramp_start_fraction) * progress

    def down_until(self, now: float) -> float:
        """Replay failures that struck while idle; the time the line is up again."""
        up = now
        while self.next_failure <= now:
            assert self.repair is not None and self.between_failures is not None
            up = self.next_failure + next(self.repair)
            self.next_failure = up + next(self.between_failures)
        return up

    def finish_time(self, start: float, work: float) -> float:
        """When ``work`` months of processing started at ``start`` end, given stoppages."""
        end = start + work
        while self.next_failure < end:
            assert self.repair is not None and self.between_failures is not None
            repair = next(self.repair)
            end += repair
            self.next_failure += repair + next(self.between_failures)
        return end


class Factory:
    """Lines making one product, pulling work from the product's backlog or need.

    What it needs of the run is passed in: the clock, the random streams, the outlet of
    its lots (the order book for an end product, stock for a component: ``outlets.py``)
    and the guard that counts the lots started.
    """

    def __init__(self, name: str, spec: FactorySpec, product: ProductState, outlet: Outlet,
                 env: Clock, streams: RandomStreams, guard: RunGuard):
        self.name = name
        self.spec = spec
        self.product = product
        self.outlet = outlet
        self.need_is_backlog = outlet.need_is_backlog
        self.env = env
        self.streams = streams
        self.guard = guard
        self.lines: list[Line] = []
        self.idle: list[Line] = []
        self.wake_pending = False
        self.flow = streams.draws(f"factory.{name}.flow", spec.flow_months)
        self.flow_mean = spec.flow_months.mean
        self.in_flow = 0
        """Lots past the lines, not yet done."""
        self.flowing: dict[Lot, None] = {}
        """Those lots (their ``due`` is known), kept on a deterministic factory only (its
        quotes step through them: ``lots_ahead``)."""
        self.latest_due = -math.inf
        """The latest ``due`` of the lots past the lines (exact while ``in_flow``: they are done
        in order of ``due``)."""
        self.cohorts: list[Cohort] = []
        """The lines by commissioning: those in service at start, then each investment's."""
        self.latest_busy = -math.inf
        """The latest time a line was to be busy until (a lot's end, or a repair's)."""
        self.planned: list[tuple[float, float, float, int]] = []
        """Lines funded investments will commission: (time, ramp months, start fraction, lines)."""
        self.started_units = 0
        self.busy = 0
        self.busy_area = 0.0
        self.line_area = 0.0
        self.area_time = 0.0
        learning = spec.learning
        self.learning_exponent = math.log2(learning.progress_ratio) if learning else 0.0
        self.ramp_end = -math.inf
        """When the last ramping line reaches full rate."""
        self.availability = 1.0
        if spec.disruptions is not None:
            up = spec.disruptions.between_months.mean
            self.availability = up / (up + spec.disruptions.repair_months.mean) if up > 0 else 0.0
        self.takt_mean = spec.takt_months.mean
        """Computed once: some distributions' means cost a SciPy call."""
        self.full_work = self._work_with(1.0)
        """``expected_work_months`` without learning (cached)."""
        self.full_rate_per_line: float | None = None
        """Capacity of a line at full rate, without learning (cached)."""
        self.deterministic = (isinstance(spec.takt_months, Constant) and spec.yield_fraction >= 1
                              and spec.disruptions is None)
        """Every lot takes the same work at full rate (quotes project it exactly)."""
        self.plain = spec.learning is None and spec.yield_fraction >= 1
        """No learning and no rework: a lot's work is one takt draw once ramp-up is over."""

    def close(self) -> None:
        """Drop the lines (each refers to itself and back to the factory: cycles)."""
        for line in self.lines:
            line.close()
        self.lines.clear()
        self.cohorts.clear()
        self.idle.clear()
        self.flowing.clear()

    def fill_flow(self) -> None:
        """Start with the initial work in progress: lots already past the lines, due
        evenly through the mean flow time (committed to the backlog at start)."""
        product, spec = self.product, self.spec
        units = min(spec.initial_wip_units, product.backlog)
        lots = math.ceil(units / spec.lot_size)
        for k in range(lots):
            size = min(spec.lot_size, units - k * spec.lot_size)
            lot = Lot(size, [], due=spec.flow_months.mean * (k + 0.5) / lots)
            lot.allocation = self.outlet.commit(product, size, lot)
            product.wip += size
            self.in_flow += 1
            if self.deterministic:
                self.flowing[lot] = None
            self.latest_due = max(self.latest_due, lot.due)
            self.env.call_later(lot.due, partial(self.finish, lot))

    # -- capacity bookkeeping -------------------------------------------------------
    def usage(self) -> tuple[float, float, int]:
        """Busy line-months, line-months and units started, from the start until now."""
        self._advance_areas()
        return self.busy_area, self.line_area, self.started_units

    def _advance_areas(self) -> None:
        now = self.env.now
        self.busy_area += self.busy * (now - self.area_time)
        self.line_area += len(self.lines) * (now - self.area_time)
        self.area_time = now

    def add_line(self, commissioned: float = -math.inf, ramp_months: float = 0.0,
                 ramp_start_fraction: float = 1.0) -> None:
        """Add a line (ramping up from ``commissioned``, if given); it looks for work."""
        self._advance_areas()
        last = self.cohorts[-1] if self.cohorts else None
        if last is None or (last.commissioned, last.ramp_months, last.start_fraction) != (
                commissioned, ramp_months, ramp_start_fraction):
            last = Cohort(commissioned, ramp_months, ramp_start_fraction)
            self.cohorts.append(last)
        line = Line(self, len(self.lines), self.streams, last, commissioned, ramp_months,
                    ramp_start_fraction)
        self.lines.append(line)
        self.ramp_end = max(self.ramp_end, line.ramp_end)
        self._try_start(line)

    def plan_lines(self, at: float, lines: int, ramp_months: float, start_fraction: float) -> None:
        """An investment was funded: ``lines`` lines will be commissioned ``at`` (for quotes)."""
        self.planned.append((at, ramp_months, start_fraction, lines))

    def commission(self, at: float, lines: int, ramp_months: float, start_fraction: float) -> None:
        """Add the lines an investment planned (``plan_lines``), ramping up from ``at``."""
        planned = (at, ramp_months, start_fraction, lines)
        if planned in self.planned:
            self.planned.remove(planned)
        for _ in range(lines):
            self.add_line(at, ramp_months, start_fraction)
        self.wake()

    def expected_work_months(self) -> float:
        """Expected line time of a lot at full rate now: the mean takt with learning so far,
        rework (1 / yield) and downtime (1 / availability)."""
        if self.spec.learning is None:
            return self.full_work
        return self._work_with(self.learning_multiplier())

    def _work_with(self, learning: float) -> float:
        spec = self.spec
        if self.availability <= 0 or spec.yield_fraction <= 0:
            return math.inf
        return self.takt_mean * learning / spec.yield_fraction / self.availability

    def learning_multiplier(self) -> float:
        learning = self.spec.learning
        if learning is None:
            return 1.0
        done = learning.prior_units + self.started_units
        return max(learning.floor_fraction, (done / learning.prior_units) ** self.learning_exponent)

    def capacity_per_year(self, now: float) -> float:
        """Nominal rate of all lines now, in units a year."""
        spec = self.spec
        per_line = self.full_rate_per_line
        if per_line is None or spec.learning is not None:
            takt = self.takt_mean * self.learning_multiplier() / spec.yield_fraction
            if takt <= 0:
                return math.inf if self.lines else 0.0
            per_line = 12 * spec.lot_size * self.availability / takt
            self.full_rate_per_line = per_line
        if now >= self.ramp_end:  # every line at full rate
            return per_line * len(self.lines)
        return per_line * sum(line.rate_fraction(now) for line in self.lines)

    # -- the line process ----------------------------------------------------------
    def wake(self) -> None:
        """Idle lines look for work once the current instant's other events are done.

        Deferred so that orders arriving at the same instant compete by policy (a
        priority-1 order placed a moment later in the same month still goes first).
        """
        if self.idle and not self.wake_pending:
            self.wake_pending = True
            self.env.call_later(0, self._wake_now)

    def _wake_now(self, _event: object = None) -> None:
        """Idle lines look for work, in turn, until one finds none: the fastest first (a line
        at full rate before one ramping up), else in the order they fell idle."""
        self.wake_pending = False
        idle, self.idle = self.idle, []
        now = self.env.now
        if len(idle) > 1 and self.ramp_end > now:
            idle.sort(key=lambda line: -line.rate_fraction(now))
        for k, line in enumerate(idle):
            if self._try_start(line) is None:
                self.idle.extend(idle[k + 1:])
                return

    def _try_start(self, line: Line) -> bool | None:
        """Give ``line`` its next lot: True if started, False if the line is stopped,
        None if there is no work (the line then waits among the idle)."""
        env = self.env
        now = env.now
        if line.between_failures is not None:
            up = line.down_until(now)
            if up > now:
                line.busy_until = up
                cohort = line.cohort
                cohort.busy_lines += 1
                cohort.busy_until_sum += up
                if up > self.latest_busy:
                    self.latest_busy = up
                env.call_later(up - now, lambda _event: self._retry(line))
                return False
        # No work is the usual answer for an end product's line: answer it without a call.
        lot = None if self.need_is_backlog and self.product.backlog < self.spec.min_lot_size \
            else self._start_lot()
        if lot is None:
            self.idle.append(line)
            return None
        # The usual lot: one takt draw (no learning, ramp-up or rework to apply).
        work = next(line.takt) if self.plain and now >= line.ramp_end \
            else self._work_months(line, now, lot.units)
        end = line.finish_time(now, work) if line.between_failures is not None else now + work
        self.busy_area += self.busy * (now - self.area_time)  # inlined _advance_areas
        self.line_area += len(self.lines) * (now - self.area_time)
        self.area_time = now
        self.busy += 1
        line.lot = lot
        line.busy_until = end  # (as for a stopped line above, inlined: this runs for every lot)
        cohort = line.cohort
        cohort.busy_lines += 1
        cohort.busy_until_sum += end
        if end > self.latest_busy:
            self.latest_busy = end
        env.call_later(end - now, line.off_line)
        return True

    def _retry(self, line: Line) -> None:
        """A stopped line is repaired: it looks for work."""
        cohort = line.cohort
        cohort.busy_lines -= 1
        cohort.busy_until_sum -= line.busy_until
        self._try_start(line)

    def _off_line(self, line: Line, _event: object) -> None:
        """The lot leaves the line for its flow; the line takes the next lot."""
        lot = line.lot
        assert lot is not None
        line.lot = None
        cohort = line.cohort
        cohort.busy_lines -= 1
        cohort.busy_until_sum -= line.busy_until
        env = self.env
        now = env.now
        self.busy_area += self.busy * (now - self.area_time)
        self.line_area += len(self.lines) * (now - self.area_time)
        self.area_time = now
        self.busy -= 1
        flow = next(self.flow)
        lot.due = now + flow
        self.in_flow += 1
        if self.deterministic:
            self.flowing[lot] = None
        if lot.due > self.latest_due:
            self.latest_due = lot.due
        if flow > 0:
            env.call_later(flow, lambda _event: self.finish(lot))  # (a partial costs more)
        else:
            self.finish(lot)
        self._try_start(line)

    def lot_learning_multiplier(self, units: int) -> float:
        """The learning multiplier of a lot of ``units`` just started: the mean of its units'
        own (unit ``prior + k`` at ``((prior + k) / prior) ** exponent``, at least the floor),
        so that a lot of ten is not made at the rate of its tenth unit."""
        learning = self.spec.learning
        if learning is None:
            return 1.0
        prior, floor, exponent = learning.prior_units, learning.floor_fraction, self.learning_exponent
        first = prior + self.started_units - units + 1
        if units <= 1:
            return max(floor, (first / prior) ** exponent)
        return math.fsum(max(floor, (n / prior) ** exponent) for n in range(first, first + units)) / units

    def _work_months(self, line: Line, now: float, units: int) -> float:
        """Takt of one lot of ``units``, with ramp-up and learning, repeated until it passes
        acceptance."""
        work = next(line.takt)
        scale = 1.0
        if self.spec.learning is not None or now < line.ramp_end:  # (else the scale is exactly 1)
            scale = self.lot_learning_multiplier(units) / line.rate_fraction(now)
            work *= scale
        if line.yield_draws is not None:
            while next(line.yield_draws) >= self.spec.yield_fraction:
                work += next(line.takt) * scale
        return work

    def _start_lot(self) -> Lot | None:
        """Take the next lot's units (and components) if there is work, else None."""
        product = self.product
        spec = self.spec
        need = product.backlog if self.need_is_backlog else product.start_need()  # (no call: hot)
        units = spec.lot_size if need > spec.lot_size else need
        for component, per_unit in product.bom:
            units = min(units, component.stock // per_unit)
        if units < spec.min_lot_size:
            return None
        for component, per_unit in product.bom:
            component.stock -= units * per_unit
        lot = Lot(units, [])
        lot.allocation = self.outlet.commit(product, units, lot)
        product.wip += units
        self.started_units += units
        guard = self.guard
        guard.lots_started += 1
        if guard.lots_started > guard.max_lots:
            guard.too_many_lots()
        # No supplier needs waking: consuming components lowers their stock and their
        # downstream need by the same amount.
        return lot

    def finish(self, lot: Lot, _event: object = None) -> None:
        """A lot leaves work in progress for its outlet (delivered, or stocked)."""
        product = self.product
        product.wip -= lot.units
        self.in_flow -= 1
        if self.deterministic:
            del self.flowing[lot]
        self.outlet.deliver(product, lot)
        if product.wip < 0:
            raise SimulationError(f"negative work in progress for {product.name}")
