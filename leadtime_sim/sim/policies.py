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

Write your own by subclassing ``AllocationPolicy`` in your module and listing it in the
module's ``POLICIES = {"my-policy": MyPolicy}``; load it with ``--plugin my_module``.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Collection, Iterator
from typing import Any, Protocol

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

    def _waiting(self) -> Iterator[OrderView]:
        """Orders not fully delivered, most urgent class first, in each class oldest first
        (by entry into the backlog); fully delivered ones are dropped as they are met."""
        for priority in sorted(self.open_by_class):
            orders = self.open_by_class[priority]
            while orders:  # drop delivered orders from the front; the rest are skipped
                first = next(iter(orders.values()))
                if first.delivered < first.quantity:
                    break
                del orders[first.index]
            for order in orders.values():
                if order.delivered < order.quantity:
                    yield order

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

