"""Which order each unit of a product goes to, as the allocation curve rises.

Positions (the product's units, counted from 0 in the order they are handed out) go to the
open orders by class (``priority``: class 1 first; otherwise one class), first come first
served within a class, when the allocation curve (units started on the line, or delivered when
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

import numpy as np

from leadtime_sim.fluid_model.orders import FluidOrder

EPS = 1e-9
HALF = 0.5 + EPS
"""What a position is rounded with to a whole unit (``UnitCount``)."""


class UnitCount:
    """The whole units handed to a set of customers' orders, as runs of positions.

    A position is taken as a whole unit rounded half up, ``floor(x + HALF)``, the same way
    for the end of one segment and the start of the next, so that no unit counts twice:
    the unit ``u`` is the order's whose segment holds the position ``u + 0.5``. (``HALF`` is
    a half and a hair: a half computed as 7.499999999999999 is 7.5, so that an order's
    segment ending there does not give its last unit to the next order.)"""

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

    def units_in(self, first: int, end: int) -> np.ndarray:
        """The units counted among the positions ``first`` to ``end`` (ascending)."""
        k = max(0, bisect_right(self.ends, first))
        parts = []
        while k < len(self.starts) and self.starts[k] < end:
            parts.append(np.arange(max(self.starts[k], first), min(self.ends[k], end)))
            k += 1
        return np.concatenate(parts).astype(float) if parts else np.zeros(0)

    def below(self, units: int) -> int:
        """The units among the first ``units`` positions."""
        k = bisect_right(self.ends, units)
        if k == len(self.ends):
            return self.total
        return self.before[k] + max(0, units - self.starts[k])


class Allocator:
    """Hands a product's positions to its orders (module docstring).

    ``curve()`` gives the allocation curve at each grid index (a list: looked up, never
    interpolated, as every time the allocator stops at is on the grid). It stops where
    orders enter and where it is advanced to (a review); at the grid indices in ``keep`` it
    keeps the units not handed out, by class, read without stopping there (so that the
    positions, to the last bit, do not depend on what is kept), before the orders placed at
    that instant (as a run's quotes: at start, the order book only). ``counted`` names sets of
    customers whose whole units ``UnitCount`` keeps (a requirement's, for reviews).
    """

    def __init__(self, orders: Iterable[FluidOrder], curve: Callable[[], list[float]], by_class: bool,
                 keep: Iterable[int] = (), counted: dict[str, frozenset[str]] | None = None):
        self.pending = sorted(orders, key=lambda o: (o.at, o.index))
        self.entering = [o.at for o in self.pending]
        """Grid index at which each pending order enters."""
        self.next = 0
        self.curve = curve
        self.by_class = by_class
        self.keep = sorted(set(keep))
        self.next_kept = 0
        self.counted = {key: UnitCount() for key in counted or {}}
        self.customers = counted or {}
        self.heap: list[tuple[tuple[int, float, int], int]] = []
        self.remaining: dict[int, float] = {}
        self.counts_of: dict[int, list[UnitCount]] = {}
        self.counts_for: dict[str, list[UnitCount]] = {}
        """The counts each order's units (each customer's) go to."""
        self.segments: dict[int, list[tuple[float, float]]] = {}
        """Each order's positions (``index``: list of (from, to))."""
        self.open: dict[int, float] = {}
        """Units ordered and not handed out, by class (now)."""
        self.sampled: dict[int, dict[int, float]] = {}
        """``open`` at each kept grid index, once every order entering there is in."""
        self.y = 0.0
        self.at = -1

    def advance(self, until: int) -> None:
        """Hand out positions up to the curve at grid index ``until``, stopping where orders
        enter on the way."""
        if until <= self.at:
            return
        ys = self.curve()
        pending, entering, keep, sampled = self.pending, self.entering, self.keep, self.sampled
        n_pending, n_keep = len(pending), len(keep)
        nxt, nk, at = self.next, self.next_kept, self.at
        while True:
            j = entering[nxt] if nxt < n_pending and entering[nxt] < until else until
            while nk < n_keep and keep[nk] < j:
                if keep[nk] > at:
                    sampled[keep[nk]] = self._peek(ys[keep[nk]])
                nk += 1
            if self.heap and self.y < ys[j] - EPS:
                self._hand_out(ys[j])
            if nk < n_keep and keep[nk] == j and j > 0:  # (a run quotes before the orders of that instant)
                sampled[j] = dict(self.open)
                nk += 1
            while nxt < n_pending and entering[nxt] <= j:
                self._push(pending[nxt])
                nxt += 1
            if j == 0 and self.heap and self.y < ys[0] - EPS:  # the initial WIP: the book's, at start
                self._hand_out(ys[0])
            at = j
            if nk < n_keep and keep[nk] == j:  # (at start: after the order book)
                sampled[j] = dict(self.open)
                nk += 1
            if j >= until:
                break
        self.next, self.next_kept, self.at = nxt, nk, at

    def add(self, order: FluidOrder) -> None:
        """An order placed now (at or after the grid index reached)."""
        if order.at > self.at:
            k = bisect_right(self.entering, order.at, lo=self.next)
            self.pending.insert(k, order)
            self.entering.insert(k, order.at)
            return
        self._push(order)

    def _push(self, o: FluidOrder) -> None:
        cls = o.priority if self.by_class else 0
        heapq.heappush(self.heap, ((cls, o.entered, o.index), o.index))
        self.remaining[o.index] = float(o.quantity)
        self.open[cls] = self.open.get(cls, 0.0) + o.quantity
        counts = self.counts_for.get(o.customer)
        if counts is None:
            counts = self.counts_for[o.customer] = [self.counted[key] for key, names in self.customers.items()
                                                    if o.customer in names]
        self.counts_of[o.index] = counts

    def _peek(self, target: float) -> dict[int, float]:
        """``open`` as it would be after handing out positions up to ``target`` (the same
        arithmetic as ``_hand_out``, on copies)."""
        opened = dict(self.open)
        heap, y, limit = self.heap, self.y, target - EPS
        if not heap or y >= limit:
            return opened
        key, idx = heap[0]
        left, gap = self.remaining[idx], target - y
        if gap < left and left - gap > EPS and y + gap >= limit:  # (the first order takes it all)
            opened[key[0]] -= gap
            return opened
        heap, left_of = list(heap), dict(self.remaining)
        while heap and y < limit:
            key, idx = heap[0]
            left, gap = left_of[idx], target - y
            take = gap if gap < left else left
            y += take
            left_of[idx] = left = left - take
            opened[key[0]] -= take
            if left <= EPS:
                heapq.heappop(heap)
        return opened

    def _hand_out(self, target: float) -> None:
        """Positions up to ``target`` to the open orders, the most urgent first."""
        heap, remaining, segments, open_, counts_of = (self.heap, self.remaining, self.segments, self.open,
                                                       self.counts_of)
        floor = math.floor
        y = self.y
        limit = target - EPS
        while heap and y < limit:
            key, idx = heap[0]
            left, gap = remaining[idx], target - y
            take = gap if gap < left else left  # (min(left, gap))
            end = y + take
            seg = segments.get(idx)
            if seg is None:
                segments[idx] = [(y, end)]
            elif abs(seg[-1][1] - y) < EPS:
                seg[-1] = (seg[-1][0], end)
            else:
                seg.append((y, end))
            for count in counts_of[idx]:
                count.add(floor(y + HALF), floor(end + HALF))  # (whole units: UnitCount)
            y = end
            remaining[idx] = left = left - take
            open_[key[0]] -= take
            if left <= EPS:
                heapq.heappop(heap)
        self.y = y
