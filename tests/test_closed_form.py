"""Deterministic scenarios against hand-computed delivery dates (docs/design.md: fluid model).

Constant takt, no randomness: delivery times follow in closed form. docs/design.md asks for
agreement within one lot's takt; the kernel is exact on these cases, so the tolerance is
much tighter (an off-by-one lot would shift dates by a whole takt and must fail).
"""

from __future__ import annotations

import itertools
import math

import pytest
from conftest import START, delivery_times, factory, list_schedule, order, run, scenario_dict

from leadtime_sim.dates import months_between

TOL = 1e-6


def test_one_line_lot_of_one() -> None:
    """Unit k starts at 2(k-1), leaves the line at 2k and is delivered at 2k + 3."""
    result = run(scenario_dict())
    assert delivery_times(result) == pytest.approx([2 * k + 3 for k in range(1, 11)], abs=TOL)
    (rec,) = result.records.orders
    assert rec.first_delivery_months == pytest.approx(5)
    assert rec.last_delivery_months == pytest.approx(23)
    assert result.summary["products"]["p"]["mean_lead_time_months"] == pytest.approx(23)
    # Capacity: 1 line x lot 1 / takt 2 months = 6 units a year.
    assert result.records.products[0].capacity_units_per_year == pytest.approx(6)


def test_two_lines() -> None:
    result = run(scenario_dict(factories={"f": factory(lines=2, takt_months=2, flow_months=3)}))
    expected = [2 * math.ceil(k / 2) + 3 for k in range(1, 11)]
    assert delivery_times(result) == pytest.approx(expected, abs=TOL)


def test_lots_of_five_take_one_takt_per_lot() -> None:
    result = run(scenario_dict(factories={"f": factory(lot_size=5, takt_months=2, flow_months=3)},
                               orders=[order(12)]))
    # Lots of 5, 5 and 2 (a line starts at once with what there is) end at 2, 4, 6.
    expected = [5.0] * 5 + [7.0] * 5 + [9.0] * 2
    assert delivery_times(result) == pytest.approx(expected, abs=TOL)
    assert [d.units for d in result.records.deliveries] == [5, 5, 2]


def test_lot_starts_with_what_there_is() -> None:
    """A line does not wait for a full lot: orders of 1 unit at months 0, ~0.5 and 1."""
    data = scenario_dict(factories={"f": factory(lot_size=5, takt_months=2, flow_months=0)},
                         orders=[order(1), order(1, placed="2025-01-16"), order(1, placed="2025-02")])
    result = run(data)
    # Unit 1 starts alone at 0; the two later units wait for the line and start together at 2.
    assert delivery_times(result) == pytest.approx([2, 4, 4], abs=TOL)
    assert [d.units for d in result.records.deliveries] == [1, 1, 1]
    assert result.records.lots_started == 2


def test_min_lot_size_waits_for_enough_units() -> None:
    data = scenario_dict(factories={"f": factory(lot_size=4, min_lot_size=3, takt_months=1)},
                         orders=[order(2), order(1, placed="2025-06"), order(4, placed="2025-09")])
    result = run(data)
    # 2 units wait until the third arrives at month 5; lot of 3 ends at 6. Then 4 at month 8.
    assert delivery_times(result) == pytest.approx([6, 6, 6, 9, 9, 9, 9], abs=TOL)


def test_investment_adds_a_line_after_construction() -> None:
    data = scenario_dict(
        orders=[order(20)],
        investments={"second": {"factory": "f", "lines_added": 1, "decided": "2025-04",
                                "construction_months": 6, "capex_musd_per_line": 100}},
    )
    result = run(data)
    # Decided at month 3, built by month 9: the new line starts work at 9 (ends at 11).
    expected = list_schedule(20, [0.0, 9.0], 1, lambda t, i: 2.0, 3.0)
    assert delivery_times(result) == pytest.approx(sorted(expected), abs=TOL)
    assert delivery_times(result)[:4] == pytest.approx([5, 7, 9, 11], abs=TOL)
    (inv,) = result.records.investments
    assert inv.commissioned_months == pytest.approx(9)
    assert inv.capex_musd == pytest.approx(100)
    assert result.summary["capex_musd"] == pytest.approx(100)
    assert result.summary["investments"]["second"]["commissioned"] == "2025-10"
    # The rate doubles from month 9: capacity 6 -> 12 a year; one delivery a month later on.
    capacity = {r.month: r.capacity_units_per_year for r in result.records.products}
    assert capacity[8] == pytest.approx(6)  # sampled at t = 9, before the line comes in
    assert capacity[9] == pytest.approx(12)
    times = delivery_times(result)
    assert sum(15 < t <= 23 for t in times) == 8


def test_investment_decided_before_start_and_built() -> None:
    data = scenario_dict(orders=[order(8)], investments={"old": {"factory": "f", "decided": "2024-01",
                                                                 "construction_months": 13}})
    result = run(data)
    # Decided 12 months before start: commissioned at month 1.
    expected = list_schedule(8, [0.0, 1.0], 1, lambda t, i: 2.0, 3.0)
    assert delivery_times(result) == pytest.approx(sorted(expected), abs=TOL)


def _ramp_takt(commissioned: float, ramp: float, first: float, takt: float):
    def fraction(t: float) -> float:
        if t >= commissioned + ramp:
            return 1.0
        return first + (1 - first) * max(0.0, t - commissioned) / ramp

    return lambda t, line: takt / fraction(t)


def test_ramp_stretches_takt_by_the_rate_fraction_at_lot_start() -> None:
    data = scenario_dict(
        factories={"f": factory(lines=0, takt_months=2, flow_months=1)},
        orders=[order(20)],
        investments={"new": {"factory": "f", "decided": START, "construction_months": 6,
                             "ramp_months": 12, "ramp_start_fraction": 0.5}},
    )
    result = run(data)
    expected = list_schedule(20, [6.0], 1, _ramp_takt(6, 12, 0.5, 2), 1.0)
    # By hand: lots start at 6 (half rate: takt 4), 10 (2/3 rate: takt 3), 13, ...
    assert expected[:2] == pytest.approx([11, 14])
    assert delivery_times(result) == pytest.approx(expected, abs=TOL)
    # After the ramp the line runs at full rate: one unit every 2 months.
    late = delivery_times(result)[-5:]
    assert [b - a for a, b in itertools.pairwise(late)] == pytest.approx([2] * 4)


def test_ramped_line_beside_an_old_line() -> None:
    data = scenario_dict(
        factories={"f": factory(lines=1, takt_months=2, flow_months=0)},
        orders=[order(16)],
        investments={"new": {"factory": "f", "decided": START, "construction_months": 3,
                             "ramp_months": 6, "ramp_start_fraction": 0.25}},
    )
    result = run(data)
    ramp = _ramp_takt(3, 6, 0.25, 2)
    expected = list_schedule(16, [0.0, 3.0], 1, lambda t, i: 2.0 if i == 0 else ramp(t, i), 0.0)
    assert delivery_times(result) == pytest.approx(sorted(expected), abs=TOL)


def test_component_factory_limits_final_assembly() -> None:
    data = scenario_dict(
        products={"missile": {"bom": {"seeker": 1}}, "seeker": {}},
        factories={"assembly": factory("missile", lines=2, takt_months=1, flow_months=2),
                   "seekers": factory("seeker", takt_months=3, flow_months=0)},
        orders=[order(10, product="missile")],
        end="2028-01",
    )
    result = run(data)
    # Seeker k is in stock at 3k; its missile is assembled in 1 month and accepted in 2.
    assert delivery_times(result) == pytest.approx([3 * k + 3 for k in range(1, 11)], abs=TOL)
    # Final assembly rate = component rate: 4 a year, though assembly could make 24.
    rows = {(r.product, r.month): r for r in result.records.products}
    assert rows[("missile", 12)].capacity_units_per_year == pytest.approx(24)
    assert rows[("seeker", 12)].capacity_units_per_year == pytest.approx(4)
    assert rows[("missile", 26)].cumulative_delivered_units - \
        rows[("missile", 14)].cumulative_delivered_units == 4


def test_bom_with_two_components_per_unit_and_initial_stock() -> None:
    data = scenario_dict(
        products={"launcher": {"bom": {"radar": 2}}, "radar": {"initial_stock_units": 2}},
        factories={"assembly": factory("launcher", takt_months=1, flow_months=0),
                   "radars": factory("radar", takt_months=2, flow_months=0)},
        orders=[order(4, product="launcher")],
        end="2028-01",
    )
    result = run(data)
    # Stock of 2 radars: launcher 1 at 1. Radars then at 2, 4 (launcher 2 ends at 5),
    # 6, 8 (launcher 3 at 9), 10, 12 (launcher 4 at 13).
    assert delivery_times(result) == pytest.approx([1, 5, 9, 13], abs=TOL)


def test_requirement_gap_closes_at_the_hand_computed_month() -> None:
    """Required 0 -> 3 units linearly over 6 months; deliveries at 5, 7, 9, ...: the
    inventory reaches the (then flat) requirement with the third delivery, at month 9."""
    data = scenario_dict(requirements={"r": {"customer": "a", "product": "p",
                                             "required": [{"date": "2025-07", "units": 3}]}})
    summary = run(data).summary["requirements"]["r"]
    assert summary["gap_closed_months"] == pytest.approx(9)
    assert summary["gap_closed"] == "2025-10"
    # Largest gap: at the end of month 4 (t = 5) 2.5 units are required and none delivered
    # (the first delivery, at exactly t = 5, counts in month 5).
    assert summary["max_gap_units"] == pytest.approx(2.5)


def test_requirement_with_consumption_and_multiple() -> None:
    """Initial 10, 'twice the start level by 2026-01' (linear from start), consumption 12 a
    year, 40 units delivered 3 a month at t = 1, 2, ..., 13 and the last one at 14."""
    data = scenario_dict(
        end="2028-01",
        orders=[order(40)],
        factories={"f": factory(lines=3, takt_months=1, flow_months=0)},
        requirements={"r": {"customer": "a", "product": "p", "initial_units": 10, "multiple": 2,
                            "by": "2026-01", "consumption_per_year": 12}},
    )
    result = run(data)
    rows = result.records.requirements
    assert [r.month for r in rows] == list(range(36))
    for r in rows:
        # Month m is sampled at t = m + 1; a delivery exactly at t belongs to the next month.
        t = r.month + 1
        inventory = 10 - t + min(40, 3 * r.month)
        required = 10 + 10 * min(t, 12) / 12
        assert r.inventory_units == pytest.approx(inventory, abs=TOL), r
        assert r.required_units == pytest.approx(required, abs=TOL), r
        assert r.gap_units == pytest.approx(max(0.0, required - inventory), abs=TOL), r
    # The gap is open in months 0 and 1, closed while deliveries last, and opens again for
    # good once consumption has eaten the stock down to 20: 49 - m < 20 from month 30 on.
    open_months = [r.month for r in rows if r.gap_units > TOL]
    assert open_months == [0, 1, *range(30, 36)]
    summary = result.summary["requirements"]["r"]
    assert summary["gap_closed_months"] is None
    assert summary["gap_closed"] is None
    assert summary["gap_end_units"] == pytest.approx(20 - (49 - 35))


def test_quoted_lead_time_at_start_from_cumulative_curves() -> None:
    """10 units ahead at start; an 11th unit would leave the line at 11 x 2 and be delivered
    3 months later: quoted lead time 25 months."""
    data = scenario_dict(orders=[order(10), order(10, placed="2025-03")], end="2028-01",
                         quote_dates=["2025-02"])
    result = run(data)
    quotes = result.summary["products"]["p"]
    assert quotes["quoted_lead_time_months"] == pytest.approx(11 * 2 + 3)
    assert quotes["quoted_lead_time_by_date"]["2025-02"] == pytest.approx(11 * 2 + 3 - 1)
    # Placed at 2026-01 (month 12), 20 units are ahead and only 20 are ever made: not by end.
    assert quotes["quoted_lead_time_by_date"]["2026-01"] is None
    # The quote equals what an actual extra order gets.
    extra = run({**data, "orders": data["orders"] + [order(1, placed=START, customer="z")]})
    (rec,) = [o for o in extra.records.orders if o.customer == "z"]
    assert rec.last_delivery_months == pytest.approx(quotes["quoted_lead_time_months"])


def test_orders_placed_later_arrive_on_their_date() -> None:
    data = scenario_dict(orders=[order(2, placed="2025-07")])
    result = run(data)
    (rec,) = result.records.orders
    assert rec.entered_months == pytest.approx(6)
    assert delivery_times(result) == pytest.approx([11, 13], abs=TOL)


def test_initial_wip_is_delivered_during_the_first_flow() -> None:
    data = scenario_dict(factories={"f": factory(takt_months=2, flow_months=6, initial_wip_units=3)},
                         orders=[order(5, placed="2024-01")])
    result = run(data)
    times = delivery_times(result)
    # 3 units are already downstream: delivered during the first flow time, oldest order
    # first; the other two go through the line: 2 + 6 = 8 and 4 + 6 = 10.
    assert len(times) == 5
    assert all(0 < t <= 6 for t in times[:3]), times
    assert times[3:] == pytest.approx([8, 10], abs=TOL)
    wip = {r.month: r.wip_units for r in result.records.products}
    assert wip[0] >= 3


def test_budget_delays_orders_and_investments_to_next_years_money() -> None:
    """30 M$ a year from the start month (April) and each January. An order of 10 units at
    5 M$ placed in May (50 M$) waits until 2026-01 (month 9), when 60 M$ are there; the
    book order placed at start is already paid."""
    data = scenario_dict(start="2025-04", end="2028-01", products={"p": {"unit_cost_musd": 5}},
                         orders=[order(4, placed="2025-04"), order(10, placed="2025-05")],
                         budget={"per_year_musd": 30, "covers": ["orders"]})
    result = run(data)
    book, later = result.records.orders
    assert book.entered_months == pytest.approx(0)
    assert later.placed_months == pytest.approx(1)
    assert later.entered_months == pytest.approx(9)
    # The line finishes the book order at 8, idles, and starts the later order at 9.
    assert delivery_times(result) == pytest.approx([5, 7, 9, 11] + [9 + 2 * k + 3 for k in range(1, 11)])
    awaiting = {r.month: r.awaiting_funds_units for r in result.records.products}
    assert awaiting[1] == 10 and awaiting[8] == 10 and awaiting[9] == 0

    invest = scenario_dict(start="2025-04", orders=[order(4)], budget={"per_year_musd": 30},
                           investments={"i": {"factory": "f", "decided": "2025-04", "capex_musd": 50,
                                              "construction_months": 2}})
    (inv,) = run(invest).records.investments
    assert inv.funded_months == pytest.approx(9)
    assert inv.commissioned_months == pytest.approx(11)
    assert inv.capex_musd == pytest.approx(50)


def test_a_budget_of_a_start_inside_a_month_tops_up_on_the_first_of_january() -> None:
    """Start 2025-03-15: a year's money then and on 2026-01-01 (9.55 months on, not 10:
    the top-up came on 2026-01-15). An order placed on 2026-01-05 that the first year's money
    cannot pay enters then, not ten days later."""
    data = scenario_dict(start="2025-03-15", end="2027-01", products={"p": {"unit_cost_musd": 5}},
                         orders=[order(4, placed="2025-03-15"), order(10, placed="2026-01-05")],
                         budget={"per_year_musd": 30, "initial_musd": 0, "covers": ["orders"]})
    later = run(data).records.orders[1]
    assert later.placed_months == pytest.approx(months_between("2025-03-15", "2026-01-05"))
    assert later.entered_months == pytest.approx(later.placed_months)


def _sawtooth() -> dict:
    """Required 10 throughout; inventory 11.25 at start, consumption 1 a month, one unit
    delivered at k + d for k = 1, 2, ... (d = 15/31: the order is placed on 2025-01-16).
    At each month end inventory is 10.25, but just before each delivery it is 10.25 - d:
    the gap (d - 0.25 units) reopens in every month."""
    return scenario_dict(
        end="2026-01",
        factories={"f": factory(takt_months=1, flow_months=0)},
        orders=[order(100, placed="2025-01-16")],
        requirements={"r": {"customer": "a", "product": "p", "initial_units": 11.25,
                            "required": [{"date": START, "units": 10}], "consumption_per_year": 12}},
    )


def test_gap_that_reopens_within_each_month() -> None:
    """Regression: gap closing and the largest gap were once judged at month ends only, so
    this gap was reported closed at start with a largest gap of 0.

    docs/design.md: the gap closes at the first time after which inventory >= required until the
    end. The last delivery in the horizon is at 11 + d; inventory then falls from 11.25 - d
    to 10.25 at the end, so the gap closes at 11 + d, and the largest gap is d - 0.25."""
    d = 15 / 31
    result = run(_sawtooth())
    assert delivery_times(result)[:3] == pytest.approx([1 + d, 2 + d, 3 + d], abs=TOL)
    for r in result.records.requirements:  # month ends look fine ...
        assert r.inventory_units == pytest.approx(10.25, abs=TOL)
        assert r.gap_units == 0
    summary = result.summary["requirements"]["r"]  # ... but the gap is open in every month
    assert summary["max_gap_units"] == pytest.approx(d - 0.25, abs=1e-6)
    assert summary["gap_closed_months"] == pytest.approx(11 + d, abs=1e-6)
    assert summary["gap_closed"] == "2025-12"


def test_required_points_within_a_month_are_exact() -> None:
    """Nothing delivered; required 0 -> 10 by 2025-02-16 (t = 1 + 15/28), back to 0 by
    2025-03-16 (t = 2 + 15/31). The largest gap is 10, and it closes for good at 2 + 15/31."""
    data = scenario_dict(orders=[], end="2026-01", requirements={"r": {
        "customer": "a", "product": "p",
        "required": [{"date": "2025-02-16", "units": 10}, {"date": "2025-03-16", "units": 0}]}})
    summary = run(data).summary["requirements"]["r"]
    assert summary["max_gap_units"] == pytest.approx(10)
    assert summary["gap_closed_months"] == pytest.approx(2 + 15 / 31)


def test_disruptions_stop_the_line_on_a_calendar_clock() -> None:
    """Failures every 4.4 months of calendar time after the last repair, repairs of 1 month.
    Takt 2: lots [0,2], [2,4], [4,6] hit at 4.4 -> ends 7; next failure 4.4 + 1 + 4.4 = 9.8
    hits [9,11] -> 12; then 15.2 hits [14,16] -> 17; 20.6 hits [19,21] -> 22."""
    data = scenario_dict(factories={"f": factory(takt_months=2, flow_months=0,
                                                 disruptions={"between_months": 4.4,
                                                              "repair_months": 1})})
    result = run(data)
    assert delivery_times(result) == pytest.approx([2, 4, 7, 9, 12, 14, 17, 19, 22, 24], abs=TOL)
    # Availability 4.4 / 5.4 enters the nominal capacity: 6 x 4.4 / 5.4 a year.
    assert result.records.products[0].capacity_units_per_year == pytest.approx(6 * 4.4 / 5.4)


def test_failure_while_idle_is_repaired_before_work_resumes() -> None:
    data = scenario_dict(factories={"f": factory(takt_months=2, disruptions={"between_months": 5,
                                                                            "repair_months": 1})},
                         orders=[order(1), order(3, placed="2025-09")])
    # Idle from 2 to 8; the failure at 5 is over at 6, the next comes at 11 (during [10,12]).
    assert delivery_times(run(data)) == pytest.approx([2, 10, 13, 15], abs=TOL)


def test_learning_curve_follows_wrights_law() -> None:
    """Progress ratio 0.8 from one prior unit: the k-th new unit takes (1 + k)^log2(0.8) of
    the takt at start, never less than half of it."""
    data = scenario_dict(factories={"f": factory(takt_months=1, learning={
        "progress_ratio": 0.8, "prior_units": 1, "floor_fraction": 0.5})})
    exponent = math.log2(0.8)
    takts = [max(0.5, (1 + k) ** exponent) for k in range(1, 11)]
    assert takts[0] == pytest.approx(0.8) and takts[-1] == 0.5
    expected = list(itertools.accumulate(takts))
    assert delivery_times(run(data)) == pytest.approx(expected, abs=TOL)


def test_a_lots_learning_is_the_mean_of_its_units() -> None:
    """As above in lots of 4 (10 units: lots of 4, 4 and 2): a lot takes the takt at start
    times the mean of its units' multipliers, not the multiplier of its last unit (which made
    the first lot 1 x 5^log2(0.8) = 0.60 months long instead of 0.68, the mean of 0.80, 0.70,
    0.64 and 0.60)."""
    data = scenario_dict(factories={"f": factory(takt_months=1, lot_size=4, learning={
        "progress_ratio": 0.8, "prior_units": 1, "floor_fraction": 0.5})})
    exponent = math.log2(0.8)
    unit = [max(0.5, (1 + k) ** exponent) for k in range(1, 11)]
    lots = [sum(unit[0:4]) / 4, sum(unit[4:8]) / 4, sum(unit[8:10]) / 2]
    ends = list(itertools.accumulate(lots))
    assert lots[0] == pytest.approx(0.6844, abs=1e-4)
    assert delivery_times(run(data)) == pytest.approx([ends[0]] * 4 + [ends[1]] * 4 + [ends[2]] * 2, abs=TOL)
