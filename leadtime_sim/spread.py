"""Close dates of a sampled design pooled over its uncertain inputs.

In a design that samples range axes or uncertain inputs, the sampled points are not
options to choose between but draws of what nobody knows: the answer a planner wants is
the spread of the close date over all of them (input uncertainty and simulation noise
together), and which input it moves with. Points are pooled by the values of the grid
axes (the decisions, if any); within a group every ok run counts once. A run not closed
by the end counts as later than any date (quantiles as in ``points.csv``).

Which inputs it moves with: the partial rank correlation coefficient (PRCC; Marino et al.
2008, the usual measure for Latin hypercube studies) of each sampled input with the
point's mean close month (a run not closed counted at the horizon), controlling for the
other inputs - so that an inert input that a small sample happens to correlate with an
influential one is not named. One value per point (its replications share its inputs),
tested with Student's t on n - 2 - (k - 1) degrees of freedom; inputs significant at 5%
are named, the strongest first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from leadtime_sim.dates import months_between
from leadtime_sim.experiment.aggregate import wilson_interval
from leadtime_sim.experiment.design import axes_text
from leadtime_sim.experiment.store import SeriesPart
from leadtime_sim.results import GAP_CLOSED, Results


@dataclass(frozen=True)
class Spread:
    """A requirement's close month pooled over one group of a sampled design's points."""

    group: dict[str, object]
    """The grid axes' values shared by the group (empty: no grid axes)."""
    points: int
    runs: int
    p10: float
    p50: float
    p90: float
    """Months from start; inf: not by end."""
    share_not_by_end: float
    p_closed: dict[str, tuple[float, float, float]]
    """Target date -> (share of runs closed by then, Wilson 95% interval)."""
    correlations: list[tuple[str, float]]
    """(sampled input, partial rank correlation) significant at 5%, the strongest first."""


def groups(results: Results) -> list[tuple[dict[str, object], list[int]]]:
    """(grid axes' values, the point ids sharing them) in design order."""
    assert results.experiment is not None
    grid = [a.name for a in results.experiment.axes if not a.sampled]
    found: dict[tuple[object, ...], list[int]] = {}
    for point in results.points:
        found.setdefault(tuple(point.axes[g] for g in grid), []).append(point.point_id)
    return [(dict(zip(grid, key, strict=True)), ids) for key, ids in found.items()]


def spreads(results: Results, requirement: str) -> list[Spread]:
    """One ``Spread`` per combination of the grid axes' values, in design order."""
    assert results.experiment is not None
    runs = results.ok_runs
    sampled = [a.name for a in results.experiment.design_axes if a.sampled]
    horizon = results.horizon_months
    column = GAP_CLOSED.column(requirement)
    targets = {d: months_between(results.start, d) for d in results.targets}
    out = []
    for group, ids in groups(results):
        mine = runs[runs["point_id"].isin(ids)]
        months = mine[column].to_numpy(dtype=float)
        x = np.where(np.isnan(months), np.inf, months)
        if not len(x):
            continue
        p10, p50, p90 = np.quantile(x, [0.1, 0.5, 0.9], method="inverted_cdf")
        closed = {d: _share(int(np.sum(x <= m)), len(x)) for d, m in targets.items()}
        means = mine.assign(y=np.minimum(x, horizon)).groupby("point_id")
        columns = [_numbers(means[f"axis:{name}"].first(), results.start) for name in sampled]
        inputs = np.column_stack(columns) if columns else np.zeros((len(ids), 0))
        found = [(name, rho) for name, (rho, p) in zip(sampled, prcc(inputs, means["y"].mean().to_numpy()),
                                                       strict=True) if p < 0.05]
        found.sort(key=lambda c: -abs(c[1]))
        out.append(Spread(group, len(ids), len(x), float(p10), float(p50),
                          float(p90), float(np.mean(np.isinf(x))), closed, found))
    return out


def pooled_cells(results: Results, requirement: str, x: str, y: str) -> pd.DataFrame:
    """A requirement's close month pooled over the runs of the points that share an (x, y)
    cell, in the columns of ``points.csv`` a heatmap reads (``p50``: NaN if not by end,
    ``share_not_by_end``, ``p_closed_by_<target>``, ``n``): the heatmap of a sampled design
    whose rounded inputs (integers, dates by month) put several draws in one cell."""
    runs = results.ok_runs
    column = GAP_CLOSED.column(requirement)
    targets = {d: months_between(results.start, d) for d in results.targets}
    rows = []
    for (xv, yv), cell in runs.groupby([f"axis:{x}", f"axis:{y}"], sort=False):
        months = cell[column].to_numpy(dtype=float)
        closes = np.where(np.isnan(months), np.inf, months)
        median = float(np.quantile(closes, 0.5, method="inverted_cdf"))
        rows.append({"metric": column, x: xv, y: yv, "n": len(closes), "points": cell["point_id"].nunique(),
                     "p50": median if math.isfinite(median) else math.nan,
                     "share_not_by_end": float(np.mean(np.isinf(closes))),
                     **{f"p_closed_by_{d}": float(np.mean(closes <= m)) for d, m in targets.items()}})
    return pd.DataFrame(rows)


def _numbers(values: pd.Series, start: str) -> np.ndarray:
    """An input's values as numbers: dates ("YYYY-MM") as months from the start."""
    if not pd.api.types.is_numeric_dtype(values):
        return np.array([months_between(start, str(v)) for v in values], dtype=float)
    return values.to_numpy(dtype=float)


def pooled_quantiles(results: Results, requirement: str,
                     fields: tuple[str, ...] = ("inventory_units", "required_units")
                     ) -> tuple[pd.DataFrame, dict[int, str]]:
    """A requirement's monthly series pooled over each group's runs, in the long form of a
    store's quantiles (``point_id`` = the group's number), and a legend label per group:
    the fan chart of a sampled design (its points are draws: the band is over all of them)."""
    runs = results.ok_runs
    wanted = {f"requirement|{requirement}|{f}" for f in fields}
    frames, labels = [], {}
    for number, (group, ids) in enumerate(groups(results)):
        series: dict[str, list[np.ndarray]] = {key: [] for key in wanted}
        for point_id in ids:
            ok = set(runs.loc[runs["point_id"] == point_id, "replication"].astype(int))
            folder = results.directory / "series_runs" / f"point={point_id:05d}"
            latest: dict[tuple[int, str], np.ndarray] = {}
            for file in sorted(folder.glob("*.parquet")):
                for rep, key, values in SeriesPart.read(file).rows(wanted):
                    if rep in ok:
                        latest[(rep, key)] = values
            for (_, key), values in latest.items():
                series[key].append(values)
        count = 0
        for key, stacks in series.items():
            if not stacks:
                continue
            months = min(len(v) for v in stacks)
            stack = np.vstack([v[:months] for v in stacks]).astype(float)
            q = np.quantile(np.where(np.isnan(stack), np.inf, stack), [0.1, 0.5, 0.9], axis=0,
                            method="inverted_cdf")
            q = np.where(np.isfinite(q), q, np.nan)
            entity, name, field = key.split("|")
            frames.append(pd.DataFrame({"point_id": number, "entity": entity, "name": name, "field": field,
                                        "month": np.arange(months), "p10": q[0], "p50": q[1], "p90": q[2]}))
            count = len(stacks)
        where = f"{axes_text(group)}: " if group else ""
        labels[number] = f"{where}pooled over {len(ids)} sampled points ({count} runs)"
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), labels


def prcc(inputs: np.ndarray, output: np.ndarray) -> list[tuple[float, float]]:
    """(partial rank correlation, two-sided p-value) of each column of ``inputs`` (rows:
    points) with ``output``, the other columns held; (0, 1) where it is undefined (too few
    points, an input or the output that does not vary once the others are held)."""
    n, k = inputs.shape
    dof = n - 2 - (k - 1)
    if dof < 1:
        return [(0.0, 1.0)] * k
    from scipy.stats import rankdata, t

    ranks = np.column_stack([rankdata(c) for c in inputs.T]) if k else np.zeros((n, 0))
    y = rankdata(output)
    result = []
    for i in range(k):
        others = np.column_stack([np.ones(n), np.delete(ranks, i, axis=1)])
        rx = ranks[:, i] - others @ np.linalg.lstsq(others, ranks[:, i], rcond=None)[0]
        ry = y - others @ np.linalg.lstsq(others, y, rcond=None)[0]
        sx, sy = float(np.linalg.norm(rx)), float(np.linalg.norm(ry))
        if sx < 1e-9 * n or sy < 1e-9 * n:
            result.append((0.0, 1.0))
            continue
        rho = float(np.clip(rx @ ry / (sx * sy), -1.0, 1.0))
        stat = rho * math.sqrt(dof / max(1 - rho * rho, 1e-300))
        result.append((rho, float(2 * t.sf(abs(stat), dof))))
    return result


def _share(successes: int, n: int) -> tuple[float, float, float]:
    low, high = wilson_interval(successes, n)
    return successes / n, low, high

