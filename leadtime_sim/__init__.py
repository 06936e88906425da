"""leadtime-sim: when do the delivery gaps of air and missile defence close?

The Python API: load a scenario, simulate it, read the records and summary::

    import leadtime_sim as lts
    scenario = lts.load_scenario("models/single_line.toml")
    result = lts.simulate(scenario, seed=1)
    result.summary["requirements"]

The names below are imported when first used, so that importing one part of the package
(``leadtime_sim.plotting``, say) does not load the SimPy kernel; importing the package
pulls in neither matplotlib nor click.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from leadtime_sim._version import __version__

if TYPE_CHECKING:
    from leadtime_sim.errors import InputError
    from leadtime_sim.experiment.runner import plan_experiment, run_experiment
    from leadtime_sim.experiment.spec import Experiment
    from leadtime_sim.experiment.whatif import quote
    from leadtime_sim.fluid_model import fluid, fluid_summary
    from leadtime_sim.plugins import Plugins, load_plugins
    from leadtime_sim.results import load_results
    from leadtime_sim.run import DEFAULT_SEED, RunResult, simulate
    from leadtime_sim.scenario import Scenario, json_schema
    from leadtime_sim.scenario.loading import apply_overrides, load_scenario, validate_scenario
    from leadtime_sim.sim import (
        AllocationPolicy,
        Limits,
        Review,
        RunLimitExceeded,
        SimulationError,
        estimate_lots,
    )
    from leadtime_sim.tables import orders_frame, series_frame

_HOMES = {
    "InputError": "errors", "quote": "experiment.whatif",
    "fluid": "fluid_model", "fluid_summary": "fluid_model",
    "Plugins": "plugins", "load_plugins": "plugins",
    "DEFAULT_SEED": "run", "RunResult": "run", "simulate": "run",
    "Scenario": "scenario", "json_schema": "scenario",
    "apply_overrides": "scenario.loading", "load_scenario": "scenario.loading",
    "validate_scenario": "scenario.loading",
    "AllocationPolicy": "sim", "Limits": "sim", "Review": "sim", "RunLimitExceeded": "sim",
    "SimulationError": "sim", "estimate_lots": "sim",
    "orders_frame": "tables", "series_frame": "tables", "load_results": "results",
    "Experiment": "experiment.spec", "plan_experiment": "experiment.runner",
    "run_experiment": "experiment.runner",
}
"""Public name -> the module (under ``leadtime_sim``) that defines it."""

__all__ = [
    "DEFAULT_SEED",
    "AllocationPolicy",
    "Experiment",
    "InputError",
    "Limits",
    "Plugins",
    "Review",
    "RunLimitExceeded",
    "RunResult",
    "Scenario",
    "SimulationError",
    "__version__",
    "apply_overrides",
    "estimate_lots",
    "fluid",
    "fluid_summary",
    "json_schema",
    "load_plugins",
    "load_results",
    "load_scenario",
    "orders_frame",
    "plan_experiment",
    "quote",
    "run_experiment",
    "series_frame",
    "simulate",
    "validate_scenario",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'leadtime_sim' has no attribute {name!r}")
    value = getattr(import_module(f"leadtime_sim.{_HOMES[name]}"), name)
    globals()[name] = value  # looked up once
    return value


def __dir__() -> list[str]:
    return __all__
