"""Scenario files: the schema, cross-checks and loading."""

from leadtime_sim.scenario.loading import apply_overrides, load_scenario, validate_scenario
from leadtime_sim.scenario.schema import Scenario, json_schema

__all__ = ["Scenario", "apply_overrides", "json_schema", "load_scenario", "validate_scenario"]
