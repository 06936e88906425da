"""Kaplan-Meier estimates for right-censored durations (orders not delivered by end, records
of orders not yet delivered): used by the run metrics and by ``fit``."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


def kaplan_meier(values: FloatArray, censored: BoolArray) -> tuple[FloatArray, FloatArray]:
    """The Kaplan-Meier survival function: the distinct exact values t and S just after each
    (without censoring, 1 - the empirical distribution function). A censored value counts as
    at risk at its own time (censoring after deaths at the same value, the usual convention)."""
    times = np.unique(values[~censored])
    exact = np.sort(values[~censored])
    everything = np.sort(values)
    deaths = np.searchsorted(exact, times, side="right") - np.searchsorted(exact, times, side="left")
    at_risk = len(values) - np.searchsorted(everything, times, side="left")
    survival: FloatArray = np.cumprod(1.0 - deaths / at_risk, dtype=np.float64)
    return times, survival


def kaplan_meier_median(values: FloatArray, censored: BoolArray) -> float | None:
    """The Kaplan-Meier median: the first value at which the survival falls to 1/2 or below
    (the midpoint to the next exact value where it is exactly 1/2, so that without censoring
    it is ``np.median``); None where it never does (more than half censored before the
    median could be seen: "not by end")."""
    if len(values) == 0:
        return None
    times, survival = kaplan_meier(values, censored)
    below = np.flatnonzero(survival <= 0.5 + 1e-12)
    if len(below) == 0:
        return None
    k = int(below[0])
    if abs(survival[k] - 0.5) <= 1e-12 and k + 1 < len(times):
        return float((times[k] + times[k + 1]) / 2)
    return float(times[k])
