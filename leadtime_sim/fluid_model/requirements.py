"""A requirement's inventory and gap over the run, from the deliveries to its customers.

The same observations as ``sim.state.RequirementState`` in a run (at start, each month
end, each required point and consumption break, just before and after each delivery, and
at the horizon if it is not a month end) and the same arithmetic, on arrays: the inventory
is the running sum of deliveries less consumption, taken step by step where it would fall to
zero (the state clamps it there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from leadtime_sim.scenario.schema import Requirement
from leadtime_sim.sim.consumption import ConsumptionSchedule
from leadtime_sim.sim.state import GAP_TOLERANCE, closing_time

MONTH_END, POINT, DELIVERY = 0, 1, 2


@dataclass(frozen=True)
class GapSeries:
    """Month-end inventory, required units, gap and the month's peak gap (arrays over months),
    and the outcome: when the gap last closed (None: open at the end) and its largest."""

    inventory: np.ndarray
    required: np.ndarray
    gap: np.ndarray
    peak: np.ndarray
    closed_at: float | None
    max_gap: float


def required_at(times: list[float], units: list[float], t: np.ndarray) -> np.ndarray:
    """``sim.state.interpolate`` at each of ``t`` (the same arithmetic)."""
    if len(times) == 1:
        return np.full_like(t, units[0])
    xs, vs = np.array(times), np.array(units, float)
    k = np.minimum(np.maximum(xs.searchsorted(t, side="right"), 1), len(xs) - 1)  # (np.clip, unchecked)
    t0, t1, v0, v1 = xs[k - 1], xs[k], vs[k - 1], vs[k]
    with np.errstate(divide="ignore", invalid="ignore"):
        inside = v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return np.where(t <= xs[0], vs[0], np.where(t >= xs[-1], vs[-1], inside))


def consumed(consumption: ConsumptionSchedule, t: np.ndarray, months: np.ndarray) -> np.ndarray:
    """``consumption.consumed_over(t, months)`` at each element (the same arithmetic)."""
    total = np.zeros_like(t)
    end = t + months
    for a, b, rate in consumption.periods:
        whole = (a <= t) & (end <= b)
        part = ~whole & (a < end) & (t < b)
        total = np.where(whole, total + rate * months,
                         np.where(part, total + rate * (np.minimum(end, b) - np.maximum(t, a)), total))
    return total


def gap_series(spec: Requirement, consumption: ConsumptionSchedule, times: list[float], units: list[float],
               ends: np.ndarray, horizon: float, delivery_times: np.ndarray, delivery_units: np.ndarray
               ) -> GapSeries:
    """The requirement's gap at every observation (module docstring); ``times``, ``units``:
    its required curve (``sim.state.required_curve``); ``ends``: the times of the month rows
    (the last the horizon, if it cuts its month short)."""
    months = len(ends)
    points = np.array([t for t in [*times, *consumption.breaks] if 0 < t < horizon], float)
    n_d = len(delivery_times)
    # events as RequirementState sees them, sorted as (time, kind, value) tuples
    ev_t = np.concatenate([ends, points, delivery_times.astype(float)])
    ev_kind = np.concatenate([np.full(months, MONTH_END), np.full(len(points), POINT),
                              np.full(n_d, DELIVERY)])
    ev_value = np.concatenate([np.arange(months), np.zeros(len(points), int), delivery_units.astype(int)])
    order = np.lexsort((ev_value, ev_kind, ev_t))
    ev_t, ev_kind, ev_value = ev_t[order], ev_kind[order], ev_value[order]
    # observations: at 0; one per event, a delivery's just before it (one more just after)
    repeat = np.where(ev_kind == DELIVERY, 2, 1)
    obs_t = np.concatenate([[0.0], np.repeat(ev_t, repeat)])
    first = np.cumsum(repeat) - repeat + 1  # each event's first observation
    received = np.zeros_like(obs_t)  # units received just after each observation
    received[first[ev_kind == DELIVERY]] = ev_value[ev_kind == DELIVERY]
    level = _inventory(spec.initial_units, consumption, obs_t, received)
    req = required_at(times, units, obs_t)
    short = req - level
    gap = np.where(short > 0.0, short, 0.0)
    opened = gap > GAP_TOLERANCE
    month_obs = first[ev_kind == MONTH_END]
    if len(month_obs):
        open_gap = np.where(opened, gap, 0.0)[:month_obs[-1] + 1]
        peak = np.maximum.reduceat(open_gap, np.concatenate([[0], month_obs[:-1] + 1]))
    else:
        peak = np.zeros(0)
    if not opened.any():
        closed_at: float | None = float(obs_t[0])
        max_gap = 0.0
    else:
        last = int(np.flatnonzero(opened)[-1])
        closed_at = closing_time(float(obs_t[last]), float(short[last]), float(obs_t[last + 1]),
                                 float(short[last + 1])) if last + 1 < len(obs_t) else None
        max_gap = float(gap[opened].max())
    return GapSeries(level[month_obs], req[month_obs], gap[month_obs], peak, closed_at, max_gap)


def _inventory(initial: float, consumption: ConsumptionSchedule, obs_t: np.ndarray,
               received: np.ndarray) -> np.ndarray:
    """The inventory at each observation: ``initial``, less what was consumed since the last
    observation (never below 0), plus what arrived just after it."""
    if not consumption.periods:
        return initial + np.concatenate([[0.0], np.cumsum(received[:-1])])
    dt = np.diff(obs_t)
    used = consumed(consumption, obs_t[:-1], dt)
    steps = np.empty(2 * len(obs_t) - 1)
    steps[0] = initial
    steps[1::2] = received[:-1]
    steps[2::2] = -used
    running = np.cumsum(steps)
    level = running[0::2]
    if (level[1:] > 0).all():
        return level
    level = np.empty_like(obs_t)  # it reaches 0 somewhere: step by step, as the state does
    value = max(0.0, initial - 0.0)
    level[0] = value
    for n, (got, use) in enumerate(zip(received[:-1].tolist(), used.tolist(), strict=True), start=1):
        value = max(0.0, value + got - use)
        level[n] = value
    return level
