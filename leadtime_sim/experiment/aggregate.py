"""Aggregates per design point: quantiles, confidence intervals, probabilities, pairs.

"Not by end" (NaN in a run's metric) counts as later than any date: it enters quantiles
as +infinity and is written as an empty cell, and any mean that would include it is
undefined. ``share_not_by_end`` tells how many runs it concerns: a quantile q is "not by
end" exactly when share_not_by_end > 1 - q.

The table is computed a metric at a time, for all points at once (it is rewritten at every
flush); each point's statistics are those of its own values, in replication order, so they
are the same bits as one point at a time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.experiment.design import DesignPoint
from leadtime_sim.metrics import metric_of

QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
META_COLUMNS = ("point_id", "replication", "seed_key", "status", "error", "lots")


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion (it ends exactly at 0 with no
    successes and at 1 with no failures; rounding would leave it a hair inside)."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    lo = 0.0 if successes == 0 else max(0.0, centre - half)
    hi = 1.0 if successes == n else min(1.0, centre + half)
    return lo, hi


@lru_cache(maxsize=1024)
def t_quantile(dof: int) -> float:
    """The 97.5% quantile of Student's t with ``dof`` degrees of freedom (cached: slow).

    ``stdtrit`` is what ``scipy.stats.t.ppf`` calls, to the bit, without importing
    ``scipy.stats`` (half a second: sweeps start faster, and so do Dask workers)."""
    return float(special.stdtrit(dof, 0.975))


def mean_interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, std and the 95% t-interval of the mean (NaN where undefined)."""
    n = len(values)
    if n == 0 or not np.all(np.isfinite(values)):
        return math.nan, math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    if n == 1:
        return mean, math.nan, math.nan, math.nan
    std = float(np.std(values, ddof=1))
    half = t_quantile(n - 1) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


LABEL_PREFIX = "limited_by."
"""Columns of labels, not numbers (what limits a gap): summarised by their most frequent value."""


def metric_columns(runs: pd.DataFrame) -> list[str]:
    return [c for c in runs.columns
            if c not in META_COLUMNS and not c.startswith(("axis:", LABEL_PREFIX))]


def label_summaries(runs: pd.DataFrame, point_ids: Sequence[int]) -> dict[str, list[str]]:
    """Per label column, per point: its most frequent value among the ok runs and its share,
    ``capacity (73%)`` (ties: the value first in sorted order); empty without runs."""
    ok = runs[runs["status"] == "ok"]
    result: dict[str, list[str]] = {}
    for column in sorted(c for c in runs.columns if c.startswith(LABEL_PREFIX)):
        by_point = ok.groupby("point_id")[column]
        summary = {}
        for point, values in by_point:
            counts = values.dropna().value_counts()
            if len(counts):
                top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
                summary[int(point)] = f"{top[0]} ({top[1] / counts.sum():.0%})"
        result[column] = [summary.get(p, "") for p in point_ids]
    return result


def _cube(runs: pd.DataFrame, metrics: list[str], point_ids: Sequence[int]) -> np.ndarray:
    """Values as metrics x points x replications (NaN where no ok run; +inf = not by end).
    A column per replication number that has a run, in order: common random numbers pair
    the points' runs of one number, and numbers can be sparse (``optimize``'s fresh
    replications start at 1,000,000), so the cube is as wide as the numbers used, not as
    the largest."""
    numbers, column = np.unique(runs["replication"].to_numpy(), return_inverse=True)
    cube = np.full((len(metrics), len(point_ids), len(numbers)), np.nan)
    row_of = {p: i for i, p in enumerate(point_ids)}
    rows = runs["point_id"].map(row_of).to_numpy()
    values = runs[metrics].to_numpy(dtype=float)
    cube[:, rows, column] = np.where(np.isnan(values), np.inf, values).T
    return cube


def _groups(matrix: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Rows grouped by their count of numbers: (row indices, their numbers in order), the
    numbers of a group as a rows x count matrix."""
    present = ~np.isnan(matrix)
    order = np.argsort(~present, axis=1, kind="stable")  # numbers first, in replication order
    packed = np.take_along_axis(matrix, order, axis=1)
    counts = present.sum(axis=1)
    groups = []
    for n in np.unique(counts):
        rows = np.flatnonzero(counts == n)
        groups.append((rows, packed[rows, :n]))
    return groups


def _intervals(matrix: np.ndarray) -> dict[str, np.ndarray]:
    """``mean_interval`` of each row's numbers (NaN = missing), with their count ``n``."""
    size = len(matrix)
    out = {name: np.full(size, np.nan) for name in ("mean", "std", "low", "high")}
    out["n"] = np.zeros(size, dtype=np.int64)
    for rows, x in _groups(matrix):
        n = x.shape[1]
        out["n"][rows] = n
        finite = np.isfinite(x).all(axis=1)  # a mean with "not by end" in it is undefined
        if n == 0 or not finite.any():
            continue
        rows, x = rows[finite], x[finite]
        mean = np.mean(x, axis=1)
        out["mean"][rows] = mean
        if n > 1:
            std = np.std(x, axis=1, ddof=1)
            half = t_quantile(n - 1) * std / math.sqrt(n)
            out["std"][rows], out["low"][rows], out["high"][rows] = std, mean - half, mean + half
    return out


def _metric_table(matrix: np.ndarray, base: np.ndarray, by_target: bool, targets: Mapping[str, float],
                  horizon: float | None = None) -> dict[str, np.ndarray]:
    """The statistics columns of one metric (points x replications) for every point."""
    interval = _intervals(matrix)
    n = interval["n"]
    share = np.full(len(matrix), np.nan)
    quantiles = {name: np.full(len(matrix), np.nan) for name in QUANTILES}
    closed = {date: np.zeros(len(matrix), dtype=np.int64) for date in targets}
    for rows, x in _groups(matrix):
        if not x.shape[1]:
            continue
        share[rows] = np.mean(np.isinf(x), axis=1)
        q = np.quantile(x, list(QUANTILES.values()), axis=1, method="inverted_cdf")
        for k, name in enumerate(QUANTILES):
            quantiles[name][rows] = np.where(np.isfinite(q[k]), q[k], np.nan)
        for date, months in targets.items():
            closed[date][rows] = np.sum(x <= months, axis=1)
    columns: dict[str, np.ndarray] = {"n": n, "share_not_by_end": share, "mean": interval["mean"],
                                      "std": interval["std"], "ci95_low": interval["low"],
                                      "ci95_high": interval["high"], **quantiles}
    if by_target:
        for date in targets:
            pairs = list(zip(closed[date].tolist(), n.tolist(), strict=True))
            columns[f"p_closed_by_{date}"] = np.array([c / k if k else math.nan for c, k in pairs])
            columns[f"p_closed_by_{date}_low"], columns[f"p_closed_by_{date}_high"] = \
                np.array([wilson_interval(c, k) for c, k in pairs]).T
    if by_target and horizon is not None:
        columns.update(_paired_censored(matrix, base, horizon))
        for date, months in targets.items():
            columns.update(_paired_proportions(matrix, base, months, f"diff_p_closed_by_{date}"))
    else:
        columns.update(_paired(matrix, base))
    return columns


def points_table(runs: pd.DataFrame, points: Sequence[DesignPoint], targets: Mapping[str, float],
                 baseline_id: int, start: str | None = None, end: str | None = None) -> pd.DataFrame:
    """One row per design point and metric. With the horizon (``start``, ``end``), date
    metrics get their quantiles as dates too, and their paired differences use every pair
    (close dates censored at the horizon) - see ``_paired_censored``."""
    horizon = months_between(start, end) if start and end else None
    metrics = metric_columns(runs)
    if not metrics or not points:
        return pd.DataFrame()
    ok = runs[runs["status"] == "ok"]
    point_ids = [p.point_id for p in points]
    failed = runs[runs["status"] != "ok"].groupby("point_id").size()
    n_failed = np.array([int(failed.get(p, 0)) for p in point_ids], dtype=np.int64)
    axes = {name: [p.axes[name] for p in points] for name in points[0].axes}
    cube = _cube(ok, metrics, point_ids)
    baseline = point_ids.index(baseline_id)
    parts: list[dict[str, Any]] = []
    for matrix, metric in zip(cube, metrics, strict=True):
        by_target = metric_of(metric).by_target
        columns = _metric_table(matrix, matrix[baseline], by_target, targets, horizon)
        if by_target and start and end:
            columns.update(_quantile_dates(columns, start, end))
        n = columns.pop("n")
        parts.append({"point_id": point_ids, **axes, "metric": [metric] * len(points), "n": n,
                      "n_failed": n_failed, **columns})
    missing = np.full(len(points), np.nan)  # e.g. p_closed_by_* of metrics other than gap_closed
    names = dict.fromkeys(name for part in parts for name in part)
    table = pd.DataFrame({name: _stack([part.get(name, missing) for part in parts]) for name in names})
    row_of = {p: i for i, p in enumerate(point_ids)}
    for column, values in label_summaries(runs, point_ids).items():  # the point's, on each of its rows
        table[column] = [values[row_of[p]] for p in table["point_id"]]
    return table.sort_values(["point_id"], kind="stable").reset_index(drop=True)


def _stack(parts: list[Any]) -> Any:
    """One column from its metrics' parts: arrays joined, lists of values (axes) chained."""
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts)
    return [value for part in parts for value in part]


def _quantile_dates(columns: Mapping[str, np.ndarray], start: str, end: str) -> dict[str, np.ndarray]:
    """``p10_date`` ...: each quantile as ``YYYY-MM``, or ``not by END`` where it is censored
    (empty for a point with no run)."""
    ran = (columns["n"] > 0).tolist()
    return {f"{name}_date": np.array([date_at(start, v) if np.isfinite(v) else f"not by {end}" if r else ""
                                      for v, r in zip(columns[name].tolist(), ran, strict=True)],
                                     dtype=object) for name in QUANTILES}


def _paired_censored(matrix: np.ndarray, baseline: np.ndarray, horizon: float) -> dict[str, np.ndarray]:
    """Mean difference against the baseline over every pair of runs, "not by end" counted at
    the horizon. Where a pair has a run not closed by the end, the difference of that pair is
    a bound (the point at least that much earlier, if the baseline did not close; at least
    that much later, if the point did not): ``diff_censored_pairs`` counts those pairs."""
    both = ~np.isnan(matrix) & ~np.isnan(baseline)
    censored = np.sum(both & (np.isinf(matrix) | np.isinf(baseline)), axis=1)
    return {**_paired(np.minimum(matrix, horizon), np.minimum(baseline, horizon)),
            "diff_censored_pairs": censored}


def newcombe_paired_interval(n11: int, n10: int, n01: int, n00: int, z: float = 1.959964
                             ) -> tuple[float, float, float]:
    """Difference p1 - p2 of two paired proportions and its 95% interval, Newcombe's (1998)
    method 10: Wilson intervals of each proportion, combined with the correlation of the
    pairs. ``n10``: pairs where only the first succeeds; ``n01``: only the second."""
    n = n11 + n10 + n01 + n00
    if n == 0:
        return math.nan, math.nan, math.nan
    p1, p2 = (n11 + n10) / n, (n11 + n01) / n
    l1, u1 = wilson_interval(n11 + n10, n, z)
    l2, u2 = wilson_interval(n11 + n01, n, z)
    cross: float = n11 * n00 - n10 * n01
    if cross > 0:
        cross = max(cross - n / 2, 0.0)
    spread = (n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)
    phi = cross / math.sqrt(spread) if spread > 0 else 0.0
    d = p1 - p2
    low = d - math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    high = d + math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return d, max(-1.0, low), min(1.0, high)


def _paired_proportions(matrix: np.ndarray, baseline: np.ndarray, months: float, name: str
                        ) -> dict[str, np.ndarray]:
    """P(closed by a date) at each point less the baseline's, over every pair of runs, with
    Newcombe's paired interval (``newcombe_paired_interval``)."""
    both = ~np.isnan(matrix) & ~np.isnan(baseline)
    mine, theirs = both & (matrix <= months), both & (baseline <= months)
    rows = []
    for x, m, t, b in zip(matrix, mine, theirs, both, strict=True):
        if b.any() and np.array_equal(x, baseline, equal_nan=True):  # the baseline itself: no difference
            rows.append((0.0, 0.0, 0.0))
            continue
        n11, n10, n01 = int(np.sum(m & t)), int(np.sum(m & ~t)), int(np.sum(~m & t & b))
        rows.append(newcombe_paired_interval(n11, n10, n01, int(b.sum()) - n11 - n10 - n01))
    d, low, high = np.array(rows, dtype=float).reshape(-1, 3).T
    return {name: d, f"{name}_low": low, f"{name}_high": high}


def _paired(matrix: np.ndarray, baseline: np.ndarray) -> dict[str, np.ndarray]:
    """Mean difference against the baseline over replications where both are numbers
    (both ran, and neither is "not by end"), for each row of ``matrix``."""
    both = np.isfinite(matrix) & np.isfinite(baseline)
    diff = np.subtract(matrix, baseline, out=np.full_like(matrix, np.nan), where=both)
    result = _intervals(diff)
    n = result["n"]
    zero = (n > 0) & np.all(np.where(both, diff == 0, True), axis=1)
    result["low"][zero] = result["high"][zero] = 0.0
    return {"diff_vs_baseline_mean": result["mean"], "diff_ci95_low": result["low"],
            "diff_ci95_high": result["high"], "diff_n_pairs": n}
