"""Metrics on hand-made inputs: quoted lead times (pure functions of records) and the
requirement gap that the kernel watches (when it closes for good, and its largest)."""

from __future__ import annotations

import pytest
from conftest import START, build, scenario_dict

from leadtime_sim.metrics import cumulative_curve, quote_times, quoted_lead_times
from leadtime_sim.scenario.schema import Requirement
from leadtime_sim.sim.records import DeliveryRecord, OrderRecord
from leadtime_sim.sim.state import RequirementState


def _order(entered: float | None, quantity: int, placed: float | None = None) -> OrderRecord:
    placed = entered if placed is None else placed
    return OrderRecord(id=f"o{entered}-{quantity}", customer="c", product="p", quantity=quantity,
                       priority=1, source="explicit", placed_months=placed or 0.0,
                       entered_months=entered, delivered_units=0, first_delivery_months=None,
                       last_delivery_months=None)


def _delivery(t: float, units: int = 1) -> DeliveryRecord:
    return DeliveryRecord(time_months=t, order_id="x", customer="c", product="p", units=units)


ORDERS = [_order(0.0, 3), _order(5.0, 2)]
# Out of time order on purpose; cumulative: 1 at 2, 3 at 4, 4 at 8, 5 at 9, 6 at 12.
DELIVERIES = [_delivery(8.0), _delivery(2.0), _delivery(4.0, 2), _delivery(12.0), _delivery(9.0)]


def test_cumulative_curve_sorts() -> None:
    t, cum = cumulative_curve([3.0, 1.0, 2.0], [1, 2, 3])
    assert t.tolist() == [1.0, 2.0, 3.0]
    assert cum.tolist() == [2.0, 5.0, 6.0]


@pytest.mark.parametrize(("at", "expected"), [
    (0.0, 8.0),    # 3 ahead (the order entered at exactly 0 counts): 4th unit at 8
    (1.0, 7.0),
    (4.99, 3.01),  # still 3 ahead
    (5.0, 7.0),    # 5 ahead: 6th unit at 12
    (10.0, 2.0),
])
def test_quoted_lead_time_from_cumulative_curves(at: float, expected: float) -> None:
    (quote,) = quoted_lead_times(ORDERS, DELIVERIES, [at])
    assert quote == pytest.approx(expected)


def test_quoted_lead_times_vectorised_and_in_given_order() -> None:
    quotes = quoted_lead_times(ORDERS, DELIVERIES, [10.0, 0.0, 5.0])
    assert quotes == pytest.approx([2.0, 8.0, 7.0])


def test_quote_not_by_end_is_none() -> None:
    deliveries = DELIVERIES[:4]  # only 5 units delivered: the 6th never is
    assert quoted_lead_times(ORDERS, deliveries, [0.0, 6.0]) == [pytest.approx(8.0), None]
    assert quoted_lead_times(ORDERS, [], [0.0]) == [None]


def test_quote_with_no_orders_is_the_first_delivery() -> None:
    assert quoted_lead_times([], [_delivery(3.0)], [1.0]) == [pytest.approx(2.0)]
    assert quoted_lead_times([], [], [0.0, 1.0]) == [None, None]


def test_orders_awaiting_funds_are_not_ahead() -> None:
    orders = [_order(0.0, 1), _order(None, 10, placed=0.0)]
    assert quoted_lead_times(orders, [_delivery(1.0), _delivery(2.0)], [0.0]) == [pytest.approx(2.0)]


def test_quote_is_never_negative() -> None:
    # More delivered than ordered by t (e.g. stock): the quote is 0, not negative.
    assert quoted_lead_times([], [_delivery(1.0, 5)], [3.0]) == [0.0]


# -- gap closing (watched by the kernel's RequirementState) -----------------------------

def _requirement(initial: float, points: list[tuple[str, float]],
                 consumption: float = 0.0) -> RequirementState:
    spec = Requirement.model_validate({
        "customer": "c", "product": "p", "initial_units": initial,
        "required": [{"date": d, "units": u} for d, u in points], "consumption_per_year": consumption})
    return RequirementState("r", spec, START)


def test_gap_never_open_closes_at_start() -> None:
    state = _requirement(10, [(START, 5)])
    for month_end in (1.0, 2.0):
        assert state.observe(month_end) == 0.0
    assert state.closed_at == 0.0
    assert state.max_gap == 0.0


def test_gap_closes_at_the_delivery_that_closes_it() -> None:
    state = _requirement(2, [(START, 5)])  # gap 3 at start
    assert state.closed_at is None
    assert state.observe(1.0) == pytest.approx(3)
    state.receive(1.5, 2)
    assert state.closed_at is None
    state.receive(2.25, 1)
    assert state.closed_at == pytest.approx(2.25)
    state.observe(3.0)
    state.receive(3.5, 4)  # more deliveries do not move the close
    assert state.closed_at == pytest.approx(2.25)
    assert state.max_gap == pytest.approx(3)


def test_gap_that_reopens_closes_only_for_good() -> None:
    """Required 5 until 2025-03, then rising to 11 by 2025-07 (linear); deliveries close the
    gap at 0.5, the rising requirement reopens it, a delivery of 6 at 4.5 closes it again."""
    state = _requirement(0, [(START, 5), ("2025-03", 5), ("2025-07", 11)])
    state.receive(0.5, 5)
    assert state.closed_at == pytest.approx(0.5)
    for month_end in (1.0, 2.0, 3.0, 4.0):
        state.observe(month_end)
    assert state.closed_at is None  # at 3: required 6.5 > 5
    assert state.max_gap == pytest.approx(5)  # the initial gap is the largest so far
    state.receive(4.5, 6)
    state.observe(5.0)
    state.observe(6.0)
    assert state.closed_at == pytest.approx(4.5)


def test_gap_open_at_the_end_is_not_by_end() -> None:
    state = _requirement(10, [(START, 10)], consumption=12)  # 1 unit a month
    assert state.closed_at == 0.0  # exactly met at start
    state.receive(0.5, 1)  # just before it the gap was 0.5: watched too
    assert state.max_gap == pytest.approx(0.5)
    assert state.closed_at == pytest.approx(0.5)
    state.observe(1.0)  # 10 held, 10 required
    assert state.closed_at == pytest.approx(0.5)
    state.observe(2.0)
    assert state.closed_at is None
    assert state.max_gap == pytest.approx(1.0)


def test_inventory_never_falls_below_zero() -> None:
    state = _requirement(2, [(START, 0)], consumption=120)  # 10 a month: empty at 0.2
    assert state.inventory(1.0) == 0.0
    state.receive(1.5, 3)
    assert state.inventory(1.5) == pytest.approx(3)  # not 3 - 10 x 0.5 more
    assert state.inventory(1.6) == pytest.approx(2)


def test_gap_below_tolerance_counts_as_closed() -> None:
    state = _requirement(5 - 1e-12, [(START, 5)])
    assert state.closed_at == 0.0
    assert state.max_gap == 0.0


def test_quote_times_are_start_each_january_and_extra_dates() -> None:
    scenario = build(scenario_dict(start="2025-04", end="2027-06", orders=[],
                                   quote_dates=["2026-08", "2025-04"]))
    times = quote_times(scenario, 26.0)
    assert times == {"2025-04": 0.0, "2026-01": 9.0, "2026-08": 16.0, "2027-01": 21.0}
