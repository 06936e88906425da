"""Why a gap stays open (issue 12, item 2): scenarios limited by capacity, orders, a supplier
and the budget get those labels, and a closed gap says so."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import build, factory, order, scenario_dict

import leadtime_sim as lts
from leadtime_sim.limits import limits_at


def _requirement(units: int, by: str = "2026-01") -> dict[str, Any]:
    return {"r": {"customer": "a", "product": "p", "initial_units": 0,
                  "required": [{"date": by, "units": units}]}}


def _limit(data: dict[str, Any], at_months: float) -> Any:
    scenario = build(data)
    result = lts.simulate(scenario, seed=1)
    return limits_at(scenario, result.records, {"t": at_months})["r"]["t"], result


def test_busy_lines_with_enough_on_order_are_capacity() -> None:
    # one line of takt 2, flow 3: 20 units are all delivered at month 43; at month 24 about 10
    # are, and the line has been busy throughout
    data = scenario_dict(orders=[order(20)], requirements=_requirement(20))
    limit, result = _limit(data, 24)
    assert limit.label == "capacity"
    assert result.summary["requirements"]["r"]["limited_by"] == "closed"  # by the end (2030-01)


def test_a_requirement_ordered_short_is_orders_with_the_units_short() -> None:
    data = scenario_dict(orders=[order(10)], requirements=_requirement(30))
    result = lts.simulate(build(data), seed=1)
    summary = result.summary["requirements"]["r"]
    assert summary["gap_closed"] is None and summary["limited_by"] == "orders"
    assert summary["units_short"] == 20  # 30 required, 10 ordered and delivered


def test_idle_assembly_waiting_for_a_component_names_the_supplier() -> None:
    data = scenario_dict(
        products={"p": {"bom": {"c": 1}}, "c": {}},
        factories={"assembly": factory("p", takt_months=0.5),
                   "seekers": factory("c", takt_months=6)},  # the supplier makes 2 a year
        orders=[order(20)], requirements=_requirement(20))
    limit, _ = _limit(data, 36)
    assert limit.label == "supply:seekers"


def test_orders_waiting_for_money_are_budget() -> None:
    data = scenario_dict(orders=[order(4, placed="2025-02") for _ in range(6)], requirements=_requirement(24),
                         budget={"per_year_musd": 10.0})
    data["products"]["p"]["unit_cost_musd"] = 5.0  # 2 units a year are paid for
    data["factories"]["f"]["takt_months"] = 0.1
    limit, _ = _limit(data, 36)
    assert limit.label == "budget"


def test_an_investment_waiting_for_money_is_budget() -> None:
    """20 units on order, one line of takt 2 (busy: capacity) and a second line decided at
    start for 500 M$ from a budget of 100 M$ a year: it waits for money until month 48 (the
    fifth year's money), so at month 16 the gap is held back by the budget; with the money
    there at once (two busy lines: about 12 of the 20 delivered by then), by capacity."""
    data = scenario_dict(orders=[order(20)], requirements=_requirement(20),
                         investments={"more": {"factory": "f", "decided": "2025-01", "capex_musd": 500}},
                         budget={"per_year_musd": 100.0, "covers": ["investments"]})
    limit, result = _limit(data, 16)
    (invested,) = result.records.investments
    assert invested.funded_months == pytest.approx(48)
    assert limit.label == "budget"
    data["budget"]["per_year_musd"] = 500.0
    limit, _ = _limit(data, 16)
    assert limit.label == "capacity"


def test_a_closed_gap_is_closed() -> None:
    data = scenario_dict(orders=[order(3)], requirements=_requirement(3, by="2025-06"))
    limit, _ = _limit(data, 40)
    assert limit.label == "closed" and limit.units_short is None
