"""Allocation policies: which backlog orders get the units of a lot.

A policy holds the orders of one product that still have uncommitted units. At a lot
start the engine calls ``take(units)``; the policy answers with ``(order, units)`` pairs
and the engine commits them (and checks the answer). A policy may also override
``reassign`` to move finished units to another order at delivery, as happened when
Switzerland's Patriots were moved behind Ukraine's in 2025.

Write your own by subclassing ``AllocationPolicy`` in your module and listing it in the
module's ``POLICIES = {"my-policy": MyPolicy}``; load it with ``--plugin my_module``.
"""

from __future__ import annotations

import heapq
from collections import deque
from typing import Protocol

Allocation = list[tuple["OrderView", int]]


class OrderView(Protocol):
    """What a policy may read of an order."""

    index: int
    customer: str
    priority: int
    entered_months: float
    quantity: int
    uncommitted: int
    delivered: int


class AllocationPolicy:
    """Base class; ``fifo`` behaviour. Subclasses override ``add`` and ``take``."""

    name = "fifo"

    def __init__(self) -> None:
        self.queue: deque[OrderView] = deque()

    def add(self, order: OrderView) -> None:
        """``order`` has (again) uncommitted units."""
        self.queue.append(order)

    def take(self, units: int) -> Allocation:
        """Choose orders for up to ``units`` units; do not change the orders."""
        taken: Allocation = []
        queue = self.queue
        while units and queue:
            order = queue[0]
            n = min(units, order.uncommitted)
            taken.append((order, n))
            units -= n
            if n == order.uncommitted:
                queue.popleft()
        return taken

    def reassign(self, allocation: Allocation) -> Allocation:
        """At delivery: who gets the finished units (by default, whom they were made for)."""
        return allocation


class FifoPolicy(AllocationPolicy):
    """First come, first served by the date the order entered the backlog."""


class PriorityPolicy(AllocationPolicy):
    """Priority class first (1 before 2), then date. Can reassign at delivery."""

    name = "priority"

    def __init__(self) -> None:
        self.heap: list[tuple[int, float, int, OrderView]] = []

    def add(self, order: OrderView) -> None:
        heapq.heappush(self.heap, (order.priority, order.entered_months, order.index, order))

    def take(self, units: int) -> Allocation:
        taken: Allocation = []
        heap = self.heap
        while units and heap:
            order = heap[0][3]
            n = min(units, order.uncommitted)
            taken.append((order, n))
            units -= n
            if n == order.uncommitted:
                heapq.heappop(heap)
        return taken

    def reassign(self, allocation: Allocation) -> Allocation:
        """Give finished units to waiting orders of a strictly more urgent class."""
        result: Allocation = []
        claimed: dict[int, int] = {}
        for order, units in allocation:
            while units:
                urgent = self._more_urgent(order.priority, claimed)
                if urgent is None:
                    break
                n = min(units, urgent.uncommitted - claimed.get(urgent.index, 0))
                claimed[urgent.index] = claimed.get(urgent.index, 0) + n
                result.append((urgent, n))
                units -= n
            if units:
                result.append((order, units))
        return result

    def _more_urgent(self, priority: int, claimed: dict[int, int]) -> OrderView | None:
        for entry in sorted(self.heap):
            order = entry[3]
            if order.priority >= priority:
                return None
            if order.uncommitted - claimed.get(order.index, 0) > 0:
                return order
        return None


class FairSharePolicy(AllocationPolicy):
    """Units go in turn to the waiting customer that has been allotted the fewest so far."""

    name = "fair-share"

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


BUILTIN = {"fifo": FifoPolicy, "priority": PriorityPolicy, "fair-share": FairSharePolicy}
