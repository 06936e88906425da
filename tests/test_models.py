"""The scenario files shipped in models/: they load, the default one is calibrated to the
public figures (docs/sources.md), the small example closes its gap, runs repeat.

Calibration targets of the default scenario (models/nato_air_defence.toml):

* a Patriot fire unit ordered at start is quoted 8-11 years (96-132 months): "bought today,
  delivered in 10 years" (Jul 2025);
* PAC-3 MSE deliveries: ~620 in 2025, ~600 in 2026 (the Jan 2026 framework starts from
  "~600"), ~650 in 2027 (company releases), each within +-15%;
* a run takes well under a second.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

import leadtime_sim as lts

MODELS = Path(__file__).resolve().parent.parent / "models"
DEFAULT = MODELS / "nato_air_defence.toml"
SINGLE = MODELS / "single_line.toml"

PATRIOT = "patriot_fire_unit"
PAC3 = "pac3_mse"
QUOTE_RANGE_MONTHS = (96.0, 132.0)
PAC3_DELIVERED = {2025: 620, 2026: 600, 2027: 650}
TOLERANCE = 0.15
SECONDS_PER_RUN = 1.0
CALIBRATION_SEEDS = (1, 2, 3)


def yearly_delivered(result: lts.RunResult, product: str) -> dict[int, int]:
    """Units of ``product`` delivered per calendar year, from the monthly product rows."""
    first_year, first_month = (int(part) for part in result.scenario.start.split("-")[:2])
    totals: dict[int, int] = {}
    for row in result.records.products:
        if row.product == product:
            year = first_year + (first_month - 1 + row.month) // 12
            totals[year] = totals.get(year, 0) + row.delivered_units
    return totals


def calibration_problems(result: lts.RunResult) -> list[str]:
    """Every calibration target the run misses (empty if all hold)."""
    problems = []
    quote = result.summary["products"][PATRIOT]["quoted_lead_time_months"]
    low, high = QUOTE_RANGE_MONTHS
    if quote is None or not low <= quote <= high:
        problems.append(f"Patriot quoted lead time at start {quote} months, not in [{low}, {high}]")
    delivered = yearly_delivered(result, PAC3)
    for year, target in PAC3_DELIVERED.items():
        got = delivered.get(year, 0)
        if abs(got - target) > TOLERANCE * target:
            problems.append(f"PAC-3 MSE delivered in {year}: {got}, target {target} +-{TOLERANCE:.0%}")
    return problems


@pytest.fixture(scope="module")
def default_scenario() -> lts.Scenario:
    return lts.load_scenario(DEFAULT)


@pytest.fixture(scope="module")
def default_runs(default_scenario: lts.Scenario) -> dict[int, tuple[lts.RunResult, float]]:
    """The default scenario run once per calibration seed, with the seconds each run took."""
    runs = {}
    for seed in CALIBRATION_SEEDS:
        began = time.perf_counter()
        result = lts.simulate(default_scenario, seed=seed)
        runs[seed] = (result, time.perf_counter() - began)
    return runs


@pytest.mark.parametrize("path", sorted(p for p in MODELS.glob("*.toml") if p.name != "calibration.toml"),
                         ids=lambda p: p.name)
def test_every_model_loads_and_validates(path: Path) -> None:
    scenario = lts.load_scenario(path)
    assert scenario.name
    assert scenario.products and scenario.factories


def test_default_and_example_models_exist() -> None:
    assert DEFAULT.is_file()
    assert SINGLE.is_file()


@pytest.mark.parametrize("seed", CALIBRATION_SEEDS)
def test_default_patriot_quote_is_eight_to_eleven_years(default_runs, seed: int) -> None:
    result, _ = default_runs[seed]
    quote = result.summary["products"][PATRIOT]["quoted_lead_time_months"]
    assert quote is not None, "no quote: not enough Patriot units delivered by end"
    assert QUOTE_RANGE_MONTHS[0] <= quote <= QUOTE_RANGE_MONTHS[1]


@pytest.mark.parametrize("seed", CALIBRATION_SEEDS)
@pytest.mark.parametrize("year", sorted(PAC3_DELIVERED))
def test_default_pac3_deliveries_follow_reported_rates(default_runs, seed: int, year: int) -> None:
    result, _ = default_runs[seed]
    target = PAC3_DELIVERED[year]
    got = yearly_delivered(result, PAC3).get(year, 0)
    assert target * (1 - TOLERANCE) <= got <= target * (1 + TOLERANCE), (year, got, target)


@pytest.mark.parametrize("seed", CALIBRATION_SEEDS)
def test_default_meets_all_calibration_targets(default_runs, seed: int) -> None:
    result, _ = default_runs[seed]
    assert calibration_problems(result) == []


def test_default_run_is_fast(default_runs) -> None:
    fastest = min(seconds for _, seconds in default_runs.values())
    assert fastest < SECONDS_PER_RUN, f"{fastest:.2f} s per run"


@pytest.mark.parametrize("overrides", [
    # Twice the Patriot rate: the start quote falls to ~6 years.
    ["factories.patriot_fire_units.lines=2"],
    # Half the Camden lines: PAC-3 deliveries fall below the reported rates from 2026.
    ["factories.pac3_camden.lines=2"],
    # No seekers on the shelf and no seeker lines: PAC-3 final assembly starves.
    ["factories.boeing_seeker.lines=0", "products.pac3_seeker.initial_stock_units=0",
     "investments.boeing_seeker_expansion.lines_added=0", "investments.seeker_framework.lines_added=0"],
])
def test_calibration_check_can_fail(overrides: list[str]) -> None:
    """The calibration check rejects miscalibrated variants (so its passing means something)."""
    scenario = lts.load_scenario(DEFAULT, overrides=overrides)
    assert calibration_problems(lts.simulate(scenario, seed=1))


def test_default_every_requirement_has_a_close_date_or_none(default_runs, default_scenario) -> None:
    result, _ = default_runs[1]
    requirements = result.summary["requirements"]
    assert set(requirements) == set(default_scenario.requirements)
    for name, summary in requirements.items():
        closed = summary["gap_closed"]
        if closed is None:
            assert summary["gap_closed_months"] is None, name
            assert summary["gap_end_units"] > 0, name
        else:
            assert re.fullmatch(r"\d{4}-\d{2}", closed), (name, closed)
            assert default_scenario.start <= closed <= default_scenario.end, (name, closed)
            assert summary["gap_end_units"] == 0, name


def test_default_has_alliance_and_requirement_driven_ordering(default_scenario) -> None:
    requirements = default_scenario.requirements.values()
    assert any(r.customers and len(r.customers) > 1 and r.multiple == 5.0 for r in requirements)
    assert any(r.ordering is not None and r.ordering.rule == "shortfall" for r in requirements)


def test_default_gem_t_first_delivered_2027_or_2028(default_runs) -> None:
    result, _ = default_runs[1]
    delivered = yearly_delivered(result, "gem_t")
    first_year = min(year for year, units in delivered.items() if units > 0)
    assert first_year in (2027, 2028)


def test_single_line_gap_opens_then_closes() -> None:
    result = lts.simulate(SINGLE, seed=1)
    (summary,) = result.summary["requirements"].values()
    assert summary["max_gap_units"] > 0
    assert summary["gap_closed"] is not None
    assert result.scenario.start < summary["gap_closed"] < result.scenario.end
    assert summary["gap_end_units"] == 0
    assert result.summary["capex_musd"] > 0


@pytest.mark.parametrize("path", [DEFAULT, SINGLE], ids=lambda p: p.name)
def test_same_seed_same_summary(path: Path) -> None:
    scenario = lts.load_scenario(path)
    first = lts.simulate(scenario, seed=7)
    second = lts.simulate(scenario, seed=7)
    assert first.summary == second.summary
    assert first.records == second.records


def test_default_seeds_differ(default_runs) -> None:
    """The default scenario is stochastic: different seeds give different runs."""
    one, _ = default_runs[1]
    two, _ = default_runs[2]
    assert one.records.deliveries != two.records.deliveries


@pytest.mark.parametrize("path", sorted((MODELS.parent / "experiments").glob("*.toml")), ids=lambda p: p.name)
def test_shipped_experiments_price_the_lines_they_add_alike_at_every_point(path: Path) -> None:
    """An axis that adds lines to an investment also scales its capex, so that the swept
    capex the charts and the report show is the cost of what each point builds:
    interceptor_surge added 16, 24 or 32 seeker lines (18, 27, 36 motor lines) at $400M
    each time, and its 11-line option showed $2,120M where supplier_bottleneck's prices
    give $2,920M."""
    from leadtime_sim.experiment.runner import plan_experiment

    plan = plan_experiment(path)
    for name in plan.scenario.investments:
        per_line = {}
        for point in plan.points:
            investment = plan.point_scenario(point.point_id).investments[name]
            if investment.lines_added:
                per_line[investment.lines_added] = investment.total_capex_musd / investment.lines_added
        assert len({round(c, 6) for c in per_line.values()}) <= 1, (name, per_line)
