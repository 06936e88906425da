"""Which order each unit of a product goes to, as the allocation curve rises.

Positions (the product's units, counted from 0 in the order they are handed out) go to the
open orders by class (``priority``: class 1 first; otherwise one class), first come first
served within a class, when the allocation curve (units leaving the line, or delivered when
finished units are reassigned) passes them. An order entering at a grid point takes part
from the next one on.

One ``Allocator`` per product runs forward through the grid once: a review advances it to
its own time (orders act forward only, so the curves up to then are final), an order placed
there joins at once, and what records and quotes need (each order's positions, the units not
yet handed out by class at the sampled grid points) is there when the run ends.
"""

from __future__ import annotations

import heapq
import math
from bisect import bisect_right
from collections.abc import Callable, Iterable

from leadtime_sim.fluid_model.orders import FluidOrder

EPS = 1e-9


def whole(position: float) -> int:
    """A position rounded half up (the same way for the end of one segment and the start of
    the next, so that no unit is counted twice)."""
    return math.floor(position + 0.5)


class UnitCount:
    """The whole units handed to a set of customers' orders, as runs of positions."""

    def __init__(self) -> None:
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.before: list[int] = []
        """Units in the runs before each run."""
        self.total = 0

    def add(self, first: int, end: int) -> None:
        if end <= first:
            return
        if self.ends and self.ends[-1] == first:
            self.ends[-1] = end
        else:
            self.starts.append(first)
            self.ends.append(end)
            self.before.append(self.total)
        self.total += end - first

    def below(self, units: int) -> int:
        """The units among the first ``units`` positions."""
        k = bisect_right(self.ends, units)
        if k == len(self.ends):
            return self.total
        return self.before[k] + max(0, units - self.starts[k])


class Allocator:
    """Hands a product's positions to its orders (module docstring).

    ``curve()`` gives the allocation curve at each grid index (a list: looked up, never
    interpolated, as every time the allocator stops at is on the grid); ``samples`` are the
    grid indices at which the units not handed out, by class, are kept; ``counted`` names
    sets of customers whose whole units ``UnitCount`` keeps (a requirement's, for reviews).
    """

    def __init__(self, orders: Iterable[FluidOrder], curve: Callable[[], list[float]], by_class: bool,
                 samples: Iterable[int] = (), counted: dict[str, frozenset[str]] | None = None):
        self.pending = sorted(orders, key=lambda o: (o.at, o.index))
        self.entering = [o.at for o in self.pending]
        """Grid index at which each pending order enters."""
        self.next = 0
        self.curve = curve
        self.by_class = by_class
        self.samples = sorted(set(samples))
        self.next_sample = 0
        self.counted = {key: UnitCount() for key in counted or {}}
        self.customers = counted or {}
        self.heap: list[tuple[tuple[int, float, int], int]] = []
        self.remaining: dict[int, float] = {}
        self.counts_of: dict[int, list[UnitCount]] = {}
        self.segments: dict[int, list[tuple[float, float]]] = {}
        """Each order's positions (``index``: list of (from, to))."""
        self.open: dict[int, float] = {}
        """Units ordered and not handed out, by class (now)."""
        self.sampled: dict[int, dict[int, float]] = {}
        """``open`` at each sampled grid index, once every order entering there is in."""
        self.y = 0.0
        self.at = -1

    def advance(self, until: int) -> None:
        """Hand out positions up to the curve at grid index ``until``, stopping where orders
        enter and at the samples on the way."""
        if until <= self.at:
            return
        ys = self.curve()
        pending, entering, samples, sampled = self.pending, self.entering, self.samples, self.sampled
        n_pending, n_samples = len(pending), len(samples)
        nxt, ns, at = self.next, self.next_sample, self.at
        while ns < n_samples and samples[ns] <= at:
            ns += 1
        while True:
            j = until
            if nxt < n_pending and entering[nxt] < j:
                j = entering[nxt]
            if ns < n_samples and samples[ns] < j:
                j = samples[ns]
            if self.heap and self.y < ys[j] - EPS:
                self._hand_out(ys[j])
            while nxt < n_pending and entering[nxt] <= j:
                self._push(pending[nxt])
                nxt += 1
            at = j
            if ns < n_samples and samples[ns] == j:
                sampled[j] = dict(self.open)
                ns += 1
            if j >= until:
                break
        self.next, self.next_sample, self.at = nxt, ns, at

    def add(self, order: FluidOrder) -> None:
        """An order placed now (at or after the grid index reached)."""
        if order.at > self.at:
            k = bisect_right(self.entering, order.at, lo=self.next)
            self.pending.insert(k, order)
            self.entering.insert(k, order.at)
            return
        self._push(order)
        if self.at in self.sampled:
            self.sampled[self.at] = dict(self.open)

    def _push(self, o: FluidOrder) -> None:
        cls = o.priority if self.by_class else 0
        heapq.heappush(self.heap, ((cls, o.entered, o.index), o.index))
        self.remaining[o.index] = float(o.quantity)
        self.open[cls] = self.open.get(cls, 0.0) + o.quantity
        self.counts_of[o.index] = [self.counted[key] for key, names in self.customers.items()
                                   if o.customer in names]

    def _hand_out(self, target: float) -> None:
        heap, remaining, segments, open_ = self.heap, self.remaining, self.segments, self.open
        y = self.y
        while heap and y < target - EPS:
            key, idx = heap[0]
            take = min(remaining[idx], target - y)
            seg = segments.setdefault(idx, [])
            if seg and abs(seg[-1][1] - y) < EPS:
                seg[-1] = (seg[-1][0], y + take)
            else:
                seg.append((y, y + take))
            for count in self.counts_of[idx]:
                count.add(whole(y), whole(y + take))
            y += take
            remaining[idx] -= take
            open_[key[0]] -= take
            if remaining[idx] <= EPS:
                heapq.heappop(heap)
        self.y = y
