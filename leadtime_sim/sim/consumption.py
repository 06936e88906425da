"""A requirement's consumption over time: a piecewise-constant rate and its integral.

``consumption_per_year`` is a number (a constant rate), periods of constant rates (none
outside them), or a distribution of the yearly rate, drawn once per run from the source
``requirement.<name>.consumption``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from leadtime_sim.dates import months_between
from leadtime_sim.scenario.schema import Requirement
from leadtime_sim.sim.streams import RandomStreams

Period = tuple[float, float, float]
"""(from, until, units per month), months from start; ``until`` is excluded."""


@dataclass(frozen=True, slots=True)
class ConsumptionSchedule:
    """Units consumed per month as a step function of time (0 outside the periods)."""

    periods: tuple[Period, ...] = ()
    """In time order, not overlapping, each with a rate above 0."""

    @classmethod
    def constant(cls, per_year: float) -> ConsumptionSchedule:
        return cls(((-math.inf, math.inf, per_year / 12),) if per_year else ())

    @classmethod
    def of(cls, name: str, spec: Requirement, start: str,
           streams: RandomStreams | None = None) -> ConsumptionSchedule:
        """The schedule of requirement ``name``; a distribution draws its rate from ``streams``."""
        value = spec.consumption_per_year
        if isinstance(value, int | float):
            return cls.constant(value)
        if isinstance(value, list):
            periods = [(months_between(start, p.from_) if p.from_ else -math.inf,
                        months_between(start, p.until) if p.until else math.inf,
                        p.per_year / 12) for p in value if p.per_year]
            return cls(tuple(sorted(periods)))
        if streams is None:
            raise ValueError(f"requirement {name!r}: a drawn consumption needs the run's random streams")
        drawn = next(streams.draws(f"requirement.{name}.consumption", value))
        return cls.constant(max(0.0, drawn))

    @property
    def breaks(self) -> list[float]:
        """The finite times at which the rate changes."""
        return sorted({t for a, b, _ in self.periods for t in (a, b) if math.isfinite(t)})

    def rate_at(self, t: float) -> float:
        """Units consumed per month at time ``t`` (months from start)."""
        for a, b, rate in self.periods:
            if a <= t < b:
                return rate
        return 0.0

    def consumed_over(self, t: float, months: float) -> float:
        """Units consumed in the ``months`` after ``t``: the integral of the rate.

        A window inside one period costs its rate times ``months`` exactly (not times the
        rounded difference of two times), so a constant rate gives what it always gave."""
        total = 0.0
        end = t + months
        for a, b, rate in self.periods:
            if a <= t and end <= b:
                total += rate * months
            elif a < end and t < b:
                total += rate * (min(end, b) - max(t, a))
        return total

    def consumed_between(self, t0: float, t1: float) -> float:
        """Units consumed from ``t0`` to ``t1`` (months from start)."""
        return self.consumed_over(t0, t1 - t0)
