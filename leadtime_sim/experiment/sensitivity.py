"""``sensitivity``: which uncertain input moves a metric most (SALib: Sobol or Morris).

The uncertain inputs are the experiment's range axes (any scenario path; dates by month,
integers rounded; tied values follow) and its ``[[uncertain]]`` inputs (a distribution per
path). SALib samples them - Saltelli's scheme for Sobol indices, N (p + 2) points without
second-order terms; Morris trajectories, N (p + 1) points - in the unit square of each
uncertain input, mapped through its quantile function: Sobol's points as they are, Morris's
levels onto the middles of equally likely bins (levels 0, 1/3, 2/3, 1 are the quantiles
1/8, 3/8, 5/8, 7/8), since the ends of an unbounded distribution are infinite. Grid axes
stay at the baseline's values, and every point runs the experiment's
replications under common random numbers, into a results store like a sweep's (resumable,
any executor, the same bits for a seed). A point's output is the mean over its
replications; the indices come with bootstrap confidence intervals. A Morris step of a
rounded range axis (integers, dates by month) need not move it by the design's step (over
[1, 3] the levels 1, 5/3, 7/3, 3 run as 1, 2, 2, 3): its elementary effects are the output
change over the change the runs actually made, in units of the range (as SALib's are for
the other inputs), and steps that left it where it was are dropped.

Metrics are run metrics (``gap_closed_months.<requirement>``, ``quoted_lead_time_months.
<product>``, ``max_gap_units.<requirement>``, ``capex_musd``, ...). "Not by end" is handled
explicitly: a month metric with no value is censored at the horizon (counted as closing at
the end), and ``p_closed.<requirement>@YYYY-MM`` is the share of replications closed by a
date. ``noise_share`` says how much of the variance of the point means is simulation noise
rather than input: the noise that differs between points (under common random numbers a
replication's noise is partly common to every point, which moves every mean alike), measured
by the residual of the points x replications table (``_differing_noise``), over the
replications; with one replication per point it cannot be told (``noise_share_note`` says so).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy.stats import norm

from leadtime_sim.dates import months_after, months_between
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.design import DesignPoint, scale_unit, tied_values, whole_months
from leadtime_sim.experiment.runner import Plan, plugin_folders, point_patches
from leadtime_sim.experiment.spec import Axis
from leadtime_sim.metrics import METRICS, customer_products
from leadtime_sim.plugins import NO_PLUGINS, load_plugins

log = logging.getLogger(__name__)

Method = Literal["sobol", "morris"]
SOBOL_COLUMNS = ["input", "metric", "S1", "S1_lo", "S1_hi", "ST", "ST_lo", "ST_hi"]
MORRIS_COLUMNS = ["input", "metric", "mu", "mu_star", "mu_star_lo", "mu_star_hi", "sigma"]
MORRIS_LEVELS = 4
NOISE_NOT_ESTIMATED = "not estimated (one replication per point)"
"""The noise share with no point run twice: no replications' variance to measure it by."""
NOISE_NOT_SHARED = "not estimated (fewer than two replications succeeded at every point)"
"""The noise share when runs failed so that no two replications are whole at every point."""
OUTSIDE_TOLERANCE = 0.005
"""Sobol indices further than this outside [0, 1] (so that they print, to 2 decimals,
outside it) get a caution (``sobol_caution``)."""
MORRIS_RESAMPLES = 100
"""Bootstrap resamples of mu* (SALib's default, which it uses for the other inputs)."""


@dataclass(frozen=True)
class Study:
    """A sensitivity analysis: the method, its base sample count and the metrics."""

    method: Method = "sobol"
    samples: int = 64
    metrics: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        """What the store's identity holds of it (the metrics are read after the runs)."""
        return {"sensitivity": {"method": self.method, "samples": self.samples}}


def inputs_of(plan: Plan) -> list[Axis]:
    """The uncertain inputs: the experiment's range axes and ``[[uncertain]]`` inputs."""
    axes = [a for a in plan.experiment.design_axes if a.sampled]
    if not axes:
        raise InputError([f"{plan.experiment_path}: no uncertain inputs: a sensitivity analysis "
                          "needs axes with range = [low, high] or [[uncertain]] inputs with a distribution"])
    return axes


def _bounds(axis: Axis) -> tuple[float, float]:
    """The axis range as numbers (dates as months from the low end); an uncertain input's
    unit interval."""
    if axis.distribution is not None:
        return 0.0, 1.0
    assert axis.range is not None
    low, high = axis.range
    if isinstance(low, str):  # whole months, so that Morris's rounded levels stay within it
        return 0.0, float(max(whole_months(str(low), str(high)), 1))
    return float(low), float(high)


def _months(axis: Axis) -> float:
    """The whole months a date range holds after its low end (inf for numbers): the most a
    rounded coordinate may take (a range of less than a month: its low end only)."""
    assert axis.range is not None
    low, high = axis.range
    return float(whole_months(str(low), str(high))) if isinstance(low, str) else math.inf


def _value(axis: Axis, x: float, method: Method) -> Any:
    """The scenario value of a design coordinate (module docstring). A rounded range axis
    (integers, dates by month) under Sobol takes each whole number (month) in its range
    alike, as a sweep samples it (``scale_unit``): rounding the coordinate would give its
    two ends half the weight of the others (1, 2, 3 as 1/4, 1/2, 1/4 over [1, 3]) and so
    understate its variance share. Morris's levels are rounded (``_morris_steps``)."""
    if axis.distribution is not None:
        u = (0.5 + x * (MORRIS_LEVELS - 1)) / MORRIS_LEVELS if method == "morris" else x
        return scale_unit(axis, u)
    assert axis.range is not None
    if method == "sobol" and _rounded(axis):  # each whole number (month) as likely, as a sweep's
        start, stop = _bounds(axis)
        return scale_unit(axis, (x - start) / (stop - start))
    low = axis.range[0]
    if isinstance(low, str):
        return months_after(str(low), round(min(x, _months(axis))))
    return round(x) if axis.integer else float(x)


def _rounded(axis: Axis) -> bool:
    """A range axis whose runs take rounded values (``_value``: integers, dates by month), so
    a Morris step may move it by more or less than the design's step, or not at all."""
    return axis.distribution is None and axis.range is not None and (
        axis.integer or isinstance(axis.range[0], str))


def _morris_steps(axes: list[Axis], matrix: np.ndarray, j: int) -> tuple[np.ndarray, np.ndarray]:
    """Input ``j``'s step in each Morris trajectory: (the index of the row after it, how far it
    moved the value the runs took, in the input's units)."""
    size = len(axes) + 1  # points per trajectory; each step moves one input
    x = matrix[:, j].reshape(-1, size)
    # as _value rounds (half to even, as round())
    ran = np.round(np.minimum(x, _months(axes[j]))) if _rounded(axes[j]) else x
    trajectory, step = np.nonzero(np.diff(x, axis=1))
    return trajectory * size + step + 1, np.diff(ran, axis=1)[trajectory, step]


def _morris_rounded(axes: list[Axis], matrix: np.ndarray, y: np.ndarray, j: int,
                    rng: np.random.Generator) -> dict[str, float]:
    """SALib's statistics of a rounded input's elementary effects, each the output change over
    the input change the runs made in units of its range; steps it did not move are dropped
    (NaN when none is left)."""
    after, moved = _morris_steps(axes, matrix, j)
    low, high = _bounds(axes[j])
    keep = moved != 0
    effects = (y[after] - y[after - 1])[keep] * (high - low) / moved[keep]
    if not effects.size:
        return dict.fromkeys(("mu", "mu_star", "sigma", "mu_star_conf"), float("nan"))
    draws = rng.integers(effects.size, size=(MORRIS_RESAMPLES, effects.size))
    resampled = np.abs(effects[draws]).mean(axis=1)
    return {"mu": float(np.mean(effects)), "mu_star": float(np.mean(np.abs(effects))),
            "sigma": float(np.std(effects, ddof=1)) if effects.size > 1 else float("nan"),
            "mu_star_conf": float(norm.ppf(0.5 + 0.95 / 2) * resampled.std(ddof=1))}


def _one_level(axis: Axis) -> Any:
    """The value of an uncertain input whose four Morris levels (its 1/8 to 7/8 quantiles)
    are all one value (a discrete or rounded distribution: empirical 1, 2, 3 weighted 0.1,
    0.8, 0.1 is 2 at each), else None: no step of the design moves it."""
    if axis.distribution is None:
        return None
    values = {_value(axis, level / (MORRIS_LEVELS - 1), "morris") for level in range(MORRIS_LEVELS)}
    return values.pop() if len(values) == 1 else None


def morris_notes(axes: list[Axis], study: Study, matrix: np.ndarray) -> list[str]:
    """What ``sensitivity.json`` says of rounded inputs whose Morris steps did not all move
    them (steps dropped, or none left: no effect estimated), and of uncertain inputs whose
    levels are all one value."""
    if study.method != "morris":
        return []
    notes = []
    for j, axis in enumerate(axes):
        if (value := _one_level(axis)) is not None:
            notes.append(f"{axis.name}: its four levels (the 1/8 to 7/8 quantiles of its distribution) "
                         f"are all {value}, so no step of the design moved it: its effects are not estimated")
        if not _rounded(axis):
            continue
        _, moved = _morris_steps(axes, matrix, j)
        still = int(np.count_nonzero(moved == 0))
        if still == moved.size:
            notes.append(f"{axis.name}: no step of the design moved it (range {axis.range} rounded to "
                         "whole units): its effects are not estimated")
        elif still:
            notes.append(f"{axis.name}: {still} of {moved.size} steps did not move it (rounded to whole "
                         "units) and are left out of its effects")
    return notes


def problem_of(axes: list[Axis]) -> dict[str, Any]:
    return {"num_vars": len(axes), "names": [a.name for a in axes],
            "bounds": [list(_bounds(a)) for a in axes]}


def sample(axes: list[Axis], study: Study, seed: int) -> np.ndarray:
    """SALib's design in the inputs' units (rows: points)."""
    problem = problem_of(axes)
    if study.method == "sobol":
        from SALib.sample import sobol

        if study.samples & (study.samples - 1):  # (scipy's own UserWarning says it raw, on stderr)
            below = 1 << (study.samples.bit_length() - 1)
            log.warning(f"--samples {study.samples} is not a power of 2: Sobol' points lose their "
                        f"balance and the indices converge more slowly ({below} or {2 * below} keep it)")
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The balance properties of Sobol' points")
            return np.asarray(sobol.sample(problem, study.samples, calc_second_order=False, seed=seed))
    from SALib.sample import morris

    return np.asarray(morris.sample(problem, study.samples, num_levels=MORRIS_LEVELS, seed=seed))


def sensitivity_plan(plan: Plan, study: Study) -> tuple[Plan, np.ndarray]:
    """The plan of the analysis (its points: SALib's design, grid axes at the baseline) and
    the design matrix."""
    axes = inputs_of(plan)
    matrix = sample(axes, study, plan.experiment.seed)
    grid_axes = [a for a in plan.experiment.axes if not a.sampled]
    fixed = {a.path: plan.baseline.values[a.path] for a in grid_axes}
    fixed_labels = {a.name: plan.baseline.axes[a.name] for a in grid_axes}
    for axis in grid_axes:
        if axis.values is not None:
            fixed |= tied_values(axis, plan.baseline.axes[axis.name], list(axis.values).index(
                plan.baseline.axes[axis.name]))
    points = []
    for k, row in enumerate(matrix):
        labels, values = dict(fixed_labels), dict(fixed)
        for axis, x in zip(axes, row, strict=True):
            value = _value(axis, float(x), study.method)
            labels[axis.name] = value
            values[axis.path] = value
            values |= tied_values(axis, value, None)
        points.append(DesignPoint(k, labels, values))
    plugins = (load_plugins(plan.experiment.plugins, plugin_folders(plan.experiment_path))
               if plan.experiment.plugins else NO_PLUGINS)
    patches, problems = point_patches(str(plan.experiment_path), plan.experiment, plan.scenario, points,
                                      plugins, plan.context.limits)
    if problems:
        raise InputError(sorted(set(problems), key=problems.index)[:50])
    return dataclasses.replace(plan, points=points, baseline=points[0], patches=patches), matrix


def default_metrics(plan: Plan) -> tuple[str, ...]:
    return tuple(f"gap_closed_months.{r}" for r in plan.scenario.requirements)


def check_metrics(plan: Plan, metrics: tuple[str, ...]) -> None:
    """Each metric names a run metric and a subject the scenario has (InputError)."""
    subjects = {"requirement": list(plan.scenario.requirements), "product": list(plan.scenario.products),
                "customer": customer_products(plan.scenario)}
    if not metrics:  # the default (every requirement's close) is empty: nothing to analyse
        examples = [f"quoted_lead_time_months.{p}" for p in list(plan.scenario.products)[:2]] + ["capex_musd"]
        raise InputError([f"{plan.experiment_path}: the scenario has no requirements, so there is no "
                          "default metric (every requirement's gap_closed_months); give --metric, e.g. "
                          f"{', '.join(examples)}"])
    problems = []
    for name in metrics:
        if name.startswith("p_closed."):
            requirement, _, date = name.removeprefix("p_closed.").partition("@")
            if requirement not in plan.scenario.requirements:
                problems.append(f"--metric {name}: no requirement {requirement!r}")
            elif not date:
                problems.append(f"--metric {name}: give the date, p_closed.<requirement>@YYYY-MM")
            else:
                try:
                    at = months_between(plan.scenario.start, date)
                except ValueError as exc:
                    problems.append(f"--metric {name}: {exc}")
                else:  # as the experiment's targets are told (runner._warn_targets)
                    if at > months_between(plan.scenario.start, plan.scenario.end):
                        log.warning(f"--metric {name}: {date} is after the horizon's end "
                                    f"({plan.scenario.end}): P(closed by it) is P(closed by the end)")
                    elif at < 0:
                        log.warning(f"--metric {name}: {date} is before the horizon's start "
                                    f"({plan.scenario.start})")
            continue
        base, _, subject = name.partition(".")
        if base not in METRICS:
            problems.append(f"--metric {name}: unknown metric (metrics: {', '.join(METRICS)}, "
                            "each followed by .<requirement or product>, or p_closed.<requirement>@YYYY-MM)")
            continue
        per = METRICS[base].per
        if per == "run" and subject:
            problems.append(f"--metric {name}: {base} is one number per run (no subject)")
        elif per != "run" and subject not in subjects[per]:
            known = ", ".join(subjects[per]) or "none"
            what = f"no {per} {subject!r} in the scenario" if subject else f"give the {per}, {base}.<{per}>"
            problems.append(f"--metric {name}: {what} (known: {known})")
    kept = plan.context.metrics  # the experiment's `metrics`: the runs record only these
    for name in metrics:
        column = (f"gap_closed_months.{name.removeprefix('p_closed.').partition('@')[0]}"
                  if name.startswith("p_closed.") else name)
        if kept and not column.startswith(kept):
            problems.append(f"--metric {name}: {plan.experiment_path}: metrics = {list(kept)} does not "
                            f"record {column}")
    if problems:
        raise InputError(problems)


def run_values(runs: pd.DataFrame, metric: str, horizon_months: float, start: str) -> pd.DataFrame:
    """``point_id``, ``replication`` and ``y`` (the metric) of the successful runs: a
    ``p_closed.<requirement>@YYYY-MM`` as 1 or 0; a months metric with no value (a gap not
    closed by the end) censored at the horizon (counted as ``horizon_months``). Also what
    ``replications`` reads."""
    ok = runs[runs["status"] == "ok"]
    if metric.startswith("p_closed."):
        requirement, _, date = metric.removeprefix("p_closed.").partition("@")
        closed = ok[f"gap_closed_months.{requirement}"]
        values = (closed.notna() & (closed <= months_between(start, date))).astype(float)
    else:
        if metric not in ok.columns:
            raise InputError([f"--metric {metric}: no such column in the runs (is the subject right?)"])
        values = ok[metric].astype(float)
        if values.isna().any():
            if not METRICS[metric.split(".", 1)[0]].unit.startswith("months"):
                raise InputError([f"--metric {metric}: some runs have no value (only a months metric is "
                                  "counted at the horizon); it cannot be analysed"])
            values = values.fillna(horizon_months)  # censored at the horizon (module docstring)
    return pd.DataFrame({"point_id": ok["point_id"].to_numpy(), "replication": ok["replication"].to_numpy(),
                         "y": values.to_numpy()})


def outputs(runs: pd.DataFrame, metric: str, points: int, horizon: float,
            start: str) -> tuple[np.ndarray, float | None, str | None]:
    """(the metric per point: the mean over its ok replications, the noise share, why there
    is none). No share when the point means do not vary at all (no note: no input moves it)
    or no point has two ok replications (``NOISE_NOT_ESTIMATED``)."""
    values = run_values(runs, metric, horizon, start)
    frame = values.rename(columns={"point_id": "point"})
    grouped = frame.groupby("point")["y"]
    means = grouped.mean().reindex(range(points)).to_numpy()
    if np.isnan(means).any():
        raise InputError([f"{metric}: some points have no successful run"])
    # (np.ptp, not the variance: the variance of equal floats can come out at 1e-28)
    total = float(np.var(means, ddof=1)) if points > 1 and np.ptp(means) > 0 else 0.0
    if total == 0:  # every point gives the same mean: no input moves it, nothing to split
        return means, None, None
    if grouped.size().max() < 2:  # no replications' variance: 0 would claim no noise
        return means, None, NOISE_NOT_ESTIMATED
    noise = _differing_noise(frame)
    if noise is None:
        return means, None, NOISE_NOT_SHARED
    reps = float(grouped.size().mean())
    return means, min(1.0, noise / reps / total), None


def _differing_noise(frame: pd.DataFrame) -> float | None:
    """The variance of the noise that differs between points, per run: the residual mean square
    of the points x replications table (two-way, no interaction term), over the replications
    every point has (None: fewer than two).

    Under common random numbers replication r draws the same streams at every point, so part
    of its noise is common to all points; that part shifts every point mean alike and is no
    part of their spread. With noise n_pr (independent over r), the spread of the point means
    over R replications holds E[MS_res] / R of noise, MS_res = sum (y_pr - y_p. - y_.r + y_..)^2
    / ((P - 1)(R - 1)); the replications' own variance at a point (the estimate until
    2026-12-03) holds the common part too, and so overstated the noise."""
    table = frame.pivot_table(index="point", columns="replication", values="y", aggfunc="first")
    table = table.dropna(axis=1)  # (a replication failed at some point: left out of this estimate)
    p, r = table.shape
    if r < 2 or p < 2:
        return None
    y = table.to_numpy(dtype=float)
    residual = y - y.mean(axis=1, keepdims=True) - y.mean(axis=0, keepdims=True) + y.mean()
    return float((residual ** 2).sum() / ((p - 1) * (r - 1)))


def analyse(axes: list[Axis], study: Study, matrix: np.ndarray, y: np.ndarray, metric: str,
            seed: int) -> pd.DataFrame:
    """The indices of one metric, one row per input (``SOBOL_COLUMNS`` or ``MORRIS_COLUMNS``)."""
    problem = problem_of(axes)
    names = [a.name for a in axes]
    if float(np.ptp(y)) == 0.0:  # a metric no input moves: every index is zero
        zero = np.zeros(len(axes))
        result = {"S1": zero, "S1_conf": zero, "ST": zero, "ST_conf": zero,
                  "mu": zero, "mu_star": zero, "mu_star_conf": zero, "sigma": zero}
    elif study.method == "sobol":
        from SALib.analyze import sobol

        result = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
    else:
        from SALib.analyze import morris

        result = morris.analyze(problem, matrix, y, num_levels=MORRIS_LEVELS, seed=seed)
    fixed = [j for j, axis in enumerate(axes) if study.method == "morris" and _one_level(axis) is not None]
    if study.method == "morris" and (fixed or any(map(_rounded, axes))):
        result = {k: np.array(result[k], dtype=float) for k in ("mu", "mu_star", "sigma", "mu_star_conf")}
        for j in (j for j, axis in enumerate(axes) if _rounded(axis)):
            for key, value in _morris_rounded(axes, matrix, y, j, np.random.default_rng([seed, j])).items():
                result[key][j] = value
        for j in fixed:  # (no step moved it: no effect measured, which is not "no effect")
            for key in ("mu", "mu_star", "sigma", "mu_star_conf"):
                result[key][j] = np.nan
    if study.method == "sobol":
        return pd.DataFrame({"input": names, "metric": metric,
                             "S1": result["S1"], "S1_lo": result["S1"] - result["S1_conf"],
                             "S1_hi": result["S1"] + result["S1_conf"],
                             "ST": result["ST"], "ST_lo": result["ST"] - result["ST_conf"],
                             "ST_hi": result["ST"] + result["ST_conf"]})[SOBOL_COLUMNS]
    # mu* is a mean of absolute values (>= 0): the normal bootstrap interval is cut at 0
    return pd.DataFrame({"input": names, "metric": metric, "mu": result["mu"], "mu_star": result["mu_star"],
                         "mu_star_lo": np.maximum(0.0, np.asarray(result["mu_star"])
                                                  - np.asarray(result["mu_star_conf"])),
                         "mu_star_hi": np.asarray(result["mu_star"]) + np.asarray(result["mu_star_conf"]),
                         "sigma": result["sigma"]})[MORRIS_COLUMNS]


def sobol_caution(rows: pd.DataFrame) -> str | None:
    """A caution for Sobol indices (one metric's rows) outside [0, 1], where no index can be:
    sampling error, too few samples (or replications) for them to have settled. None when
    every index lies within it (to the printed 2 decimals). An interval reaching past 0 or 1
    is no caution: it says the index cannot be told from 0 (an inert input) or 1."""
    outside = []
    for row in rows.itertuples():
        for key in ("S1", "ST"):
            value = getattr(row, key)
            if value < -OUTSIDE_TOLERANCE or value > 1 + OUTSIDE_TOLERANCE:
                outside.append(f"{key} of {row.input} is {value:.2f}")
    if not outside:
        return None
    return (f"{' and '.join(outside)}, outside [0, 1] where no index can be: sampling error, "
            "the indices have not settled; raise --samples (and --replications if the noise "
            "share is large)")


def indices(plan: Plan, study: Study, matrix: np.ndarray,
            runs: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``sensitivity.csv`` (every metric) and ``sensitivity.json`` (the settings, the inputs,
    each metric's noise share and how "not by end" was counted)."""
    axes = inputs_of(plan)
    if not study.metrics:  # (one line, not pandas' "No objects to concatenate")
        check_metrics(plan, study.metrics)
    scenario = plan.scenario
    horizon = months_between(scenario.start, scenario.end)
    tables, metrics = [], {}
    for metric in dict.fromkeys(study.metrics):  # (a metric named twice: its rows once)
        y, noise, noise_note = outputs(runs, metric, len(matrix), horizon, scenario.start)
        table = analyse(axes, study, matrix, y, metric, plan.experiment.seed)
        tables.append(table)
        ok = runs.loc[runs["status"] == "ok", metric] if metric in runs else pd.Series(dtype=float)
        open_runs = int(ok.isna().sum())  # (a failed run has no value either: not "not by end")
        metrics[metric] = {"noise_share": noise, "noise_share_note": noise_note,
                           "mean": float(np.mean(y)), "sd": float(np.std(y, ddof=1)),
                           "not_by_end": (f"censored at the horizon ({scenario.end}, {horizon:g} months): "
                                          f"{open_runs} of {ok.size} runs ({open_runs / ok.size:.0%})")
                           if open_runs else None,
                           "share_not_by_end": open_runs / ok.size if ok.size else None,
                           "caution": sobol_caution(table) if study.method == "sobol" else None}
    summary = {"method": study.method, "samples": study.samples, "points": len(matrix),
               "replications": plan.experiment.replications,
               "inputs": [_input_record(a) for a in axes],
               "metrics": metrics, "notes": morris_notes(axes, study, matrix)}
    return pd.concat(tables, ignore_index=True), summary


def share_text(share: float) -> str:
    """A noise share in words: a share that rounds to 0% but is not 0 is "under 1%" (0.4%
    printed as 0% read as no noise at all)."""
    return "under 1%" if 0 < share < 0.005 else f"{share:.0%}"


def _input_record(axis: Axis) -> dict[str, Any]:
    """An input as ``sensitivity.json`` states it: its range or its distribution."""
    record: dict[str, Any] = {"input": axis.name, "path": axis.path}
    if axis.distribution is not None:
        return record | {"distribution": axis.distribution.model_dump(by_alias=True)}
    return record | {"range": list(axis.range or [])}


def text(table: pd.DataFrame, summary: dict[str, Any]) -> str:
    """The indices in words, the most influential input first, per metric."""
    lines = [f"{summary['method']}: {summary['points']} points x {summary['replications']} replications"]
    lines += [f"note: {note}" for note in summary.get("notes", [])]
    key = "ST" if summary["method"] == "sobol" else "mu_star"
    for metric, info in summary["metrics"].items():
        rows = table[table["metric"] == metric].sort_values(key, ascending=False)
        noise = (f"noise {info['noise_share_note']}" if info.get("noise_share_note")
                 else "no input moves it" if info["noise_share"] is None
                 else f"noise {share_text(info['noise_share'])} of the variance")
        censored = f"; not by end {info['not_by_end']}" if info["not_by_end"] else ""
        lines.append(f"{metric} ({noise}{censored}):")
        if info.get("caution"):
            lines.append(f"  caution: {info['caution']}")
        for row in rows.itertuples():
            if summary["method"] == "sobol":
                lines.append(f"  {row.input}: S1 = {row.S1:.2f} [{row.S1_lo:.2f}, {row.S1_hi:.2f}], "
                             f"ST = {row.ST:.2f} [{row.ST_lo:.2f}, {row.ST_hi:.2f}]")
            elif np.isnan(row.mu_star):
                lines.append(f"  {row.input}: not estimated (no step of the design moved it)")
            else:
                lines.append(f"  {row.input}: mu* = {row.mu_star:.3g} [{row.mu_star_lo:.3g}, "
                             f"{row.mu_star_hi:.3g}], sigma = {row.sigma:.3g}")
    return "\n".join(lines)

