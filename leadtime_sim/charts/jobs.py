"""The chart builders: from typed results and one chart setting to drawing jobs - which
requirement, product, axes and points each file shows. Each is declared in
``charts/catalogue.py``.

Unset settings are chosen here: every requirement, the first axis on x and the second as
groups (other axes held at the baseline's values), the baseline and the best point.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import pandas as pd
from matplotlib.axes import Axes

from leadtime_sim.charts.catalogue import Job
from leadtime_sim.charts.choices import best_point, milestones
from leadtime_sim.comparisons import short_name
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.design import axes_text
from leadtime_sim.experiment.spec import Chart
from leadtime_sim.plotting.orders import lead_time_chart
from leadtime_sim.plotting.series import (
    backlog_chart,
    fan_chart,
    quoted_lead_time_chart,
    utilisation_chart,
)
from leadtime_sim.plotting.sweep import close_heatmap, gap_close_chart, probability_chart
from leadtime_sim.results import Results
from leadtime_sim.spread import pooled_cells, pooled_quantiles

CAPEX_LABEL = "capex of the swept investments ($M)"


def on_axes(draw: Callable[..., Any]) -> Callable[[list[Axes]], None]:
    """A job that draws on the figure's only axes."""
    def run(axes: list[Axes]) -> None:
        draw(ax=axes[0])
    return run


def _names(asked: list[str], known: list[str], what: str, results: Results) -> list[str]:
    wrong = [n for n in asked if n not in known]
    if wrong:
        raise InputError([f"{results.directory}: no {what} {n!r} (known: {', '.join(known)})" for n in wrong])
    return asked or known


def _scenario(results: Results) -> str:
    """The subtitle: the scenario's name, and for a single run which one it is."""
    if results.kind == "run" and results.provenance.estimate == "fluid":
        return f"{results.name} (fluid estimate: mean rates, no random draws)"
    if results.kind == "run":
        return (f"{results.name} (one run: seed {results.provenance.seed}, "
                f"replication {results.provenance.replication or 0})")
    return results.name


def _label(results: Results, requirement: str) -> str:
    """A requirement's name in chart titles: its description, cut (its id if none)."""
    return short_name(results, "requirement", requirement)


def _sweep_axes(results: Results, spec: Chart, second: str) -> tuple[str, str | None]:
    """(x, second axis): the settings, else the first axis and the next other one."""
    axes = results.axes
    if not axes:
        raise InputError([f"{results.directory}: the experiment has no axes to plot against"])
    x = spec.x or axes[0]
    other = getattr(spec, second)
    if other is None:
        skip = {x, results.capex_axis if x == "capex" else None}
        other = next((a for a in axes if a not in skip), None)
    return x, other


def _ran(results: Results) -> set[int]:
    """The design points with a successful run (optimize leaves some out unrun, an interrupted
    sweep may not have reached some, all of a point's runs may fail): the others have no
    statistics to draw, and never "not by end"."""
    stats = results.stats
    return set(stats.loc[stats["n"] > 0, "point_id"].astype(int))


def _sweep_rows(results: Results, keep: set[str | None]) -> pd.DataFrame:
    """points.csv with a capex column, other axes held at the baseline's values (in a
    sampled design, every point: no two share a value); points with no run left out.

    With capex on an axis, the axis capex follows (lines added, say) varies too.
    """
    if "capex" in keep:
        keep = keep | {results.capex_axis}
    rows = results.stats[results.stats["point_id"].isin(_ran(results))].copy()
    capex = {p.point_id: p.swept_capex_musd for p in results.points}
    rows["capex"] = rows["point_id"].map(capex).astype(float)
    base = results.point(results.baseline_id).axes
    for axis in [] if results.sampled else results.axes:
        if axis not in keep:
            rows = rows[rows[axis].astype(str) == str(base.get(axis))]
    return rows


def _held(results: Results, keep: set[str | None]) -> str:
    """The subtitle's note on the axes a chart does not show (``_sweep_rows`` holds them at
    the baseline's values): without it a chart of two of four axes reads as the whole
    design, and its best cell contradicts the report's best point."""
    if "capex" in keep:
        keep = keep | {results.capex_axis}
    base = results.point(results.baseline_id).axes
    held = {a: base.get(a) for a in ([] if results.sampled else results.axes) if a not in keep}
    return f"{axes_text(held)} (as at the baseline)" if held else ""


def _subtitle(results: Results, keep: set[str | None]) -> str:
    """The scenario, and the axes held at the baseline's values."""
    return "; ".join(part for part in (_scenario(results), _held(results, keep)) if part)


def _target(results: Results, spec: Chart, needed: bool) -> str | None:
    if spec.target or results.targets:
        return spec.target or results.targets[0]
    if needed:
        raise InputError([f"{results.directory}: chart {spec.chart!r} needs a target date "
                          "(the experiment has no targets)"])
    return None


def _capex_notes(results: Results, rows: pd.DataFrame, x: str) -> dict[float, str]:
    """``$500M`` under each value of the axis capex follows (when one value, one capex)."""
    if x != results.capex_axis or rows["capex"].isna().all():
        return {}
    per_value = rows.groupby(x)["capex"].agg(["min", "max"])
    if (per_value["min"] != per_value["max"]).any() or per_value["max"].max() == 0:
        return {}
    return {float(v): f"${c:,.0f}M" for v, c in per_value["max"].items()}


def _probability_targets(results: Results, spec: Chart) -> list[str]:
    """One probability chart per target (the one asked for, else each of the experiment's)."""
    if spec.target is not None:
        return [spec.target]
    if not results.targets:
        raise InputError([f"{results.directory}: chart 'probability' needs a target date "
                          "(the experiment has no targets)"])
    return results.targets


def gap_close_jobs(results: Results, spec: Chart) -> list[Job]:
    x, group = _sweep_axes(results, spec, "group")
    if results.sampled and spec.group is None:
        group = None  # every sampled point differs in every axis: one cloud of points
    rows = _sweep_rows(results, {x, group})
    xlabel = CAPEX_LABEL if x == "capex" else x
    notes = _capex_notes(results, rows, x)
    if notes:
        xlabel += " (swept capex below)"
    jobs = []
    for req in _names(spec.requirements, results.closing_requirements, "requirement", results):
        common: dict[str, Any] = {"x": x, "group": group, "scenario": _subtitle(results, {x, group}),
                                  "label": _label(results, req), "xlabel": xlabel, "tick_labels": notes,
                                  "connect": not results.sampled}
        if spec.chart == "gap_close":
            targets = results.targets if spec.target is None else [spec.target]
            draw: Callable[..., Axes] = partial(gap_close_chart, rows, req, start=results.start,
                                                end=results.end, target=targets, **common)
            jobs.append(Job(f"gap_close-{req}", 1, on_axes(draw)))
            continue
        for target in _probability_targets(results, spec):
            draw = partial(probability_chart, rows, req, target=target, **common)
            stem = f"probability-{req}" + (f"-{target}" if len(results.targets) > 1 else "")
            jobs.append(Job(stem, 1, on_axes(draw)))
    return jobs


def probability_jobs(results: Results, spec: Chart) -> list[Job]:
    return gap_close_jobs(results, spec)


def heatmap_jobs(results: Results, spec: Chart) -> list[Job]:
    x, y = _sweep_axes(results, spec, "y")
    if y is None:
        raise InputError([f"{results.directory}: a heatmap needs two axes"])
    rows = _sweep_rows(results, {x, y})
    target = _target(results, spec, spec.value == "probability")
    jobs = []
    for req in _names(spec.requirements, results.closing_requirements, "requirement", results):
        cells, label = rows, _label(results, req)
        if results.sampled and results.gap_rows(req).duplicated([x, y]).any():
            cells = pooled_cells(results, req, x, y)  # (rounded draws share cells: their runs pooled)
            label += " (each cell: the runs of its sampled points pooled)"
        draw = partial(close_heatmap, cells, req, x=x, y=y, start=results.start, end=results.end,
                       value=spec.value, target=target, scenario=_subtitle(results, {x, y}), label=label)
        suffix = "-probability" if spec.value == "probability" else ""
        jobs.append(Job(f"heatmap-{req}{suffix}", 1, on_axes(draw)))
    return jobs


def _points(results: Results, spec: Chart, requirement: str | None) -> list[int]:
    """The points asked for, else the baseline and the best point for ``requirement`` (or,
    if that is the baseline or no requirement is given, the point with the most capex)."""
    if results.kind == "run":
        return [0]
    known = [p.point_id for p in results.points]
    wrong = [p for p in spec.points if p not in known]
    if wrong:
        raise InputError([f"{results.directory}: no design point {p} (points 0-{max(known)})" for p in wrong])
    ran = _ran(results)
    unrun = [p for p in spec.points if p not in ran]
    if unrun:
        raise InputError([f"{results.directory}: design point {p} has no successful run to draw"
                          for p in unrun])
    if spec.points:
        return list(spec.points)
    chosen = [results.baseline_id]
    if requirement:
        chosen.append(best_point(results, requirement, results.targets[0] if results.targets else None))
    if len(set(chosen)) == 1:
        chosen.append(max(ran, key=lambda p: (results.point(p).swept_capex_musd, -p)))
    return [p for p in dict.fromkeys(chosen) if p in ran]


def _labels(results: Results, points: list[int], requirement: str | None = None,
            chosen: bool = False, series: tuple[str, str] | None = None) -> dict[int, str]:
    """Legend labels; with ``chosen`` (the points were picked, not asked for), each says why
    it is drawn: the best point for ``requirement`` or, when that is the baseline (or there is
    no requirement), the point with the most capex - and a point whose ``series`` (entity,
    name; default the requirement's) equal the baseline's says so, as its line is hidden."""
    if results.kind != "sweep":
        return {0: ""}
    labels = {p: results.point_label(p) for p in points}
    if not chosen or (requirement is None and series is None):
        return labels
    best = best_point(results, requirement, results.targets[0] if results.targets else None) \
        if requirement is not None else None
    base = results.baseline_id
    entity, name = series or ("requirement", str(requirement))
    rows = results.quantiles_of([*points, base])
    mine = rows[(rows["entity"] == entity) & (rows["name"] == name)] if not rows.empty else rows
    best_for = f" for {requirement}" if series is not None else ""  # (a product's: which requirement)
    for p in points:
        if p == base:
            continue
        same = not mine.empty and _same_series(mine, p, base)
        if p == best:
            why = f"best point{best_for}; the same as the baseline" if same else f"best point{best_for}"
        elif requirement is None:
            why = "most capex: the same as the baseline" if same else "most capex"
        else:  # (drawn for comparison: the baseline is the best point)
            why = (f"most capex: the same as the baseline, the best point{best_for}" if same
                   else f"most capex; the baseline is the best point{best_for}")
        labels[p] += f" ({why})"
    return labels


def _same_series(rows: pd.DataFrame, point: int, baseline: int) -> bool:
    """The point's quantile series equal the baseline's (lines drawn over one another)."""
    value_columns = ["field", "month", "p10", "p50", "p90"]
    a = rows[rows["point_id"] == point][value_columns].reset_index(drop=True)
    b = rows[rows["point_id"] == baseline][value_columns].reset_index(drop=True)
    return len(a) == len(b) > 0 and a.equals(b)


def fan_jobs(results: Results, spec: Chart) -> list[Job]:
    """Per requirement: the chosen points' bands; for a sampled design (unless points are
    asked for), one band pooled over the sampled points of each grid combination."""
    jobs = []
    for req in _names(spec.requirements, results.requirements, "requirement", results):
        if results.sampled and not spec.points:
            quantiles, labels = pooled_quantiles(results, req)
            draw = partial(fan_chart, quantiles, req, start=results.start, end=results.end,
                           points=sorted(labels), labels=labels, scenario=_scenario(results),
                           label=_label(results, req))
            jobs.append(Job(f"fan-{req}", 1, on_axes(draw)))
            continue
        points = _points(results, spec, req)
        product = results.scenario.requirements[req].product
        draw = partial(fan_chart, results.quantiles_of(points), req, start=results.start, end=results.end,
                       points=points,
                       labels=_labels(results, points, req, chosen=not spec.points),
                       milestones=milestones(results, product, points),
                       scenario=_scenario(results), label=_label(results, req))
        jobs.append(Job(f"fan-{req}", 1, on_axes(draw)))
    return jobs


def _products(results: Results, spec: Chart) -> list[str]:
    if results.kind == "run":
        known = list(dict.fromkeys(results.orders["product"]))
    else:
        known = list(dict.fromkeys(r.product for r in results.scenario.requirements.values()))
    return _names(spec.products, known, "product with orders", results)


def backlog_jobs(results: Results, spec: Chart) -> list[Job]:
    jobs = []
    for product in _products(results, spec):
        req = next((n for n, r in results.scenario.requirements.items() if r.product == product), None)
        points = _points(results, spec, req)
        labels = _labels(results, points, req, chosen=not spec.points, series=("product", product))
        common: dict[str, Any] = {"start": results.start, "points": points,
                                  "labels": labels, "scenario": _scenario(results),
                                  "name": short_name(results, "product", product)}

        def draw(axes: list[Axes], product: str = product, common: dict[str, Any] = common) -> None:
            series = results.quantiles_of(common["points"])
            backlog_chart(series, product, end=results.end, ax=axes[0], **common)
            quoted_lead_time_chart(series, product, end=results.end, ax=axes[1], title=False, **common)

        jobs.append(Job(f"backlog-{product}", 2, draw))
    return jobs


def lead_time_jobs(results: Results, spec: Chart) -> list[Job]:
    if results.kind != "run":
        raise InputError([f"{results.directory}: chart 'lead_time' needs a run's orders"])
    suffix = "-priority" if spec.by == "priority" else ""
    return [Job(f"lead_time-{product}{suffix}", 1, on_axes(partial(
                lead_time_chart, results.orders, start=results.start, end=results.end, product=product,
                by=spec.by, scenario=_scenario(results), label=short_name(results, "product", product))))
            for product in _products(results, spec)]


def utilisation_jobs(results: Results, spec: Chart) -> list[Job]:
    factories = results.scenario.factories
    products = list(results.scenario.products)  # the modeller's order: components after products
    order = sorted(factories, key=lambda n: products.index(factories[n].product))
    row_labels = {n: f"{n} ({factories[n].product})" for n in order}
    jobs = []
    for point in _points(results, spec, None):
        subtitle = results.point_label(point) if results.kind == "sweep" else ""
        draw = partial(utilisation_chart, results.quantiles_of([point]), start=results.start, end=results.end,
                       point=point,
                       period_months=spec.period_months or _period(results), row_labels=row_labels,
                       scenario=_scenario(results), subtitle=subtitle)
        stem = f"utilisation-point{point}" if results.kind == "sweep" else "utilisation"
        jobs.append(Job(stem, 1, on_axes(draw)))
    return jobs


def _period(results: Results) -> int:
    """Months per utilisation cell: a quarter up to a 10-year horizon, else half a year."""
    return 3 if results.horizon_months <= 120 else 6

