"""The fluid model's orders: the book, explicit orders and deterministic order streams."""

from __future__ import annotations

from dataclasses import dataclass

from leadtime_sim.dates import months_between
from leadtime_sim.scenario import Scenario


@dataclass(slots=True)
class FluidOrder:
    """An order as the fluid model carries it (the fields of ``OrderRecord`` it needs, and
    its place on the grid); mutable, as reviews append orders and index them."""

    index: int
    id: str
    customer: str
    product: str
    quantity: int
    priority: int
    source: str
    placed: float
    entered: float
    at: int = -1
    """Grid index of ``entered`` (past the grid's end when it enters after the horizon)."""


def known_orders(scenario: Scenario, horizon: float) -> list[FluidOrder]:
    """The orders known at start: the book and explicit orders in the order they enter (the
    book by the date placed, then file order, as the DES places it), then each stream's
    (``stream_orders``)."""
    orders: list[FluidOrder] = []
    for index, spec in enumerate(scenario.orders):
        placed = months_between(scenario.start, spec.placed)
        source = "book" if placed <= 0 else "explicit"
        orders.append(FluidOrder(0, spec.id or f"order-{index}", spec.customer, spec.product, spec.quantity,
                                 spec.priority, source, placed, max(placed, 0.0)))
    orders.sort(key=lambda o: (o.entered, o.placed))  # (stable)
    orders += stream_orders(scenario, horizon)
    for index, o in enumerate(orders):
        o.index = index
    return orders


def stream_orders(scenario: Scenario, horizon: float) -> list[FluidOrder]:
    """Each stream as mean-size orders at its mean intervals: the ``k``-th at ``from + k x
    mean gap``, the first ``k`` holding ``round(k x mean)`` units."""
    out = []
    for index, spec in enumerate(scenario.order_streams):
        if spec.rate_per_year <= 0:
            continue
        name = scenario.stream_name(index)
        gap = 12 / spec.rate_per_year
        t0 = months_between(scenario.start, spec.from_) if spec.from_ else 0.0
        until = months_between(scenario.start, spec.until) if spec.until else horizon
        mean, customer, product, priority = spec.quantity.mean, spec.customer, spec.product, spec.priority
        k, held = 1, 0  # (held: round((k - 1) x mean), the units in the first k - 1)
        while (t := t0 + k * gap) < until:
            now = round(k * mean)
            if t >= 0:
                out.append(FluidOrder(0, f"{name}-{k - 1}", customer, product, max(1, now - held), priority,
                                      "stream", t, t))
            k, held = k + 1, now
    return out
