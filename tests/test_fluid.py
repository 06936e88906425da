"""The fluid model (``leadtime_sim.fluid``) against the DES.

Deterministic scenarios: the fluid model's delivery and close times are within one takt per
lot of the kernel's (a lot leaves the DES's line at once, the fluid one unit by unit over the
takt). The default scenario: within a band derived from the DES's own spread (below).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import build, delivery_times, factory, order, scenario_dict

import leadtime_sim as lts


def both(data: dict) -> tuple[lts.RunResult, lts.RunResult]:
    scenario = build(data)
    return lts.simulate(scenario), lts.fluid(scenario)


def within_a_takt(data: dict, takt: float) -> lts.RunResult:
    des, flu = both(data)
    d, f = delivery_times(des), delivery_times(flu)
    assert len(d) == len(f)
    assert np.max(np.abs(np.array(d) - np.array(f))) <= takt + 1e-6
    return flu


def test_one_line_lot_of_one_is_exact() -> None:
    flu = lts.fluid(build(scenario_dict()))
    assert delivery_times(flu) == pytest.approx([2 * k + 3 for k in range(1, 11)], abs=1e-9)
    assert flu.summary["products"]["p"]["mean_lead_time_months"] == pytest.approx(23)
    assert flu.summary["estimate"] == "fluid"


def test_a_line_that_runs_out_of_work_inside_a_month_is_exact() -> None:
    """Takt 0.1 (10 a month), 14 units at start: the last leaves the line at 1.4, as in the
    DES; with takt 0.4 and flow 1, 4 units at start and 3 more in mid-March, 1.4 to 2.6 and
    3.85 to 4.65. (The fluid drew its output straight across the month in which the line ran
    out of work: the 14th at 2.0, the 4th at 3.0.)"""
    flu = within_a_takt(scenario_dict(factories={"f": factory(takt_months=0.1)}, orders=[order(14)]), 1e-6)
    assert delivery_times(flu)[-1] == pytest.approx(1.4)
    within_a_takt(scenario_dict(factories={"f": factory(takt_months=0.4, flow_months=1)},
                                orders=[order(4), order(3, placed="2025-03-15")]), 1e-6)


def test_the_book_is_served_by_the_date_placed_not_the_listing() -> None:
    """Two book orders, the one listed second placed half a year earlier: first come, first
    served, as the DES places the book; the fluid served them in file order (customer b's
    5 units at 5 to 13 months, a's at 15 to 23, against the DES's 15 to 23 and 5 to 13)."""
    data = scenario_dict(orders=[order(5, customer="b", id="b"), order(5, placed="2024-06", id="a")])
    des, flu = both(data)
    d, f = ({o.id: o.last_delivery_months for o in r.records.orders} for r in (des, flu))
    assert d == pytest.approx({"a": 13.0, "b": 23.0})
    assert f == pytest.approx(d)


def test_two_lines_and_lots_of_five() -> None:
    within_a_takt(scenario_dict(factories={"f": factory(lines=2, takt_months=2, flow_months=3)}), 2)
    within_a_takt(scenario_dict(factories={"f": factory(lot_size=5, takt_months=2, flow_months=3)},
                                orders=[order(12)]), 2)


def test_an_investment_adds_a_line_after_construction() -> None:
    data = scenario_dict(orders=[order(20)], investments={"second": {
        "factory": "f", "lines_added": 1, "decided": "2025-04", "construction_months": 6,
        "capex_musd_per_line": 100}})
    flu = within_a_takt(data, 2)
    (inv,) = flu.records.investments
    assert inv.commissioned_months == pytest.approx(9) and flu.summary["capex_musd"] == pytest.approx(100)


def test_a_ramp() -> None:
    data = scenario_dict(orders=[order(30)], investments={"second": {
        "factory": "f", "lines_added": 2, "decided": "2025-01", "construction_months": 4,
        "ramp_months": 6, "ramp_start_fraction": 0.5}})
    within_a_takt(data, 2 / 0.5)  # a lot started early in the ramp takes up to takt / start fraction


def test_a_component_factory_limits_final_assembly() -> None:
    data = scenario_dict(
        products={"p": {"bom": {"c": 1}}, "c": {}},
        factories={"f": factory(takt_months=1, flow_months=2), "s": factory("c", takt_months=2)},
        orders=[order(10)])
    flu = within_a_takt(data, 2 + 1)  # the supplier's takt, then final assembly's
    # a component goes to stock, as in a run: no deliveries in its rows (the fluid had 10)
    assert {m.cumulative_delivered_units for m in flu.records.products if m.product == "c"} == {0}
    # supplier at one every 2 months: unit k delivered at about 2k + 2 (not k + 2)
    assert delivery_times(flu)[-1] == pytest.approx(22, abs=1)


def test_a_requirement_gap_closes_as_in_the_des() -> None:
    data = scenario_dict(orders=[order(10)], requirements={"r": {
        "customer": "a", "product": "p", "initial_units": 0,
        "required": [{"date": "2026-01", "units": 10}]}})
    des, flu = both(data)
    d = des.summary["requirements"]["r"]["gap_closed_months"]
    f = flu.summary["requirements"]["r"]["gap_closed_months"]
    assert d == pytest.approx(23) and f == pytest.approx(d, abs=2)


def test_class_one_before_class_two() -> None:
    data = scenario_dict(policy={"allocation": "priority"},
                         orders=[order(5, customer="late", priority=2),
                                 order(5, placed="2025-02", customer="urgent", priority=1)])
    des, flu = both(data)
    for result in (des, flu):  # the first class-2 unit started before the class-1 order came
        assert max(delivery_times(result, customer="urgent")) < delivery_times(result, customer="late")[1]
    assert delivery_times(flu, customer="urgent") == pytest.approx(delivery_times(des, customer="urgent"), abs=2)


def test_units_are_committed_when_they_start_on_the_line() -> None:
    """Two lines, lots of 10, takt 6: a class-2 book of 100 and 10 class-1 units ordered in
    month 3. A run commits a lot's units when it starts, so the lots on the lines then stay
    class 2's and the class-1 order takes the lots started at 6, delivered at 12; the fluid
    committed units as they left the line, gave the class-1 order units on the line and
    delivered it at 6, and counted units on the line as backlog (97 and 3 in WIP at the
    first month's end, against the run's 80 and 20)."""
    data = scenario_dict(policy={"allocation": "priority"},
                         factories={"f": factory(lines=2, lot_size=10, takt_months=6)},
                         orders=[order(100, customer="late", priority=2),
                                 order(10, placed="2025-04", customer="urgent", priority=1)])
    des, flu = both(data)
    d_last, f_last = ({o.customer: o.last_delivery_months for o in r.records.orders} for r in (des, flu))
    assert d_last["urgent"] == pytest.approx(12.0)
    assert f_last["urgent"] == pytest.approx(12.0)
    assert f_last["late"] == pytest.approx(d_last["late"], abs=6)
    d_rows, f_rows = ([(m.backlog_units, m.wip_units) for m in r.records.products][:24] for r in (des, flu))
    for (db, dw), (fb, fw) in zip(d_rows, f_rows, strict=True):
        assert abs(db - fb) <= 20 and abs(dw - fw) <= 20  # (a lot per line: 20 units)
    assert f_rows[0] == (77, 23)


def test_a_class_one_quote_stands_behind_the_units_on_the_line() -> None:
    """One line (lot 1, takt 2, flow 3), a class-2 book of 10; a class-1 review in month 1
    orders for the lead time quoted then: the unit on the line is the book's, so a class-1
    unit starts at 2 and is delivered at 7 (6 months, 70 units of a requirement rising 10 a
    month), as in the run; the fluid quoted from the unit half made: 5 months, 60 units."""
    data = scenario_dict(policy={"allocation": "priority"}, orders=[order(10, customer="late", priority=2)],
                         requirements={"r": {
                             "customer": "r", "product": "p", "initial_units": 0,
                             "required": [{"date": "2025-01", "units": 0}, {"date": "2030-01", "units": 600}],
                             "ordering": {"first_review": "2025-02", "review_every_months": 100,
                                          "lookahead_months": "lead_time", "priority": 1}}})
    des, flu = both(data)
    d, f = ([(o.placed_months, o.quantity) for o in r.records.orders if o.customer == "r"] for r in (des, flu))
    assert d == [(1.0, 70)]
    assert f == d


def test_requirement_driven_orders_match_the_des() -> None:
    data = scenario_dict(orders=[], requirements={"r": {
        "customer": "a", "product": "p", "initial_units": 0,
        "required": [{"date": "2027-01", "units": 20}],
        "consumption_per_year": 3,
        "ordering": {"first_review": "2025-01", "review_every_months": 12, "lookahead_months": 24}}})
    des, flu = both(data)
    d = [(o.placed_months, o.quantity) for o in des.records.orders]
    f = [(o.placed_months, o.quantity) for o in flu.records.orders]
    assert [t for t, _ in d] == pytest.approx([t for t, _ in f])
    assert all(abs(a - b) <= 1 for (_, a), (_, b) in zip(d, f, strict=True))


def test_lead_time_lookahead_orders() -> None:
    data = scenario_dict(orders=[order(10)], requirements={"r": {
        "customer": "a", "product": "p", "initial_units": 0,
        "required": [{"date": "2028-01", "units": 30}],
        "ordering": {"first_review": "2026-01", "review_every_months": 12, "lookahead_months": "lead_time"}}})
    des, flu = both(data)
    assert sum(o.quantity for o in flu.records.orders) == pytest.approx(
        sum(o.quantity for o in des.records.orders), abs=1)



def test_quotes_come_before_the_orders_placed_at_their_instant() -> None:
    """A run quotes at start after the book but before a review's order at start, and at a
    month end before an order placed on the next month's first day; the fluid counted both
    (one line, lot 1: 8.0 at start, 6.0 in 2026-01, as the DES, not 18.0 and 16.0)."""
    data = scenario_dict(
        factories={"f": factory(takt_months=1, flow_months=2)},
        orders=[order(5), order(10, placed="2026-01")],
        requirements={"r": {"customer": "r", "product": "p", "required": [{"date": "2026-01", "units": 10}],
                            "ordering": {"review_every_months": 100, "lookahead_months": 12}}})
    des, flu = both(data)
    d, f = des.summary["products"]["p"], flu.summary["products"]["p"]
    assert f["quoted_lead_time_by_date"] == pytest.approx(d["quoted_lead_time_by_date"])
    assert f["quoted_lead_time_by_date"]["2026-01"] == pytest.approx(6.0)
    assert [m.quoted_lead_time_months for m in flu.records.products] == pytest.approx(
        [m.quoted_lead_time_months for m in des.records.products])


def test_the_initial_wip_is_not_ahead_of_an_order_placed_at_start() -> None:
    """One line (takt 1, flow 2), 10 units booked, 4 of them in the flow at start: a unit
    ordered at start is the 7th to start, at 6, delivered at 9, as the DES quotes it (the
    fluid stood it behind all 10 and the WIP: 13.0), and a review at start ordering for the
    lead time quoted then orders as the DES's."""
    data = scenario_dict(
        end="2027-01", factories={"f": factory(takt_months=1, flow_months=2, initial_wip_units=4)},
        requirements={"r": {"customer": "r", "product": "p", "initial_units": 0,
                            "required": [{"date": "2025-01", "units": 0}, {"date": "2027-01", "units": 24}],
                            "ordering": {"review_every_months": 100, "lookahead_months": "lead_time"}}})
    des, flu = both(data)
    d, f = des.summary["products"]["p"], flu.summary["products"]["p"]
    assert d["quoted_lead_time_months"] == pytest.approx(9.0)
    assert f["quoted_lead_time_by_date"] == pytest.approx(d["quoted_lead_time_by_date"])
    assert [(o.placed_months, o.quantity) for o in flu.records.orders] == [
        (o.placed_months, o.quantity) for o in des.records.orders]


def test_quotes_at_start_stand_behind_the_book_less_its_work_in_progress() -> None:
    """The initial WIP is the order book's at start: a new order waits only for the rest.
    One line, lot 1, takt 1, flow 6, a book of 30 with 6 in WIP: the DES quotes 31.0 (24
    units, then takt and flow); the fluid counted all 30 ahead: 37.0, at every priority, and
    a review at start ordering for the quoted lead time looked that much further."""
    data = scenario_dict(factories={"f": factory(takt_months=1, flow_months=6, initial_wip_units=6)},
                         orders=[order(30, placed="2024-06")])
    des, flu = both(data)
    d, f = des.summary["products"]["p"], flu.summary["products"]["p"]
    assert d["quoted_lead_time_months"] == pytest.approx(31.0)
    assert f["quoted_lead_time_months"] == pytest.approx(31.0)
    assert [m.quoted_lead_time_months for m in flu.records.products][:12] == pytest.approx(
        [m.quoted_lead_time_months for m in des.records.products][:12], abs=1)


def test_the_book_is_served_by_its_placing_dates() -> None:
    """A run places the order book by date, whatever the file's order; the fluid took the
    file's: the 2024-06 order listed first got its 5 units by month 5 and the 2023-01 one
    waited to month 10 (in the DES: 10 and 5)."""
    data = scenario_dict(factories={"f": factory(takt_months=1)},
                         orders=[order(5, placed="2024-06", customer="late"),
                                 order(5, placed="2023-01", customer="early")])
    des, flu = both(data)
    for result in (des, flu):
        assert {o.customer: o.last_delivery_months for o in result.records.orders} == pytest.approx(
            {"early": 5.0, "late": 10.0})
    assert [o.id for o in flu.records.orders] == [o.id for o in des.records.orders]


QUOTED_BEFORE_A_DECISION = {
    "end": "2035-01", "factories": {"f": factory(takt_months=1, flow_months=2)}, "orders": [order(24)],
    "investments": {"more": {"factory": "f", "lines_added": 2, "decided": "2026-01"}}}
"""One line, 24 units ahead, two lines more decided (and in service) in 2026-01."""


def test_quotes_count_only_the_investments_decided_before_them() -> None:
    """A run quotes with the lines in service and those already decided (at a quote date,
    before a decision at its own instant); the fluid counted every investment: 18.3 months
    at start and 6.3 in 2026-01, against the DES's exact 27.0 and 15.0."""
    des, flu = both(scenario_dict(**QUOTED_BEFORE_A_DECISION))
    d, f = des.summary["products"]["p"], flu.summary["products"]["p"]
    assert d["quoted_lead_time_by_date"]["2025-01"] == pytest.approx(27.0)
    assert d["quoted_lead_time_by_date"]["2026-01"] == pytest.approx(15.0)
    assert f["quoted_lead_time_by_date"] == pytest.approx(d["quoted_lead_time_by_date"], abs=1)  # (a takt)
    assert f["quoted_lead_time_by_date"]["2025-01"] == pytest.approx(27.0)
    assert f["quoted_lead_time_by_date"]["2026-01"] == pytest.approx(15.0)
    months = 36  # (not the last months: the DES's unit comes at the end, the fluid's a takt earlier)
    assert [m.quoted_lead_time_months for m in flu.records.products][:months] == pytest.approx(
        [m.quoted_lead_time_months for m in des.records.products][:months], abs=1)
    assert delivery_times(flu) == pytest.approx(delivery_times(des), abs=1)


@pytest.mark.parametrize("first_review", ["2025-01", "2026-01"])
def test_lead_time_reviews_count_only_the_investments_decided_before_them(first_review: str) -> None:
    """Reviews ordering for the lead time quoted then, yearly: one before the decision
    (the fluid ordered for 18.3 months, 184 units, not 270), and one at its instant, which
    in a run counts it unless it is the requirement's first review."""
    data = scenario_dict(**QUOTED_BEFORE_A_DECISION, requirements={"r": {
        "customer": "r", "product": "p", "initial_units": 0,
        "required": [{"date": "2025-01", "units": 0}, {"date": "2035-01", "units": 1200}],
        "ordering": {"first_review": first_review, "review_every_months": 12, "lookahead_months": "lead_time",
                     "until": "2027-02"}}})
    des, flu = both(data)
    d = [(o.placed_months, o.quantity) for o in des.records.orders if o.customer == "r"]
    f = [(o.placed_months, o.quantity) for o in flu.records.orders if o.customer == "r"]
    assert d[0][1] == 270 and f[0] == d[0]
    assert [t for t, _ in f] == [t for t, _ in d]
    assert all(abs(a - b) <= 10 for (_, a), (_, b) in zip(d, f, strict=True))  # (a takt: 10 units a month)



def test_units_are_conserved_every_month() -> None:
    """Ordered = delivered + backlog + work in progress in each month's row, as in a run:
    the fluid rounded its WIP from the continuous curves (a unit delivered at a month's end
    counted as delivered there, and fractions of a lot), so rows were out by one or two."""
    data = scenario_dict(
        factories={"f": factory(lines=2, lot_size=4, takt_months=1.5, flow_months=3),
                   "g": factory(lot_size=3, takt_months=1, flow_months=5)},
        orders=[order(25), order(17, placed="2025-04"), order(40, placed="2026-02")])
    for result in both(data):
        rows = [(m.ordered_units, m.cumulative_delivered_units + m.backlog_units + m.wip_units)
                for m in result.records.products]
        assert [a for a, _ in rows] == [b for _, b in rows]


NATO_REPLICATIONS = 12


@pytest.mark.slow
def test_default_scenario_within_the_des_band() -> None:
    """Fluid vs the median of 12 DES replications of the default scenario.

    Tolerance, derived: the fluid value must lie in the DES's range widened by a quarter of
    it (the range of 12 replications covers about the P8-P92 band), or within 3% of the DES
    median for deliveries (the products whose 12 runs barely differ: Patriot, whose
    deliveries the run's random takt moves by ~2%). Measured (README table): gap-close months
    within 0.5-4 months of the median except the Patriot ones (10 months later: the fluid
    puts the export stream's mean of 33 units ahead of Germany's last order, where the
    runs' median is 27; at 33 units the runs close at 233, as the fluid does), deliveries
    within -6% to +2% of the median.
    """
    scenario = lts.load_scenario("models/nato_air_defence.toml")
    runs = [lts.simulate(scenario, seed=1, replication=r) for r in range(NATO_REPLICATIONS)]
    flu = lts.fluid(scenario)
    horizon = 240.0
    for name in scenario.requirements:
        des = np.array([r.summary["requirements"][name]["gap_closed_months"] or horizon for r in runs])
        value = flu.summary["requirements"][name]["gap_closed_months"] or horizon
        low, high = des.min(), des.max()
        pad = 0.25 * (high - low) + 3.0
        assert low - pad <= value <= high + pad, (name, value, np.median(des), low, high)
    for name, entry in flu.summary["products"].items():
        des = np.array([r.summary["products"][name]["delivered_units"] for r in runs], float)
        if not des.max():
            continue
        value = entry["delivered_units"]
        low, high = des.min(), des.max()
        pad = max(0.25 * (high - low), 0.03 * np.median(des))
        assert low - pad <= value <= high + pad, (name, value, np.median(des), low, high)


def test_a_plugin_rule_not_passed_to_the_fluid_is_an_input_error() -> None:
    """As ``simulate`` says; the fluid raised a bare KeyError ('unknown ordering rule ...')."""
    plugins = lts.Plugins(ordering_rules={"none": lambda review: 0})
    requirement = {"customer": "a", "product": "p", "initial_units": 0,
                   "required": [{"date": "2027-01", "units": 5}],
                   "ordering": {"rule": "none", "first_review": "2025-01", "review_every_months": 12,
                                "lookahead_months": 12}}
    scenario = build(scenario_dict(requirements={"r": requirement}), plugins)
    for estimate in (lts.fluid, lts.fluid_summary):
        with pytest.raises(lts.InputError, match=r"ordering rule 'none' \(requirements\.r\), which comes "
                                                 r"from a plugin not passed here: pass the plugins"):
            estimate(scenario)
    assert lts.fluid(scenario, plugins).summary["estimate"] == "fluid"


def test_the_initial_wip_is_delivered_in_lots_as_the_des_does() -> None:
    """A run delivers the initial WIP in lots of the lot size, lot ``k`` of ``n`` at flow x
    (k + 1/2) / n; the fluid delivered it unit by unit along a line to the flow time: one
    WIP unit (flow 2.5) at 2.5, not 1.25, and 5 in lots of 2 (flow 3) at 0.6 to 3.0, not
    0.5, 0.5, 1.5, 1.5, 2.5 (found by tests/test_fluid_properties.py)."""
    data = scenario_dict(factories={"f": factory(lines=2, lot_size=2, flow_months=2.5, initial_wip_units=2)},
                         orders=[order(1, placed="2024-11")])
    des, flu = both(data)
    assert delivery_times(des) == [1.25]
    assert delivery_times(flu) == pytest.approx([1.25], abs=1e-9)
    data = scenario_dict(factories={"f": factory(lot_size=2, flow_months=3, initial_wip_units=5)},
                         orders=[order(8, placed="2024-11")])
    des, flu = both(data)
    assert delivery_times(des)[:5] == [0.5, 0.5, 1.5, 1.5, 2.5]
    assert delivery_times(flu)[:5] == pytest.approx(delivery_times(des)[:5], abs=1e-9)
    assert delivery_times(flu) == pytest.approx(delivery_times(des), abs=1)  # (the rest: a takt)


def test_a_factory_without_lines_does_not_add_its_flow_to_the_quotes() -> None:
    """Quotes added the longest flow of the product's factories, also of one with no lines
    (which makes nothing): 1.5 months for a unit a line of takt 0.5 and no flow makes in 0.5
    (found by tests/test_fluid_properties.py)."""
    data = scenario_dict(factories={"f": factory(takt_months=0.5), "g": factory(lines=0, flow_months=1)},
                         orders=[order(1)])
    des, flu = both(data)
    quotes = [[m.quoted_lead_time_months for m in r.records.products][:3] for r in (des, flu)]
    assert quotes[0] == [0.5, 0.5, 0.5]
    assert quotes[1] == pytest.approx(quotes[0])


def test_a_unit_does_not_leave_the_line_before_its_components_come() -> None:
    """Two components a unit, made one by one (takt 0.5, flow 1: at 1.5 and 2.0), for one
    unit (lot 4, takt 1): the DES delivers it at 3.0. The fluid put a kink in the month the
    work and the components both ran out, as if the lines ran out of work at full rate, and
    delivered it at 1.25, before either component (found by tests/test_fluid_properties.py)."""
    data = scenario_dict(products={"p": {"bom": {"c": 2}}, "c": {}},
                         factories={"f": factory(lot_size=4), "s": factory("c", takt_months=0.5, flow_months=1)},
                         orders=[order(1)])
    des, flu = both(data)
    assert delivery_times(des) == [3.0]
    assert delivery_times(flu) == pytest.approx([2.0])  # (within the final takt: the unit leaves as it comes)


def test_an_order_gets_no_more_units_than_it_ordered() -> None:
    """A position on a half unit computed as 7.499999999999999 (the end of a class-2 order's
    segment, where a class-1 requirement order of 5 took over) rounded down, so the class-1
    order was delivered 6 units and the class-2 order one fewer than its 6 (found by
    tests/test_fluid_properties.py)."""
    data = scenario_dict(
        end="2029-01", policy={"allocation": "priority"}, factories={"f": factory(takt_months=3, flow_months=3)},
        investments={"more": {"factory": "f", "lines_added": 1, "decided": "2025-11"}},
        orders=[order(3, placed="2024-09", customer="b", priority=2), order(6, placed="2024-04", customer="b",
                                                                            priority=2)],
        requirements={"r": {"customer": "a", "product": "p", "initial_units": 0,
                            "required": [{"date": "2026-12", "units": 9}],
                            "ordering": {"first_review": "2025-03", "review_every_months": 12,
                                         "lookahead_months": "lead_time", "priority": 1}}})
    des, flu = both(data)
    for result in (des, flu):
        got = {o.id: (o.quantity, o.delivered_units) for o in result.records.orders}
        assert got == {"order-0": (3, 3), "order-1": (6, 6), "r-0": (4, 4), "r-1": (5, 5)}


def test_an_orders_deliveries_keep_the_lots_of_the_initial_wip() -> None:
    """Five WIP units of a factory with lots of 4 (the run: 4 at 0.625, 1 at 1.875), its
    product's other factory with lots of 3: the fluid recorded an order's deliveries in
    groups of the smaller lot size, so the 4th WIP unit went with the 5th, at 1.875 (found
    by tests/test_fluid_properties.py)."""
    data = scenario_dict(factories={"f": factory(lines=2, lot_size=3, takt_months=0.5, flow_months=2.5),
                                    "g": factory(lines=2, lot_size=4, takt_months=0.5, flow_months=2.5,
                                                 initial_wip_units=5)},
                         orders=[order(9, placed="2024-05")])
    des, flu = both(data)
    assert delivery_times(des)[:5] == [0.625] * 4 + [1.875]
    assert delivery_times(flu)[:5] == pytest.approx(delivery_times(des)[:5])


def test_a_review_sees_the_inventory_never_consumed_below_zero() -> None:
    """Consumption of 3 a year from an inventory that is empty until the first unit comes in
    month 13: a run's inventory stays at 0 until then (nothing to consume), and its reviews
    order 9 in month 15 and 13 in month 27; the fluid's reviews took the consumption of the
    empty months off too and ordered 11 and 15 (found by tests/test_fluid_properties.py:
    22 against 18)."""
    data = scenario_dict(
        end="2028-01", factories={"f": factory()},
        orders=[order(12, placed="2024-04", customer="b"), order(8, placed="2024-07")],
        requirements={"r": {"customer": "a", "product": "p", "initial_units": 0, "consumption_per_year": 3,
                            "required": [{"date": "2027-06", "units": 25}],
                            "ordering": {"first_review": "2025-04", "review_every_months": 12,
                                         "lookahead_months": 0}}})
    des, flu = both(data)
    d, f = ([(o.placed_months, o.quantity) for o in r.records.orders if o.customer == "a"] for r in (des, flu))
    assert f == d


def test_the_initial_wip_of_two_factories_is_delivered_in_their_lots() -> None:
    """Two factories' initial WIP for one order of 8: 5 in lots of 4 and 3 in lots of 2, the
    run delivers 4 + 2 at 0.625 and 1 + 1 at 1.875; the fluid grouped the order's positions
    by each factory's lots in turn, so its 6th unit, due at 0.625, was recorded with the 7th
    at 1.875 (found by tests/test_fluid_properties.py)."""
    data = scenario_dict(factories={"f": factory(lot_size=4, takt_months=0.5, flow_months=2.5, initial_wip_units=5),
                                    "g": factory(lines=0, lot_size=2, flow_months=2.5, initial_wip_units=5)},
                         orders=[order(8)])
    des, flu = both(data)
    assert delivery_times(des) == [0.625] * 6 + [1.875] * 2
    assert delivery_times(flu) == pytest.approx(delivery_times(des))


def test_quotes_wait_for_the_components() -> None:
    """Two components a unit, from a supplier making one every half month: the DES quotes
    2.5 months at start and 1.5 later (the components, then the takt); the fluid quoted
    from final assembly's lines alone, 1.0 and 0.5 (found by tests/test_fluid_properties.py),
    now 2.0 and 1.0, within a takt (a unit leaves the fluid's line as its components come)."""
    data = scenario_dict(products={"p": {"bom": {"c": 2}}, "c": {}},
                         factories={"f": factory(takt_months=0.5), "s": factory("c", takt_months=0.5)},
                         orders=[order(1)])
    des, flu = both(data)
    d, f = ([m.quoted_lead_time_months for m in r.records.products if m.product == "p"][:-3] for r in (des, flu))
    assert des.summary["products"]["p"]["quoted_lead_time_months"] == 2.5 and set(d) == {1.5}
    assert flu.summary["products"]["p"]["quoted_lead_time_months"] == pytest.approx(2.0)
    assert f == pytest.approx([1.0] * len(d))  # (not the last months: "not by end" in one only)
