"""The fluid model against the DES on random deterministic scenarios (hypothesis).

Every distribution is a fixed number (takt, flow, quantities), nothing is disrupted, yield
is 1, no learning, no budgets, ``min_lot_size`` 1; ``fifo`` or ``priority``, with or without
``reassign_at_delivery``. The features the fluid models are drawn: several lines and
factories, lots larger than one, initial WIP, the order book and later orders of several
customers and classes, investments (construction, ramp from ``ramp_start_fraction``), a
component made to stock by a supplier (initial stock, stock target), a requirement (of one
customer or both, by points or a multiple, consumption constant or from a date) with and
without an ordering rule, and ``quote_dates``.

Tolerances (``fluid_model/__init__.py``): a lot leaves the DES's line at once and the fluid's
unit by unit over the lot's line time, so a unit's delivery is within one takt per lot of the
DES's: ``slack`` below, the longest time a lot holds a line of the product (the takt, over
``ramp_start_fraction`` for a lot started early in a ramp), plus, for a product with a
component, the supplier's (a component unit comes up to one of its lots' line time late or
early, and final assembly then starts its lot that much off). The other quantities follow
from the delivery times:

* deliveries per year: the DES's and the fluid's count by a year's end differ by at most the
  DES's units delivered within ``slack`` of it (each unit moves by at most ``slack``);
* gap-close months: in the months of the closes of the DES's deliveries to the requirement's
  customers moved ``slack`` earlier (its units not delivered by the end at the end less
  ``slack``) and ``slack`` later (``gap_series``: the close moves monotonically with the
  deliveries, by ``d x a / (a - b)`` where inventory rises at ``a`` and the requirement at
  ``b``, so no fixed number of months is right);
* backlog (units ordered and not started): a unit starts up to ``slack`` off, so the counts
  differ by at most what the product's lines can start in ``2 x slack`` (a lot per line in
  service per takt, and the lots then on the lines);
* quoted lead times: the same promise, one takt per lot (``slack``) either way, and "not by
  end" only where the other is within ``slack`` of the horizon.

Where the fluid is not exact, and what the test does about it (each found here):

* a lot started with fewer units than the lot size (the backlog held fewer) holds its line a
  whole takt, where the fluid's lines make the lot size per takt: a unit can wait up to a
  takt more for a line, so with lots of more than one the lot time in ``slack`` counts twice;
* a run's quote stands the order on the line that frees first, whose takt it then takes, the
  fluid's on the pooled rate of all the product's lines: with factories of different takts a
  quote can be a takt of the slowest later (5.45 months in a run, 3.13 in the fluid, with
  takts 2 and 0.5), added to the quotes' tolerance;
* factories of one product with different flow times: the fluid shares output by capacity
  and cannot say which factory, so which flow, a unit takes: ``slack`` adds the flows' spread;
  and where two factories hold initial WIP, a run hands each factory's WIP lots to the book
  in turn but delivers them interleaved over the flow time, the fluid's orders take them as
  the total is delivered: ``slack`` adds the longest of those flow times;
* a component that runs short makes a run's final assembly start smaller lots, which the
  fluid does not model (the README says so of the run's own quotes): with a component, final
  assembly's lots are of one; the fluid's output is linear across a grid step (a month at
  most) held back by components, which come during it, so ``slack`` adds a month (a unit
  made from stock at once at 20.7 and 21.0 in the run, spread over the month in the fluid, and
  those after it 1.15 months early, the supplier's and final lot times being 0.5 each);
* under ``priority`` a run commits a lot's units when it starts, every takt, the fluid unit
  by unit: a more urgent order placed in between overtakes other units in each, and a less
  urgent order's units move by the time the urgent units take, not a takt; with
  reassignment at delivery the most urgent class's orders too (e.g. a class-1 order's units
  at 36-38 in the fluid, 30-32 in the run, slack 4), and where a component bounds final
  assembly the most urgent class's too, by a unit of the supplier's pace (a class-1 order
  placed 0.03 months before the fluid commits a class-2 unit, and after the run does: that
  unit, delivered at 21.0 to class 2 in the fluid, at 21.5 to class 1 in the run, whose next
  comes after the end). Per-order times are checked for the most urgent class without
  reassignment or components only, and so are the closes of the requirements of those
  orders' customers; the units of all orders together (deliveries per year), backlog and
  quotes for every case;
* requirement-driven orders: a review's quantity follows the quoted lead time (``lead_time``
  lookahead) and the inventory (which deliveries to an empty one, with consumption, move),
  so it can differ by what the requirement rises and consumes in ``slack``; once it does,
  the rest is another scenario's, and only the orders are compared (``same_orders``);
* a review and an explicit order at the same instant: a run takes them in the order their
  processes last scheduled themselves (SimPy's event order; a review at 2026-01 before an
  order of 8 class-1 units placed then, when the previous order came after the previous
  review), the fluid always after the order; so orders after start are placed mid-month,
  never at a review;
* initial WIP with no flow time is delivered at start, which a run's quotes at start do not
  yet see delivered (they come before the deliveries of that instant), so a class-1 quote
  with reassignment took the WIP unit in the run (0.0 months) and not in the fluid (9.0):
  initial WIP only where the flow takes time;
* the gap-close bounds move the requirement by what consumption uses in ``slack``, as an
  earlier delivery to an empty inventory is consumed for longer (``close_of``).

Fixed in the fluid model (tests/test_fluid.py has each): the initial WIP's lots, a factory
without lines in the quotes' flow, kinks where components bind, a half unit rounded down,
lot groups across WIP lots, the reviews' inventory consumed below zero, and quotes that left
the components out.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
import pytest
from conftest import build, factory, order
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadtime_sim as lts
from leadtime_sim.dates import months_between
from leadtime_sim.fluid_model.model import consumption_of
from leadtime_sim.fluid_model.requirements import gap_series
from leadtime_sim.sim.state import required_curve

START = "2025-01"
TAKTS = [0.5, 1.0, 1.5, 2.0, 3.0]
FLOWS = [0.0, 1.0, 2.5, 3.0]
EPS = 1e-6


def date(months: int) -> str:
    """The ``YYYY-MM`` date ``months`` months after 2025-01 (negative: before)."""
    year, month = divmod(2025 * 12 + months, 12)
    return f"{year:04d}-{month + 1:02d}"


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A deterministic scenario (module docstring) as a dict."""
    horizon = draw(st.sampled_from([24, 36, 48]))
    with_component = draw(st.booleans())
    products: dict[str, Any] = {"p": {"bom": {"c": draw(st.integers(1, 2))}} if with_component else {}}
    factories: dict[str, Any] = {}
    for k in range(draw(st.integers(1, 2))):
        flow = draw(st.sampled_from(FLOWS))
        factories[f"f{k}"] = factory(  # (lots of one where components can run short: docstring)
            lines=draw(st.integers(1 if k == 0 else 0, 3)), lot_size=1 if with_component else draw(st.integers(1, 4)),
            takt_months=draw(st.sampled_from(TAKTS)), flow_months=flow,
            initial_wip_units=0 if flow == 0 else draw(st.sampled_from([0, 0, 2, 5])))  # (docstring)
    if with_component:
        products["c"] = {"initial_stock_units": draw(st.sampled_from([0, 3, 10])),
                         "stock_target_units": draw(st.sampled_from([0, 2, 8]))}
        factories["s"] = factory("c", lines=draw(st.integers(1, 2)), lot_size=draw(st.integers(1, 3)),
                                 takt_months=draw(st.sampled_from(TAKTS)),
                                 flow_months=draw(st.sampled_from(FLOWS)))
    investments = {}
    if draw(st.booleans()):
        investments["more"] = {
            "factory": draw(st.sampled_from(sorted(factories))), "lines_added": draw(st.integers(1, 2)),
            "decided": date(draw(st.integers(0, horizon // 2))),
            "construction_months": draw(st.sampled_from([0, 3, 6])),
            "ramp_months": draw(st.sampled_from([0, 0, 4])),
            "ramp_start_fraction": draw(st.sampled_from([0.5, 1.0])), "capex_musd": 10}
    customers = ["a", "b"]
    orders = []
    for _ in range(draw(st.integers(0, 3))):  # the book
        orders.append(order(draw(st.integers(1, 12)), placed=date(-draw(st.integers(0, 12))),
                            customer=draw(st.sampled_from(customers)), priority=draw(st.integers(1, 2))))
    for _ in range(draw(st.integers(0, 4))):  # later orders (mid-month: not at a review, docstring)
        orders.append(order(draw(st.integers(1, 12)), placed=date(draw(st.integers(1, horizon - 1))) + "-15",
                            customer=draw(st.sampled_from(customers)), priority=draw(st.integers(1, 2))))
    data: dict[str, Any] = {
        "name": "fluid-property", "start": START, "end": date(horizon), "products": products,
        "factories": factories, "investments": investments, "orders": orders,
        "policy": {"allocation": draw(st.sampled_from(["fifo", "priority"])),
                   "reassign_at_delivery": draw(st.booleans())},
        "quote_dates": sorted({date(m) for m in draw(st.lists(st.integers(1, horizon - 1), max_size=2))}),
    }
    if draw(st.booleans()):
        alliance = draw(st.booleans())  # (both customers', ordered by a)
        requirement: dict[str, Any] = {
            "product": "p", "initial_units": draw(st.sampled_from([0, 4])),
            **({"customers": ["a", "b"]} if alliance else {"customer": "a"}),
            "consumption_per_year": draw(st.sampled_from([0, 0, 3, [{"from": date(horizon // 2), "per_year": 6}]])),
        }
        if draw(st.booleans()):
            requirement["required"] = sorted(({"date": date(m), "units": draw(st.integers(5, 40))} for m in
                                              sorted(set(draw(st.lists(st.integers(6, horizon), min_size=1,
                                                                       max_size=2))))), key=lambda p: p["date"])
        else:
            requirement |= {"multiple": draw(st.sampled_from([2.0, 5.0])), "by": date(horizon)}
            requirement["initial_units"] = 4
        if draw(st.booleans()):
            requirement["ordering"] = {
                "first_review": date(draw(st.integers(0, 6))),
                "review_every_months": draw(st.sampled_from([6, 12])),
                "lookahead_months": draw(st.sampled_from([0, 12, "lead_time"])),
                "priority": draw(st.integers(1, 2)), **({"customer": "a"} if alliance else {})}
        data["requirements"] = {"r": requirement}
    if not orders and "requirements" not in data:
        data["orders"] = [order(draw(st.integers(1, 12)))]
    return data


def slack(scenario: lts.Scenario, product: str) -> float:
    """The longest a lot of ``product`` holds a line (module docstring), with its components',
    and the spread of its factories' flow times (a unit's factory, and so its flow, is not
    known to the fluid: its output is shared by capacity)."""
    lot_time, flows = 0.0, []
    for name, f in scenario.factories.items():
        added = [i for i in scenario.investments.values() if i.factory == name and i.lines_added]
        if f.product != product or not (f.lines or added):
            continue
        fraction = min([i.ramp_start_fraction for i in added if i.ramp_months > 0], default=1.0)
        partial = 2 if f.lot_size > 1 else 1  # (a partial lot holds its line a whole takt: docstring)
        lot_time = max(lot_time, partial * f.takt_months.mean / fraction)
        flows.append(f.flow_months.mean)
    flows += [f.flow_months.mean for f in scenario.factories.values() if f.product == product and f.initial_wip_units]
    spread = max(flows) - min(flows) if flows else 0.0
    with_wip = [f.flow_months.mean for f in scenario.factories.values() if f.product == product and f.initial_wip_units]
    if len(with_wip) > 1:  # (their lots are delivered interleaved, to the orders in turn: docstring)
        spread += max(with_wip)
    components = sum(slack(scenario, c) for c in scenario.products[product].bom)
    step = 1.0 if components else 0.0  # (a month held back by components is linear: docstring)
    return lot_time + spread + components + step


def unit_times(result: lts.RunResult) -> dict[str, list[float]]:
    """Each order's unit delivery times, sorted."""
    times: dict[str, list[float]] = defaultdict(list)
    for d in result.records.deliveries:
        times[d.order_id] += [d.time_months] * d.units
    return {k: sorted(v) for k, v in times.items()}


def same_orders(scenario: lts.Scenario, des: lts.RunResult, flu: lts.RunResult, tol: float) -> bool:
    """Whether the runs hold the same orders. Requirement-driven ones may differ (module
    docstring): through each review one run may have ordered a few units more than the other
    (at a review, some where the other orders none), no more than the requirement rises and
    its customers consume in ``tol`` (a quoted lead time for the lookahead, or deliveries to
    an empty inventory, off by ``tol``), and a unit for the rounding up."""
    def rows(result: lts.RunResult) -> list[tuple[Any, ...]]:
        return sorted((o.id, o.customer, o.priority, o.placed_months, o.quantity) for o in result.records.orders)

    d_orders, f_orders = rows(des), rows(flu)
    if d_orders == f_orders:
        return True
    by_review: dict[float, list[int]] = defaultdict(lambda: [0, 0])
    for k, orders in enumerate((d_orders, f_orders)):
        assert [o for o in orders if o[0].startswith("order-")] == [
            o for o in d_orders if o[0].startswith("order-")], "the orders differ"
        for o in orders:
            if not o[0].startswith("order-"):
                by_review[o[3]][k] += o[4]
    (spec,) = scenario.requirements.values()
    times, units = required_curve(spec, scenario.start)
    slope = max([0.0] + [(b - a) / (t1 - t0) for t0, t1, a, b in
                         zip(times, times[1:], units, units[1:], strict=False) if t1 > t0])
    rate = max([0.0] + [r for _, _, r in consumption_of("r", spec, scenario.start).periods])
    d_total = f_total = 0  # (through each review: a later one makes up for an earlier one)
    for at in sorted(by_review):
        d_total, f_total = d_total + by_review[at][0], f_total + by_review[at][1]
        assert abs(d_total - f_total) <= (slope + rate) * tol + 1 + EPS, (at, d_total, f_total, tol)
    return False


def unit_by_unit(scenario: lts.Scenario, des: lts.RunResult, o: Any) -> bool:
    """Whether order ``o``'s units are each within a slack of the run's: not under
    ``priority`` for a less urgent class, when reassigning or with a component (module
    docstring)."""
    urgent = min((o.priority for o in des.records.orders), default=1)
    return scenario.policy.allocation != "priority" or not (
        o.priority > urgent or scenario.policy.reassign_at_delivery or scenario.products["p"].bom)


def check_orders(scenario: lts.Scenario, des: lts.RunResult, flu: lts.RunResult, tol: float,
                 horizon: float) -> None:
    """Each unit of an order within ``tol``; a unit one of them delivers by the end and the
    other not must be within ``tol`` of the end. Under ``priority``, the most urgent class
    only, and none when reassigning or with a component (module docstring)."""
    d_times, f_times = unit_times(des), unit_times(flu)
    for o in flu.records.orders:  # (whole units: none given to another order)
        assert len(f_times.get(o.id, [])) == o.delivered_units <= o.quantity, (o, f_times.get(o.id))
        assert (o.delivered_units == o.quantity) == (o.last_delivery_months is not None), o
    for o in des.records.orders:
        if not unit_by_unit(scenario, des, o):
            continue
        d, f = d_times.get(o.id, []), f_times.get(o.id, [])
        n = min(len(d), len(f))
        late = np.abs(np.array(d[:n]) - np.array(f[:n]))
        assert (late <= tol + EPS).all(), (o.id, d, f, tol)
        for t in (d[n:] or f[n:]):
            assert t >= horizon - tol - EPS, (o.id, "delivered by one only", d, f, tol)


def check_years(des: lts.RunResult, flu: lts.RunResult, tol: float, horizon: float) -> None:
    """Units delivered by each year's end (and the horizon): off by no more than the DES's
    units within ``tol`` of it."""
    d = np.array(sorted(t for r in des.records.deliveries for t in [r.time_months] * r.units))
    f = np.array(sorted(t for r in flu.records.deliveries for t in [r.time_months] * r.units))
    for end in [*np.arange(12.0, horizon, 12.0), horizon]:
        near = max(np.sum((x >= end - tol - EPS) & (x <= end + tol + EPS)) for x in (d, f))
        by_des, by_fluid = np.sum(d <= end + EPS), np.sum(f <= end + EPS)
        assert abs(by_des - by_fluid) <= near, (end, by_des, by_fluid, near)


def close_of(scenario: lts.Scenario, name: str, des: lts.RunResult, shift: float) -> float:
    """The requirement's close (inf: not by end) with the DES's deliveries to its customers
    moved by ``shift`` months (earlier: with those not delivered by the end at the end less
    ``shift``), and the requirement by what its consumption uses in ``shift``: the inventory is not consumed below 0, so a delivery ``d`` earlier lets it be
    consumed ``d`` longer, and the inventory is then lower later (not monotone in the
    deliveries alone)."""
    spec = scenario.requirements[name]
    horizon = months_between(scenario.start, scenario.end)
    consumption = consumption_of(name, spec, scenario.start)
    times, units = required_curve(spec, scenario.start)
    rate = max([0.0] + [r for _, _, r in consumption.periods])
    units = [u + rate * shift for u in units]
    ends = np.arange(1.0, math.floor(horizon + 1e-9) + 1)
    rows = [(r.time_months + shift, r.units) for r in des.records.deliveries
            if r.customer in spec.customer_names and r.product == spec.product
            and r.time_months + shift <= horizon]
    if shift < 0:  # (the units the DES has not delivered by the end may come just after it)
        rows += [(horizon + shift, o.quantity - o.delivered_units) for o in des.records.orders
                 if o.customer in spec.customer_names and o.product == spec.product and o.delivered_units < o.quantity]
    rows = sorted((max(t, 0.0), u) for t, u in rows)
    gap = gap_series(spec, consumption, times, units, ends, horizon,
                     np.array([t for t, _ in rows], float), np.array([u for _, u in rows], int))
    return math.inf if gap.closed_at is None else gap.closed_at


def check_requirements(scenario: lts.Scenario, des: lts.RunResult, flu: lts.RunResult) -> None:
    """Each close between those of the DES's deliveries moved a slack earlier and later
    (where the requirement's customers' orders are each within a slack: ``unit_by_unit``)."""
    for name, spec in scenario.requirements.items():
        if not all(unit_by_unit(scenario, des, o) for o in des.records.orders if o.customer in spec.customer_names):
            continue
        tol = slack(scenario, spec.product)
        f = flu.summary["requirements"][name]["gap_closed_months"]
        value = math.inf if f is None else f
        low, high = close_of(scenario, name, des, -tol), close_of(scenario, name, des, tol)
        # (the month it closes in: inside it the close is interpolated between observations,
        # which move with the deliveries, so not monotone there; README: checked at month ends)
        month_low, month_high = (math.floor(low + EPS) if low < math.inf else low,
                                 math.ceil(high - EPS) if high < math.inf else high)
        assert month_low - EPS <= value <= month_high + EPS, (name, value, low, high)


def on_lines(scenario: lts.Scenario, product: str, months: float) -> float:
    """The most units the product's lines can start in ``months`` (a lot per line in service
    per takt, and the lots on them at the window's start)."""
    total = 0.0
    for name, f in scenario.factories.items():
        if f.product == product:
            lines = f.lines + sum(i.lines_added for i in scenario.investments.values() if i.factory == name)
            total += lines * f.lot_size * (math.ceil(months / f.takt_months.mean) + 1)
    return total


def check_backlog(scenario: lts.Scenario, des: lts.RunResult, flu: lts.RunResult) -> None:
    """Each month's backlog within what the lines start in twice the slack."""
    for product in scenario.products:
        if scenario.products[product].bom or product in ("c",):
            pass
        tol = on_lines(scenario, product, 2 * slack(scenario, product))
        d = [m.backlog_units for m in des.records.products if m.product == product]
        f = [m.backlog_units for m in flu.records.products if m.product == product]
        assert len(d) == len(f)
        worst = max((abs(a - b) for a, b in zip(d, f, strict=True)), default=0)
        assert worst <= tol, (product, d, f, tol)
        assert abs(des.summary["products"][product]["backlog_end_units"]
                   - flu.summary["products"][product]["backlog_end_units"]) <= tol


def same_quote(d: float | None, f: float | None, tol: float, at: float, horizon: float) -> bool:
    """Within ``tol``, or one "not by end" and the other within ``tol`` of the horizon."""
    if d is None or f is None:
        other = f if d is None else d
        return other is None or at + other >= horizon - tol - EPS
    return abs(d - f) <= tol + EPS


def check_quotes(scenario: lts.Scenario, des: lts.RunResult, flu: lts.RunResult) -> None:
    """Month-end quotes and the summary's quotes by date and class within a slack, and with
    factories of different takts one more takt of the slowest (a run's order takes the line
    that frees first, then its takt; the fluid's the pooled rate of all of them)."""
    horizon = months_between(scenario.start, scenario.end)
    for product in scenario.products:
        if product not in flu.summary["products"]:
            continue
        tol = slack(scenario, product)
        takts = {f.takt_months.mean for f in scenario.factories.values() if f.product == product}
        if len(takts) > 1:
            tol += max(takts)
        d_rows = [m for m in des.records.products if m.product == product]
        f_rows = [m for m in flu.records.products if m.product == product]
        for a, b in zip(d_rows, f_rows, strict=True):
            assert same_quote(a.quoted_lead_time_months, b.quoted_lead_time_months, tol, a.month + 1, horizon), (
                product, a.month, a.quoted_lead_time_months, b.quoted_lead_time_months, tol)
        ds, fs = des.summary["products"][product], flu.summary["products"][product]
        assert set(ds["quoted_lead_time_by_date"]) == set(fs["quoted_lead_time_by_date"])
        for when, value in ds["quoted_lead_time_by_date"].items():
            at = months_between(scenario.start, when)
            assert same_quote(value, fs["quoted_lead_time_by_date"][when], tol, at, horizon), (
                product, when, value, fs["quoted_lead_time_by_date"][when], tol)
        for cls, value in ds["quoted_lead_time_by_priority"].items():
            assert same_quote(value, fs["quoted_lead_time_by_priority"][cls], tol, 0.0, horizon), (
                product, cls, value, fs["quoted_lead_time_by_priority"][cls], tol)


def compare(data: dict[str, Any]) -> None:
    """The fluid against the DES on one deterministic scenario (module docstring)."""
    scenario = build(data)
    des, flu = lts.simulate(scenario), lts.fluid(scenario)
    horizon = months_between(scenario.start, scenario.end)
    tol = slack(scenario, "p")
    if not same_orders(scenario, des, flu, tol):
        return  # (other orders: what follows is another scenario's)
    check_orders(scenario, des, flu, tol, horizon)
    check_years(des, flu, tol, horizon)
    check_requirements(scenario, des, flu)
    check_backlog(scenario, des, flu)
    check_quotes(scenario, des, flu)


@settings(deadline=None, max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_fluid_is_the_des_within_a_takt_per_lot(data: dict[str, Any]) -> None:
    compare(data)


@pytest.mark.slow
@settings(deadline=None, max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_the_fluid_is_the_des_within_a_takt_per_lot_on_many_more(data: dict[str, Any]) -> None:
    compare(data)
