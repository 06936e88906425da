"""Requirement-driven ordering and budgets by customer, against hand arithmetic.

The shortfall rule orders, at each review, what is required ``lookahead`` ahead (plus what
will be consumed over the lookahead and one review period) less inventory and what every
customer of the requirement has on order; ``lookahead_months = "lead_time"`` looks as far
ahead as the lead time quoted at the review. Budgets pay for the orders of their customers.
"""

from __future__ import annotations

import pytest
from conftest import build, order, problems_of, run, scenario_dict
from hypothesis import given, settings
from hypothesis import strategies as st

import leadtime_sim as lts
from leadtime_sim.scenario.checks import scenario_warnings


def requirement_orders(result, name: str) -> list[tuple[str, float, int]]:
    """(customer, placed month, units) of the orders a requirement's reviews placed."""
    return [(o.customer, o.placed_months, o.quantity) for o in result.records.orders
            if o.source == "requirement" and o.id.startswith(f"{name}-")]


def alliance(**ordering: object) -> dict:
    """Customers a and b need 10 units from start; a has 4 on order (the book)."""
    return scenario_dict(orders=[order(4, customer="a")], requirements={"r": {
        "customers": ["a", "b"], "product": "p", "required": [{"date": "2025-01", "units": 10}],
        "ordering": {"review_every_months": 12, **ordering}}})


def test_a_requirement_of_several_customers_counts_all_their_orders() -> None:
    """At the first review: required 10, inventory 0, on order 4 (a's): b orders 6. A year
    later 10 are delivered or on order: nothing more."""
    result = run(alliance(customer="b"))
    assert requirement_orders(result, "r") == [("b", 0.0, 6)]


def test_the_ordering_customer_must_be_named_and_one_of_them() -> None:
    assert any("name the one that places the orders" in p for p in problems_of(alliance()))
    assert any("'z' is not one of the requirement's customers (a, b)" in p
               for p in problems_of(alliance(customer="z")))


def test_lookahead_lead_time_orders_what_is_required_when_a_new_order_would_arrive() -> None:
    """One line, takt 2, flow 3; 10 units of customer x ahead. A new unit ordered at start
    starts at 20, leaves the line at 22 and is delivered at 25: the quoted lead time is 25
    months. Required: linear from 0 to 100 over 100 months, so 25 at month 25: the review
    orders 25 units (a fixed lookahead of 0 would order none)."""
    data = scenario_dict(end="2035-01", orders=[order(10, customer="x")], requirements={"r": {
        "customer": "a", "product": "p",
        "required": [{"date": "2025-01", "units": 0}, {"date": "2033-05", "units": 100}],
        "ordering": {"lookahead_months": "lead_time", "review_every_months": 600}}})
    assert requirement_orders(run(data), "r") == [("a", 0.0, 25)]
    data["requirements"]["r"]["ordering"]["lookahead_months"] = 0
    assert requirement_orders(run(data), "r") == []


def test_lookahead_lead_time_past_the_horizon_orders_to_the_end() -> None:
    """1,000 units ahead of a line making 6 a year: nothing ordered now arrives by 2030, so
    the review orders what is required at the end: all 100."""
    data = scenario_dict(orders=[order(1000, customer="x")], requirements={"r": {
        "customer": "a", "product": "p",
        "required": [{"date": "2025-01", "units": 0}, {"date": "2029-01", "units": 100}],
        "ordering": {"lookahead_months": "lead_time", "review_every_months": 600}}})
    assert requirement_orders(run(data), "r") == [("a", 0.0, 100)]


def test_a_budget_pays_only_its_customers_orders() -> None:
    """30 M$ a year from April for customer a's orders; b's are not budgeted. Both order 10
    units at 5 M$ in May: a's waits for January's money (month 9), b's enters at once."""
    data = scenario_dict(start="2025-04", end="2028-01", products={"p": {"unit_cost_musd": 5}},
                         orders=[order(10, placed="2025-05", customer="a"),
                                 order(10, placed="2025-05", customer="b")],
                         budgets=[{"name": "a_core", "per_year_musd": 30, "covers": ["orders"],
                                   "customers": ["a"]}])
    entered = {o.customer: o.entered_months for o in run(data).records.orders}
    assert entered == {"a": pytest.approx(9), "b": pytest.approx(1)}


def test_each_budget_has_its_own_money() -> None:
    """Orders from a budget of its own and investments from the scenario's budget: the
    order's 50 M$ cannot take the investment's money, nor the other way round."""
    data = scenario_dict(start="2025-04", end="2028-01", products={"p": {"unit_cost_musd": 5}},
                         orders=[order(10, placed="2025-05")],
                         budget={"per_year_musd": 60, "covers": ["investments"]},
                         budgets=[{"per_year_musd": 30, "covers": ["orders"]}],
                         investments={"i": {"factory": "f", "decided": "2025-04", "capex_musd": 50,
                                            "construction_months": 2}})
    result = run(data)
    (placed,) = result.records.orders
    (invested,) = result.records.investments
    assert placed.entered_months == pytest.approx(9)  # 30 then 60 (January): 50 paid at month 9
    assert invested.funded_months == pytest.approx(0)  # 60 at start


def test_a_budget_for_orders_of_an_unpriced_product_is_warned_about() -> None:
    scenario = build(scenario_dict(budgets=[{"per_year_musd": 30, "covers": ["orders"]}]))
    assert ("budgets[0]", "covers orders of 'p', which has no unit_cost_musd: they cost nothing "
                          "and never wait for money") in scenario_warnings(scenario)


def member_and_alliance(defer: bool = True, book_a: int = 2, book_b: int = 0, alliance_units: int = 10,
                        member_units: int = 6, member_first_review: str = "2025-01",
                        review_every_months: float = 12) -> dict:
    """An alliance requirement ``r`` (customers a and b, b orders) and a member's own ``m``
    (customer a, inside r), both required from start; the book holds a's and b's orders."""
    book = [order(q, customer=c) for q, c in ((book_a, "a"), (book_b, "b")) if q]
    return scenario_dict(end="2035-01", orders=book, requirements={
        "r": {"customers": ["a", "b"], "product": "p", "required": [{"date": "2025-01", "units": alliance_units}],
              "ordering": {"customer": "b", "review_every_months": review_every_months,
                           **({"defers_to": ["m"]} if defer else {})}},
        "m": {"customer": "a", "product": "p", "required": [{"date": "2025-01", "units": member_units}],
              "ordering": {"first_review": member_first_review, "review_every_months": review_every_months}}})


def test_an_alliance_leaves_a_member_the_units_it_orders_for_itself() -> None:
    """At start r sees 10 required, 2 on order (a's book) and m's 6 - 0 - 2 = 4 still to order
    by a: b orders 10 - 2 - 4 = 4, a orders its 4, 10 in all. Without ``defers_to`` b orders
    the 8 it is short and a its 4 again: 14 for a requirement of 10. The fluid model's reviews
    see the same."""
    for estimate in (run, lambda data: lts.fluid(build(data))):
        deferring = estimate(member_and_alliance())
        assert requirement_orders(deferring, "r") == [("b", 0.0, 4)]
        assert requirement_orders(deferring, "m") == [("a", 0.0, 4)]
        assert sum(o.quantity for o in deferring.records.orders) == 10
        twice = estimate(member_and_alliance(defer=False))
        assert requirement_orders(twice, "r") == [("b", 0.0, 8)]
        assert sum(o.quantity for o in twice.records.orders) == 14


@settings(max_examples=25, deadline=None)
@given(book_a=st.integers(0, 12), book_b=st.integers(0, 12), alliance_units=st.integers(1, 30),
       member_units=st.integers(1, 30), member_first_review=st.sampled_from(["2025-01", "2026-07", "2028-01"]),
       review_every_months=st.sampled_from([6, 12, 36]))
def test_an_alliance_and_its_member_order_the_requirement_once(book_a: int, book_b: int, alliance_units: int,
                                                                member_units: int, member_first_review: str,
                                                                review_every_months: int) -> None:
    """Whatever the book and whenever the member first reviews, the two together order what
    the alliance needs and no more: the book, plus the member's own shortfall, or the
    alliance's requirement if that is more."""
    data = member_and_alliance(True, book_a, book_b, alliance_units, min(member_units, alliance_units),
                               member_first_review, review_every_months)
    expected = max(alliance_units, book_a + book_b + max(0, min(member_units, alliance_units) - book_a))
    for estimate in (run, lambda data: lts.fluid(build(data))):
        assert sum(o.quantity for o in estimate(data).records.orders) == expected


@pytest.mark.parametrize(("defers_to", "words"), [
    (["z"], "defers_to[0]: no requirement 'z' (known: r, m)"),
    (["r"], "defers_to[0]: a requirement cannot defer to itself"),
    (["m", "m"], "defers_to[1]: 'm' is listed twice"),
])
def test_defers_to_names_a_requirement_inside_this_one(defers_to: list[str], words: str) -> None:
    data = member_and_alliance()
    data["requirements"]["r"]["ordering"]["defers_to"] = defers_to
    assert any(p.startswith("test.toml: requirements.r.ordering.") and p.endswith(words)
               for p in problems_of(data)), problems_of(data)


def test_defers_to_refuses_a_member_outside_the_requirement_or_not_ordering() -> None:
    other_product = member_and_alliance()
    other_product["products"]["q"] = {}
    other_product["factories"]["g"] = {"product": "q", "lines": 1, "takt_months": 1, "flow_months": 0}
    other_product["requirements"]["m"]["product"] = "q"
    assert any(p.endswith("defers_to[0]: 'm' is for 'q', not 'p'") for p in problems_of(other_product))
    outside = member_and_alliance()
    outside["requirements"]["m"]["customer"] = "c"
    assert any(p.endswith("defers_to[0]: the customers of 'm' (c) are not all among this requirement's (a, b)")
               for p in problems_of(outside))
    silent = member_and_alliance()
    del silent["requirements"]["m"]["ordering"]
    assert any(p.endswith("defers_to[0]: 'm' has no ordering: nothing would order its units")
               for p in problems_of(silent))
    circle = member_and_alliance()
    circle["requirements"]["m"] |= {"customer": None, "customers": ["a", "b"]}
    del circle["requirements"]["m"]["customer"]
    circle["requirements"]["m"]["ordering"] |= {"customer": "a", "defers_to": ["r"]}
    assert any(p.endswith("defers_to[0]: 'r' defers back to 'm': each would leave its units to the other")
               for p in problems_of(circle))


def test_a_review_orders_at_most_the_largest_order_a_scenario_may_list() -> None:
    """A requirement of 1e20 units: the shortfall is more than an int64, which crashed the
    run's and the fluid's records (OverflowError); each review now orders 1e9 at most."""
    from leadtime_sim.scenario.checks import MAX_ORDER_UNITS

    data = alliance(customer="b")
    data["requirements"]["r"]["required"] = [{"date": "2025-01", "units": 1e20}]
    scenario = build(data)
    for result in (lts.simulate(scenario), lts.fluid(scenario)):
        placed = requirement_orders(result, "r")
        assert placed and all(units == MAX_ORDER_UNITS for _, _, units in placed)
        assert result.summary["requirements"]["r"]["gap_closed"] is None
