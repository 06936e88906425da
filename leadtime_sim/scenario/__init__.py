"""Scenario files: the schema (``schema``), cross-checks (``checks``) and loading (``loading``).

The package itself exports the data model only: loading sits a layer above, next to the
plugins whose policy and rule names it checks (``leadtime_sim.scenario.loading``).
"""

from leadtime_sim.scenario.schema import Scenario, json_schema

__all__ = ["Scenario", "json_schema"]
