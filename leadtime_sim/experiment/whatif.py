"""The exact answer to "if we ordered this now, when would it arrive?": the same run with and
without one more order, under common random numbers, over many replications.

Adding an order changes no other random source's draws (each source has its own stream),
so replication k with the order differs from replication k without it only by what the
order does: its own deliveries, and the orders it pushes back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ValidationError

from leadtime_sim.dates import date_at, date_problem, month_form, months_between, normalise_date
from leadtime_sim.errors import InputError, pydantic_problems
from leadtime_sim.experiment.aggregate import wilson_interval
from leadtime_sim.experiment.executors import default_workers
from leadtime_sim.plugins import NO_PLUGINS, Plugins
from leadtime_sim.run import DEFAULT_SEED, check_plugins, check_seed, simulate
from leadtime_sim.scenario import Scenario
from leadtime_sim.scenario.checks import component_products
from leadtime_sim.scenario.loading import load_scenario
from leadtime_sim.scenario.schema import Order
from leadtime_sim.sim.promise import QuoteAsk
from leadtime_sim.sim.records import OrderRecord

QUOTE_ORDER_ID = "what-if"
QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}


@dataclass(frozen=True)
class QuoteRequest:
    """The order asked about."""

    product: str
    quantity: int
    date: str
    customer: str
    priority: int
    order_id: str = QUOTE_ORDER_ID
    """The new order's id, one no order of the scenario has."""


@dataclass(frozen=True)
class PairedRun:
    """What one replication says, with and without the order (months from start)."""

    last_delivery: float | None
    first_delivery: float | None
    in_run_quote: float | None
    """The base run's own quote at the date (from its state then), for the same order."""
    delays: dict[str, tuple[str, float]]
    """Order id -> (customer, months later with the order than without; inf: now not by end)."""
    close_shifts: dict[str, float | None]
    """Requirement -> months its gap closes later (None: closed in one run only)."""


def request_for(scenario: Scenario, product: str, quantity: int, date: str, customer: str | None = None,
                priority: int | None = None) -> QuoteRequest:
    """Check the order against the scenario; InputError (one line each) if it cannot be placed."""
    problems = []
    try:
        date = month_form(normalise_date(date))  # (2025-01-01 is shown as the month, 2025-01)
    except ValueError as exc:
        raise InputError([f"--date {date!r}: {date_problem(date, exc)}"]) from None
    if product not in scenario.products:
        problems.append(f"--product {product!r}: no such product (products: {', '.join(scenario.products)})")
    elif product in component_products(scenario):
        problems.append(f"--product {product!r}: a component (made to stock), which cannot be ordered")
    if quantity < 1:
        problems.append(f"--quantity {quantity}: must be at least 1")
    at = months_between(scenario.start, date)
    if not 0 <= at < months_between(scenario.start, scenario.end):
        problems.append(f"--date {date}: outside the horizon {month_form(scenario.start)} to "
                        f"{month_form(scenario.end)}")
    if problems:
        raise InputError(problems)
    # (None: the default; an empty name is refused by the order's validation below, not taken
    # silently for the default: --customer "" quoted for "what-if")
    request = QuoteRequest(product, quantity, date, "what-if" if customer is None else customer,
                           priority if priority is not None else lowest_urgency(scenario, product),
                           free_order_id(scenario))
    try:
        order_of(request)
    except ValidationError as exc:  # (told against the option that set the field)
        given = {"customer": request.customer, "priority": request.priority, "quantity": request.quantity}
        lines = []
        for line in pydantic_problems(exc, "the order", Order):
            field = line.removeprefix("the order: ").split(":", 1)[0]
            if field in given:  # (the value is shown once, with the option)
                line = line.replace(f"the order: {field}:", f"--{field} {given[field]!r}:", 1)
                line = line.split(" (got ")[0]
            lines.append(line)
        raise InputError(lines) from None
    return request


def lowest_urgency(scenario: Scenario, product: str) -> int:
    """The least urgent priority class among the product's orders (1 if it has none)."""
    classes = [o.priority for o in scenario.orders if o.product == product]
    classes += [s.priority for s in scenario.order_streams if s.product == product]
    classes += [r.ordering.priority for r in scenario.requirements.values()
                if r.product == product and r.ordering is not None]
    return max(classes, default=1)


def free_order_id(scenario: Scenario) -> str:
    """``what-if``, or ``what-if-2``, ... if the scenario has an order of that id already."""
    taken = {o.id for o in scenario.orders}
    return next(name for k in range(1, len(taken) + 2)
                if (name := QUOTE_ORDER_ID if k == 1 else f"{QUOTE_ORDER_ID}-{k}") not in taken)


def order_of(request: QuoteRequest) -> Order:
    return Order(id=request.order_id, customer=request.customer, product=request.product,
                 quantity=request.quantity, placed=request.date, priority=request.priority)


def with_order(scenario: Scenario, request: QuoteRequest) -> Scenario:
    """The scenario with the order added (validated by ``request_for``)."""
    return scenario.model_copy(update={"orders": [*scenario.orders, order_of(request)]})


def paired_run(scenario: Scenario, request: QuoteRequest, seed: int, replication: int,
               plugins: Plugins = NO_PLUGINS) -> PairedRun:
    """Replication ``replication`` with and without the order."""
    at = months_between(scenario.start, request.date)
    ask = QuoteAsk(at, request.product, request.quantity, request.priority, request.customer)
    base = simulate(scenario, seed, replication, plugins, asks=[ask])
    # (placed at start, it joins after the book: the work in progress is the book's already)
    changed = simulate(with_order(scenario, request), seed, replication, plugins,
                       after_book={request.order_id})
    mine = next(o for o in changed.records.orders if o.id == request.order_id)
    horizon = months_between(scenario.start, scenario.end)
    before = {same_order(o): o for o in base.records.orders}
    delays = {}
    for order in changed.records.orders:
        old = before.get(same_order(order))
        if old is None or order.id == request.order_id:
            continue
        new_end = horizon if order.last_delivery_months is None else order.last_delivery_months
        old_end = horizon if old.last_delivery_months is None else old.last_delivery_months
        if new_end > old_end + 1e-9:
            delays[order.id] = (order.customer, new_end - old_end)
    shifts: dict[str, float | None] = {}
    for name, r in changed.summary["requirements"].items():
        new, old = r["gap_closed_months"], base.summary["requirements"][name]["gap_closed_months"]
        if new != old:
            shifts[name] = None if new is None or old is None else new - old
    quote = next(q.lead_time_months for q in base.records.quotes
                 if q.customer == request.customer and q.quantity == request.quantity
                 and q.product == request.product and q.priority == request.priority
                 and abs(q.time_months - at) < 1e-9)
    return PairedRun(mine.last_delivery_months, mine.first_delivery_months, quote, delays, shifts)


def same_order(order: OrderRecord) -> str | tuple[str, float]:
    """What pairs an order of one run with the same order of the other: its id; for a
    requirement's order, the requirement and the review (its id counts the orders the reviews
    placed, and the new order can change which reviews place one)."""
    if order.source == "requirement":
        return order.id.rsplit("-", 1)[0], order.placed_months
    return order.id


def _paired_run_job(args: tuple[Scenario, QuoteRequest, int, int, Plugins]) -> PairedRun:
    return paired_run(*args)


def quote(scenario: Scenario | str | Path, product: str, quantity: int = 1, date: str | None = None,
          customer: str | None = None, priority: int | None = None, replications: int = 30,
          seed: int = DEFAULT_SEED, workers: int | None = None,
          plugins: Plugins = NO_PLUGINS) -> dict[str, Any]:
    """What an order of ``quantity`` units of ``product`` placed at ``date`` (default: start)
    would get, over ``replications`` paired runs; the data of ``leadtime-sim quote --json``.
    ``scenario``: a validated ``Scenario`` or a file path, as for ``simulate``."""
    check_seed(seed, caller="quote")
    if isinstance(replications, bool) or not isinstance(replications, int | np.integer) or replications < 1:
        raise InputError([f"--replications {replications!r}: must be at least 1 (a whole number)"])
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, plugins=plugins)
    check_plugins(scenario, plugins, "quote")
    request = request_for(scenario, product, quantity, date or scenario.start, customer, priority)
    jobs = [(scenario, request, seed, k, plugins) for k in range(replications)]
    count = min(workers or default_workers(), replications)
    if count > 1:
        with ProcessPoolExecutor(max_workers=count) as pool:
            runs = list(pool.map(_paired_run_job, jobs))
    else:
        runs = [_paired_run_job(job) for job in jobs]
    return summarize_quote(scenario, request, runs, seed)


def _quantiles(values: Sequence[float | None]) -> dict[str, float | None]:
    """P10/P50/P90 with None ("not by end") later than any value, and the mean (None if any
    run is not by end: a mean of it is undefined)."""
    x = np.array([math.inf if v is None else v for v in values], dtype=float)
    q = np.quantile(x, list(QUANTILES.values()), method="inverted_cdf")
    result: dict[str, float | None] = {k: (float(v) if math.isfinite(v) else None)
                                       for k, v in zip(QUANTILES, q, strict=True)}
    result["mean"] = float(np.mean(x)) if np.all(np.isfinite(x)) else None
    return result


def summarize_quote(scenario: Scenario, request: QuoteRequest, runs: Sequence[PairedRun],
                    seed: int) -> dict[str, Any]:
    """The JSON-ready answer from the paired runs."""
    placed = months_between(scenario.start, request.date)
    lead = [None if r.last_delivery is None else r.last_delivery - placed for r in runs]
    last = _quantiles([r.last_delivery for r in runs])
    horizon = months_between(scenario.start, scenario.end)
    by: dict[str, float] = {}
    intervals: dict[str, list[float]] = {}
    year = int(request.date[:4]) + 1
    while (t := months_between(scenario.start, f"{year:04d}-01")) <= horizon:
        done = sum(1 for r in runs if r.last_delivery is not None and r.last_delivery <= t)
        by[f"{year:04d}-01"] = done / len(runs)
        intervals[f"{year:04d}-01"] = list(wilson_interval(done, len(runs)))
        year += 1
    in_run = _quantiles([r.in_run_quote for r in runs])
    return {
        "product": request.product, "quantity": request.quantity, "date": request.date,
        "priority": request.priority, "customer": request.customer, "replications": len(runs),
        "seed": seed, "start": scenario.start, "end": scenario.end,
        "lead_time_months": _quantiles(lead),
        "first_delivery": _dates(scenario, _quantiles([r.first_delivery for r in runs])),
        "last_delivery": _dates(scenario, last),
        "last_delivery_months": [r.last_delivery for r in runs],
        "share_not_by_end": sum(r.last_delivery is None for r in runs) / len(runs),
        "p_delivered_by": by, "p_delivered_by_ci95": intervals,
        "displaced": displaced(runs),
        "requirements_moved": requirements_moved(runs),
        "in_run_quote_months": {k: v for k, v in in_run.items() if k != "mean"},
    }


def _dates(scenario: Scenario, quantiles: dict[str, float | None]) -> dict[str, str | None]:
    """P10/P50/P90 as ``YYYY-MM`` (None: not by end)."""
    return {k: None if v is None else date_at(scenario.start, v) for k, v in quantiles.items() if k != "mean"}


def displaced(runs: Sequence[PairedRun]) -> list[dict[str, Any]]:
    """Per customer: the orders the new one delays (in any replication) and by how much.

    Delays are per order and replication, over the pairs where the order is delayed; an order
    pushed beyond the horizon counts as delayed to the horizon (a lower bound)."""
    by_customer: dict[str, tuple[set[str], list[float]]] = {}
    for run in runs:
        for order_id, (customer, delay) in run.delays.items():
            ids, delays = by_customer.setdefault(customer, (set(), []))
            ids.add(order_id)
            delays.append(delay)
    return [{"customer": customer, "orders": len(ids), "delays_per_run": len(delays) / len(runs),
             "mean_delay_months": float(np.mean(delays)),
             "p90_delay_months": float(np.quantile(delays, 0.9, method="inverted_cdf"))}
            for customer, (ids, delays) in sorted(by_customer.items())]


def requirements_moved(runs: Sequence[PairedRun]) -> list[dict[str, Any]]:
    """Requirements whose gap-close date moves in some replication: the share of runs it moves
    in and the mean shift (months, later is positive) where it closes in both runs."""
    names = sorted({name for run in runs for name in run.close_shifts})
    result = []
    for name in names:
        shifts = [run.close_shifts[name] for run in runs if name in run.close_shifts]
        both = [s for s in shifts if s is not None]
        result.append({"requirement": name, "share_of_runs": len(shifts) / len(runs),
                       "mean_shift_months": float(np.mean(both)) if both else None,
                       "runs_closing_in_one_only": len(shifts) - len(both)})
    return result
