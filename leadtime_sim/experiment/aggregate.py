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


def points_table(runs: pd.DataFrame, points: Sequence[DesignPoint], targets: Mapping[str, float],
                 baseline_id: int) -> pd.DataFrame:
    """One row per design point and metric."""
    ok = runs[runs["status"] == "ok"]
    metrics = metric_columns(runs)
    base = ok[ok["point_id"] == baseline_id].set_index("replication")
    rows = []
    for point in points:
        mine = ok[ok["point_id"] == point.point_id]
        failed = int(((runs["point_id"] == point.point_id) & (runs["status"] != "ok")).sum())
        for metric in metrics:
            raw = mine[metric].to_numpy(dtype=float)
            x = np.where(np.isnan(raw), np.inf, raw)
            n = len(x)
            mean, std, low, high = mean_interval(x)
            row: dict[str, object] = {"point_id": point.point_id, **point.axes, "metric": metric,
                                      "n": n, "n_failed": failed,
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
            row.update(_paired(mine.set_index("replication")[metric], base[metric]
                               if metric in base else pd.Series(dtype=float)))
            rows.append(row)
    return pd.DataFrame(rows)


def _paired(mine: pd.Series, baseline: pd.Series) -> dict[str, float]:
    """Mean difference against the baseline over replications where both are defined."""
    both = pd.concat([mine.rename("a"), baseline.rename("b")], axis=1, join="inner").dropna()
    diff = (both["a"] - both["b"]).to_numpy(dtype=float)
    mean, _, low, high = mean_interval(diff)
    if len(diff) and np.all(diff == 0):
        low = high = 0.0
    return {"diff_vs_baseline_mean": mean, "diff_ci95_low": low, "diff_ci95_high": high,
            "diff_n_pairs": len(diff)}
