"""Design expansion: axes -> design points. Pure functions, no running.

Axes with ``values`` form a full grid; axes with a ``range`` and uncertain inputs (a
``distribution``) are sampled together by a Latin hypercube or a Sobol sequence
(``scipy.stats.qmc``): a unit point maps onto a range linearly and onto a distribution
through its quantile function, so the stratification holds in probability. The design is
the grid crossed with the samples. Tied values follow their axis.
"""

from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from leadtime_sim.dates import month_index, months_after, months_between, parse_date, same_date
from leadtime_sim.experiment.spec import Axis, Experiment, Linear, Scalar


@dataclass(frozen=True)
class DesignPoint:
    """One combination of axis values: ``values`` maps scenario paths to values."""

    point_id: int
    axes: dict[str, Scalar]
    """Axis label -> value (what charts and tables show)."""
    values: dict[str, Any]
    """Scenario path -> value, tied values included (what the run applies)."""


def axes_text(axes: dict[str, Any], sep: str = " = ") -> str:
    """``lines added = 2, construction months = 31.35``: axis values in words, sampled
    numbers to four significant figures."""
    return ", ".join(f"{k}{sep}{v:.4g}" if isinstance(v, float) else f"{k}{sep}{v}" for k, v in axes.items())


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parse_date(value)
    except ValueError:
        return False
    return True


UNIT_CEILING = 1 - 1e-12
"""Unit points are kept below this: the quantile function of an unbounded distribution is
infinite at 1."""


def scale_unit(axis: Axis, u: float) -> Scalar:
    """Map u in [0, 1) onto the axis range (dates by month, integers rounded) or, for an
    uncertain input, onto its distribution's ``u`` quantile (with an origin: that many
    whole months after it)."""
    if axis.distribution is not None:
        value = float(axis.distribution.ppf(np.array([min(max(u, 0.0), UNIT_CEILING)]))[0])
        if axis.origin is not None:  # whole months after the origin
            return months_after(axis.origin, round(value))
        return round(value) if axis.integer else value
    assert axis.range is not None
    low, high = axis.range
    if _is_date(low) and _is_date(high):  # whole months after low (on its day), up to high
        months = whole_months(str(low), str(high))
        return months_after(str(low), min(math.floor(u * (months + 1)), months))
    lo, hi = float(low), float(high)
    if axis.integer:  # the whole numbers in the range, each as likely
        first, last = math.ceil(lo), math.floor(hi)
        return min(math.floor(first + u * (last - first + 1)), last)
    return lo + u * (hi - lo)


def whole_months(low: str, high: str) -> int:
    """The most whole months after ``low`` (on its day) that stay within ``high``."""
    months = math.floor(months_between(low, high))
    if month_index(months_after(low, months)) > month_index(high):
        months -= 1  # (a day later in the month than high's)
    return months


def tied_values(axis: Axis, value: Scalar, index: int | None) -> dict[str, Any]:
    """The values tied to ``axis`` when it takes ``value`` (its ``index``-th value)."""
    result: dict[str, Any] = {}
    for path, tied in axis.tied.items():
        if isinstance(tied, Linear):
            result[path] = tied.offset + tied.per_unit * float(value)
        else:
            assert index is not None
            result[path] = tied[index]
    return result


def unit_samples(method: str, count: int, dims: int, seed: int) -> np.ndarray:
    """``count`` points in [0, 1)^dims (scrambled, seeded: the same seed, the same design)."""
    if dims == 0:
        return np.zeros((1, 0))
    from scipy.stats import qmc  # half a second to import: only sampled designs need it

    sampler = qmc.LatinHypercube(d=dims, seed=np.random.default_rng(seed)) if method == "lhs" \
        else qmc.Sobol(d=dims, scramble=True, seed=np.random.default_rng(seed))
    with warnings.catch_warnings():  # a count not a power of 2: the plan says so, in one line
        warnings.simplefilter("ignore", UserWarning)
        return sampler.random(count)


def design_size(experiment: Experiment) -> int:
    """How many points ``expand`` would make, counted without making them."""
    grid = math.prod(len(a.values or []) for a in experiment.axes if a.values is not None)
    return grid * (experiment.samples if any(a.sampled for a in experiment.design_axes) else 1)


def expand(experiment: Experiment) -> list[DesignPoint]:
    """Every design point of the experiment, grid axes varying slowest-last."""
    grid_axes = [a for a in experiment.axes if not a.sampled]
    range_axes = [a for a in experiment.design_axes if a.sampled]
    grid = list(itertools.product(*(range(len(a.values or [])) for a in grid_axes)))
    samples = unit_samples(experiment.sampling, experiment.samples if range_axes else 1,
                           len(range_axes), experiment.seed)
    points: list[DesignPoint] = []
    for combo in grid:
        for row in samples:
            labels: dict[str, Scalar] = {}
            values: dict[str, Any] = {}
            for axis, index in zip(grid_axes, combo, strict=True):
                value = (axis.values or [])[index]
                labels[axis.name] = value
                values[axis.path] = value
                values.update(tied_values(axis, value, index))
            for axis, u in zip(range_axes, row, strict=True):
                value = scale_unit(axis, float(u))
                labels[axis.name] = value
                values[axis.path] = value
                values.update(tied_values(axis, value, None))
            points.append(DesignPoint(len(points), labels, values))
    return points


def same_value(value: object, wanted: object) -> bool:
    """``value == wanted``, with one date however written ("2026-01" is "2026-01-01")."""
    if value == wanted:
        return True
    return isinstance(value, str) and isinstance(wanted, str) and same_date(value, wanted)


def baseline_point(experiment: Experiment, points: list[DesignPoint]) -> DesignPoint:
    """The point named by ``baseline`` (scenario paths or axis labels), else the first."""
    if not experiment.baseline:
        return points[0]
    for point in points:
        if all(same_value(point.values.get(k, point.axes.get(k)), v) for k, v in experiment.baseline.items()):
            return point
    names = {name for point in points for name in (*point.axes, *point.values)}
    unknown = [key for key in experiment.baseline if key not in names]
    if unknown:
        axes = ", ".join(dict.fromkeys(name for point in points[:1] for name in point.axes)) or "none"
        raise ValueError(f"{', '.join(map(repr, unknown))}: no axis has this label or path (axes: {axes})")
    for key, wanted in experiment.baseline.items():
        seen = list(dict.fromkeys(point.values.get(key, point.axes.get(key)) for point in points))
        if not any(same_value(value, wanted) for value in seen):
            shown = ", ".join(map(repr, seen[:8])) + (", ..." if len(seen) > 8 else "")
            raise ValueError(f"{key} = {wanted!r} is none of the values the design gives it ({shown})")
    raise ValueError(f"no design point has baseline {experiment.baseline}")
