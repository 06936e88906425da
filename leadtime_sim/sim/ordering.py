"""Ordering rules: how many units a customer orders at a requirement's review.

A rule is a function ``rule(review) -> units``. The built-in ``shortfall`` is declared in
``ORDERING_RULES``; a plugin module lists its own in ``ORDERING_RULES = {"name": rule}``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from leadtime_sim.registry import Registry
from leadtime_sim.scenario.checks import MAX_ORDER_UNITS
from leadtime_sim.scenario.schema import Requirement
from leadtime_sim.sim.consumption import ConsumptionSchedule


@dataclass(frozen=True)
class Review:
    """What an ordering rule sees at a review: it returns the units to order."""

    now_months: float
    requirement: str
    spec: Requirement
    inventory_units: float
    on_order_units: int
    required_at: Callable[[float], float]
    """Required inventory at a time (months from start)."""
    consumption: ConsumptionSchedule
    """Units used over time (use it, not ``spec.consumption_per_year``, which may be periods
    or a distribution)."""
    lookahead_months: float = 0.0
    """How far ahead to order (``ordering.lookahead_months``, or the lead time quoted now)."""
    deferred_units: float = 0.0
    """Units the requirements of ``ordering.defers_to`` still have to order for themselves
    (``still_to_order`` of each, at this lookahead): not this rule's to order."""


OrderingRule = Callable[[Review], int]
ORDERING_RULES: Registry[OrderingRule] = Registry("ordering rule")
"""The built-in rules; a run's rules are these plus its plugins' (``Plugins``)."""


@ORDERING_RULES.register("shortfall")
def shortfall(review: Review) -> int:
    """Order up to what is required at the lookahead plus what will be consumed before
    the next review's order can arrive, less inventory, what is on order and what the
    requirements it defers to will order themselves."""
    ordering = review.spec.ordering
    lookahead = review.lookahead_months
    cover = lookahead + (ordering.review_every_months if ordering else 0.0)
    consumed = review.consumption.consumed_over(review.now_months, cover)
    short = review.required_at(review.now_months + lookahead) + consumed - review.inventory_units
    return max(0, math.ceil(short - review.on_order_units - review.deferred_units - 1e-9))


def ordered_units(rule: OrderingRule, review: Review) -> int:
    """The units a review orders: the rule's answer as a whole number, at most
    ``MAX_ORDER_UNITS`` (the largest order a scenario may list; a requirement of 1e20 units
    would otherwise overflow the records' integer columns)."""
    return min(int(rule(review)), MAX_ORDER_UNITS)


def still_to_order(required_units: float, consumed_units: float, inventory_units: float,
                   on_order_units: float) -> float:
    """What a requirement that orders for itself still has to order to hold ``required_units``
    after using ``consumed_units``: its shortfall, never below 0 (``Review.deferred_units``
    adds these up for the requirements another one defers to)."""
    return max(0.0, required_units + consumed_units - inventory_units - on_order_units)
