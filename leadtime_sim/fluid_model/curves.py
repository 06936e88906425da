"""One product's cumulative curves on the grid: work, units started, line output, deliveries.

What does not change between reviews (capacity, each factory's share of it, the times at
which the delivery curve bends, the initial WIP's deliveries) is computed once; ``update``
recomputes the rest when an order changes the product's work. Curves that a review searches
are also kept as lists (a NumPy call costs more than the arithmetic there).
"""

from __future__ import annotations

import math
from bisect import bisect_left
from dataclasses import dataclass
from functools import cached_property

import numpy as np

CROSSING_TOLERANCE = 1e-9
_NO_STEPS, _NO_TIMES = np.zeros(0, np.int64), np.zeros(0)
_NO_STEPS.flags.writeable = _NO_TIMES.flags.writeable = False


@dataclass(frozen=True)
class Maker:
    """A factory making the product: its name, mean flow time (months), initial WIP (units),
    cumulative capacity on the grid (units) and, for the units it has started, the time a lot
    holds a line at full rate (months) and the units its lines in service hold, one lot each,
    at each grid point."""

    name: str
    flow_months: float
    wip_units: float
    capacity: np.ndarray
    lot_months: float = 0.0
    on_lines_units: np.ndarray | None = None
    lot_units: int = 1
    """The factory's lot size (its initial WIP flows in lots of it, as a run's)."""

    def wip_dues(self) -> np.ndarray:
        """When each lot of the initial WIP is delivered, as a run delivers them: ``lots`` lots
        of the lot size (the last the rest), lot ``k`` at ``flow x (k + 1/2) / lots``."""
        lots = math.ceil(self.wip_units / self.lot_units)
        return self.flow_months * (np.arange(lots) + 0.5) / lots

    def wip_delivered(self, t: np.ndarray) -> np.ndarray:
        """Units of the initial WIP delivered by each of ``t``: a step at each lot's due time
        (``wip_dues``)."""
        if self.flow_months <= 0:
            return self.wip_units * (t >= 0)
        lots = np.searchsorted(self.wip_dues(), t, side="right")
        return np.minimum(lots * float(self.lot_units), self.wip_units)


class ProductCurves:
    """A product's curves on ``grid`` (the package docstring): ``arrivals`` (work the lines
    can take), ``started`` (units started on the lines) and ``committed`` (the positions
    handed to orders as they start), ``output`` (the lines' cumulative
    output), ``factory_output``, ``factory_started`` and ``delivered`` (units delivered, at
    ``delivered_times``)."""

    def __init__(self, name: str, grid: np.ndarray, capacity: np.ndarray, makers: list[Maker]):
        self.name = name
        self.grid = grid
        self.capacity = capacity
        self.infinite = bool(np.isinf(capacity[-1]))
        self.makers = makers
        self.flow_months = max((m.flow_months for m in makers if m.capacity[-1] > 0), default=0.0)
        """The flow time quotes add: the longest of the factories that make any (a factory
        without lines makes nothing, and its flow delayed every quote)."""
        self._d_capacity = d_cap = steps(capacity)
        self._room = d_cap[1:] - CROSSING_TOLERANCE
        """Less than a step's capacity, from the second step on: a step that made less ran out of work."""
        self._lot_times = [grid + m.lot_months if 0 < m.lot_months < math.inf else None for m in makers]
        """Per maker, when a unit started at each grid point leaves its line (None: no lots held)."""
        self.shares: list[np.ndarray | None] = []
        working = d_cap > 0
        for m in makers:
            share = np.divide(steps(m.capacity), d_cap, out=np.full_like(grid, 1.0 / len(makers)),
                              where=working)
            self.shares.append(None if (share == 1.0).all() else share)  # (x 1.0 changes nothing)
        self._flows = list(dict.fromkeys(m.flow_months for m in makers))
        """The makers' flow times, each once."""
        wip_steps = [t for dues in (m.wip_dues() for m in makers if m.wip_units and m.flow_months > 0)
                     for t in (dues, np.nextafter(dues, -math.inf))]
        self._unkinked_times = sorted_unique(np.concatenate(
            [grid, *(np.append(grid + flow, flow) for flow in self._flows), *wip_steps]))
        """The delivery curve's times without kinks: the grid, the grid and 0 shifted by each
        maker's flow, and each initial WIP lot's due time and the instant before it (a step)."""
        self.kinks = np.zeros(0)
        """Times inside grid steps at which the lines run out of work (``update``)."""
        self._kink_steps = np.zeros(0, np.int64)
        """The grid index of each kink's step."""
        self._set_times()
        self.version = 0
        """Counts updates (what caches of these curves compare)."""
        self.arrivals = self.started = self.committed = self.output = np.zeros(0)
        self.delivered = self.delivered_on_grid = np.zeros(0)
        self.factory_output: dict[str, np.ndarray] = {}
        self._factory_started: dict[str, np.ndarray] | None = None
        self._on_lines: list[np.ndarray | None] = []
        """Per maker, the units on its lines (started, not made) before the work's cap."""
        self._held = np.zeros(0)
        self._delivered_list: list[float] | None = None
        self._on_grid_list: list[float] | None = None

    def update(self, work: np.ndarray, limits: list[np.ndarray]) -> None:
        """The curves from ``work`` (units ordered less initial WIP, at each grid point) and,
        per component, the units it allows (on hand / per unit)."""
        a = np.maximum(work, 0.0)
        self.arrivals = a
        before = np.empty_like(a)
        before[0] = 0.0
        before[1:] = a[:-1]
        x = before
        for have in limits:
            x = np.minimum(x, have)
        k = self.capacity  # (an infinitely fast line: output is the work there)
        out = np.minimum(before, x) if self.infinite else k + np.minimum.accumulate(x - k)
        out = np.maximum.accumulate(np.maximum(out, 0.0))
        self.output = out
        d_out = steps(out)
        self._find_kinks(out, d_out, before, x if limits else None)  # (x: work before, components at end)
        times, source = self._bend_times, self._bend_source
        total = np.zeros(len(self.delivered_times))
        held = np.zeros(len(self.grid))
        self._on_lines = []
        for m, share, wip, shifted, lot_times in zip(self.makers, self.shares, self.wip_deliveries,
                                                     self.shifted_times, self._lot_times, strict=True):
            made = np.cumsum(d_out if share is None else d_out * share)
            self.factory_output[m.name] = made
            if wip is not None:
                total += wip
            values = made if source is None else made[source]  # (flat from each kink to its step's end)
            total += np.interp(shifted, times, values, left=0.0)
            on_lines = None
            if lot_times is not None and m.on_lines_units is not None:  # (the lots on its lines)
                ahead = np.interp(lot_times, times, values) - made
                on_lines = np.minimum(ahead, m.on_lines_units)
                held += on_lines
            self._on_lines.append(on_lines)
        # a unit is started (committed to an order, as a run commits a lot at its start) one lot
        # time before it leaves the line: no more than the work there and the components on hand
        taken = out + held
        started = np.minimum(taken, before)
        started[0] = min(taken[0], a[0])
        for have in limits:
            started = np.minimum(started, have)
        self.started = started = np.maximum.accumulate(np.maximum(started, out))
        # a unit (positions u to u + 1) is committed when its lot starts, as the started curve
        # reaches u + 1; whole units go to the order holding u + 0.5 (``UnitCount``): half a unit less
        self.committed = np.maximum(started - 0.5, out)
        self._held = held
        self._factory_started = None
        self.delivered = total
        self.delivered_on_grid = total[self.grid_positions]
        self.version += 1
        self._delivered_list = self._on_grid_list = None

    def _set_times(self) -> None:
        """The times the delivery curve bends at: the grid and the kinks, shifted by each
        maker's flow, and what depends on them."""
        grid, makers = self.grid, self.makers
        t = self._unkinked_times
        if len(self.kinks):
            t = sorted_unique(np.concatenate([t, *(self.kinks + flow for flow in self._flows)]))
        self.delivered_times = t
        self.grid_positions = np.searchsorted(t, grid)
        self.wip_deliveries = [m.wip_delivered(t) if m.wip_units else None for m in makers]
        shifted = {flow: t - flow for flow in self._flows}
        self.shifted_times = [shifted[m.flow_months] for m in makers]
        self.__dict__.pop("delivered_times_list", None)
        self._set_bends()

    def _set_bends(self) -> None:
        """The times at which a factory's output bends, the grid with each kink inserted
        before its step's end (``np.insert``), and the grid index whose output each takes
        (None: the grid alone)."""
        at = self._kink_steps
        if not len(at):
            self._bend_times, self._bend_source = self.grid, None
            return
        inserted = at + np.arange(len(at))
        on_grid = np.ones(len(self.grid) + len(at), bool)
        on_grid[inserted] = False
        source = np.empty(len(on_grid), np.int64)
        source[on_grid] = np.arange(len(self.grid))
        source[inserted] = at
        times = np.empty(len(on_grid))
        times[on_grid] = self.grid
        times[inserted] = self.kinks
        self._bend_times, self._bend_source = times, source

    def _find_kinks(self, out: np.ndarray, d_out: np.ndarray, work: np.ndarray,
                    allowed: np.ndarray | None = None) -> None:
        """Where the lines, at full rate from a step's start, run out of the work there before
        the step ends (the output is then not linear over the step): sets ``kinks``, the grid
        index of each kink's step and the times that depend on them. Steps held back by
        components (output at what ``allowed``, the work and components there, lets start)
        are left linear, also where the work ends there too: their components come during
        the step (a kink put a unit on its way before its components were delivered)."""
        at, kinks = _NO_STEPS, _NO_TIMES
        if not self.infinite and len(out) >= 2:
            made, tolerance = d_out[1:], CROSSING_TOLERANCE
            partial = (made > tolerance) & (made < self._room) & (out[1:] >= work[1:] - tolerance)
            if allowed is not None:
                partial &= out[1:] < allowed[1:] - tolerance
            at = partial.nonzero()[0] + 1
            if len(at):
                t0 = self.grid[at - 1]
                kinks = t0 + (self.grid[at] - t0) * d_out[at] / self._d_capacity[at]
        if len(kinks) != len(self.kinks) or not (kinks == self.kinks).all():
            self.kinks, self._kink_steps = kinks, at
            self._set_times()
        elif not (at == self._kink_steps).all():  # (the same times in other steps: rounding)
            self._kink_steps = at
            self._set_bends()

    @property
    def factory_started(self) -> dict[str, np.ndarray]:
        """Units each factory has started: its output and its share (by the lots on its lines)
        of the product's started units not yet made (made when asked: the summary never is)."""
        if self._factory_started is None:
            left = self.started - self.output
            self._factory_started = {}
            for m, on_lines in zip(self.makers, self._on_lines, strict=True):
                made = self.factory_output[m.name]
                if on_lines is None:
                    self._factory_started[m.name] = made
                    continue
                share = np.divide(on_lines, self._held, out=np.zeros_like(on_lines),
                                  where=self._held > CROSSING_TOLERANCE)
                self._factory_started[m.name] = made + share * left
        return self._factory_started

    @cached_property
    def capacity_list(self) -> list[float]:
        return self.capacity.tolist()

    @cached_property
    def grid_list(self) -> list[float]:
        return self.grid.tolist()

    @cached_property
    def delivered_times_list(self) -> list[float]:
        return self.delivered_times.tolist()

    def delivered_list(self) -> list[float]:
        """``delivered`` as a list (made once per update, when asked)."""
        if self._delivered_list is None:
            self._delivered_list = self.delivered.tolist()
        return self._delivered_list

    def on_grid_list(self) -> list[float]:
        """``delivered_on_grid`` as a list (made once per update, when asked)."""
        if self._on_grid_list is None:
            self._on_grid_list = self.delivered_on_grid.tolist()
        return self._on_grid_list


def steps(x: np.ndarray) -> np.ndarray:
    """``np.diff(x, prepend=0.0)``, without its checks (it is called per update)."""
    d = np.empty_like(x)
    d[:1] = x[:1]
    np.subtract(x[1:], x[:-1], out=d[1:])
    return d


def sorted_unique(x: np.ndarray) -> np.ndarray:
    """``np.unique(x)`` of a float array without NaN (the same sort and comparison, without
    its checks: it is called per update)."""
    x = np.sort(x)
    keep = np.empty(len(x), bool)
    keep[:1] = True
    np.not_equal(x[1:], x[:-1], out=keep[1:])
    return x[keep]


def first_crossing(values: np.ndarray, times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """The first time a nondecreasing piecewise-linear curve (``values`` at ``times``) reaches
    each target (inf: never)."""
    k = values.searchsorted(targets - CROSSING_TOLERANCE, side="left")
    n = len(values)
    inside = np.minimum(np.maximum(k, 1), n - 1)  # (np.clip on integers, without its checks)
    below = inside - 1
    v0, v1 = values[below], values[inside]
    t0, t1 = times[below], times[inside]
    rise = v1 - v0
    span = np.where(rise > 0, rise, 1.0)
    t = t0 + (t1 - t0) * np.clip((targets - v0) / span, 0.0, 1.0)
    t = np.where(k <= 0, times[0], t)
    return np.where(k >= n, math.inf, t)


def crossing(values: list[float], times: list[float], target: float) -> float:
    """``first_crossing`` of one target, on lists (the same arithmetic, without NumPy)."""
    k = bisect_left(values, target - CROSSING_TOLERANCE)
    n = len(values)
    if k >= n:
        return math.inf
    if k <= 0:
        return times[0]
    v0, v1 = values[k - 1], values[k]
    span = v1 - v0 if v1 - v0 > 0 else 1.0
    t0 = times[k - 1]
    return t0 + (times[k] - t0) * min(max((target - v0) / span, 0.0), 1.0)
