"""Allocation policies: which backlog orders get the units of a lot.

A policy holds the orders of one product that have uncommitted units: the engine calls
``add(order)`` whenever an order's uncommitted units rise from zero. Its queue may hold
an order twice or hold one whose units were all taken meanwhile (a delivery can move
units), so ``take`` counts what it gives each order and skips exhausted ones. At a lot
start the engine calls ``take(units)``; the policy answers with ``(order, units)`` pairs
and the engine commits them (and checks the answer). A policy may also override
``reassign`` to give finished units to other open orders at delivery, as happened when
Switzerland's Patriots were moved behind Ukraine's in 2025; the engine then hands the
receiving orders' later commitments to the orders that lost units.

For quotes, a policy says where a new order placed now would stand: ``standing`` answers
with the uncommitted units that would be started before the new order's (and, for a
policy that reassigns at delivery, the undelivered units delivered before them). A policy
without it gets the first-come-first-served answer, and its quotes say so (``fallback``).

Write your own by subclassing ``AllocationPolicy`` in your module and listing it in the
module's ``POLICIES = {"my-policy": MyPolicy}``; load it with ``--plugin my_module``.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Collection, Iterator
from typing import Any, NamedTuple, Protocol

from leadtime_sim.registry import Registry

Allocation = list[tuple["OrderView", int]]


class OrderView(Protocol):
    """What a policy may read of an order."""

    index: int
    id: str
    customer: str
    priority: int
    entered_months: float
    quantity: int
    uncommitted: int
    delivered: int


class Standing(NamedTuple):
    """Where a new order would stand, as an allocation policy answers it (for quotes)."""

    start_ahead: int
    """Uncommitted units the lines would start before the new order's units."""
    deliver_ahead: int | None = None
    """When finished units are reassigned at delivery to the most urgent open orders: the
    undelivered units (work in progress included) delivered before the new order's; None
    when the order receives the units started for it."""


class Prospect(NamedTuple):
    """A new order a quote asks about, and the state of the product it would join."""

    quantity: int
    priority: int
    customer: str
    backlog_units: int
    """Uncommitted units of the product's orders (what its lines have still to start)."""
    wip_units: int
    """Units started and not yet delivered."""
    reassigning: bool
    """Finished units may be reassigned at delivery (``reassign_at_delivery``)."""


class AllocationPolicy:
    """Base class; ``fifo`` behaviour. Subclasses override ``add`` and ``take``."""

    name = "fifo"
    """Set by ``POLICIES.register`` (and for a plugin's policy, by ``load_plugins``)."""

    def __init__(self) -> None:
        self.queue: deque[OrderView] = deque()

    def add(self, order: OrderView) -> None:
        """``order`` has (again) uncommitted units."""
        self.queue.append(order)

    def take(self, units: int) -> Allocation:
        """Choose orders for up to ``units`` units; do not change the orders."""
        queue = self.queue
        if queue and queue[0].uncommitted >= units:  # the usual case: the first order fills the lot
            order = queue[0]
            if order.uncommitted == units:
                queue.popleft()
            return [(order, units)]
        return _take_from_front(queue, units, _deque_front, deque.popleft)

    def reassign(self, allocation: Allocation, open_orders: Collection[OrderView]) -> Allocation:
        """At delivery: who gets the finished units (by default, whom they were made for).

        ``open_orders`` are the product's orders not yet fully delivered; an order may get
        at most its quantity less what it has been delivered.
        """
        return allocation

    def standing(self, prospect: Prospect) -> Standing | None:
        """Where a new order (``prospect``) placed now would stand. Called at every month
        end for each product: keep it cheap.

        None (this base class's answer): the policy cannot say, and quotes assume the order
        stands behind every uncommitted unit, as first come, first served.
        """
        return None


POLICIES: Registry[type[AllocationPolicy]] = Registry("allocation policy")
"""The built-in policies; a run's policies are these plus its plugins' (``Plugins``)."""


def _policy(name: str) -> Any:
    """Declare a built-in policy under ``name`` (which its instances report)."""
    def add(cls: type[AllocationPolicy]) -> type[AllocationPolicy]:
        cls.name = name
        return POLICIES.register(name)(cls)
    return add


@_policy("fifo")
class FifoPolicy(AllocationPolicy):
    """First come, first served by the date the order entered the backlog."""

    def standing(self, prospect: Prospect) -> Standing:
        """Behind every uncommitted unit."""
        return Standing(prospect.backlog_units)


@_policy("priority")
class PriorityPolicy(AllocationPolicy):
    """Priority class first (1 before 2), then date. Can reassign at delivery."""

    def __init__(self) -> None:
        self.heap: list[tuple[int, float, int, OrderView]] = []
        self.open_by_class: dict[int, dict[int, OrderView]] = {}
        """Orders not fully delivered, by class, in order of entry into the backlog (pruned
        lazily): an order is listed when it first has uncommitted units, that is on entry."""

    def add(self, order: OrderView) -> None:
        heapq.heappush(self.heap, (order.priority, order.entered_months, order.index, order))
        self.open_by_class.setdefault(order.priority, {}).setdefault(order.index, order)

    def take(self, units: int) -> Allocation:
        heap = self.heap
        if heap and heap[0][3].uncommitted >= units:  # the usual case: the first order fills the lot
            order = heap[0][3]
            if order.uncommitted == units:
                heapq.heappop(heap)
            return [(order, units)]
        return _take_from_front(heap, units, _heap_front, heapq.heappop)

    def _waiting(self, classes: Collection[int] | None = None) -> Iterator[OrderView]:
        """Orders not fully delivered (of ``classes``, or all), most urgent class first, in
        each class oldest first (by entry into the backlog); fully delivered ones are
        dropped as they are met."""
        for priority in sorted(self.open_by_class if classes is None else classes):
            orders = self.open_by_class[priority]
            while orders:  # drop delivered orders from the front; the rest are skipped
                first = next(iter(orders.values()))
                if first.delivered < first.quantity:
                    break
                del orders[first.index]
            for order in orders.values():
                if order.delivered < order.quantity:
                    yield order

    def standing(self, prospect: Prospect) -> Standing:
        """Behind the uncommitted units of its class and the more urgent ones; with
        reassignment, behind every undelivered unit of those classes. (Counted as all units
        less those of the less urgent classes: none, for the least urgent class.)"""
        k = prospect.priority
        if max(self.open_by_class, default=k) <= k:  # the least urgent class: behind everyone
            backlog = prospect.backlog_units
            return Standing(backlog, backlog + prospect.wip_units if prospect.reassigning else None)
        later = [c for c in self.open_by_class if c > k]
        if not prospect.reassigning:
            behind = _uncommitted(entry[3] for entry in self.heap if entry[0] > k) if later else 0
            return Standing(prospect.backlog_units - behind)
        behind = undelivered = 0
        for order in self._waiting(later):
            behind += order.uncommitted
            undelivered += order.quantity - order.delivered
        return Standing(prospect.backlog_units - behind,
                        prospect.backlog_units + prospect.wip_units - undelivered)

    def reassign(self, allocation: Allocation, open_orders: Collection[OrderView]) -> Allocation:
        """Each finished unit goes to the oldest open order of the most urgent class that still
        waits for units: inside a class, an order that entered earlier is never completed
        after one that entered later, and it receives all its units before the later one
        receives any. (Units wait at most a lot's takt and flow in the lot made for them.)"""
        units = 0
        for order, n in allocation:
            units += n
            self.open_by_class.setdefault(order.priority, {}).setdefault(order.index, order)  # (known: fast)
        result: Allocation = []
        for order in self._waiting():
            if not units:
                break
            n = min(units, order.quantity - order.delivered)
            result.append((order, n))
            units -= n
        return result


@_policy("fair-share")
class FairSharePolicy(AllocationPolicy):
    """Units go in turn to the waiting customer that has been allotted the fewest so far."""

    def __init__(self) -> None:
        self.by_customer: dict[str, deque[OrderView]] = {}
        self.allotted: dict[str, int] = {}

    def add(self, order: OrderView) -> None:
        self.by_customer.setdefault(order.customer, deque()).append(order)
        self.allotted.setdefault(order.customer, 0)

    def take(self, units: int) -> Allocation:
        counts: dict[int, int] = {}
        orders: dict[int, OrderView] = {}
        for _ in range(units):
            waiting = []
            for customer, queue in self.by_customer.items():
                while queue and queue[0].uncommitted - counts.get(queue[0].index, 0) <= 0:
                    queue.popleft()
                if queue:
                    waiting.append(customer)
            if not waiting:
                break
            customer = min(waiting, key=lambda c: (self.allotted[c], c))
            queue = self.by_customer[customer]
            order = queue[0]
            counts[order.index] = counts.get(order.index, 0) + 1
            orders[order.index] = order
            self.allotted[customer] += 1
        return [(orders[i], n) for i, n in counts.items()]

    def standing(self, prospect: Prospect) -> Standing:
        """A unit goes to the waiting customer allotted the fewest (ties by name): the new
        order's last unit comes when ``customer`` has been allotted its other waiting units and
        these; every other customer is served up to that count first."""
        waiting = {c: _uncommitted(queue) for c, queue in self.by_customer.items()}
        customer = prospect.customer
        own = waiting.pop(customer, 0)
        last = self.allotted.get(customer, 0) + own + prospect.quantity - 1
        ahead = own
        for other, units in waiting.items():
            ahead += min(units, max(0, last - self.allotted[other] + (other < customer)))
        return Standing(ahead)


def _uncommitted(orders: Iterator[OrderView] | deque[OrderView]) -> int:
    """Uncommitted units of the orders listed (each counted once)."""
    seen: dict[int, int] = {}
    for order in orders:
        seen[order.index] = order.uncommitted
    return sum(seen.values())


def _deque_front(queue: deque[OrderView]) -> OrderView:
    return queue[0]


def _heap_front(heap: list[tuple[int, float, int, OrderView]]) -> OrderView:
    return heap[0][3]


def _take_from_front(queue: Any, units: int, front: Callable[[Any], OrderView],
                     pop: Callable[[Any], Any]) -> Allocation:
    """Take units from the front of a queue, skipping exhausted and repeated orders."""
    given: dict[int, int] = {}
    taken: Allocation = []
    while units and queue:
        order = front(queue)
        n = min(units, order.uncommitted - given.get(order.index, 0))
        if n > 0:
            given[order.index] = given.get(order.index, 0) + n
            taken.append((order, n))
            units -= n
        if order.uncommitted - given.get(order.index, 0) <= 0:
            pop(queue)
    return taken

