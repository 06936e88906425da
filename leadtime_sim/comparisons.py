"""What a planner compares in a sweep: the options side by side, and the bottleneck in words.

For a requirement, the options are the baseline and, at each capex level of the sweep, the
design with the earliest median close (ties: the first design point): what one more
tranche of money buys. Each gets one line with its close date, spread, P(closed by each
target), the share not closed, what limits it, and the paired difference against the
baseline. The bottleneck of a design is the factory that was busiest while the gap was
open, from the monthly utilisation medians, with the next one for comparison.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from leadtime_sim.charts.choices import supply_chain
from leadtime_sim.dates import date_at, months_between
from leadtime_sim.experiment.design import axes_text
from leadtime_sim.limits import limit_words
from leadtime_sim.results import Results

BUSY = 0.9
"""A factory busier than this while the gap was open is a bottleneck."""


def display_name(results: Results, kind: str, name: str) -> str:
    """A requirement's, product's or factory's description (its id if it has none)."""
    scenario = results.scenario
    tables: dict[str, Mapping[str, Any]] = {"requirement": scenario.requirements,
                                            "product": scenario.products, "factory": scenario.factories}
    table = tables[kind]
    item = table.get(name)
    description = getattr(item, "description", "") if item is not None else ""
    return description.strip().rstrip(".") or name


def short_name(results: Results, kind: str, name: str, limit: int = 60) -> str:
    """``display_name`` cut for a chart title: at its first colon or comma if longer than
    ``limit``, then at a word."""
    text = display_name(results, kind, name)
    for mark in (":", ", ", " ("):
        if len(text) > limit and mark in text:
            text = text.split(mark, 1)[0]
    if len(text) > limit:
        text = text[:limit].rsplit(" ", 1)[0] + "..."
    return text


def _month(results: Results, months: float) -> str:
    return date_at(results.start, months) if math.isfinite(months) else f"not by {results.end}"


ALL_OPTIONS = 12
"""When no axis changes the capex (a budget, a policy), up to this many points are all listed."""


def options(results: Results, requirement: str) -> list[int]:
    """The baseline, then per capex level the point with the earliest median close; when the
    axes change no capex (one level: a budget, an allocation policy), every point, in design
    order, if there are at most ``ALL_OPTIONS`` (else the earliest alone): the best of one
    level would hide what each budget or policy gives."""
    rows = results.gap_rows(requirement)
    capex = {p.point_id: p.swept_capex_musd for p in results.points}
    chosen = [results.baseline_id]
    by_level: dict[float, tuple[float, int]] = {}
    for _, row in rows.iterrows():
        point = int(row["point_id"])
        close = float(row["p50"]) if math.isfinite(float(row["p50"])) else math.inf
        level = round(capex.get(point, 0.0), 6)
        if level not in by_level or (close, point) < by_level[level]:
            by_level[level] = (close, point)
    if len(by_level) == 1 and len(rows) <= ALL_OPTIONS:
        return chosen + [int(p) for p in rows["point_id"] if int(p) != results.baseline_id]
    chosen += [point for _, (_, point) in sorted(by_level.items()) if point != results.baseline_id]
    return chosen


def option_line(results: Results, requirement: str, point_id: int) -> str:
    """``with lines added = 2, decided = 2026-01 ($1,000M): closes 2037-09 (P10 ..., P90 ...); ...``"""
    rows = results.gap_rows(requirement)
    row = rows[rows["point_id"] == point_id].iloc[0]
    point = results.point(point_id)
    values = axes_text(point.axes) or "the scenario as it is"
    swept = any(p.swept_capex_musd for p in results.points)  # (no axis buys lines: no capex to show)
    who = (" (baseline)" if point_id == results.baseline_id else
           f" (${point.swept_capex_musd:,.0f}M)" if swept else "")
    if not int(row["n"]):  # no run finished: no statistics, only why (its runs failed, or none ran)
        failed, errors = results.failures.get(point_id, (0, []))
        return f"with {values}{who}: " + (f"all {failed} runs failed ({errors[0] or 'no error recorded'})"
                                          if failed else "not run")
    share = float(row["share_not_by_end"])
    if math.isfinite(float(row["p50"])):
        text = (f"with {values}{who}: the gap closes in {_month(results, float(row['p50']))} "
                f"(P10 {_month(results, float(row['p10']))}, P90 {_month(results, float(row['p90']))})")
        if share > 0:
            text += f", {share:.0%} not by {results.end}"
    else:
        text = f"with {values}{who}: the gap is not closed by {results.end} in {share:.0%} of runs"
    for date in results.targets:
        column = f"p_closed_by_{date}"
        text += (f", P(closed by {date}) = {float(row[column]):.2f} "
                 f"[{float(row[column + '_low']):.2f}, {float(row[column + '_high']):.2f}]")
    limit = row.get(f"limited_by.{requirement}@{results.targets[0]}") if results.targets else None
    if isinstance(limit, str) and limit and not limit.startswith("closed"):
        label, _, how_often = limit.partition(" (")
        text += (f", limited by {limit_words(label)} ({how_often.rstrip(')')} of runs at "
                 f"{results.targets[0]})")
    if point_id != results.baseline_id:
        diff = float(row["diff_vs_baseline_mean"])
        count = int(row["diff_n_pairs"])
        pairs = f"(paired, all {count} runs)" if count != 1 else "(paired, 1 run)"
        if math.isfinite(diff) and abs(diff) < 0.05:
            text += f"; against the baseline: no earlier {pairs}"
        elif math.isfinite(diff):
            bound = "at least " if int(row.get("diff_censored_pairs", 0) or 0) else ""
            text += (f"; against the baseline: {bound}{abs(diff):.1f} months "
                     f"{'earlier' if diff < 0 else 'later'} {pairs}")
    return text


def bottleneck_text(results: Results, requirement: str, point_id: int) -> str:
    """``The bottleneck: Patriot fire-unit lines (busy 97% of the time while the gap was
    open), then ...`` from the median monthly utilisation of the factories of the product and
    its components while the median gap was open (until the first target, if any). A factory
    below 90% busy is still the bottleneck when the product's work waits in most of those
    months (stoppages, rework, lot sizes), as ``limits`` classes such months as capacity; when
    it was busy whenever work waited, the rest is months with nothing to start (the last units
    in integration and test), and it says that instead."""
    mine = results.quantiles_of([point_id])
    if mine.empty or "field" not in mine:
        return ""
    gap = mine[(mine["entity"] == "requirement") & (mine["name"] == requirement)
               & (mine["field"] == "gap_units")]
    open_months = set(gap.loc[gap["p50"] > 1e-9, "month"])
    if results.targets:  # up to the first target, as what limits the gap then
        first = months_between(results.start, results.targets[0])
        open_months = {m for m in open_months if m < first} or open_months
    if not open_months:
        return ""
    factories = mine[(mine["entity"] == "factory") & mine["month"].isin(open_months)]
    busy = factories[factories["field"] == "utilisation"]
    lines = factories[factories["field"] == "lines"]
    products = supply_chain(results, results.scenario.requirements[requirement].product)
    chain = {f for f, spec in results.scenario.factories.items() if spec.product in products}
    working = set(lines.loc[(lines["p50"] > 0) & lines["name"].isin(chain), "name"])
    usage: pd.Series = busy[busy["name"].isin(working)].groupby("name")["p50"].mean()
    usage = usage.sort_values(ascending=False, kind="stable")
    if usage.empty:
        return ""
    top = usage.index[0]
    text = (f"{display_name(results, 'factory', top)} ({top}): busy {usage.iloc[0]:.0%} of the time "
            "while the gap was open")
    product = results.scenario.requirements[requirement].product
    backlog = mine[(mine["entity"] == "product") & (mine["name"] == product)
                   & (mine["field"] == "backlog_units") & mine["month"].isin(open_months)]
    waiting = len(backlog) > 0 and float((backlog["p50"] > 0).mean()) >= 0.5
    waited = set(backlog.loc[backlog["p50"] > 0, "month"])
    busy_waiting = float(busy.loc[(busy["name"] == top) & busy["month"].isin(waited), "p50"].mean()) \
        if waited else math.nan
    if usage.iloc[0] < BUSY and waiting and busy_waiting >= BUSY:
        # (busy whenever work waited: the rest of the time nothing waited to start, as when the
        # last units are in integration and test - not stoppages, which idle lines with work)
        text += (f", and {busy_waiting:.0%} in the {len(waited)} months work waited to start; in the "
                 f"other {len(open_months) - len(waited)} nothing waited (units on order in "
                 "integration and test, or not yet ordered)")
    elif usage.iloc[0] < BUSY and waiting:  # (as the limits count it: work waits while lines stop)
        text += ", with work waiting: stoppages, rework and lot sizes take the rest"
    elif usage.iloc[0] < BUSY:
        text = (f"no factory is saturated; the busiest is {text}: the gap waits for orders or money "
                "rather than lines")
    if len(usage) > 1:
        text += f"; next {display_name(results, 'factory', usage.index[1])} ({usage.iloc[1]:.0%})"
    if usage.iloc[0] >= BUSY or waiting:
        return "The bottleneck: " + text + "."
    return text[0].upper() + text[1:] + "."


# -- the lead time a new order gets -----------------------------------------------------------

def _duration(months: float | None) -> str:
    """``10.0 y`` or ``7.5 mo``; ``not by end`` for None or NaN (a quantile past the horizon)."""
    if months is None or not math.isfinite(months):
        return "not by end"
    return f"{months / 12:.1f} y" if months >= 12 else f"{months:.1f} mo"


def _spread(row: pd.Series) -> str:
    """``10.0 y (P10 8.1 y, P90 11.2 y)`` from a points row; the P10-P90 only where they differ."""
    p10, p50, p90 = (float(row[q]) for q in ("p10", "p50", "p90"))
    if _duration(p10) == _duration(p90):
        return _duration(p50)
    return f"{_duration(p50)} (P10 {_duration(p10)}, P90 {_duration(p90)})"


def lead_time_text(results: Results, best_points: Mapping[str, int]) -> list[str]:
    """The report's answer to "what lead time does a new order get?": per product ordered,
    the lead time quoted at start to a new one-unit order of the least urgent class, and the
    median lead time of the run's orders (Kaplan-Meier, orders still open at the end counted
    as waiting at least until then): at the baseline and, for a sweep, at ``best_points``
    (product -> the design point its requirement's answer names). One sentence each."""
    start = results.start
    if results.kind != "sweep":
        products = results.manifest.get("products") or {}
        return [f"{display_name(results, 'product', name)}: a new order at {start} is quoted "
                f"{_duration(p.get('quoted_lead_time_months'))}; the run's orders waited a median of "
                f"{_duration(p.get('median_lead_time_months'))}"
                for name, p in products.items() if p.get("ordered_units")]
    stats = results.stats
    if "metric" not in stats:
        return []
    by_metric = {metric: rows.set_index("point_id") for metric, rows in stats.groupby("metric")}

    def at(metric: str, point: int | None) -> pd.Series | None:
        """The points row of ``metric`` at ``point`` (None: not kept, or no finished run)."""
        table = by_metric.get(metric)
        if point is None or table is None or point not in table.index or not int(table.loc[point, "n"]):
            return None
        return table.loc[point]

    base = results.baseline_id
    lines = []
    for name in results.scenario.products:
        best = best_points.get(name)
        best = None if best == base else best
        where = f" with {axes_text(results.point(best).axes)}" if best is not None else ""
        quoted_metric, waited_metric = f"quoted_lead_time_months.{name}", f"median_lead_time_months.{name}"
        quoted, quoted_best = at(quoted_metric, base), at(quoted_metric, best)
        if quoted is None:
            continue
        text = (f"{display_name(results, 'product', name)}: a new order at {start} is quoted "
                f"{_spread(quoted)} at the baseline")
        if quoted_best is not None and _spread(quoted_best) != _spread(quoted):
            text += f", {_spread(quoted_best)}{where}"
        waited, waited_best = at(waited_metric, base), at(waited_metric, best)
        if waited is not None:
            text += f"; the orders of a run wait a median of {_spread(waited)} at the baseline"
            if waited_best is not None and _spread(waited_best) != _spread(waited):  # (as the quote)
                text += f", {_spread(waited_best)}{where}"
        lines.append(text)
    return lines
