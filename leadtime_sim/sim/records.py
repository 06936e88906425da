"""What a run produces: flat, immutable records (turned into tables only above the kernel).

Times are months from the scenario start (floats); ``None`` means "not by end".
The per-event and per-month records are named tuples: immutable like frozen dataclasses
but about three times cheaper to create, which matters at one per delivery.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


class OrderRecord(NamedTuple):
    """One order and how it was served."""

    id: str
    customer: str
    product: str
    quantity: int
    priority: int
    source: str
    """``book`` (placed before start), ``explicit``, ``stream`` or ``requirement``."""
    placed_months: float
    entered_months: float | None
    """When it entered the backlog (later than placed if it waited for budget)."""
    delivered_units: int
    first_delivery_months: float | None
    last_delivery_months: float | None
    """Set only when the whole quantity was delivered by end."""


class DeliveryRecord(NamedTuple):
    time_months: float
    order_id: str
    customer: str
    product: str
    units: int


class InvestmentRecord(NamedTuple):
    name: str
    factory: str
    lines_added: int
    decided_months: float
    funded_months: float | None
    commissioned_months: float | None
    capex_musd: float
    """Spent (funded by end), else 0."""


class ProductMonth(NamedTuple):
    """State of one product at the end of month ``month`` and flows during it."""

    month: int
    product: str
    ordered_units: int
    backlog_units: int
    wip_units: int
    delivered_units: int
    cumulative_delivered_units: int
    stock_units: int
    awaiting_funds_units: int
    capacity_units_per_year: float
    lines: int
    utilisation: float
    quoted_lead_time_months: float | None
    """The quote at the month's end to a new one-unit order of the scenario's least urgent
    class (None: not by end, or a component, which takes no orders)."""


class FactoryMonth(NamedTuple):
    month: int
    factory: str
    product: str
    lines: int
    capacity_units_per_year: float
    utilisation: float
    """Share of available line-time holding a lot during the month."""
    started_units: int


class RequirementMonth(NamedTuple):
    month: int
    requirement: str
    product: str
    inventory_units: float
    required_units: float
    gap_units: float
    """At the month's end."""
    peak_gap_units: float
    """Largest gap during the month (watched at every delivery and at the month's end)."""


class QuoteRecord(NamedTuple):
    """The run's quote, from its state at ``time_months``, to an order placed then."""

    time_months: float
    product: str
    quantity: int
    priority: int
    customer: str
    lead_time_months: float | None
    """Months to the order's last delivery (None: not by end)."""
    basis: str
    """``policy`` (the allocation policy said where the order stands) or ``fallback``."""


class RequirementOutcome(NamedTuple):
    requirement: str
    closed_months: float | None
    """The last time the gap closed (None: open at the end)."""
    max_gap_units: float


new_record = tuple.__new__
"""``new_record(DeliveryRecord, (time, order_id, ...))`` makes a record without calling the
named tuple's Python-level ``__new__``: a third of the cost, for the records the kernel
makes per delivery and per month. Give every field, in order."""


@dataclass(frozen=True)
class KernelRecords:
    """Everything the kernel records in one run."""

    months: int
    products: tuple[ProductMonth, ...]
    factories: tuple[FactoryMonth, ...]
    requirements: tuple[RequirementMonth, ...]
    outcomes: tuple[RequirementOutcome, ...]
    orders: tuple[OrderRecord, ...]
    deliveries: tuple[DeliveryRecord, ...]
    investments: tuple[InvestmentRecord, ...]
    lots_started: int
    quotes: tuple[QuoteRecord, ...] = ()
