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
    exact = np.sort(values[~censored])
    if len(exact) and np.isnan(exact[-1]):  # (np.unique counts every NaN as one value)
        times = np.unique(values[~censored])
        deaths = np.searchsorted(exact, times, side="right") - np.searchsorted(exact, times, side="left")
    else:  # (np.unique and the counts of each value, from the sorted values)
        new = np.empty(len(exact), bool)
        new[:1] = True
        np.not_equal(exact[1:], exact[:-1], out=new[1:])
        bounds = np.empty(int(new.sum()) + 1, np.int64)  # (where each value's run begins, and the end)
        bounds[:-1] = new.nonzero()[0]
        bounds[-1] = len(exact)
        times = exact[bounds[:-1]]
        deaths = bounds[1:] - bounds[:-1]
    at_risk = len(values) - np.sort(values).searchsorted(times, side="left")
    survival: FloatArray = np.cumprod(1.0 - deaths / at_risk, dtype=np.float64)
    return times, survival


def kaplan_meier_quantile(values: FloatArray, censored: BoolArray, share: float) -> float | None:
    """The Kaplan-Meier ``share`` quantile: the first value at which the survival falls to
    1 - share or below (the midpoint to the next exact value where it is exactly 1 - share);
    None where it never does (too many censored before it could be seen: "not reached")."""
    if len(values) == 0:
        return None
    times, survival = kaplan_meier(values, censored)
    level = 1.0 - share
    below = (survival <= level + 1e-12).nonzero()[0]
    if len(below) == 0:
        return None
    k = int(below[0])
    if abs(survival[k] - level) <= 1e-12 and k + 1 < len(times):
        return float((times[k] + times[k + 1]) / 2)
    return float(times[k])


def kaplan_meier_median(values: FloatArray, censored: BoolArray) -> float | None:
    """The Kaplan-Meier median (:func:`kaplan_meier_quantile` at 1/2: without censoring,
    ``np.median``); None where the survival never falls to 1/2 (more than half censored
    before the median could be seen: "not by end")."""
    return kaplan_meier_quantile(values, censored, 0.5)
