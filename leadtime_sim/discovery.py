"""Scenario discovery: which combinations of a sweep's inputs leave a gap open by a date.

PRIM, the Patient Rule Induction Method (Friedman and Fisher 1999, as EMA Workbench uses it
for scenario discovery; Bryant and Lempert 2010): a box over the swept inputs is peeled, a
slice of ``alpha`` of its runs at a time off the low or high end of one input (or one
category of a text input), always the slice whose removal leaves the highest share of
runs with the outcome of concern (the *density*), until the box would hold less than
``min_support`` of all runs. Each box of the trajectory has a density, a *coverage* (the
share of all runs with the outcome that it holds) and a *support* (its share of all
runs); a planner takes the box that says most for what it covers. The one chosen here is
the widest-covering box with a density of at least ``density``, else the densest. Each
limit of that box has a quasi-p-value (one-sided binomial test of the box's density
against that of the box without the limit): a large one says the limit adds little.
No pasting step (boxes are not regrown after peeling).

Every run counts (its replications share a point's inputs); a run that failed does not;
the outcome of concern is "not closed by the date" (a run not closed by the end counts).
Dates are peeled as months; text values (a policy, say) by category. This is done on a
stored sweep: a sampled design (Latin hypercube, Sobol', or a sensitivity analysis's
points) is what it is for; a grid of a few values per input gives boxes on those values.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.errors import InputError
from leadtime_sim.io import safe_name
from leadtime_sim.results import Results

ANSWERS = "discovery.json"
"""A store's answers, one per requirement and date (``<requirement>@<YYYY-MM>``)."""
ALPHA = 0.05
MIN_SUPPORT = 0.05
DENSITY = 0.8
P_MAX = 0.05
"""A limit of the chosen box with a larger quasi-p-value is dropped (``pruned``)."""


@dataclass(frozen=True)
class Limit:
    """One input restricted by a box: ``low``-``high`` (numbers; dates as months from
    start) or ``kept`` categories, against the input's full range; its quasi-p-value."""

    input: str
    low: float | None = None
    high: float | None = None
    kept: tuple[str, ...] | None = None
    full: tuple[Any, ...] = ()
    p_value: float = math.nan


@dataclass(frozen=True)
class Box:
    """A box of the peeling trajectory (``step`` 0: every run)."""

    step: int
    mask: np.ndarray
    density: float
    coverage: float
    support: float

    @property
    def runs(self) -> int:
        return int(self.mask.sum())


def inputs_table(results: Results) -> pd.DataFrame:
    """The swept inputs of each ok run (one column an axis that varies between points): dates
    as months from start, numbers as they are, anything else as text."""
    if results.kind != "sweep" or results.experiment is None:
        raise InputError([f"{results.directory}: is not a sweep store (scenario discovery needs a "
                          "sweep's runs)"])
    if "optimize" in (results.manifest.get("experiment") or {}):
        raise InputError([f"{results.directory}: is an optimize store (each design has the runs the search "
                          "gave it, not a sample of the inputs): run discover on a sweep store"])
    values = {p.point_id: p.axes for p in results.points}
    names = [a.name for a in results.experiment.design_axes]
    varying = [n for n in names if len({repr(v[n]) for v in values.values()}) > 1]
    if not varying:
        raise InputError([f"{results.directory}: its design varies no input (one point, or every point "
                          "alike): there is nothing to discover"])
    runs = results.ok_runs
    table = pd.DataFrame({n: [values[int(p)][n] for p in runs["point_id"]] for n in varying})
    for n in varying:
        column = table[n]
        if all(isinstance(v, str) and _is_month(v) for v in column):
            table[n] = [months_between(results.start, v) for v in column]
        elif not all(isinstance(v, int | float) and not isinstance(v, bool) for v in column):
            table[n] = column.astype(str)
    return table


def _is_month(text: str) -> bool:
    return len(text) >= 7 and text[4] == "-" and text[:4].isdigit() and text[5:7].isdigit()


def outcome(results: Results, requirement: str, by: str) -> np.ndarray:
    """1 for each ok run whose gap is not closed by ``by`` (not by the end included), else 0."""
    if requirement not in results.scenario.requirements:
        known = ", ".join(results.scenario.requirements) or "none"
        raise InputError([f"--requirement {requirement}: no such requirement (known: {known})"])
    column = f"gap_closed_months.{requirement}"
    runs = results.ok_runs
    if column not in runs.columns:
        raise InputError([f"{results.directory}: the runs hold no {column} (the experiment's metrics "
                          "leave it out)"])
    closed = runs[column].to_numpy(dtype=float)
    at = months_between(results.start, by)
    return (~(closed <= at)).astype(float)  # (NaN: not by the end, so not by the date)


def peel(x: pd.DataFrame, y: np.ndarray, alpha: float = ALPHA, min_support: float = MIN_SUPPORT) -> list[Box]:
    """The PRIM peeling trajectory of ``y`` (0 or 1 per row) over the columns of ``x``."""
    n, total = len(y), float(y.sum())
    if n == 0:
        return []
    columns = [(name, x[name].to_numpy()) for name in x.columns]
    mask = np.ones(n, bool)
    boxes = [_box(0, mask, y, total)]
    while boxes[-1].density < 1.0:
        best: tuple[float, int, np.ndarray] | None = None
        for _, values in columns:
            for removed in _candidates(values, mask, alpha):
                kept = mask & ~removed
                left = int(kept.sum())
                if left == 0 or left < min_support * n or left == int(mask.sum()):
                    continue
                density = float(y[kept].mean())
                if best is None or (density, left) > (best[0], best[1]):
                    best = (density, left, kept)
        if best is None:
            break
        mask = best[2]
        boxes.append(_box(len(boxes), mask, y, total))
    return boxes


def _box(step: int, mask: np.ndarray, y: np.ndarray, total: float) -> Box:
    inside = float(y[mask].sum())
    return Box(step, mask.copy(), inside / mask.sum(), inside / total if total else math.nan, mask.mean())


def _candidates(values: np.ndarray, mask: np.ndarray, alpha: float) -> list[np.ndarray]:
    """The peels of one input: the lowest and the highest ``alpha`` of the box's runs (at
    least one value's runs: ties go together), or each category of a text input."""
    inside = values[mask]
    if inside.dtype.kind in "OUS":
        return [mask & (values == c) for c in np.unique(inside)] if len(np.unique(inside)) > 1 else []
    unique, counts = np.unique(inside, return_counts=True)
    if len(unique) < 2:
        return []
    share = np.cumsum(counts) / len(inside)
    low = unique[max(0, int(np.searchsorted(share, alpha, side="right")) - 1)]
    high_share = np.cumsum(counts[::-1]) / len(inside)
    high = unique[::-1][max(0, int(np.searchsorted(high_share, alpha, side="right")) - 1)]
    return [mask & (values <= low), mask & (values >= high)]


def limits(x: pd.DataFrame, y: np.ndarray, box: Box) -> list[Limit]:
    """The inputs ``box`` restricts, with their quasi-p-values."""
    found = bounds(x, box)
    return [_with_p_value(x, y, box, limit, found) for limit in found]


def bounds(x: pd.DataFrame, box: Box) -> list[Limit]:
    """The inputs ``box`` restricts, without p-values (what the trajectory counts)."""
    found = []
    for name in x.columns:
        values = x[name].to_numpy()
        inside = values[box.mask]
        if values.dtype.kind in "OUS":
            kept = tuple(sorted(map(str, np.unique(inside))))
            every = tuple(sorted(map(str, np.unique(values))))
            if kept != every:
                found.append(Limit(name, kept=kept, full=every))
        elif inside.min() > values.min() or inside.max() < values.max():
            found.append(Limit(name, float(inside.min()), float(inside.max()),
                               full=(float(values.min()), float(values.max()))))
    return found


def _with_p_value(x: pd.DataFrame, y: np.ndarray, box: Box, limit: Limit, every: list[Limit]) -> Limit:
    """The limit's quasi-p-value: the box's runs with the outcome against the density of
    the box without this limit (the others kept)."""
    wider = np.ones(len(y), bool)
    for other in every:
        if other is not limit:
            wider &= _inside(x[other.input].to_numpy(), other)
    k, n = int(y[box.mask].sum()), box.runs
    p = float(stats.binomtest(k, n, min(max(float(y[wider].mean()), 1e-12), 1 - 1e-12),
                              alternative="greater").pvalue)
    return Limit(limit.input, limit.low, limit.high, limit.kept, limit.full, p)


def _inside(values: np.ndarray, limit: Limit) -> np.ndarray:
    if limit.kept is not None:
        return np.isin(values.astype(str), limit.kept)
    return (values >= limit.low) & (values <= limit.high)


def pruned(x: pd.DataFrame, y: np.ndarray, box: Box,
           p_max: float = P_MAX) -> tuple[Box, list[Limit], list[str]]:
    """``box`` without the limits that add little: while a limit's quasi-p-value is above
    ``p_max``, the one with the largest is dropped (its input takes its whole range again)
    and the others are tested again. Returns the box, its limits and the inputs dropped."""
    kept, dropped = limits(x, y, box), []
    while kept and max(lim.p_value for lim in kept) > p_max:
        worst = max(kept, key=lambda lim: lim.p_value)
        dropped.append(worst.input)
        mask = np.ones(len(y), bool)
        for lim in kept:
            if lim is not worst:
                mask &= _inside(x[lim.input].to_numpy(), lim)
        box = _box(box.step, mask, y, float(y.sum()))
        kept = [_with_p_value(x, y, box, lim, [k for k in kept if k is not worst]) for lim in kept
                if lim is not worst]
    return box, kept, dropped


def chosen(boxes: list[Box], density: float = DENSITY) -> Box:
    """The widest-covering box of at least ``density``, else the densest (the last)."""
    dense = [b for b in boxes if b.density >= density - 1e-12]
    return max(dense, key=lambda b: (b.coverage, -b.step)) if dense else boxes[-1]


def discover(results: Results, requirement: str, by: str, alpha: float = ALPHA,
             min_support: float = MIN_SUPPORT, density: float = DENSITY,
             p_max: float = P_MAX) -> dict[str, Any]:
    """Scenario discovery of "``requirement``'s gap not closed by ``by``" on a sweep store:
    the trajectory, the box chosen and its limits (``discovery.json``)."""
    x = inputs_table(results)
    y = outcome(results, requirement, by)
    if not len(y):
        raise InputError([f"{results.directory}: no run succeeded: there is nothing to discover"])
    boxes = peel(x, y, alpha, min_support)
    found = chosen(boxes, density)
    box, kept, dropped = pruned(x, y, found, p_max)
    dates = {n for n in x.columns if x[n].dtype.kind in "if" and _swept_dates(results, n)}
    return {
        "requirement": requirement, "by": by, "outcome": f"gap not closed by {by} (not by the end included)",
        "method": "PRIM peeling (Friedman and Fisher 1999), no pasting", "alpha": alpha,
        "min_support": min_support, "density_asked": density, "runs": len(y), "with_outcome": int(y.sum()),
        "share_with_outcome": float(y.mean()),
        "trajectory": [{"step": b.step, "density": b.density, "coverage": b.coverage, "support": b.support,
                        "runs": b.runs, "restricted": len(bounds(x, b))} for b in boxes],
        "found": _box_json(found, limits(x, y, found), dates, results.start),
        "box": {**_box_json(box, kept, dates, results.start), "p_max": p_max, "dropped": dropped},
    }


def _box_json(box: Box, kept: list[Limit], dates: set[str], start: str) -> dict[str, Any]:
    return {"step": box.step, "density": box.density, "coverage": box.coverage, "support": box.support,
            "runs": box.runs, "limits": [_limit_json(lim, lim.input in dates, start) for lim in kept]}


def _swept_dates(results: Results, name: str) -> bool:
    return any(isinstance(p.axes.get(name), str) for p in results.points)


def _limit_json(limit: Limit, is_date: bool, start: str) -> dict[str, Any]:
    if limit.kept is not None:
        return {"input": limit.input, "kept": list(limit.kept), "full": list(limit.full),
                "p_value": limit.p_value}
    shown = (lambda m: date_at(start, m)) if is_date else (lambda v: v)
    return {"input": limit.input, "low": shown(limit.low), "high": shown(limit.high),
            "full": [shown(v) for v in limit.full], "p_value": limit.p_value}


def discovery_text(answer: dict[str, Any], names: dict[str, str] | None = None) -> str:
    """The answer in words: the box, what it covers and holds, each limit with its p-value
    (the box before pruning when pruning left no limit)."""
    name = (names or {}).get(answer["requirement"], answer["requirement"])
    box, found = answer["box"], answer["found"]
    head = (f"{name}: not closed by {answer['by']} in {answer['with_outcome']} of {answer['runs']} runs "
            f"({answer['share_with_outcome']:.0%}).")
    if box["limits"]:
        dropped = box["dropped"]
        weak = (f" ({len(dropped)} weaker limit{'' if len(dropped) == 1 else 's'}, p > {box['p_max']:g}, "
                f"dropped: {', '.join(dropped)})") if dropped else ""
        return f"{head} Where {_box_words(box)}{weak}."
    if not found["limits"]:
        return head + " No box of the inputs holds a higher share of them than all the runs do."
    return (f"{head} No limit of the inputs is told apart from all the runs at p <= {box['p_max']:g}; the "
            f"box PRIM found (more runs would say whether it holds): where {_box_words(found)}.")


def _box_words(box: dict[str, Any]) -> str:
    parts = []
    for lim in sorted(box["limits"], key=lambda lim: lim["p_value"]):
        if "kept" in lim:
            parts.append(f"{lim['input']} in {', '.join(lim['kept'])} (p {lim['p_value']:.2g})")
        else:
            low, high = (f"{v:.4g}" if isinstance(v, float) else str(v) for v in (lim["low"], lim["high"]))
            parts.append(f"{lim['input']} {low} to {high} (of {_range(lim['full'])}; p {lim['p_value']:.2g})")
    return (f"{' and '.join(parts)}: {box['density']:.0%} of the runs are not closed (density), "
            f"{box['coverage']:.0%} of all not closed are there (coverage), in {box['support']:.0%} of the "
            "runs (support)")


def chart_file(kind: str, key: str) -> str:
    """The file name of a ``trajectory`` or ``box`` chart of the answer ``key`` (in charts/)."""
    return f"discovery-{kind}-{safe_name(key.replace('@', '-'), 'key')}.png"


def _range(full: list[Any]) -> str:
    low, high = (f"{v:.4g}" if isinstance(v, float) else str(v) for v in full)
    return f"{low} to {high}"


__all__ = ["ALPHA", "ANSWERS", "DENSITY", "MIN_SUPPORT", "P_MAX", "Box", "Limit", "chart_file", "chosen",
           "discover", "discovery_text", "inputs_table", "limits", "outcome", "peel", "pruned"]
