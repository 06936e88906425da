"""The scenario file format: frozen pydantic models, one per entity of docs/design.md.

Only structure and single-field rules live here (types, ranges, one-of choices); rules
that relate one part of a scenario to another (references, cycles, date order) live in
``checks.py`` so that every problem can be reported at once with its field path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Discriminator, Field, Tag, model_validator

from leadtime_sim.dates import months_between, normalise_date
from leadtime_sim.distributions import Constant, Distribution, number_as_constant
from leadtime_sim.errors import NAME_PATTERN

DATE_PATTERN = r"^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$"
Date = Annotated[str, BeforeValidator(normalise_date), Field(json_schema_extra={"pattern": DATE_PATTERN})]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Dist = Annotated[Distribution,
                 BeforeValidator(number_as_constant, json_schema_input_type=NonNegative | Distribution)]
"""A distribution table or a bare number (a constant, 0 or more); the JSON Schema allows both."""
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]
Fraction = Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)]


def _whole(value: Any) -> Any:
    """Accept 3.0 for 3 (sweeps compute values); refuse 2.5 with a clear message."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, float) and value == value and abs(value) != float("inf"):
        raise ValueError(f"must be a whole number: its fractional part is not 0 (got {value!r})")
    return value


Count = Annotated[int, BeforeValidator(_whole), Field(ge=0, le=1_000_000_000)]
PositiveCount = Annotated[int, BeforeValidator(_whole), Field(ge=1, le=1_000_000_000)]
Name = Annotated[str, Field(min_length=1, max_length=100, pattern=NAME_PATTERN)]


class Frozen(BaseModel):
    """Base of the file formats' classes: immutable, no unknown keys, no type coercion."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, strict=True)


class Product(Frozen):
    """Something delivered or consumed: an interceptor, a fire unit, a seeker."""

    description: str = ""
    bom: dict[Name, PositiveCount] = {}
    """Component products consumed per unit (the bill of materials)."""
    unit_cost_musd: NonNegative = 0.0
    """Price per unit, used only when a budget pays for orders."""
    initial_stock_units: Count = 0
    """Finished units on the shelf at start (components only)."""
    stock_target_units: Count = 0
    """Buffer that supplier factories keep on the shelf on top of downstream demand."""


class Learning(Frozen):
    """Wright's law: takt is multiplied by ``progress_ratio`` per doubling of output."""

    progress_ratio: Fraction = 0.9
    prior_units: PositiveCount = 100
    """Cumulative output before start (where the curve stands at start)."""
    floor_fraction: Fraction = 0.5
    """Takt never falls below this fraction of its value at start."""


class Disruptions(Frozen):
    """Random line stoppages: time between failures (calendar) and repair time."""

    between_months: Dist
    repair_months: Dist


class Factory(Frozen):
    """A group of identical parallel lines making one product."""

    description: str = ""
    product: Name
    lines: Annotated[Count, Field(le=10_000)] = 1
    lot_size: PositiveCount = 1
    min_lot_size: PositiveCount = 1
    """A line waits until it can start at least this many units."""
    takt_months: Dist
    """Time a line works on one lot (the bottleneck station's cycle for a lot)."""
    flow_months: Dist = Constant(value=0.0)
    """Downstream integration, test and acceptance; no capacity limit."""
    yield_fraction: Annotated[float, Field(ge=0.01, le=1, allow_inf_nan=False)] = 1.0
    """Probability that a lot passes acceptance; failed lots are reworked on the line."""
    disruptions: Disruptions | None = None
    learning: Learning | None = None
    initial_wip_units: Count = 0
    """Units already in the downstream flow at start (handed to the order book by the
    allocation policy: under first come, first served, the oldest orders)."""


class Investment(Frozen):
    """Added capacity: lines for a factory, decided at a date, built, then ramped up."""

    description: str = ""
    factory: Name
    lines_added: Annotated[Count, Field(le=10_000)] = 1
    decided: Date
    construction_months: NonNegative = 0.0
    """Planned time to build and qualify the lines."""
    slip_months: Dist = Constant(value=0.0)
    """Random delay on top of the plan (schedule risk), drawn once per run."""
    ramp_months: NonNegative = 0.0
    ramp_start_fraction: Fraction = 1.0
    capex_musd: NonNegative = 0.0
    capex_musd_per_line: NonNegative = 0.0

    def in_service_months(self, start: str) -> float:
        """When the lines are planned to enter service, in months from ``start``: decided,
        built, and delayed by the mean slip (a run may differ: its slip is drawn, and a
        budget may delay the money)."""
        return months_between(start, self.decided) + self.construction_months + self.slip_months.mean

    @property
    def total_capex_musd(self) -> float:
        if self.lines_added == 0:
            return 0.0
        return self.capex_musd + self.capex_musd_per_line * self.lines_added


class Order(Frozen):
    """One order: placed before start it is part of the initial order book."""

    id: Name | None = None
    customer: Name
    product: Name
    quantity: PositiveCount
    placed: Date
    priority: Count = 1
    """Priority class: 1 is served first under the ``priority`` policy."""


class OrderStream(Frozen):
    """Poisson orders at ``rate_per_year`` between ``from`` and ``until``."""

    name: Name | None = None
    customer: Name
    product: Name
    rate_per_year: NonNegative
    quantity: Dist = Constant(value=1.0)
    """Units per order (rounded to the nearest whole unit, at least 1)."""
    from_: Date | None = Field(default=None, alias="from")
    until: Date | None = None
    priority: Count = 1


class RequiredPoint(Frozen):
    date: Date
    units: NonNegative


class Ordering(Frozen):
    """Requirement-driven orders: at each review the customer orders its shortfall.

    ``shortfall`` orders up to the requirement ``lookahead_months`` ahead plus what will be
    consumed over the lookahead and one review period, less inventory and the units the
    requirement's customers have on order.
    """

    rule: Name = "shortfall"
    customer: Name | None = None
    """Who places the orders: one of the requirement's customers (needed when it has several;
    the others' orders still count as on order)."""
    first_review: Date | None = None
    review_every_months: Annotated[float, Field(ge=0.1, allow_inf_nan=False)] = 12.0
    lookahead_months: NonNegative | Literal["lead_time"] = 0.0
    """Order what is required this far ahead of the review; ``"lead_time"``: as far ahead as
    the lead time quoted at the review to a new order of this priority (to the end of the
    horizon if none would be delivered by then)."""
    until: Date | None = None
    priority: Count = 1
    defers_to: list[Name] = []
    """Requirements, within this one, whose customers order for themselves (a member's
    national target inside an alliance's): what each still has to order, its own shortfall
    at this review's lookahead (required then, plus its consumption until then, less its
    inventory and on order, never below 0), counts as on order here, so that this
    requirement's orders do not buy it a second time."""


class ConsumptionPeriod(Frozen):
    """Consumption at ``per_year`` from ``from`` (default: start) until ``until`` (default:
    open-ended, as a number is)."""

    from_: Date | None = Field(default=None, alias="from")
    until: Date | None = None
    per_year: NonNegative


def _consumption_form(value: Any) -> str | None:
    """Which form of ``consumption_per_year`` a value is written in (None: none of them)."""
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict | BaseModel):
        return "dict"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "float"
    return None


Consumption = Annotated[
    Annotated[NonNegative, Tag("float")]
    | Annotated[list[ConsumptionPeriod], Tag("list")]
    | Annotated[Distribution, BeforeValidator(number_as_constant), Tag("dict")],
    Discriminator(_consumption_form, custom_error_type="consumption_form",
                  custom_error_message="should be a number, a list of periods "
                                       "[{from, until, per_year}] or a distribution table"),
]
"""Units used per year: a constant, periods (none outside them), or a rate drawn per run.
(pydantic puts the tag in error paths; ``errors`` drops it.)"""


class Requirement(Frozen):
    """A capability target: required inventory of a product for one or more customers."""

    description: str = ""
    customer: Name | None = None
    customers: list[Name] | None = None
    product: Name
    initial_units: NonNegative = 0.0
    required: list[RequiredPoint] | None = None
    """Required inventory points; linear in between, flat after the last."""
    multiple: Positive | None = None
    by: Date | None = None
    """With ``multiple``: required = multiple x initial_units by this date, linear from start."""
    consumption_per_year: Consumption = 0.0
    """Units used per year: a number, ``[{from, until, per_year}, ...]`` periods, or a
    distribution of the yearly rate drawn once per run."""
    ordering: Ordering | None = None

    @model_validator(mode="after")
    def _one_target(self) -> Requirement:
        if (self.customer is None) == (self.customers is None):
            raise ValueError("give exactly one of 'customer' or 'customers'")
        if self.customers is not None and not self.customers:
            raise ValueError("'customers' must name at least one customer")
        if (self.required is None) == (self.multiple is None):
            raise ValueError("give exactly one of 'required' (points) or 'multiple' (with 'by')")
        if self.multiple is not None and self.by is None:
            raise ValueError("'multiple' needs 'by', the date it must be reached")
        if self.required is not None and not self.required:
            raise ValueError("'required' must hold at least one point")
        return self

    @property
    def customer_names(self) -> tuple[str, ...]:
        return (self.customer,) if self.customer is not None else tuple(self.customers or ())

    @property
    def ordering_customer(self) -> str:
        """Who places the requirement-driven orders."""
        ordering = self.ordering
        return ordering.customer if ordering is not None and ordering.customer else self.customer_names[0]


class Policy(Frozen):
    allocation: Name = "fifo"
    """Built in: ``fifo``, ``priority``, ``fair-share``; or a plugin's name."""
    reassign_at_delivery: bool = False
    """Let the policy move finished units to a more urgent order at delivery."""


class Budget(Frozen):
    """Money per year; orders and investments it cannot pay wait for next year's money."""

    name: Name | None = None
    per_year_musd: NonNegative
    initial_musd: NonNegative = 0.0
    covers: list[Literal["orders", "investments"]] = ["orders", "investments"]
    customers: list[Name] | None = None
    """Only the orders of these customers (default: every customer's); investments are
    covered whatever this says."""


class Scenario(Frozen):
    """A whole model: the validated, frozen contents of one scenario file."""

    name: str = Field(min_length=1)
    description: str = ""
    start: Date
    end: Date
    products: dict[Name, Product] = Field(min_length=1)
    factories: dict[Name, Factory] = Field(min_length=1)
    investments: dict[Name, Investment] = {}
    orders: list[Order] = []
    order_streams: list[OrderStream] = []
    requirements: dict[Name, Requirement] = {}
    policy: Policy = Policy()
    budget: Budget | None = None
    budgets: list[Budget] = []
    """More budgets, each for its own customers or kinds of spending (``budget`` and these
    together: an order or investment is paid from the first that covers it)."""
    quote_dates: list[Date] = []
    """Extra dates at which to report the quoted lead time (start and each January always)."""

    @property
    def all_budgets(self) -> list[Budget]:
        return ([self.budget] if self.budget is not None else []) + list(self.budgets)

    def stream_name(self, index: int) -> str:
        """The stable name of an order stream, used to derive its random streams."""
        stream = self.order_streams[index]
        return stream.name or f"{stream.customer}.{stream.product}.{index}"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors)."""
    return standard_bounds(Scenario.model_json_schema(by_alias=True))


_JSON_BOUNDS = {"ge": "minimum", "le": "maximum", "gt": "exclusiveMinimum", "lt": "exclusiveMaximum"}


def standard_bounds(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with the bounds pydantic leaves as ``ge`` / ``le`` (on a number behind a
    ``BeforeValidator``: every count) written as JSON Schema's ``minimum`` / ``maximum``,
    which editors check (in place; returned)."""
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if node.get("type") in ("integer", "number"):
                for key, standard in _JSON_BOUNDS.items():
                    if key in node:
                        node.setdefault(standard, node.pop(key))
            stack += node.values()
        elif isinstance(node, list):
            stack += node
    return schema
