"""Properties of every run, on random small scenarios (hypothesis).

Conservation (ordered = delivered + backlog + work in progress, every month), monotone
cumulative deliveries, non-negative inventories, causality, gap-closing consistency,
and determinism (same seed, same records; another replication, other records).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from conftest import START, build
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import leadtime_sim as lts
from leadtime_sim.dates import months_between

EPS = 1e-9
PROFILE = settings(deadline=None, max_examples=100,
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

DATES = [f"{y}-{m:02d}" for y in (2025, 2026, 2027) for m in (1, 4, 7, 10)]


def durations(low: float, high: float, allow_zero: bool = False) -> st.SearchStrategy[Any]:
    """A constant (bare number) or a random distribution table."""
    const = st.floats(0.0 if allow_zero else low, high).map(lambda x: round(x, 3))
    return st.one_of(
        const,
        st.floats(low, high).map(lambda m: {"dist": "exponential", "mean": round(m, 3)}),
        st.tuples(st.floats(low, high), st.floats(0.05, 1.0)).map(
            lambda ms: {"dist": "lognormal", "median": round(ms[0], 3), "sigma": round(ms[1], 3)}),
        st.tuples(st.floats(0.0, low), st.floats(low, high)).map(
            lambda lh: {"dist": "uniform", "low": round(lh[0], 3), "high": round(lh[0] + lh[1], 3)}),
    )


@st.composite
def scenarios(draw: st.DrawFn, policy: dict[str, Any] | None = None) -> dict[str, Any]:
    end = draw(st.sampled_from(["2026-07", "2028-01"]))
    dates = [d for d in DATES if d < end]
    n_final = draw(st.integers(1, 2))
    finals = [f"p{i}" for i in range(n_final)]
    with_component = draw(st.booleans())
    products: dict[str, Any] = {p: {} for p in finals}
    if with_component:
        products["comp"] = {"stock_target_units": draw(st.integers(0, 3)),
                            "initial_stock_units": draw(st.integers(0, 4))}
        for p in finals:
            if draw(st.booleans()) or p == "p0":
                products[p]["bom"] = {"comp": draw(st.integers(1, 2))}
    made = list(products)
    factories: dict[str, Any] = {}
    for i, product in enumerate(made):
        for j in range(1 if len(factories) + (len(made) - i) >= 3 else draw(st.integers(1, 2))):
            table: dict[str, Any] = {
                "product": product,
                "lines": draw(st.integers(0 if j else 1, 2)),
                "lot_size": draw(st.integers(1, 4)),
                "takt_months": draw(durations(0.2, 3.0)),
                "flow_months": draw(durations(0.1, 4.0, allow_zero=True)),
            }
            if draw(st.integers(0, 3)) == 0:
                table["min_lot_size"] = draw(st.integers(1, table["lot_size"]))
            if draw(st.booleans()):
                table["yield_fraction"] = round(draw(st.floats(0.5, 1.0)), 3)
            if draw(st.integers(0, 3)) == 0:
                table["disruptions"] = {"between_months": draw(durations(1.0, 12.0)),
                                        "repair_months": draw(durations(0.1, 3.0))}
            if draw(st.integers(0, 3)) == 0:
                table["learning"] = {"progress_ratio": round(draw(st.floats(0.7, 1.0)), 3),
                                     "prior_units": draw(st.integers(1, 50))}
            if product in finals and draw(st.integers(0, 3)) == 0:
                table["initial_wip_units"] = draw(st.integers(0, 4))
            factories[f"f_{product}_{j}"] = table
    investments = {}
    for k in range(draw(st.integers(0, 2))):
        investments[f"inv{k}"] = {
            "factory": draw(st.sampled_from(sorted(factories))),
            "lines_added": draw(st.integers(0, 2)),
            "decided": draw(st.sampled_from(["2024-06", *dates[:6]])),
            "construction_months": draw(st.sampled_from([0, 3, 6.5])),
            "ramp_months": draw(st.sampled_from([0, 6])),
            "ramp_start_fraction": draw(st.sampled_from([0.25, 0.5, 1.0])),
            "capex_musd": draw(st.sampled_from([0, 50])),
        }
    customers = ["a", "b", "c"]
    orders = [{"customer": draw(st.sampled_from(customers)), "product": draw(st.sampled_from(finals)),
               "quantity": draw(st.integers(1, 12)),
               "placed": draw(st.sampled_from(["2024-03", "2024-11", *dates])),
               "priority": draw(st.integers(1, 3))}
              for _ in range(draw(st.integers(0, 4)))]
    streams = [{"customer": draw(st.sampled_from(customers)), "product": draw(st.sampled_from(finals)),
                "rate_per_year": round(draw(st.floats(0.0, 12.0)), 2),
                "quantity": draw(st.one_of(st.integers(1, 3),
                                           st.just({"dist": "empirical", "values": [1, 2, 5]}))),
                "priority": draw(st.integers(1, 2))}
               for _ in range(draw(st.integers(0, 2)))]
    for stream in streams:
        if draw(st.booleans()):
            window = sorted(draw(st.sets(st.sampled_from(dates), min_size=2, max_size=2)))
            stream["from"], stream["until"] = window
    requirements = {}
    for k in range(draw(st.integers(0, 2))):
        req: dict[str, Any] = {
            "customer": draw(st.sampled_from(customers)),
            "product": draw(st.sampled_from(finals)),
            "initial_units": draw(st.integers(0, 10)),
            "consumption_per_year": round(draw(st.floats(0.0, 12.0)), 2),
        }
        if draw(st.booleans()):
            points = sorted(draw(st.sets(st.sampled_from(DATES), min_size=1, max_size=3)))
            units = sorted(draw(st.lists(st.integers(0, 40), min_size=len(points), max_size=len(points))))
            req["required"] = [{"date": d, "units": u} for d, u in zip(points, units, strict=True)]
        else:
            req["multiple"] = draw(st.sampled_from([1.5, 2, 5]))
            req["by"] = draw(st.sampled_from(DATES[2:]))  # may lie beyond the end
            req["initial_units"] = max(1, req["initial_units"])
        if draw(st.integers(0, 3)) == 0:
            req["customers"] = sorted(draw(st.sets(st.sampled_from(customers), min_size=1, max_size=3)))
            del req["customer"]
        elif draw(st.integers(0, 2)) == 0:
            req["ordering"] = {"review_every_months": draw(st.sampled_from([3, 6, 12])),
                               "lookahead_months": draw(st.sampled_from([0, 12]))}
        requirements[f"r{k}"] = req
    data: dict[str, Any] = {
        "name": "random", "start": START, "end": end,
        "products": products, "factories": factories, "investments": investments,
        "orders": orders, "order_streams": streams, "requirements": requirements,
        "policy": policy or {"allocation": draw(st.sampled_from(["fifo", "priority", "fair-share"])),
                             "reassign_at_delivery": draw(st.booleans())},
    }
    if draw(st.integers(0, 3)) == 0:
        for p in finals:
            products[p]["unit_cost_musd"] = draw(st.sampled_from([1.0, 5.0]))
        data["budget"] = {"per_year_musd": draw(st.sampled_from([10.0, 40.0])),
                          "initial_musd": draw(st.sampled_from([0.0, 20.0]))}
    return data


def _simulate(data: dict[str, Any], seed: int = 1, replication: int = 0) -> lts.RunResult:
    return lts.simulate(build(data), seed=seed, replication=replication)


def test_the_strategy_makes_valid_and_varied_scenarios() -> None:
    """Guard the generator itself: it must produce scenarios the schema accepts."""
    seen_bom = seen_stream = seen_disruption = False

    @settings(deadline=None, max_examples=60, database=None)
    @given(scenarios())
    def check(data: dict[str, Any]) -> None:
        nonlocal seen_bom, seen_stream, seen_disruption
        scenario = build(data)
        assert 1 <= len(scenario.products) <= 3
        assert 1 <= len(scenario.factories) <= 3
        seen_bom |= any(p.bom for p in scenario.products.values())
        seen_stream |= bool(scenario.order_streams)
        seen_disruption |= any(f.disruptions for f in scenario.factories.values())

    check()
    assert seen_bom and seen_stream and seen_disruption


@PROFILE
@given(data=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_run_invariants(data: dict[str, Any], seed: int) -> None:
    check_invariants(_simulate(data, seed))


@settings(deadline=None, max_examples=60)
@given(data=scenarios(policy={"allocation": "priority", "reassign_at_delivery": True}),
       seed=st.integers(0, 2**32 - 1))
def test_run_invariants_with_reassignment_at_delivery(data: dict[str, Any], seed: int) -> None:
    """Priority with reassignment moves units between orders and lots: the riskiest path."""
    check_invariants(_simulate(data, seed))


def check_invariants(result: lts.RunResult) -> None:
    records = result.records
    scenario = result.scenario
    components = {c for p in scenario.products.values() for c in p.bom}

    # Monthly rows: one per month and product, months in order.
    by_product: dict[str, list] = {}
    for row in records.products:
        by_product.setdefault(row.product, []).append(row)
    assert set(by_product) == set(scenario.products)
    for name, rows in by_product.items():
        assert [r.month for r in rows] == list(range(records.months))
        previous = 0
        for r in rows:
            assert r.backlog_units >= 0 and r.wip_units >= 0 and r.stock_units >= 0, r
            assert r.awaiting_funds_units >= 0, r
            assert 0.0 <= r.utilisation <= 1.0 + EPS, r
            # Conservation of units, every month.
            if name not in components:
                assert r.ordered_units == r.cumulative_delivered_units + r.backlog_units + r.wip_units, r
            else:
                assert r.ordered_units == 0 and r.cumulative_delivered_units == 0, r
            # Cumulative deliveries never decrease, and the monthly flow adds up.
            assert r.cumulative_delivered_units >= previous, r
            assert r.delivered_units == r.cumulative_delivered_units - previous, r
            previous = r.cumulative_delivered_units

    # Orders: causality and consistent counts.
    delivered_by_order: dict[str, int] = {}
    for d in records.deliveries:
        assert d.units > 0
        assert 0.0 <= d.time_months <= records.months + EPS, d
        delivered_by_order[d.order_id] = delivered_by_order.get(d.order_id, 0) + d.units
    ids = [o.id for o in records.orders]
    assert len(ids) == len(set(ids)), "order ids must be unique"
    for o in records.orders:
        assert 0 <= o.delivered_units <= o.quantity, o
        assert delivered_by_order.get(o.id, 0) == o.delivered_units, o
        if o.entered_months is not None:
            assert o.entered_months >= max(0.0, o.placed_months) - EPS, o
        if o.first_delivery_months is not None:
            assert o.entered_months is not None, o
            assert o.first_delivery_months >= o.entered_months - EPS, o
            assert o.first_delivery_months >= o.placed_months - EPS, o
        else:
            assert o.delivered_units == 0, o
        if o.last_delivery_months is not None:
            assert o.delivered_units == o.quantity, o
            assert o.last_delivery_months >= o.first_delivery_months, o
        else:
            assert o.delivered_units < o.quantity, o
    for d in records.deliveries:
        entered = {o.id: o.entered_months for o in records.orders}[d.order_id]
        assert entered is not None and d.time_months >= entered - EPS, d
    # The horizon is whole months: the last month's rows account for every delivery.
    for name, rows in by_product.items():
        delivered = sum(d.units for d in records.deliveries if d.product == name)
        assert delivered == rows[-1].cumulative_delivered_units, name

    # Order streams place orders only inside their window.
    for i, spec in enumerate(scenario.order_streams):
        begin = months_between(scenario.start, spec.from_) if spec.from_ else 0.0
        until = months_between(scenario.start, spec.until) if spec.until else records.months
        placed = [o.placed_months for o in records.orders
                  if o.source == "stream" and o.id.startswith(f"{scenario.stream_name(i)}-")]
        assert all(begin <= t < until for t in placed), (spec, placed)

    # Requirements: inventory never negative; a closed gap stays closed.
    for name, summary in result.summary["requirements"].items():
        rows = [r for r in records.requirements if r.requirement == name]
        assert len(rows) == records.months
        for r in rows:
            assert r.inventory_units >= -EPS, r
            assert abs(r.gap_units - max(0.0, r.required_units - r.inventory_units)) < EPS, r
            assert r.peak_gap_units >= r.gap_units - EPS, r
            assert summary["max_gap_units"] >= r.peak_gap_units - EPS, (summary, r)
        closed = summary["gap_closed_months"]
        if closed is not None:
            assert 0.0 <= closed <= records.months
            for r in rows:
                if r.month + 1 > closed + EPS:
                    assert r.gap_units <= EPS, (closed, r)
        else:
            assert summary["gap_closed"] is None
            assert rows and rows[-1].gap_units > EPS

    # Investments record their capex only if funded.
    for inv in records.investments:
        if inv.funded_months is None:
            assert inv.capex_musd == 0.0
        if inv.commissioned_months is not None:
            assert inv.funded_months is not None
            assert inv.commissioned_months >= inv.funded_months - EPS


@settings(deadline=None, max_examples=50)
@given(data=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_same_seed_gives_identical_records(data: dict[str, Any], seed: int) -> None:
    a = _simulate(data, seed)
    b = _simulate(data, seed)
    assert a.records == b.records
    assert a.summary == b.summary


@settings(deadline=None, max_examples=50)
@given(data=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_other_replication_gives_other_records(data: dict[str, Any], seed: int) -> None:
    """A busy Poisson stream (about 24 orders over the horizon) is always in the scenario,
    so two replications coincide only if every arrival time does: probability zero."""
    data = {**data, "order_streams": [*data["order_streams"],
                                      {"name": "busy", "customer": "z", "product": "p0",
                                       "rate_per_year": 24.0}]}
    a = _simulate(data, seed, replication=0)
    b = _simulate(data, seed, replication=1)
    times_a = [o.placed_months for o in a.records.orders if o.customer == "z"]
    times_b = [o.placed_months for o in b.records.orders if o.customer == "z"]
    assert times_a != times_b
    assert a.records != b.records
    # ... and replication 0 is reproducible.
    assert _simulate(data, seed, replication=0).records == a.records


@settings(deadline=None, max_examples=30)
@given(data=scenarios(), seed=st.integers(0, 2**32 - 1))
def test_adding_a_line_does_not_shift_order_streams(data: dict[str, Any], seed: int) -> None:
    """Common random numbers: order arrivals depend only on the stream's own name."""
    if not data["order_streams"]:
        data = {**data, "order_streams": [{"customer": "z", "product": "p0", "rate_per_year": 6.0}]}
    name = sorted(data["factories"])[0]
    more = {**data, "factories": {**data["factories"],
                                  name: {**data["factories"][name],
                                         "lines": data["factories"][name]["lines"] + 1}}}
    a, b = _simulate(data, seed), _simulate(more, seed)
    def stream_orders(result: lts.RunResult) -> list[tuple[str, float, int]]:
        return [(o.id, o.placed_months, o.quantity) for o in result.records.orders if o.source == "stream"]
    # Budgets can delay entry but not placement; the streams themselves are identical.
    assert stream_orders(a) == stream_orders(b)


# -- first come, first served inside a class (issue 11, item 3) ------------------------------

def _class_order_violations(result: lts.RunResult) -> list[tuple[str, str]]:
    """Pairs (earlier, later) of one product and class where the order that entered the
    backlog earlier got a unit after the later one got its first (or is not done by end)."""
    entered = [o for o in result.records.orders if o.entered_months is not None]
    index = {o.id: k for k, o in enumerate(result.records.orders)}
    wrong = []
    for a in entered:
        for b in entered:
            if (a.product, a.priority) != (b.product, b.priority) or a is b:
                continue
            if (a.entered_months, index[a.id]) >= (b.entered_months, index[b.id]):
                continue  # a must be the earlier one
            if b.first_delivery_months is None:
                continue  # the later one has nothing yet: nothing to compare
            a_done = math.inf if a.last_delivery_months is None else a.last_delivery_months
            if a_done > b.first_delivery_months + EPS:
                wrong.append((a.id, b.id))
    return wrong


@PROFILE
@given(data=scenarios(policy={"allocation": "priority", "reassign_at_delivery": True}),
       seed=st.integers(0, 2**32 - 1))
def test_with_reassignment_an_earlier_order_of_a_class_is_done_before_a_later_starts(
        data: dict[str, Any], seed: int) -> None:
    result = lts.simulate(build(data), seed=seed)
    assert _class_order_violations(result) == []


@PROFILE
@given(data=scenarios(policy={"allocation": "priority", "reassign_at_delivery": False}),
       seed=st.integers(0, 2**32 - 1))
def test_without_reassignment_units_stay_with_the_orders_they_were_committed_to(
        data: dict[str, Any], seed: int) -> None:
    from leadtime_sim.sim import orders

    committed: dict[int, list[tuple[str, int]]] = {}
    """Per lot in progress (its id: lots live until delivered), the orders it was made for."""
    moved: list[tuple[list[tuple[str, int]], list[tuple[str, int]]]] = []
    real_commit, real_deliver = orders.OrderBook.commit, orders.OrderBook.deliver

    def commit(book: orders.OrderBook, product: Any, units: int, lot: Any) -> Any:
        allocation = real_commit(book, product, units, lot)
        committed[id(lot)] = sorted((o.id, n) for o, n in allocation)
        return allocation

    def deliver(book: orders.OrderBook, product: Any, lot: Any) -> None:
        real_deliver(book, product, lot)
        made_for = committed.pop(id(lot), None)
        if made_for is not None:  # (lots of the initial work in progress are committed apart)
            got = sorted((o.id, n) for o, n in lot.allocation)
            if got != made_for:
                moved.append((made_for, got))

    orders.OrderBook.commit, orders.OrderBook.deliver = commit, deliver  # type: ignore[method-assign]
    try:
        lts.simulate(build(data), seed=seed)
    finally:
        orders.OrderBook.commit, orders.OrderBook.deliver = real_commit, real_deliver  # type: ignore[method-assign]
    assert moved == []


def test_the_rule_holds_on_the_default_scenario() -> None:
    """The defect it fixes: an order of 2024-06 delivered after one of 2029-09 (seed 1)."""
    scenario = lts.load_scenario(Path(__file__).resolve().parents[1] / "models" / "nato_air_defence.toml")
    for seed in (1, 2, 3):
        assert _class_order_violations(lts.simulate(scenario, seed=seed)) == []
