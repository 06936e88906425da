"""Product kinds: what a factory's product decides about its lots.

An end product is made to order: a lot takes backlog units, committed to orders when it
starts, and is delivered to them when it is done. A component is made to stock: a lot
starts to meet its parents' need and its stock target, and is put in stock when done,
waking the factories that use it. A factory asks its kind, never the product's flag.
"""

from __future__ import annotations

from functools import partial
from typing import Protocol

from leadtime_sim.sim.orders import OrderBook
from leadtime_sim.sim.policies import Allocation
from leadtime_sim.sim.state import Lot, ProductState


class ProductKind(Protocol):
    """The decisions a factory leaves to its product's kind."""

    need_is_backlog: bool
    """Units needed now are the backlog: a line can tell "no work" without a call."""

    def need(self) -> int:
        """Units of the product that should start now."""
        ...

    def allocate(self, units: int, lot: Lot) -> Allocation:
        """The orders the units of a lot starting now are committed to."""
        ...

    def finished(self, lot: Lot) -> None:
        """A lot is done (its units are out of work in progress)."""
        ...


class MadeToOrder:
    """An end product: lots are committed to orders at start and delivered to them."""

    need_is_backlog = True

    def __init__(self, product: ProductState, book: OrderBook):
        self.product = product
        # Bound once: the factory calls the order book with no Python frame in between.
        self.allocate = partial(book.commit, product)
        self.finished = partial(book.deliver, product)

    def need(self) -> int:
        return self.product.backlog


class MadeToStock:
    """A component: lots meet the parents' need and the stock target, then go to stock."""

    need_is_backlog = False

    def __init__(self, product: ProductState):
        self.product = product

    def need(self) -> int:
        return self.product.start_need()

    def allocate(self, units: int, lot: Lot) -> Allocation:
        return []

    def finished(self, lot: Lot) -> None:
        product = self.product
        product.stock += lot.units
        for parent, _ in product.parents:
            parent.wake_factories()


def kind_of(product: ProductState, book: OrderBook) -> ProductKind:
    """The kind of ``product`` (the one place that reads ``is_component``)."""
    return MadeToStock(product) if product.is_component else MadeToOrder(product, book)
