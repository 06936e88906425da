"""Allocation policies (built in and plugins) and ordering-rule plugins."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import START, build, factory, order, run, scenario_dict

import leadtime_sim as lts
from leadtime_sim.sim.policies import FairSharePolicy, FifoPolicy, PriorityPolicy

TOL = 1e-9


def _line(**fields: object) -> dict:
    """One line, lot of 1, takt 1 month, no flow, unless told otherwise."""
    return {"f": factory(**fields)}


def _delivered_by_order(result: lts.RunResult) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    for d in result.records.deliveries:
        out.setdefault(d.order_id, []).extend([d.time_months] * d.units)
    return out


def _sequence(result: lts.RunResult) -> list[str]:
    """Who got each unit, in delivery order."""
    seq = []
    for d in sorted(result.records.deliveries, key=lambda d: d.time_months):
        seq += [d.customer] * d.units
    return seq


# -- fifo -------------------------------------------------------------------------------

def test_fifo_serves_by_entry_date_not_by_listing_order() -> None:
    data = scenario_dict(
        factories=_line(),
        orders=[order(2, placed="2024-09", customer="late", id="late"),
                order(2, placed="2024-03", customer="early", id="early"),
                order(2, placed="2025-03", customer="future", id="future")],
    )
    by_order = _delivered_by_order(run(data))
    assert by_order["early"] == pytest.approx([1, 2])
    assert by_order["late"] == pytest.approx([3, 4])
    assert by_order["future"] == pytest.approx([5, 6])


def test_fifo_ignores_priority() -> None:
    data = scenario_dict(factories=_line(),
                         orders=[order(3, customer="b", priority=2), order(3, customer="a", priority=1,
                                                                           placed="2025-02")])
    assert _sequence(run(data)) == ["b"] * 3 + ["a"] * 3


def test_fifo_policy_unit_level() -> None:
    policy = FifoPolicy()
    a, b = _view(0, "a", 1, 0.0, 3), _view(1, "b", 1, 1.0, 2)
    policy.add(a)
    policy.add(b)
    assert [(o.index, n) for o, n in policy.take(4)] == [(0, 3), (1, 1)]
    # take() does not change the orders: the engine commits.
    assert a.uncommitted == 3


# -- priority ---------------------------------------------------------------------------

def test_priority_serves_class_one_before_class_two() -> None:
    data = scenario_dict(
        factories=_line(),
        policy={"allocation": "priority"},
        orders=[order(3, placed="2024-01", customer="b", priority=2, id="b"),
                order(3, placed="2024-06", customer="a", priority=1, id="a")],
    )
    by_order = _delivered_by_order(run(data))
    assert by_order["a"] == pytest.approx([1, 2, 3])
    assert by_order["b"] == pytest.approx([4, 5, 6])


def test_priority_order_placed_later_jumps_the_backlog_but_not_started_lots() -> None:
    data = scenario_dict(
        factories=_line(),
        policy={"allocation": "priority"},
        orders=[order(6, customer="b", priority=2, id="b"),
                order(2, placed="2025-03-16", customer="a", priority=1, id="a")],
    )
    by_order = _delivered_by_order(run(data))
    # At 2.5 months the lot for b's 3rd unit is under way (2 -> 3); a gets the next two lots.
    assert by_order["a"] == pytest.approx([4, 5])
    assert by_order["b"] == pytest.approx([1, 2, 3, 6, 7, 8])


def test_orders_listed_for_one_instant_compete_by_policy_for_an_idle_line() -> None:
    """Class 2 and class 1 listed for the same day, the line idle: class 1 goes first. (The
    line took the class-2 order's unit before the class-1 order was placed: b, a, a.)"""
    data = scenario_dict(
        factories=_line(),
        policy={"allocation": "priority"},
        orders=[order(1, placed="2025-03-10", customer="b", priority=2, id="b"),
                order(2, placed="2025-03-10", customer="a", priority=1, id="a")],
    )
    assert _sequence(run(data)) == ["a", "a", "b"]


def test_priority_same_class_is_fifo() -> None:
    data = scenario_dict(factories=_line(), policy={"allocation": "priority"},
                         orders=[order(2, placed="2024-05", customer="y"),
                                 order(2, placed="2024-02", customer="x")])
    assert _sequence(run(data)) == ["x", "x", "y", "y"]


def _switzerland_ukraine(reassign: bool) -> lts.RunResult:
    """Switzerland (class 2) ordered 40 units at start; they are made in lots of 10 every
    3 months and accepted 6.5 months later (at 9.5, 12.5, 15.5, 18.5). Ukraine (class 1)
    orders 3 units at 2025-10-08 (month ~9.23), just after the fourth lot started."""
    return run(scenario_dict(
        end="2028-01",
        factories=_line(lot_size=10, takt_months=3, flow_months=6.5),
        policy={"allocation": "priority", "reassign_at_delivery": reassign},
        orders=[order(40, customer="switzerland", priority=2, id="ch"),
                order(3, placed="2025-10-08", customer="ukraine", priority=1, id="ua")],
    ))


def test_without_reassignment_ukraine_waits_for_a_new_lot() -> None:
    by_order = _delivered_by_order(_switzerland_ukraine(False))
    assert by_order["ch"] == pytest.approx([9.5] * 10 + [12.5] * 10 + [15.5] * 10 + [18.5] * 10)
    # Ukraine's lot starts when the line is free, at 12: delivered at 12 + 3 + 6.5.
    assert by_order["ua"] == pytest.approx([21.5] * 3)


def test_reassign_at_delivery_moves_finished_units_to_ukraine() -> None:
    result = _switzerland_ukraine(True)
    by_order = _delivered_by_order(result)
    # Three of Switzerland's units finished at 9.5 go to Ukraine, which ordered later;
    # Switzerland's three units are made again in the lot that starts at 12.
    assert by_order["ua"] == pytest.approx([9.5] * 3)
    assert by_order["ch"] == pytest.approx([9.5] * 7 + [12.5] * 10 + [15.5] * 10 + [18.5] * 10
                                           + [21.5] * 3)
    records = {o.id: o for o in result.records.orders}
    assert records["ua"].first_delivery_months == pytest.approx(9.5)
    assert records["ua"].last_delivery_months == pytest.approx(9.5)
    assert records["ch"].last_delivery_months == pytest.approx(21.5)
    assert records["ch"].delivered_units == 40
    assert records["ua"].entered_months <= records["ua"].first_delivery_months


def test_reassign_moves_units_even_when_ukraine_is_already_in_production() -> None:
    """Ukraine's units are all in lots (started at 3, 4, 5) when Switzerland's first finished
    units come out of a 12-month acceptance: Ukraine gets them, and its own lots pass to
    Switzerland, so Ukraine is served 3 months sooner and Switzerland 3 units later."""
    def case(reassign: bool) -> dict[str, list[float]]:
        return _delivered_by_order(run(scenario_dict(
            end="2028-01",
            factories=_line(takt_months=1, flow_months=12),
            policy={"allocation": "priority", "reassign_at_delivery": reassign},
            orders=[order(5, customer="switzerland", priority=2, id="ch"),
                    order(3, placed="2025-04", customer="ukraine", priority=1, id="ua")],
        )))

    assert case(False) == {"ch": pytest.approx([13, 14, 15, 19, 20]), "ua": pytest.approx([16, 17, 18])}
    assert case(True) == {"ch": pytest.approx([16, 17, 18, 19, 20]), "ua": pytest.approx([13, 14, 15])}


def test_reassignment_needs_a_more_urgent_class() -> None:
    """With both in the same class nothing moves, even with reassignment on."""
    data = scenario_dict(
        end="2028-01",
        factories=_line(lot_size=10, takt_months=3, flow_months=6.5),
        policy={"allocation": "priority", "reassign_at_delivery": True},
        orders=[order(40, customer="switzerland", priority=2, id="ch"),
                order(3, placed="2025-10-08", customer="ukraine", priority=2, id="ua")],
    )
    assert _delivered_by_order(run(data))["ua"] == pytest.approx([21.5] * 3)


def test_reassignment_keeps_units_conserved_every_month() -> None:
    result = _switzerland_ukraine(True)
    for r in result.records.products:
        assert r.ordered_units == r.cumulative_delivered_units + r.backlog_units + r.wip_units, r
        assert r.backlog_units >= 0 and r.wip_units >= 0


def test_priority_policy_unit_level_reassign() -> None:
    policy = PriorityPolicy()
    low = _view(0, "ch", 2, 0.0, quantity=2, uncommitted=0)
    high = _view(1, "ua", 1, 3.0, quantity=1, uncommitted=1)
    policy.add(high)
    new = policy.reassign([(low, 2)], [low, high])
    assert [(o.index, n) for o, n in new] == [(1, 1), (0, 1)]
    # Nobody more urgent open: units stay with the order they were made for.
    assert [(o.index, n) for o, n in PriorityPolicy().reassign([(low, 2)], [low])] == [(0, 2)]


# -- fair share --------------------------------------------------------------------------

def test_fair_share_alternates_between_customers() -> None:
    data = scenario_dict(factories=_line(), policy={"allocation": "fair-share"},
                         orders=[order(4, placed="2024-01", customer="a"),
                                 order(4, placed="2024-02", customer="b")])
    assert _sequence(run(data)) == ["a", "b"] * 4


def test_fair_share_with_lots_splits_each_lot() -> None:
    data = scenario_dict(factories=_line(lot_size=2), policy={"allocation": "fair-share"},
                         orders=[order(4, placed="2024-01", customer="a"),
                                 order(4, placed="2024-02", customer="b")])
    result = run(data)
    for t in (1, 2, 3, 4):
        at_t = sorted(d.customer for d in result.records.deliveries if abs(d.time_months - t) < TOL)
        assert at_t == ["a", "b"], (t, at_t)


def test_fair_share_gives_the_next_unit_to_whoever_has_had_fewest() -> None:
    """b arrives at ~2.5 after a got 3 units: b is allotted units until it has had as many
    as a (ties go to the first name), then they alternate."""
    data = scenario_dict(factories=_line(), policy={"allocation": "fair-share"},
                         orders=[order(8, customer="a"), order(4, placed="2025-03-16", customer="b")])
    assert _sequence(run(data)) == list("aaabbbabaaaa")


def test_fair_share_policy_unit_level() -> None:
    policy = FairSharePolicy()
    a1, a2, b1 = _view(0, "a", 1, 0.0, 2), _view(1, "a", 1, 0.0, 2), _view(2, "b", 1, 0.5, 1)
    for o in (a1, a2, b1):
        policy.add(o)
    taken = {o.index: n for o, n in policy.take(4)}
    assert taken == {0: 2, 2: 1, 1: 1}


# -- plugins -----------------------------------------------------------------------------

class Lifo(lts.AllocationPolicy):
    """Last in, first served."""

    name = "lifo"

    def take(self, units: int):
        taken = []
        queue = self.queue
        while units and queue:
            order = queue[-1]
            n = min(units, order.uncommitted)
            taken.append((order, n))
            units -= n
            if n == order.uncommitted:
                queue.pop()
        return taken


MODEL = f"""
name = "plugin test"
start = "{START}"
end = "2027-01"
[products.p]
[factories.f]
product = "p"
takt_months = 1
[policy]
allocation = "lifo"
[[orders]]
customer = "first"
product = "p"
quantity = 2
placed = "2024-01"
[[orders]]
customer = "second"
product = "p"
quantity = 2
placed = "2024-06"
"""


def test_plugin_policy_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "lifo.toml"
    path.write_text(MODEL, encoding="utf-8")
    plugins = lts.Plugins(policies={"lifo": Lifo})
    with pytest.raises(lts.InputError):
        lts.load_scenario(path)  # unknown without the plugin
    scenario = lts.load_scenario(path, plugins=plugins)
    result = lts.simulate(scenario, seed=1, plugins=plugins)
    assert _sequence(result) == ["second", "second", "first", "first"]
    assert _sequence(lts.simulate(path, seed=1, plugins=plugins)) == _sequence(result)


def test_plugin_policy_from_a_dict() -> None:
    plugins = lts.Plugins(policies={"lifo": Lifo})
    data = scenario_dict(factories=_line(), policy={"allocation": "lifo"},
                         orders=[order(1, placed="2024-01", customer="x"),
                                 order(1, placed="2024-02", customer="y"),
                                 order(1, placed="2024-03", customer="z")])
    assert _sequence(run(data, plugins=plugins)) == ["z", "y", "x"]


class Greedy(lts.AllocationPolicy):
    """Broken: answers one unit more than asked."""

    name = "greedy"

    def take(self, units: int):
        return [(self.queue[0], units + 1)] if self.queue else []


class Overdraw(lts.AllocationPolicy):
    """Broken: gives the whole lot to the first order, whatever it still needs."""

    name = "overdraw"

    def take(self, units: int):
        return [(self.queue[0], units)] if self.queue else []


class Shrinker(PriorityPolicy):
    """Broken: drops a unit at delivery."""

    name = "shrinker"

    def reassign(self, allocation, *open_orders):
        return [(o, n - 1) for o, n in allocation]


class Hoarder(PriorityPolicy):
    """Broken: at delivery gives all finished units to another order, needed or not."""

    name = "hoarder"

    def __init__(self) -> None:
        super().__init__()
        self.seen: list = []

    def add(self, order) -> None:
        super().add(order)
        self.seen.append(order)

    def reassign(self, allocation, *open_orders):
        mine = {o.index for o, _ in allocation}
        others = [o for o in self.seen if o.index not in mine]
        if not others:
            return allocation
        return [(others[0], sum(n for _, n in allocation))]


class Twice(lts.AllocationPolicy):
    """Broken: names the same order twice, splitting the lot between the two entries."""

    name = "twice"

    def take(self, units: int):
        if not self.queue or units < 2:
            return super().take(units)
        order = self.queue[0]
        return [(order, units // 2), (order, units - units // 2)]


@pytest.mark.parametrize("policy", [Greedy, Overdraw])
def test_broken_plugin_policy_raises_simulation_error(policy: type) -> None:
    plugins = lts.Plugins(policies={policy.name: policy})
    # Lots of 2 for two orders of 1: Greedy answers 3 units, Overdraw gives order a both.
    data = scenario_dict(factories=_line(lot_size=2), policy={"allocation": policy.name},
                         orders=[order(1, customer="a"), order(1, customer="b")])
    with pytest.raises(lts.SimulationError, match=policy.name):
        run(data, plugins=plugins)


def test_plugin_that_changes_lot_size_at_delivery_raises() -> None:
    plugins = lts.Plugins(policies={"shrinker": Shrinker})
    data = scenario_dict(factories=_line(lot_size=2), orders=[order(4)],
                         policy={"allocation": "shrinker", "reassign_at_delivery": True})
    with pytest.raises(lts.SimulationError, match="shrinker"):
        run(data, plugins=plugins)


def test_plugin_that_over_allocates_at_delivery_raises() -> None:
    plugins = lts.Plugins(policies={"hoarder": Hoarder})
    # a's lot of 3 is delivered at 7; b's single unit was committed at its lot start at 1,
    # so handing b three finished units leaves it with -3 uncommitted.
    data = scenario_dict(factories=_line(lot_size=3, flow_months=6),
                         orders=[order(3, customer="a"), order(1, customer="b", placed="2025-02")],
                         policy={"allocation": "hoarder", "reassign_at_delivery": True})
    with pytest.raises(lts.SimulationError, match="hoarder"):
        run(data, plugins=plugins)


def test_custom_ordering_rule_is_used() -> None:
    seen: list[lts.Review] = []

    def fixed_three(review: lts.Review) -> int:
        seen.append(review)
        return 3

    plugins = lts.Plugins(ordering_rules={"three": fixed_three})
    req = {"customer": "army", "product": "p", "initial_units": 0,
           "required": [{"date": "2027-01", "units": 100}],
           "ordering": {"rule": "three", "review_every_months": 6, "first_review": "2025-04"}}
    data = scenario_dict(end="2027-01", factories=_line(), orders=[], requirements={"r": req})
    with pytest.raises(lts.InputError, match="unknown ordering rule 'three'"):
        build(data)
    result = run(data, plugins=plugins)
    reviews = [o for o in result.records.orders if o.source == "requirement"]
    assert [o.placed_months for o in reviews] == pytest.approx([3, 9, 15, 21])
    assert [o.quantity for o in reviews] == [3, 3, 3, 3]
    assert all(o.customer == "army" for o in reviews)
    assert len(seen) == 4
    assert all(isinstance(r, lts.Review) for r in seen)
    assert [r.now_months for r in seen] == pytest.approx([3, 9, 15, 21])
    assert seen[0].on_order_units == 0
    assert seen[1].on_order_units == 0  # 3 units ordered at 3 arrived at 4, 5, 6
    assert seen[1].inventory_units == pytest.approx(3)
    assert seen[0].required_at(24) == pytest.approx(100)
    assert seen[0].requirement == "r"


def test_ordering_rule_returning_zero_places_no_orders() -> None:
    plugins = lts.Plugins(ordering_rules={"never": lambda review: 0})
    req = {"customer": "army", "product": "p", "required": [{"date": "2027-01", "units": 10}],
           "ordering": {"rule": "never"}}
    data = scenario_dict(end="2027-01", factories=_line(), orders=[], requirements={"r": req})
    result = run(data, plugins=plugins)
    assert result.records.orders == ()
    assert result.summary["requirements"]["r"]["gap_closed"] is None


def test_builtin_shortfall_rule_orders_the_shortfall() -> None:
    req = {"customer": "army", "product": "p", "initial_units": 2,
           "required": [{"date": "2025-01", "units": 10}],
           "ordering": {"rule": "shortfall", "review_every_months": 12}}
    data = scenario_dict(end="2027-01", factories=_line(), orders=[], requirements={"r": req})
    result = run(data)
    quantities = [o.quantity for o in result.records.orders]
    # At month 0: 10 required, 2 held, nothing on order -> 8; at month 12 nothing is short.
    assert quantities == [8]
    assert result.summary["requirements"]["r"]["gap_closed_months"] == pytest.approx(8)


# -- helpers ----------------------------------------------------------------------------

class _view:
    def __init__(self, index: int, customer: str, priority: int, entered: float, quantity: int,
                 uncommitted: int | None = None):
        self.index = index
        self.id = f"o{index}"
        self.customer = customer
        self.priority = priority
        self.entered_months = entered
        self.quantity = quantity
        self.uncommitted = quantity if uncommitted is None else uncommitted
        self.delivered = 0


def test_policy_naming_an_order_twice_is_caught() -> None:
    """Regression: each pair was checked on its own, so naming an order twice over-allocated
    silently (order a of 1 unit was delivered 2, order b none)."""
    plugins = lts.Plugins(policies={"twice": Twice})
    data = scenario_dict(factories=_line(lot_size=2), policy={"allocation": "twice"},
                         orders=[order(1, customer="a"), order(1, customer="b")])
    with pytest.raises(lts.SimulationError, match="twice"):
        run(data, plugins=plugins)
