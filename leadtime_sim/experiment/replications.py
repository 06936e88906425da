"""How many replications a study needs: the confidence-interval method with look-ahead of
Hoad, Robinson and Davies (2010, "Automated selection of the number of replications for a
discrete-event simulation", JORS 61(11)), on every design point of an experiment.

For a point and a metric, ``d_n`` is the half-width of the 95% interval of the metric's mean
over the first ``n`` replications (Student's t), relative to the mean's size. The answer is
the smallest ``n`` (at least ``MIN_REPLICATIONS``) with ``d_n`` within the precision asked
that stays within it over the next ``f(kLimit, n)`` replications (``look_ahead``): a single
lucky ``d_n`` does not end the search. The study needs the largest answer over its points and
metrics. ``P(closed by a date)`` metrics are told by the Wilson interval's half-width, an
absolute precision (a probability near 0 has no useful relative one); ``half_width`` makes
the others absolute too, in the metric's unit.

The replications run are a sweep store of the experiment, grown in rounds by ``sweep
--resume --replications N`` (the runs of a store grown so are those of a fresh sweep of N),
so the answer does not depend on how many runs a round adds, and the store can be reported
on or extended like any other.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from leadtime_sim.dates import months_between
from leadtime_sim.experiment.aggregate import wilson_interval
from leadtime_sim.experiment.design import axes_text
from leadtime_sim.experiment.integrity import read_manifest
from leadtime_sim.experiment.runner import Plan, Progress, run_plan
from leadtime_sim.experiment.sensitivity import run_values

MIN_REPLICATIONS = 3
LOOK_AHEAD = 5
"""kLimit of the method: how many more replications must confirm a precision reached."""
CONFIDENCE = 0.95
METHOD = ("Hoad, Robinson and Davies (2010): the confidence-interval method with look-ahead; a "
          "precision reached at n replications counts once it holds for the next f(kLimit, n) = kLimit "
          "(n <= 100) or floor(kLimit n / 100) replications")


def look_ahead(n: int, k_limit: int = LOOK_AHEAD) -> int:
    """f(kLimit, n): replications after ``n`` that must confirm its precision."""
    return k_limit if n <= 100 else math.floor(k_limit * n / 100)


@dataclass(frozen=True)
class Target:
    """The precision asked: ``precision``, the half-width relative to the mean (and, for a
    ``p_closed`` metric, the absolute half-width of its probability); ``half_width``: an
    absolute half-width in each other metric's unit instead (None: relative)."""

    precision: float = 0.05
    half_width: float | None = None
    k_limit: int = LOOK_AHEAD

    def limit(self, metric: str) -> float:
        if metric.startswith("p_closed.") or self.half_width is None:
            return self.precision
        return self.half_width

    def kind(self, metric: str) -> str:
        if metric.startswith("p_closed."):
            return "absolute (Wilson interval of the probability)"
        return "relative to the mean" if self.half_width is None else "absolute (metric's unit)"


def precision_path(values: np.ndarray, target: Target, metric: str) -> np.ndarray:
    """``d_n`` for n = 1 .. len(values) (NaN below 2: no interval; inf: a relative precision
    of a mean of 0 that varies)."""
    n = np.arange(1, len(values) + 1, dtype=float)
    if metric.startswith("p_closed."):
        successes = np.cumsum(values)
        return np.array([(hi - lo) / 2 for lo, hi in
                         (wilson_interval(int(s), int(k)) for s, k in zip(successes, n, strict=True))])
    mean = np.cumsum(values) / n
    shifted = values - values[0]  # (sums of squares about the first value: no cancellation)
    sq = np.cumsum(shifted ** 2) - n * (mean - values[0]) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.maximum(sq, 0.0) / (n - 1))
        half = stats.t.ppf(0.5 + CONFIDENCE / 2, n - 1) * sd / np.sqrt(n)
        half[0] = np.nan
        if target.half_width is not None:
            return half
        d = half / np.abs(mean)
    d[(half == 0) & (np.abs(mean) == 0)] = 0.0
    return d


def solution(d: np.ndarray, limit: float, k_limit: int = LOOK_AHEAD) -> int | None:
    """The smallest n >= MIN_REPLICATIONS with ``d_n`` and the next ``look_ahead(n)`` values
    within ``limit`` (None: not found in the replications there are)."""
    within = d <= limit + 1e-12
    for n in range(MIN_REPLICATIONS, len(d) + 1):
        if within[n - 1]:
            end = n + look_ahead(n, k_limit)
            if end > len(d):
                return None
            if within[n - 1:end].all():
                return n
    return None


def next_count(n: int, worst: float, limit: float, most: int, k_limit: int = LOOK_AHEAD) -> int:
    """The replications of the next round: where the worst precision would reach the limit if
    it shrinks as one over the root of the runs, and its look-ahead; at least ``n + k_limit``,
    at most twice ``n`` and ``most``."""
    projected = n * (worst / limit) ** 2 if math.isfinite(worst) and limit > 0 else 2 * n
    wanted = math.ceil(projected) + look_ahead(math.ceil(projected), k_limit)
    return min(most, max(n + k_limit, min(2 * n, wanted)))


@dataclass(frozen=True)
class Answer:
    """One point's and metric's answer: the replications it needs (None: not found by the
    replications run), and its mean and ``d`` there (or at the replications run)."""

    point_id: int
    metric: str
    replications: int | None
    mean: float
    precision: float
    path: np.ndarray
    """``d_n`` for n = 1 .. the replications run."""


def answers(plan: Plan, runs: pd.DataFrame, metrics: Sequence[str], target: Target) -> list[Answer]:
    """Each point's and metric's answer from the runs (replication order)."""
    horizon = months_between(plan.scenario.start, plan.scenario.end)
    found = []
    for metric in metrics:
        values = run_values(runs, metric, horizon, plan.scenario.start)
        for point in plan.points:
            y = values[values["point_id"] == point.point_id].sort_values("replication")["y"].to_numpy()
            d = precision_path(y, target, metric)
            n = solution(d, target.limit(metric), target.k_limit)
            at = (n or len(y)) - 1
            found.append(Answer(point.point_id, metric, n, float(np.mean(y[:at + 1])) if len(y) else math.nan,
                                float(d[at]) if len(y) else math.nan, d))
    return found


def advise(plan: Plan, out: Path, metrics: Sequence[str], target: Target, most: int, first: int = 10,
           executor: str = "process", workers: int | None = None, resume: bool = False, force: bool = False,
           overrides: Sequence[str] = (), progress: Progress | None = None) -> tuple[list[Answer], int]:
    """Run rounds of replications into the store at ``out`` until every point's and metric's
    answer is found or ``most`` replications are run; return the answers and the replications
    run. ``first``: the first round's (at least MIN_REPLICATIONS + kLimit); a resumed store
    starts from those it holds."""
    n = min(max(first, MIN_REPLICATIONS + target.k_limit), most)
    if resume and (out / "manifest.json").is_file():  # (a store never shrinks: start from what it holds)
        n = max(n, int(read_manifest(out / "manifest.json").get("replications", 0)))
    while True:
        experiment = plan.experiment.model_copy(update={"replications": n})
        round_plan = dataclasses.replace(plan, experiment=experiment)
        store = run_plan(round_plan, out, executor, workers, None, resume, force, overrides, progress)
        resume, force = True, False
        found = answers(round_plan, store.runs_frame(), metrics, target)
        open_ = [a for a in found if a.replications is None]
        if not open_ or n >= most:
            return found, n
        worst = max(a.precision / target.limit(a.metric) for a in open_)
        n = next_count(n, worst, 1.0, most, target.k_limit)


def summary(plan: Plan, found: list[Answer], target: Target, run: int, most: int) -> dict[str, Any]:
    """The answer as ``replications.json`` holds it."""
    needed = [a.replications for a in found]
    points = {p.point_id: p.axes for p in plan.points}
    return {
        "experiment": plan.experiment.name,
        "method": METHOD,
        "confidence": CONFIDENCE,
        "precision": target.precision,
        "half_width": target.half_width,
        "look_ahead": target.k_limit,
        "replications_run": run,
        "max_replications": most,
        "recommended": None if None in needed or not needed else max(n for n in needed if n is not None),
        "not_by_end": ("a months metric with no value (a gap not closed by the end) is counted at the "
                       f"horizon ({plan.scenario.end})"),
        "answers": [{"point_id": a.point_id, "axes": points[a.point_id], "metric": a.metric,
                     "replications": a.replications, "mean": _number(a.mean),
                     "precision": _number(a.precision), "limit": target.limit(a.metric),
                     "kind": target.kind(a.metric)} for a in found],
    }


def replications_text(answer: dict[str, Any]) -> str:
    """The answer in words: the replications the study needs, then per metric its worst point."""
    lines = []
    metrics = list(dict.fromkeys(a["metric"] for a in answer["answers"]))
    for metric in metrics:
        mine = [a for a in answer["answers"] if a["metric"] == metric]
        worst = max(mine, key=lambda a: (a["replications"] is None, a["replications"] or 0))
        named = worst["axes"]
        where = f"point {worst['point_id']}" + (f" ({axes_text(named)})" if named else "")
        need = "not reached" if worst["replications"] is None else f"{worst['replications']}"
        open_ = sum(a["replications"] is None for a in mine)
        left = f"; {open_} of {len(mine)} points not reached" if open_ else ""
        mean, there = (f"{v:.4g}" if v is not None else "n/a" for v in (worst["mean"], worst["precision"]))
        lines.append(f"  {metric}: {need} at {where}, mean {mean}, precision there {there}{left}")
    recommended = answer["recommended"]
    head = (f"{recommended} replications a point reach the precision asked for every metric"
            if recommended is not None else
            f"the precision asked is not reached by {answer['replications_run']} replications at some points "
            "(raise --max-replications, or ask less)")
    run = f"{answer['replications_run']} run; look-ahead {answer['look_ahead']}"
    return "\n".join([f"{head} ({run}):", *lines])


def _number(x: float) -> float | None:
    return x if math.isfinite(x) else None


__all__ = ["CONFIDENCE", "LOOK_AHEAD", "METHOD", "MIN_REPLICATIONS", "Answer", "Target", "advise", "answers",
           "look_ahead", "next_count", "precision_path", "replications_text", "run_values", "solution",
           "summary"]
