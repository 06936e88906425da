"""Aggregates per design point: quantiles, confidence intervals, probabilities, pairs.

"Not by end" (NaN in a run's metric) counts as later than any date: it enters quantiles
as +infinity and is written as an empty cell, and any mean that would include it is
undefined. ``share_not_by_end`` tells how many runs it concerns: a quantile q is "not by
end" exactly when share_not_by_end > 1 - q.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from leadtime_sim.experiment.design import DesignPoint

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


def mean_interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, std and the 95% t-interval of the mean (NaN where undefined)."""
    n = len(values)
    if n == 0 or not np.all(np.isfinite(values)):
        return math.nan, math.nan, math.nan, math.nan
    mean = float(np.mean(values))
    if n == 1:
        return mean, math.nan, math.nan, math.nan
    std = float(np.std(values, ddof=1))
    half = float(stats.t.ppf(0.975, n - 1)) * std / math.sqrt(n)
    return mean, std, mean - half, mean + half


def metric_columns(runs: pd.DataFrame) -> list[str]:
    return [c for c in runs.columns if c not in META_COLUMNS and not c.startswith("axis:")]


def _matrix(runs: pd.DataFrame, metric: str, point_ids: Sequence[int], replications: int
            ) -> np.ndarray:
    """Values of one metric as points x replications (NaN where no ok run; +inf = not by end)."""
    matrix = np.full((len(point_ids), replications), np.nan)
    row_of = {p: i for i, p in enumerate(point_ids)}
    rows = runs["point_id"].map(row_of).to_numpy()
    values = runs[metric].to_numpy(dtype=float)
    matrix[rows, runs["replication"].to_numpy()] = np.where(np.isnan(values), np.inf, values)
    return matrix


def points_table(runs: pd.DataFrame, points: Sequence[DesignPoint], targets: Mapping[str, float],
                 baseline_id: int) -> pd.DataFrame:
    """One row per design point and metric."""
    ok = runs[runs["status"] == "ok"]
    point_ids = [p.point_id for p in points]
    replications = int(runs["replication"].max()) + 1 if len(runs) else 0
    failed = runs[runs["status"] != "ok"].groupby("point_id").size()
    rows = []
    for metric in metric_columns(runs):
        matrix = _matrix(ok, metric, point_ids, replications)
        base = matrix[point_ids.index(baseline_id)]
        for i, point in enumerate(points):
            x = matrix[i][~np.isnan(matrix[i])]
            n = len(x)
            mean, std, low, high = mean_interval(x)
            row: dict[str, object] = {"point_id": point.point_id, **point.axes, "metric": metric,
                                      "n": n, "n_failed": int(failed.get(point.point_id, 0)),
                                      "share_not_by_end": float(np.mean(np.isinf(x))) if n else math.nan,
                                      "mean": mean, "std": std, "ci95_low": low, "ci95_high": high}
            for name, q in QUANTILES.items():
                value = float(np.quantile(x, q, method="inverted_cdf")) if n else math.nan
                row[name] = value if math.isfinite(value) else math.nan
            if metric.startswith("gap_closed_months."):
                for date, months in targets.items():
                    closed = int(np.sum(x <= months))
                    row[f"p_closed_by_{date}"] = closed / n if n else math.nan
                    row[f"p_closed_by_{date}_low"], row[f"p_closed_by_{date}_high"] = \
                        wilson_interval(closed, n)
            row.update(_paired(matrix[i], base))
            rows.append(row)
    table = pd.DataFrame(rows)
    return table.sort_values(["point_id"], kind="stable").reset_index(drop=True) if len(table) else table


def _paired(mine: np.ndarray, baseline: np.ndarray) -> dict[str, float]:
    """Mean difference against the baseline over replications where both are numbers
    (both ran, and neither is "not by end")."""
    both = np.isfinite(mine) & np.isfinite(baseline)
    diff = mine[both] - baseline[both]
    mean, _, low, high = mean_interval(diff)
    if len(diff) and np.all(diff == 0):
        low = high = 0.0
    return {"diff_vs_baseline_mean": mean, "diff_ci95_low": low, "diff_ci95_high": high,
            "diff_n_pairs": len(diff)}
