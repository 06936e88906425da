"""The fluid summary without the full records (``fluid_summary``) is the full fluid run's
summary, to the bit."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import build, factory, order, scenario_dict

import leadtime_sim as lts
from leadtime_sim.fluid_model import fluid_summary
from leadtime_sim.scenario.loading import scenario_with

MODELS = Path(__file__).resolve().parent.parent / "models"
SCENARIO_FILES = [p for p in sorted(MODELS.glob("*.toml")) if p.name != "calibration.toml"]  # (an experiment)


def test_every_shipped_model_is_covered() -> None:
    assert {p.name for p in SCENARIO_FILES} >= {"nato_air_defence.toml", "single_line.toml", "mmc_check.toml"}


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_shipped_models(path: Path) -> None:
    scenario = lts.load_scenario(path)
    assert fluid_summary(scenario) == lts.fluid(scenario).summary


def test_nato_without_priority_or_reassignment() -> None:
    scenario = lts.load_scenario(MODELS / "nato_air_defence.toml")
    for values in ({"policy.allocation": "fifo"}, {"policy.reassign_at_delivery": False}):
        changed = scenario_with(scenario, values)
        assert fluid_summary(changed) == lts.fluid(changed).summary


def test_components_classes_and_a_stock_out() -> None:
    data = scenario_dict(
        end="2029-01", policy={"allocation": "priority"},
        products={"p": {"bom": {"c": 2}}, "c": {"stock_target_units": 3}},
        factories={"f": factory(takt_months=1, flow_months=2, initial_wip_units=2),
                   "s": factory("c", takt_months=0.7, lot_size=2)},
        orders=[order(12, placed="2024-06", priority=2), order(5, placed="2025-04", customer="b", priority=1)],
        order_streams=[{"customer": "b", "product": "p", "rate_per_year": 4, "quantity": 2, "priority": 1}],
        quote_dates=["2025-07"],
        requirements={"r": {"customer": "a", "product": "p", "initial_units": 4,
                            "required": [{"date": "2026-01", "units": 20}],
                            "consumption_per_year": [{"from": "2025-06", "until": "2026-06", "per_year": 30}],
                            "ordering": {"review_every_months": 6, "lookahead_months": "lead_time"}}})
    scenario = build(data)
    full = lts.fluid(scenario).summary
    assert fluid_summary(scenario) == full
    assert full["requirements"]["r"]["max_gap_units"] > 0
