"""leadtime-sim: when do the delivery gaps of air and missile defence close?

The Python API: load a scenario, simulate it, read the records and summary::

    import leadtime_sim as lts
    scenario = lts.load_scenario("models/single_line.toml")
    result = lts.simulate(scenario, seed=1)
    result.summary["requirements"]

Importing the package pulls in neither matplotlib nor click.
"""

from leadtime_sim._version import __version__
from leadtime_sim.errors import InputError
from leadtime_sim.plugins import Plugins, load_plugins
from leadtime_sim.run import RunResult, simulate
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

__all__ = [
    "AllocationPolicy",
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
    "json_schema",
    "load_plugins",
    "load_scenario",
    "simulate",
    "validate_scenario",
]
