"""One run, as the Python API offers it: kernel records plus the metrics of a summary."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from leadtime_sim.errors import InputError
from leadtime_sim.metrics import Flows, product_flows, summarize
from leadtime_sim.plugins import NO_PLUGINS, Plugins, plugin_errors
from leadtime_sim.scenario import Scenario
from leadtime_sim.scenario.loading import load_scenario
from leadtime_sim.sim import KernelRecords, Limits, run_kernel
from leadtime_sim.sim.collector import fewer_collections
from leadtime_sim.sim.promise import QuoteAsk

DEFAULT_SEED = 1
"""The seed of a run, a ``leadtime-sim run`` and an experiment that name none."""


@dataclass(frozen=True)
class RunResult:
    """A run that describes itself: the scenario and seed that made it, records, summary."""

    scenario: Scenario
    seed: int
    replication: int
    records: KernelRecords
    summary: dict[str, Any]
    flows: dict[str, Flows] = field(repr=False, compare=False)
    """Each product's orders and deliveries as arrays (``metrics.product_flows``), made once
    for the summary and kept for whatever else reads them (the sweep's monthly series)."""


def simulate(scenario: Scenario | str | Path, seed: int = DEFAULT_SEED, replication: int = 0,
             plugins: Plugins = NO_PLUGINS, limits: Limits | None = None,
             asks: Sequence[QuoteAsk] = (), after_book: Collection[str] = ()) -> RunResult:
    """Simulate a scenario (a validated ``Scenario`` or a file path) once.

    Pure: the same scenario, seed and replication give the same result, bit for bit.
    ``limits`` (most lots, wall seconds) stop a runaway run with ``RunLimitExceeded``.
    ``asks``: quotes the run should give besides its own (``records.quotes``);
    ``after_book``: ids of listed orders placed at start that join after the order book
    (``run_kernel``). A plugin's policy or rule that raises is a ``PluginError`` naming it.
    """
    check_seed(seed, replication)
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, plugins=plugins)
    check_plugins(scenario, plugins)
    with fewer_collections():
        with plugin_errors(plugins):
            records = run_kernel(scenario, seed, replication, plugins, limits, asks, after_book)
        flows = product_flows(records)
        return RunResult(scenario, seed, replication, records,
                         summarize(scenario, records, seed, replication, flows), flows)


def check_seed(seed: int, replication: int = 0, caller: str = "simulate") -> None:
    """An InputError unless ``seed`` and ``replication`` are whole numbers in ``[0, 2**63)``, as
    the CLI's ``--seed`` and ``--replication`` (a run no command could reproduce otherwise)."""
    for name, value in (("seed", seed), ("replication", replication)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < 2**63:
            raise InputError([f"{caller}: {name} = {value!r}: must be a whole number from 0 to 2**63 - 1 "
                              "(as the CLI's --seed and --replication)"])


def check_plugins(scenario: Scenario, plugins: Plugins, caller: str = "simulate") -> None:
    """The scenario's policy and ordering rules are among ``plugins``' and the built-ins:
    else an InputError saying to pass the plugins given to ``load_scenario`` here too."""
    missing = [] if scenario.policy.allocation in plugins.all_policies else [
        f"allocation policy {scenario.policy.allocation!r}"]
    missing += [f"ordering rule {r.ordering.rule!r} (requirements.{name})"
                for name, r in scenario.requirements.items()
                if r.ordering is not None and r.ordering.rule not in plugins.all_ordering_rules]
    if missing:
        raise InputError([f"{caller}: the scenario names {', '.join(missing)}, which comes from a plugin "
                          f"not passed here: pass the plugins given to load_scenario to {caller} too "
                          "(plugins=lts.load_plugins([...]))"])
