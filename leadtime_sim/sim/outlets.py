"""Where a factory's lots go: the product's kind, decided once per factory.

An end product is made to order: its factories' outlet is the order book, which commits
a lot's units to orders when it starts and delivers them when it is done. A component is
made to stock: its outlet is ``STOCK``, which commits a lot to no order and puts it in
stock when done, waking the factories that use the component. A factory calls its
outlet's ``commit`` and ``deliver`` whatever the kind, and reads ``need_is_backlog`` for
its shortcut to "no work".

The order book is the outlet itself, not wrapped: a wrapper's extra call per lot made
the kernel execute 1.5% (M/M/c) to 2% (default scenario) more machine instructions
(callgrind), with the same results.
"""

from __future__ import annotations

from typing import Protocol

from leadtime_sim.sim.orders import OrderBook
from leadtime_sim.sim.policies import Allocation
from leadtime_sim.sim.state import Lot, ProductState


class Outlet(Protocol):
    """What a factory does with its lots' units, at a lot's start and at its end."""

    @property
    def need_is_backlog(self) -> bool:
        """Units needed now are the product's backlog (else ``start_need()``)."""
        ...

    def commit(self, product: ProductState, units: int, lot: Lot) -> Allocation:
        """The orders the ``units`` of a ``lot`` starting now are committed to."""
        ...

    def deliver(self, product: ProductState, lot: Lot) -> None:
        """A lot is done (its units are out of work in progress)."""
        ...


class Stock:
    """The outlet of components: lots meet the parents' need and the stock target, and
    go to stock."""

    need_is_backlog = False

    def commit(self, product: ProductState, units: int, lot: Lot) -> Allocation:
        return []

    def deliver(self, product: ProductState, lot: Lot) -> None:
        product.stock += lot.units
        for parent, _ in product.parents:
            parent.wake_factories()


STOCK = Stock()


def outlet_of(product: ProductState, book: OrderBook) -> Outlet:
    """The outlet of ``product``'s factories (where the kernel decides on its kind)."""
    return STOCK if product.is_component else book
