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

from leadtime_sim.experiment.design import DesignPoint
from leadtime_sim.metrics import metric_of

QUANTILES = {"p10": 0.1, "p50": 0.5, "p90": 0.9}
META_COLUMNS = ("point_id", "replication", "seed_key", "status", "error", "lots")


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval of a binomial proportion."""
    if n == 0:
        return math.nan, math.nan
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


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


def metric_columns(runs: pd.DataFrame) -> list[str]:
    return [c for c in runs.columns if c not in META_COLUMNS and not c.startswith("axis:")]


def _cube(runs: pd.DataFrame, metrics: list[str], point_ids: Sequence[int], replications: int
          ) -> np.ndarray:
    """Values as metrics x points x replications (NaN where no ok run; +inf = not by end)."""
    cube = np.full((len(metrics), len(point_ids), replications), np.nan)
    row_of = {p: i for i, p in enumerate(point_ids)}
    rows = runs["point_id"].map(row_of).to_numpy()
    values = runs[metrics].to_numpy(dtype=float)
    cube[:, rows, runs["replication"].to_numpy()] = np.where(np.isnan(values), np.inf, values).T
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


def _metric_table(matrix: np.ndarray, base: np.ndarray, by_target: bool, targets: Mapping[str, float]
                  ) -> dict[str, np.ndarray]:
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
    columns.update(_paired(matrix, base))
    return columns


def points_table(runs: pd.DataFrame, points: Sequence[DesignPoint], targets: Mapping[str, float],
                 baseline_id: int) -> pd.DataFrame:
    """One row per design point and metric."""
    metrics = metric_columns(runs)
    if not metrics or not points:
        return pd.DataFrame()
    ok = runs[runs["status"] == "ok"]
    point_ids = [p.point_id for p in points]
    replications = int(runs["replication"].max()) + 1 if len(runs) else 0
    failed = runs[runs["status"] != "ok"].groupby("point_id").size()
    n_failed = np.array([int(failed.get(p, 0)) for p in point_ids], dtype=np.int64)
    axes = {name: [p.axes[name] for p in points] for name in points[0].axes}
    cube = _cube(ok, metrics, point_ids, replications)
    baseline = point_ids.index(baseline_id)
    parts: list[dict[str, Any]] = []
    for matrix, metric in zip(cube, metrics, strict=True):
        columns = _metric_table(matrix, matrix[baseline], metric_of(metric).by_target, targets)
        n = columns.pop("n")
        parts.append({"point_id": point_ids, **axes, "metric": [metric] * len(points), "n": n,
                      "n_failed": n_failed, **columns})
    missing = np.full(len(points), np.nan)  # e.g. p_closed_by_* of metrics other than gap_closed
    names = dict.fromkeys(name for part in parts for name in part)
    table = pd.DataFrame({name: _stack([part.get(name, missing) for part in parts]) for name in names})
    return table.sort_values(["point_id"], kind="stable").reset_index(drop=True)


def _stack(parts: list[Any]) -> Any:
    """One column from its metrics' parts: arrays joined, lists of values (axes) chained."""
    if all(isinstance(part, np.ndarray) for part in parts):
        return np.concatenate(parts)
    return [value for part in parts for value in part]


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
