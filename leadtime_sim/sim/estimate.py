"""Estimate the size of a run before running it (resource guards)."""

from __future__ import annotations

import math

from leadtime_sim.dates import months_between
from leadtime_sim.scenario.schema import Factory, Scenario


def estimate_lots(scenario: Scenario) -> float:
    """An upper estimate of the lots one run starts (plus the orders its streams place, each
    an event too): the lesser of what the lines could start at full rate and what demand
    could ask for (where demand is known in advance); plus the lots its quotes project
    for lines ramping up."""
    horizon = months_between(scenario.start, scenario.end)
    driven = {r.product for r in scenario.requirements.values() if r.ordering is not None}
    demand: dict[str, float] = {}
    orders = 0.0
    for order in scenario.orders:
        demand[order.product] = demand.get(order.product, 0.0) + order.quantity
    for stream in scenario.order_streams:
        begin = months_between(scenario.start, stream.from_) if stream.from_ else 0.0
        until = months_between(scenario.start, stream.until) if stream.until else horizon
        expected = stream.rate_per_year * max(0.0, until - begin) / 12
        units = max(1.0, stream.quantity.mean)
        # Poisson counts: mean plus six standard deviations, times the mean order size.
        orders += expected + 6 * math.sqrt(expected)
        bound = (expected + 6 * math.sqrt(expected)) * units
        demand[stream.product] = demand.get(stream.product, 0.0) + bound
    added = {name: 0 for name in scenario.factories}
    for investment in scenario.investments.values():
        if investment.factory in added:
            added[investment.factory] += investment.lines_added
    total = orders
    for investment in scenario.investments.values():
        factory = scenario.factories.get(investment.factory)
        if factory is not None and investment.lines_added and investment.ramp_months > 0:
            # Each quote until the ramp ends (about one a month) projects the lots
            # of a line ramping up one by one, whatever the demand (sim/lots_ahead.py): at
            # most a lot a least takt over the ramp.
            takt = _least_takt_months(factory)
            ramp_end = min(horizon, investment.in_service_months(scenario.start) + investment.ramp_months)
            quotes = max(1.0, ramp_end)
            total += math.inf if takt <= 0 else quotes * investment.ramp_months / takt
    for name, factory in scenario.factories.items():
        lines = factory.lines + added[name]
        takt = _least_takt_months(factory)
        capacity = math.inf if takt <= 0 and lines else lines * horizon / takt if lines else 0.0
        product = factory.product
        parents_use = sum(p.bom.get(product, 0) for p in scenario.products.values())
        if product in driven or parents_use or product not in demand:
            total += capacity
        else:
            total += min(capacity, demand[product])
    return total


def _least_takt_months(factory: Factory) -> float:
    """The mean takt at the learning curve's floor: the shortest a lot takes on average."""
    return factory.takt_months.mean * (factory.learning.floor_fraction if factory.learning else 1.0)
