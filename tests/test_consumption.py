"""Consumption as a schedule: a number, periods (a wartime surge) or a drawn yearly rate.

Inventory falls by exactly the integral of the schedule (never below 0), the shortfall rule
orders for the consumption it will see over its cover window, a drawn rate follows common
random numbers, and bad periods are refused with their field path."""

from __future__ import annotations

import hashlib
import math
import statistics
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import START, build, factory, order, problems_of, run, scenario_dict

import leadtime_sim as lts
from leadtime_sim.cli import main
from leadtime_sim.scenario.schema import Requirement, json_schema
from leadtime_sim.sim.consumption import ConsumptionSchedule
from leadtime_sim.sim.state import RequirementState
from leadtime_sim.sim.streams import RandomStreams

TOL = 1e-9

# -- inventory: initial + deliveries - the integral of the schedule, floored at 0 -----------

SURGE = [{"from": "2025-03-16", "until": "2025-09", "per_year": 24},
         {"from": "2026-01", "until": "2026-04-11", "per_year": 120}]
"""2 a month from t = 2 + 15/31 (mid-March) to 8, then 10 a month from 12 to 15 + 10/30."""


def _consumed(t: float) -> float:
    """The surge's integral from start to ``t``, by hand."""
    first = 2 * max(0.0, min(t, 8) - (2 + 15 / 31))
    second = 10 * max(0.0, min(t, 15 + 10 / 30) - 12)
    return first + second


def _requirement(consumption: Any, initial: float = 40.0) -> dict[str, Any]:
    return {"customer": "a", "product": "p", "initial_units": initial,
            "required": [{"date": START, "units": 0}], "consumption_per_year": consumption}


def test_inventory_without_production_falls_by_the_integral_until_empty() -> None:
    """40 units: 40 - 2 x (5 + 16/31) = 28.968 left at t = 12, gone at 14.897 (month 13)."""
    result = run(scenario_dict(end="2027-01", orders=[], requirements={"r": _requirement(SURGE)}))
    rows = result.records.requirements
    assert [r.month for r in rows] == list(range(24))
    for r in rows:
        t = r.month + 1
        assert r.inventory_units == pytest.approx(max(0.0, 40 - _consumed(t)), abs=TOL), r
    levels = [r.inventory_units for r in rows]
    assert levels[:2] == [40, 40]
    assert levels[2] == pytest.approx(40 - 2 * (16 / 31), abs=TOL)  # the boundary is mid-month
    assert levels[7:11] == pytest.approx([40 - 2 * (5 + 16 / 31)] * 4, abs=TOL)  # no surge
    assert levels[13] == pytest.approx(40 - 2 * (5 + 16 / 31) - 20, abs=TOL)
    assert levels[14:] == [0.0] * 10  # empty at 14.897, within the surge: floored at 0


def test_inventory_with_deliveries_falls_by_the_integral() -> None:
    """6 units delivered at 2, 4, ..., 12 (takt 2, no flow); a delivery at exactly a month
    end belongs to the next month."""
    data = scenario_dict(end="2027-01", orders=[order(6)],
                         factories={"f": factory(takt_months=2, flow_months=0)},
                         requirements={"r": _requirement(SURGE)})
    for r in run(data).records.requirements:
        t = r.month + 1
        delivered = sum(1 for k in range(1, 7) if 2 * k < t)
        assert r.inventory_units == pytest.approx(40 + delivered - _consumed(t), abs=TOL), r


def test_the_gap_is_watched_where_the_rate_changes() -> None:
    """Required falls from 20 to 0 over a year (5/3 a month); 20 held, used at 10 a month
    until 2025-01-16 (t = 15/31). The gap, 25/3 x t, peaks there at 125/31 = 4.03 and
    shrinks after it (3.17 at the first month end), to 0 at t = 90/31."""
    data = scenario_dict(end="2026-01", orders=[], requirements={"r": {
        "customer": "a", "product": "p", "initial_units": 20,
        "required": [{"date": START, "units": 20}, {"date": "2026-01", "units": 0}],
        "consumption_per_year": [{"until": "2025-01-16", "per_year": 120}]}})
    result = run(data)
    assert result.records.requirements[0].gap_units == pytest.approx(150 / 31 - 5 / 3, abs=TOL)
    assert result.records.requirements[0].peak_gap_units == pytest.approx(125 / 31, abs=TOL)
    summary = result.summary["requirements"]["r"]
    assert summary["max_gap_units"] == pytest.approx(125 / 31, abs=TOL)
    assert summary["gap_closed_months"] == pytest.approx(90 / 31, abs=TOL)  # (not the month end after)


def test_the_lazy_update_integrates_across_period_boundaries() -> None:
    """No update between 0 and 20: both periods and the floor are in one step."""
    spec = Requirement.model_validate(_requirement(SURGE))
    state = RequirementState("r", spec, START)
    assert state.inventory(2.0) == 40
    assert state.inventory(14.0) == pytest.approx(40 - _consumed(14.0), abs=TOL)
    state.receive(14.5, 3)  # 40 - 11.032 - 25 = 3.968 before it, 1.968 + 3 after
    assert state.inventory(14.5) == pytest.approx(40 - _consumed(14.5) + 3, abs=TOL)
    assert state.inventory(20.0) == 0.0
    fresh = RequirementState("r", spec, START)
    assert fresh.inventory(13.0) == pytest.approx(40 - _consumed(13.0), abs=TOL)


def test_schedule_rate_and_integral() -> None:
    spec = Requirement.model_validate(_requirement(SURGE))
    schedule = ConsumptionSchedule.of("r", spec, START)
    assert schedule.breaks == pytest.approx([2 + 15 / 31, 8, 12, 15 + 10 / 30])
    assert [schedule.rate_at(t) for t in (0, 2.4, 2.5, 7.99, 8, 12, 15.3, 15.4)] == \
        pytest.approx([0, 0, 2, 2, 0, 10, 10, 0])
    for t0, t1 in [(0, 30), (2.5, 13), (8, 12), (3, 4), (14, 16)]:
        assert schedule.consumed_between(t0, t1) == pytest.approx(_consumed(t1) - _consumed(t0), abs=TOL)


# -- the number form is what it always was ----------------------------------------------------

BEFORE = "8f8c748dcb7e7333d17f2f8390da1a7c724bdb069e6eda4aae1e04ea70e67030"
"""Fingerprint of ``_ordering_run(14.3)`` before consumption could be a schedule (9ca86bf)."""


def _ordering_run(consumption: Any, seed: int = 3) -> lts.RunResult:
    """Random takt and flow, an order stream, and a requirement that orders its shortfall
    with consumption (reviews every 6 months, looking 18 ahead)."""
    return run(scenario_dict(
        end="2035-01",
        factories={"f": factory(lines=2, takt_months={"dist": "exponential", "mean": 1.5},
                                flow_months={"dist": "uniform", "low": 1, "high": 3})},
        orders=[order(20)],
        order_streams=[{"customer": "b", "product": "p", "rate_per_year": 6}],
        requirements={"r": {"customer": "a", "product": "p", "initial_units": 40,
                            "required": [{"date": START, "units": 40}, {"date": "2030-01", "units": 120}],
                            "consumption_per_year": consumption,
                            "ordering": {"review_every_months": 6, "lookahead_months": 18}}},
    ), seed=seed)


def _fingerprint(result: lts.RunResult) -> str:
    """Records and summary as they were at 9ca86bf (the summary has since gained the
    per-customer table and the products' median lead time, which are left out)."""
    summary = {k: v for k, v in result.summary.items() if k != "customers"}
    summary["products"] = {name: {k: v for k, v in p.items() if k != "median_lead_time_months"}
                           for name, p in summary["products"].items()}
    return hashlib.sha256(repr(result.records).encode() + repr(summary).encode()).hexdigest()


@pytest.mark.parametrize("form", [
    14.3,
    [{"per_year": 14.3}],
    [{"from": START, "per_year": 14.3}],
    {"dist": "constant", "value": 14.3},
])
def test_every_constant_form_gives_the_results_of_before(form: Any) -> None:
    result = _ordering_run(form)
    assert any(o.source == "requirement" for o in result.records.orders)
    assert _fingerprint(result) == BEFORE


# -- the shortfall rule orders for the consumption it will see ---------------------------------

def _review_order(consumption: Any) -> int:
    """Units ordered at the single review at start: required 10 at the lookahead (6 months),
    10 held, consumption over the cover of 6 + 12 months."""
    data = scenario_dict(end="2028-01", orders=[], requirements={"r": {
        "customer": "a", "product": "p", "initial_units": 10,
        "required": [{"date": START, "units": 10}], "consumption_per_year": consumption,
        "ordering": {"review_every_months": 12, "lookahead_months": 6, "until": "2025-02"}}})
    (placed,) = run(data).records.orders
    assert placed.placed_months == 0 and placed.source == "requirement"
    return placed.quantity


def test_the_shortfall_rule_orders_for_a_surge_within_its_cover() -> None:
    """1 a month over 18 months: 18. A surge to 6 a month over months 3 to 5 adds (6 - 1) x 2
    = 10; over 3.5 to 5 (mid-April on) it adds 5 x 1.5 = 7.5, so 25.5 rounds up to 26. The
    rate at the review (1 a month) times the cover would have been 18 in every case."""
    assert _review_order(12) == 18
    assert _review_order([{"until": "2025-04", "per_year": 12},
                          {"from": "2025-04", "until": "2025-06", "per_year": 72},
                          {"from": "2025-06", "per_year": 12}]) == 18 + 10
    assert _review_order([{"until": "2025-04-16", "per_year": 12},
                          {"from": "2025-04-16", "until": "2025-06", "per_year": 72},
                          {"from": "2025-06", "per_year": 12}]) == 26
    # A surge after the cover window (it ends at 18, 2026-07) is left for later reviews.
    assert _review_order([{"until": "2026-07", "per_year": 12},
                          {"from": "2026-07", "per_year": 72}]) == 18
    # Only the surge: 6 a month from month 15 to the end of the window: 18.
    assert _review_order([{"from": "2026-04", "per_year": 72}]) == 18


# -- a drawn rate: common random numbers ---------------------------------------------------

TRIANGULAR = {"dist": "triangular", "low": 100, "mode": 200, "high": 400}
INITIAL = 1e6


def _drawn_rate(seed: int, replication: int) -> float:
    """The yearly rate a run drew, read from its inventory after one month."""
    data = scenario_dict(end="2025-03", orders=[],
                         requirements={"r": _requirement(TRIANGULAR, initial=INITIAL)})
    result = lts.simulate(build(data), seed=seed, replication=replication)
    return (INITIAL - result.records.requirements[0].inventory_units) * 12


def test_a_drawn_rate_is_common_to_runs_of_a_replication() -> None:
    spec = Requirement.model_validate(_requirement(TRIANGULAR))
    rates = [_drawn_rate(5, k) for k in range(3)]
    assert _drawn_rate(5, 0) == rates[0]
    assert len(set(rates)) == 3 and all(100 <= r <= 400 for r in rates)
    for k, rate in enumerate(rates):  # the run drew from the requirement's own stream
        schedule = ConsumptionSchedule.of("r", spec, START, RandomStreams(5, k))
        assert schedule.rate_at(0) * 12 == pytest.approx(rate, rel=1e-9)
    # Random takts (another source) and deliveries do not shift the draw.
    data = scenario_dict(end="2025-03", orders=[order(5)],
                         factories={"f": factory(takt_months={"dist": "exponential", "mean": 0.3})},
                         requirements={"r": _requirement(TRIANGULAR, initial=INITIAL)})
    busy = lts.simulate(build(data), seed=5, replication=1)
    delivered = sum(d.units for d in busy.records.deliveries if d.time_months < 1)
    assert delivered > 0
    inventory = busy.records.requirements[0].inventory_units
    assert (INITIAL + delivered - inventory) * 12 == pytest.approx(rates[1], rel=1e-9)


def test_the_drawn_rate_has_the_distributions_mean() -> None:
    """Mean (100 + 200 + 400) / 3 = 233.3, sd sqrt(70000 / 18) = 62.4: within 4 standard
    errors over 4,000 replications."""
    spec = Requirement.model_validate(_requirement(TRIANGULAR))
    n = 4000
    rates = [ConsumptionSchedule.of("r", spec, START, RandomStreams(11, k)).rate_at(0) * 12
             for k in range(n)]
    sd = math.sqrt(70000 / 18)
    assert statistics.stdev(rates) == pytest.approx(sd, rel=0.1)
    assert abs(statistics.fmean(rates) - 700 / 3) < 4 * sd / math.sqrt(n)


def test_a_drawn_rate_needs_the_runs_streams() -> None:
    spec = Requirement.model_validate(_requirement(TRIANGULAR))
    with pytest.raises(ValueError, match="random streams"):
        ConsumptionSchedule.of("r", spec, START)


# -- validation ------------------------------------------------------------------------------

BASE = """\
name = "t"
start = "2025-01"
end = "2030-01"
[products.p]
[factories.f]
product = "p"
takt_months = 1
[requirements.x]
customer = "a"
product = "p"
required = [{ date = "2025-01", units = 10 }]
"""


@pytest.mark.parametrize(("value", "path", "words"), [
    ('[{ from = "2026-01", until = "2027-01", per_year = 10 }, { from = "2026-06", per_year = 5 }]',
     "requirements.x.consumption_per_year[1]", "overlaps period 0 (from 2026-01 until 2027-01)"),
    ('[{ per_year = 10 }, { until = "2026-01", per_year = 5 }]',
     "requirements.x.consumption_per_year[1]", "overlaps period 0 (from the start, open-ended)"),
    ('[{ from = "2026-06", until = "2026-06", per_year = 10 }]',
     "requirements.x.consumption_per_year[0].until", "2026-06 is not after from 2026-06"),
    ('[{ from = "2026-06", until = "2026-01", per_year = 10 }]',
     "requirements.x.consumption_per_year[0].until", "2026-01 is not after from 2026-06"),
    ('[{ until = "2025-01", per_year = 10 }]',
     "requirements.x.consumption_per_year[0].until", "not after the scenario start 2025-01"),
    ('[{ from = "2030-01", per_year = 10 }]',
     "requirements.x.consumption_per_year[0].from", "not before the scenario end 2030-01"),
    ('[{ from = "2026-01", per_year = -5 }]',
     "requirements.x.consumption_per_year[0].per_year", "greater than or equal to 0 (got -5)"),
    ('[{ from = "2026-13", per_year = 5 }]',
     "requirements.x.consumption_per_year[0].from", "month must be 01-12"),
    ('[{ from = "2026-02-30", per_year = 5 }]',
     "requirements.x.consumption_per_year[0].from", "no such day"),
    ('[{ from = "2024-06", per_year = 5 }]',
     "requirements.x.consumption_per_year[0].from", "before the scenario start 2025-01"),
    ('[{ form = "2026-01", per_year = 5 }]',
     "requirements.x.consumption_per_year[0].form", "did you mean 'from'?"),
    ('"lots"', "requirements.x.consumption_per_year",
     "should be a number, a list of periods [{from, until, per_year}] or a distribution table"),
    ("-5", "requirements.x.consumption_per_year", "greater than or equal to 0 (got -5)"),
    ('{ dist = "triangular", low = 1, mode = 2 }', "requirements.x.consumption_per_year.high",
     "required key is missing"),
])
def test_bad_consumption_exits_2_with_one_line(tmp_path: Path, value: str, path: str, words: str) -> None:
    file = tmp_path / "s.toml"
    file.write_text(BASE + f"consumption_per_year = {value}\n")
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == 2, result.output
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"error: {file}: {path}: "), line
    assert words in line, line


@pytest.mark.parametrize("value", [
    '[{ from = "2026-01", until = "2027-01", per_year = 100 }, { from = 2027-01-01, per_year = 5 }]',
    '[{ until = "2026-01-16", per_year = 5 }, { from = "2026-01-16", until = "2030-01", per_year = 1 }]',
    '{ dist = "lognormal", median = 200, sigma = 0.3 }',
    "12.5",
])
def test_good_consumption_is_accepted(tmp_path: Path, value: str) -> None:
    file = tmp_path / "s.toml"
    file.write_text(BASE + f"consumption_per_year = {value}\n")
    result = CliRunner().invoke(main, ["validate", str(file)])
    assert result.exit_code == 0, result.output


def test_every_problem_is_reported_at_once() -> None:
    periods = [{"from": "2026-01", "until": "2027-01", "per_year": 1},
               {"from": "2026-06", "until": "2026-09", "per_year": 1},
               {"from": "2028-01", "until": "2027-06", "per_year": 1}]
    data = scenario_dict(requirements={"x": {**_requirement(periods), "initial_units": 0}})
    assert [line.split(": ", 2)[1] for line in problems_of(data)] == [
        "requirements.x.consumption_per_year[1]", "requirements.x.consumption_per_year[2].until"]


def test_the_json_schema_shows_the_three_forms() -> None:
    schema = json_schema()
    field = schema["$defs"]["Requirement"]["properties"]["consumption_per_year"]
    kinds = [member.get("type") for member in field["oneOf"]]
    assert kinds[:2] == ["number", "array"] and "discriminator" in field["oneOf"][2]
    assert field["oneOf"][1]["items"] == {"$ref": "#/$defs/ConsumptionPeriod"}
    assert set(schema["$defs"]["ConsumptionPeriod"]["properties"]) == {"from", "until", "per_year"}
