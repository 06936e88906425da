"""The fluid model (``lts.fluid``): a deterministic cumulative-curve estimate of a run.

``fluid(scenario)`` computes, without random draws, what a run of the scenario would give
if every random quantity took its mean, and returns it as a run does (a ``RunResult``:
scenario, records, summary), so that ``metrics.summarize`` and every writer of a run read it.

How it models the scenario
  * Time is a grid: every month end plus every instant something happens (an order is placed,
    a review, lines commissioned, a ramp-up ends). Between grid points nothing jumps, so the
    curves below are exact at the grid points where capacity is piecewise constant (linear
    within a step during a ramp: the cumulative capacity is integrated exactly, quadratic).
  * Capacity: each factory's lines (and each investment's, commissioned at decided +
    construction + mean slip, ramping linearly from ``ramp_start_fraction``) work at the
    mean rate of a line, ``lot_size / (mean takt / yield / availability)`` units a month.
    ``K(t)`` is a product's cumulative capacity, summed over the factories making it.
    Learning is not modelled (the takt at start).
  * Work: ``A(t)``, the units ordered (less the initial WIP they take) is what the lines can
    work on; the lines' cumulative output is the fluid queue ``O(t_k) = min(X_k, O(t_{k-1}) +
    K(t_k) - K(t_{k-1}))`` with ``X_k`` the work there before the step and, for a product with
    a bill of materials, the components on hand: ``(initial stock + delivered) / per unit``.
    Unrolled it is one vector expression, ``O = K + cummin(X - K)``. Inside a step the
    output rises at the lines' rate until it reaches the work there (a kink where the lines
    run out of work, not a straight line across the step).
  * A unit leaves the line as the cumulative output crosses it and is delivered the factory's
    mean flow time later; the initial WIP is delivered as a run delivers it, in lots of the
    lot size spread evenly over the first mean flow time (lot ``k`` of ``n`` at ``flow x (k +
    1/2) / n``, all its units at once).
    For one line, lot 1, takt 2 and flow 3 this gives unit ``k`` at ``2k + 3``, as the DES; a
    lot of ``L`` units leaves the DES's line at once and the fluid's one by one over the
    takt, so fluid dates are within one takt per lot of the DES's on deterministic cases
    where lots leave full. Not exact (``tests/test_fluid_properties.py`` states each): a run's
    line starts a lot with what the backlog holds and a lot started short holds it a whole
    takt, so orders smaller than a lot can wait up to a takt more (one line, lots of 4, takt
    3, an order of one a month: 5.25 months); the fluid shares a product's output between its
    factories by capacity, so factories of different flow times deliver within their spread;
    a run's final assembly starts smaller lots where components run short; and under
    ``priority`` a run commits a lot's units at its start, the fluid unit by unit, so an
    urgent order placed in between overtakes other units in each.
  * Components are made to stock: a supplier's lines work while its stock and work in
    progress are below the stock target plus what its parents' backlog needs, so its work is
    ``target + per_unit x parent's A(t) - initial stock - initial WIP``; final assembly
    starts no more than the components delivered allow.
  * Order streams are deterministic: the ``k``-th order of a stream is placed at ``from +
    k x mean gap`` (the Poisson stream's expected ``k``-th arrival), with the mean quantity
    rounded so that the first ``k`` orders hold ``round(k x mean)`` units.
  * Requirement-driven orders: at each review the ordering rule sees the fluid state (the
    inventory and on-order units of integer deliveries, the lead time quoted now, what the
    requirements it defers to have still to order) and its
    order joins the curves from then on (the past is unchanged: orders act forward only, so
    a review recomputes only the products its order can reach, and allocation runs forward
    through the grid once).
  * Allocation: units go to orders by the policy, class by class (``priority``: class 1
    first, first come first served within a class; every other policy: first come, first
    served), when they start on the line (as a run commits a lot's units at its start), or
    when they are delivered if the scenario reassigns finished units at delivery. A unit
    starts one lot's line time (lot size / line rate) before it leaves the line, no more
    than a lot per line in service ahead of the output, and no earlier than its work and
    components are there; the month's backlog is the units ordered and not started.
  * Quotes: a new one-unit order stands behind the units the policy puts before it
    (uncommitted: not started, or undelivered when reassigning; as a run, not the orders placed at the
    quote's own instant but, at start, the book) and is delivered when the projected
    curves reach it at full rate, on the lines in service and those of the investments
    decided by then (as a run: not one decided at the quote's own instant, but at start
    those decided by start, and at a requirement's review after its first one decided at
    the review's instant; one capacity curve per decision time, ``known_capacity``), and, for
    a product with a bill of materials, no earlier than its components are on hand: from
    stock and the suppliers' deliveries, or, not yet made, from the suppliers' lines at full
    rate, a flow time later (one level, as a run's quotes).
  * Not modelled: budgets (orders and investments are taken as paid when placed or
    decided), disruptions and yield other than through the mean rate, learning, minimum lot
    sizes (the lines take every unit, where a run's wait for ``min_lot_size``), and the
    fair-share and plugin policies (taken as first come, first served). A component used
    by several products is shared by their demand but each parent's limit counts its whole
    stock.

Modules: ``capacity`` (lines), ``orders``, ``curves`` (one product's curves), ``allocation``
(units to orders), ``model`` (grid and reviews), ``requirements`` (gap series), ``monthly``
and ``records`` (a run's records), ``summary`` (the summary without the full records).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from leadtime_sim.fluid_model.capacity import line_rate
from leadtime_sim.fluid_model.model import FluidModel
from leadtime_sim.fluid_model.records import full_records, quote_samples
from leadtime_sim.fluid_model.summary import summary_records
from leadtime_sim.metrics import product_flows, summarize
from leadtime_sim.plugins import NO_PLUGINS, Plugins, plugin_errors
from leadtime_sim.run import RunResult, check_plugins
from leadtime_sim.scenario import Scenario
from leadtime_sim.scenario.loading import load_scenario
from leadtime_sim.sim.collector import fewer_collections
from leadtime_sim.sim.records import KernelRecords

FLUID_SEED = 0
"""The seed a fluid result reports (it draws nothing)."""
FLUID_POLICIES = ("fifo", "priority")
"""Allocation policies the fluid model follows (others are taken as first come, first served)."""
log = logging.getLogger(__name__)


def not_modelled(scenario: Scenario) -> list[str]:
    """What of ``scenario`` the fluid model leaves out (module docstring), one reason each:
    where the estimate cannot stand for a run (empty: it can)."""
    reasons = []
    if scenario.all_budgets:
        reasons.append("the scenario has budgets, which the fluid model does not model (orders and "
                       "investments taken as paid when placed or decided)")
    reasons += [f"factory {name} has a learning curve, which the fluid model does not model (the takt "
                "at start)" for name, f in scenario.factories.items() if f.learning is not None]
    reasons += [f"factory {name} has a minimum lot size, which the fluid model does not model (every "
                "unit is made, where a run's lines wait for min_lot_size units and may leave the last "
                "ones waiting for good)" for name, f in scenario.factories.items() if f.min_lot_size > 1]
    if scenario.policy.allocation not in FLUID_POLICIES:
        reasons.append(f"allocation {scenario.policy.allocation!r} is not modelled by the fluid model "
                       f"(only {', '.join(FLUID_POLICIES)}; taken as first come, first served)")
    return reasons


def fluid_records(scenario: Scenario, plugins: Plugins = NO_PLUGINS) -> KernelRecords:
    """The fluid model's records of ``scenario`` (module docstring)."""
    with fewer_collections(), plugin_errors(plugins):  # (as a run: many small objects, none cyclic)
        model = FluidModel(scenario, plugins)
        model.solve(quote_samples(model))
        return full_records(model)


def fluid(scenario: Scenario | str | Path, plugins: Plugins = NO_PLUGINS) -> RunResult:
    """The fluid estimate of a scenario (a ``Scenario`` or a file path): a ``RunResult``
    (seed 0, nothing drawn) whose records and summary are a run's, computed from mean rates;
    its summary says ``"estimate": "fluid"``."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, plugins=plugins)
    check_plugins(scenario, plugins, "fluid")
    for reason in not_modelled(scenario):  # (said, as the estimate would pass for a run's)
        log.warning(f"fluid estimate of {scenario.name}: {reason}")
    with fewer_collections():
        records = fluid_records(scenario, plugins)
        flows = product_flows(records)
        summary = {**summarize(scenario, records, FLUID_SEED, 0, flows), "estimate": "fluid"}
    return RunResult(scenario, FLUID_SEED, 0, records, summary, flows)


def fluid_summary(scenario: Scenario | str | Path, plugins: Plugins = NO_PLUGINS) -> dict[str, Any]:
    """``fluid(scenario).summary``, computed without the records that the summary does not
    read (``summary.py``): for a pre-screen of many scenarios."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario, plugins=plugins)
    check_plugins(scenario, plugins, "fluid_summary")
    with fewer_collections(), plugin_errors(plugins):
        model = FluidModel(scenario, plugins)
        model.solve(model.quote_index)
        records = summary_records(model)
        return {**summarize(scenario, records, FLUID_SEED, 0, product_flows(records)), "estimate": "fluid"}


__all__ = ["FLUID_POLICIES", "FLUID_SEED", "FluidModel", "fluid", "fluid_records", "fluid_summary",
           "line_rate", "not_modelled"]
