"""Line capacity in the fluid model: cohorts of lines and the mean rate of one line."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from leadtime_sim.scenario.schema import Factory as FactorySpec


@dataclass(frozen=True)
class Cohort:
    """Lines commissioned together: ``lines`` lines of ``rate`` units a month at full rate,
    in service at ``at`` (months from start), ramping linearly from ``fraction`` of the full
    rate to all of it over ``ramp`` months."""

    lines: int
    at: float
    ramp: float
    fraction: float
    rate: float

    def cumulative(self, t: np.ndarray) -> np.ndarray:
        """Units the cohort can make from the start (time 0) to each ``t``."""
        made = self._from_commissioning(np.append(t - self.at, -self.at))  # (by commissioning, and by 0)
        return made[:-1] - made[-1]

    def _from_commissioning(self, x: np.ndarray) -> np.ndarray:
        x = np.maximum(x, 0.0)
        scale = self.lines * self.rate
        if self.ramp <= 0:
            return scale * x
        r, f = self.ramp, self.fraction
        inside = np.minimum(x, r)
        ramped = f * inside + (1 - f) * inside * inside / (2 * r)
        return scale * (ramped + np.maximum(x - r, 0.0))

    def rate_at(self, t: np.ndarray) -> np.ndarray:
        """Units a month at ``t`` (0 before commissioning)."""
        if self.ramp <= 0:  # (at full rate: x 1.0 changes nothing)
            return np.where(t >= self.at, self.lines * self.rate, 0.0)
        gain = (1 - self.fraction) / self.ramp
        share = np.minimum(1.0, self.fraction + gain * np.maximum(t - self.at, 0.0))
        return np.where(t >= self.at, self.lines * self.rate * share, 0.0)


def line_rate(spec: FactorySpec) -> float:
    """Mean units a month of one line at full rate (as the kernel's expected work of a lot:
    mean takt, rework 1 / yield, downtime 1 / availability)."""
    availability = 1.0
    if spec.disruptions is not None:
        up = spec.disruptions.between_months.mean
        availability = up / (up + spec.disruptions.repair_months.mean) if up > 0 else 0.0
    takt = spec.takt_months.mean
    if availability <= 0 or takt <= 0:
        return math.inf if takt <= 0 else 0.0
    return spec.lot_size * spec.yield_fraction * availability / takt
