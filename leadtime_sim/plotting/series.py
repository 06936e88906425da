"""Charts of monthly series: inventory against requirement, backlog, quoted lead time, utilisation.

They take the long quantile table of a sweep store (``series_quantiles.parquet``: point_id,
entity, name, field, month, p10, p50, p90); a single run is the same table with only
``p50`` (see :func:`leadtime_sim.results.run_quantiles`), and then no bands are drawn.
Each row is the state at the end of its month, so it is drawn at the month's end.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypedDict

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from leadtime_sim.dates import months_between
from leadtime_sim.plotting.style import (
    BAND_ALPHA,
    BAND_EDGE,
    GREY,
    HEAT,
    THOUSANDS,
    BandKey,
    band_dashes,
    colour,
    date_axis,
    date_numbers,
    default_axes,
    legend_outside,
    titled,
)


class Milestone(TypedDict):
    """An investment event drawn on a time axis (``point_id`` None: the same for all points)."""

    date: str
    label: str
    point_id: int | None


def series_rows(quantiles: pd.DataFrame, entity: str, name: str, field: str) -> pd.DataFrame:
    """One series of one entity, sorted by point and month; ValueError if there is none."""
    rows = quantiles[(quantiles["entity"] == entity) & (quantiles["name"] == name)
                     & (quantiles["field"] == field)]
    if rows.empty:
        known = sorted(quantiles.loc[quantiles["entity"] == entity, "name"].unique())
        raise ValueError(f"no {field} series for {entity} {name!r} (known: {known})")
    return rows.sort_values(["point_id", "month"], kind="stable")


def month_ends(start: str, months: pd.Series, end: str | None = None) -> np.ndarray:
    """Date numbers of the end of each month (the instant the row describes); with ``end``,
    a last month the horizon cuts short ends at the horizon (as its row is taken there)."""
    ends = months.to_numpy(dtype=float) + 1
    if end is not None:
        ends = np.minimum(ends, months_between(start, end))
    return date_numbers(start, ends)


def _chosen(rows: pd.DataFrame, points: Sequence[int] | None) -> list[int]:
    present = list(dict.fromkeys(rows["point_id"].astype(int)))
    return present if points is None else [p for p in points if p in present]


def _bands(ax: Axes, rows: pd.DataFrame, start: str, points: Sequence[int] | None,
           labels: Mapping[int, str] | None, scale: float = 1.0, single: str = "",
           end: str | None = None) -> list[int]:
    """Median line and P10-P90 band (where both ends are known) per point; returns the points.

    A band is a light fill with its P10 and P90 edges as thin dashed lines in its line's
    colour (``BAND_EDGE``), so that where bands overlap each one's extent can still be read;
    the bands' dashes take turns (``band_dashes``), so coinciding edges show every colour.
    A line is labelled with its point ("..., median" when it has a band), or ``single``
    when there is one unnamed line (a single run).
    """
    chosen = _chosen(rows, points)
    for i, point in enumerate(chosen):
        part = rows[rows["point_id"] == point]
        x = month_ends(start, part["month"], end)
        p10, p50, p90 = (part[q].to_numpy(dtype=float) * scale for q in ("p10", "p50", "p90"))
        both = np.isfinite(p10) & np.isfinite(p90)
        band = bool(both.any() and np.any(p10[both] != p90[both]))
        name = (labels or {}).get(point) or (single if len(chosen) == 1 else f"point {point}")
        ax.plot(x, p50, color=colour(i), linewidth=2, label=f"{name}, median" if band else name,
                **_lone_point(p50))
        if band:
            ax.fill_between(x, p10, p90, where=both, color=colour(i), alpha=BAND_ALPHA, linewidth=0)
            shown = _band_edges(p10, p90, both)
            for edge in (p10, p90):
                ax.plot(x, np.where(shown, edge, np.nan), color=colour(i), zorder=1.9, gid=BAND_EDGE_GID,
                        linestyle=band_dashes(i, len(chosen)), **BAND_EDGE)
    return chosen


def _lone_point(values: np.ndarray) -> dict[str, Any]:
    """A marker for a line of one known value (a one-month horizon), which a line alone
    leaves invisible; unclipped, as the month's end is the axis's end."""
    return {"marker": "o", "markersize": 7, "clip_on": False} if np.isfinite(values).sum() == 1 else {}


BAND_EDGE_GID = "band-edge"
"""The gid of the dashed P10 and P90 lines of a band (tests and the legend find them by it)."""


def _band_edges(p10: np.ndarray, p90: np.ndarray, both: np.ndarray) -> np.ndarray:
    """Where a band's dashed edges are drawn: where it has width, and the month either side
    (so an edge reaches the point where the band closes up); not along a stretch where
    P10 = P90 and the edge would only dash over the median."""
    wide = both & (p90 > p10)
    near = wide.copy()
    near[1:] |= wide[:-1]
    near[:-1] |= wide[1:]
    return both & near


def _band_key(ax: Axes) -> list[Artist]:
    """A legend entry for the bands, if the axes has any: a light fill between dashed edges,
    as each band is drawn in its line's colour (with several, the entry says that their
    edges tell them apart where they overlap)."""
    edges = [line for line in ax.lines if line.get_gid() == BAND_EDGE_GID]
    if not edges:
        return []
    colours = list(dict.fromkeys(str(line.get_color()) for line in edges))
    if len(colours) == 1:
        return [BandKey(colours[0], "P10-P90 of runs (between the dashed edges)")]
    return [BandKey(GREY, "P10-P90 of runs: between the dashed edges in each line's colour "
                          "(where bands overlap, follow the edges)")]


def whole_units(ax: Axes) -> None:
    """A y axis counting units: from 0, ticks at whole units with thousands separators, and
    at least one unit high. MaxNLocator(integer=True) gives fractional ticks on a range below
    one unit: a product with no backlog showed eleven ticks from 0 to 0.05, each labelled 0."""
    ax.set_ylim(0, max(1.0, ax.get_ylim()[1]))
    # (whole units: no 2.5 shown as 2; and the round steps of Matplotlib's default locator:
    # MaxNLocator's own include 1.5 and 3, which ticked 0-900 by 150 on an axis reaching 1,000)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, steps=[1, 2, 2.5, 5, 10]))
    ax.yaxis.set_major_formatter(THOUSANDS)


def _time_axis(ax: Axes, start: str, rows: pd.DataFrame, end: str | None = None) -> None:
    """Dates from the start to the horizon ``end`` (without it, to the last row's month end),
    with no tick label past it."""
    months = rows["month"].to_numpy(dtype=float)
    last = months_between(start, end) if end is not None else months.max() + 1
    ax.set_xlim(*date_numbers(start, [0, last]))
    date_axis("x", ax, last / 12, last=date_numbers(start, [last])[0])


def fan_chart(quantiles: pd.DataFrame, requirement: str, *, start: str,
              points: Sequence[int] | None = None, labels: Mapping[int, str] | None = None,
              milestones: Sequence[Milestone] = (), scenario: str = "", label: str | None = None,
              end: str | None = None, ax: Axes | None = None) -> Axes:
    """Inventory (median, P10-P90) against the required inventory over time, per point;
    ``end``: the horizon, where the time axis stops."""
    ax = default_axes(ax)
    inventory = series_rows(quantiles, "requirement", requirement, "inventory_units")
    required = series_rows(quantiles, "requirement", requirement, "required_units")
    chosen = _bands(ax, inventory, start, points, labels, single="inventory", end=end)
    first = required[required["point_id"] == chosen[0]]
    ax.plot(month_ends(start, first["month"], end), first["p50"], color="black", linestyle="--",
            linewidth=1.8, label="required", **_lone_point(first["p50"].to_numpy(dtype=float)))
    keys = _milestones(ax, start, milestones, chosen)
    _time_axis(ax, start, inventory, end)
    whole_units(ax)
    ax.set_ylabel("units in inventory")
    titled(ax, f"{label or requirement}: inventory against requirement", scenario)
    legend_outside(ax, extra=_band_key(ax) + keys)
    return ax


def _milestones(ax: Axes, start: str, milestones: Sequence[Milestone], chosen: list[int]) -> list[Artist]:
    """Dotted vertical lines numbered at the top; returns legend entries saying what each is."""
    keys: list[Artist] = []
    for m in milestones:
        if m["point_id"] is not None and m["point_id"] not in chosen:
            continue
        shade = GREY if m["point_id"] is None else colour(chosen.index(m["point_id"]))
        x = date_numbers(start, [months_between(start, m["date"])])[0]
        number = str(len(keys) + 1)
        ax.axvline(x, color=shade, linestyle=":", linewidth=1.5)
        ax.text(x, 0.985, number, transform=ax.get_xaxis_transform(), ha="center", va="top",
                fontsize=10, color=shade, bbox={"boxstyle": "circle,pad=0.2", "facecolor": "white",
                                                "edgecolor": shade})
        keys.append(Line2D([], [], linestyle=":", linewidth=1.5, color=shade,
                           label=f"({number}) {m['date']} {m['label']}"))
    return keys


def backlog_chart(quantiles: pd.DataFrame, product: str, *, start: str,
                  points: Sequence[int] | None = None, labels: Mapping[int, str] | None = None,
                  scenario: str = "", name: str = "", end: str | None = None,
                  ax: Axes | None = None) -> Axes:
    """Units ordered and not yet started on a line (work in progress not counted), over time,
    per point; ``end``: the horizon, where the time axis stops."""
    ax = default_axes(ax)
    rows = series_rows(quantiles, "product", product, "backlog_units")
    _bands(ax, rows, start, points, labels, single="backlog", end=end)
    _time_axis(ax, start, rows, end)
    whole_units(ax)
    ax.set_ylabel("backlog (units)")
    titled(ax, f"{name or product}: backlog and quoted lead time", scenario)
    legend_outside(ax, extra=_band_key(ax))
    return ax


def quoted_lead_time_chart(quantiles: pd.DataFrame, product: str, *, start: str, end: str,
                           points: Sequence[int] | None = None,
                           labels: Mapping[int, str] | None = None, scenario: str = "",
                           title: bool = True, name: str = "", ax: Axes | None = None) -> Axes:
    """Lead time (years) an order of one unit placed at each date would get, per point.

    No line where the quote is "not by end" (the unit would not be delivered by ``end``):
    the dates after the last quote are hatched (said inside the hatching where it is wide
    enough, else in the legend), and a line that stops earlier is marked at its end.
    ``title=False`` when it sits under :func:`backlog_chart`, which titles both.
    """
    ax = default_axes(ax)
    rows = series_rows(quantiles, "product", product, "quoted_lead_time_months")
    chosen = _bands(ax, rows, start, points, labels, scale=1 / 12, single="quoted lead time", end=end)
    _time_axis(ax, start, rows, end)
    ends = rows[rows["point_id"].isin(chosen) & rows["p50"].notna()].groupby("point_id")["month"].max()
    last = ends.max() if not ends.empty else -1
    keys: list[Artist] = []
    if last < rows["month"].max():
        keys += _not_delivered(ax, month_ends(start, pd.Series([last]), end)[0], end)
    stops = False
    for i, point in enumerate(chosen):  # a line that stops earlier is marked at its end (the key says why)
        if point in ends and ends[point] < last:
            at = rows[(rows["point_id"] == point) & (rows["month"] == ends[point])]
            ax.plot(month_ends(start, at["month"], end)[0], float(at["p50"].iloc[0]) / 12, **STOP_MARK,
                    color=colour(i), label="_stop", gid=STOP_GID)
            stops = True
    if stops:
        keys.append(Line2D([], [], color=GREY, label=f"last quote delivered by {end} (later orders: not)",
                           **STOP_MARK))
    ax.set_ylim(bottom=0)
    ax.set_ylabel("quoted lead time (years)")
    ax.set_xlabel("order placed (date)")
    if title:
        titled(ax, f"{name or product}: quoted lead time", scenario)
        legend_outside(ax, extra=_band_key(ax) + keys)
    elif keys:  # (under backlog_chart, whose legend names the lines: only what marks this panel)
        legend_outside(ax, extra=keys, lines=False)
    return ax


STOP_MARK: dict[str, Any] = {"marker": "|", "markersize": 16, "markeredgewidth": 2.5, "linestyle": "none"}
"""The mark at the end of a quoted lead time line that stops before the others."""
STOP_GID = "quote-stop"


def _not_delivered(ax: Axes, since: float, end: str) -> list[Artist]:
    """Hatch the order dates whose units would not be delivered by the horizon, and say so:
    inside the hatching where it is wide enough for the text, else in the legend (a narrow
    strip's text, even turned upright, spilled over the lines and past the axes' edge).
    Returns the legend entries to add."""
    low, high = ax.get_xlim()
    hatch: dict[str, Any] = {"facecolor": "#f2f2f2", "edgecolor": "#bbbbbb", "hatch": "//"}
    ax.axvspan(since, high, **hatch, linewidth=0, zorder=0)
    if (high - since) / (high - low) >= WIDE_ENOUGH:
        ax.text((since + high) / 2, 0.5, f"ordered here: not\ndelivered by {end}",
                transform=ax.get_xaxis_transform(), ha="center", va="center", fontsize=10,
                bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85})
        return []
    return [Patch(**hatch, label=f"ordered here: not delivered by {end}")]


WIDE_ENOUGH = 0.3
"""Share of the time axis a hatched strip needs to hold its text (two lines of 20 characters)."""


def utilisation_chart(quantiles: pd.DataFrame, *, start: str, point: int | None = None,
                      period_months: int = 3, row_labels: Mapping[str, str] | None = None,
                      scenario: str = "", subtitle: str = "", end: str | None = None,
                      ax: Axes | None = None) -> Axes:
    """Share of lines busy, per factory and period (median over runs): shows the bottleneck tier.

    Periods in which a factory has no lines yet are grey, not "idle"; ``end``: the horizon,
    where the last period (and the time axis) stops.
    """
    ax = default_axes(ax)
    util = utilisation_grid(quantiles, point, period_months, list(row_labels or ()))
    names = list(util.index)
    periods = util.columns.to_numpy(dtype=float)
    last = periods[-1] + period_months
    if end is not None:
        last = min(last, months_between(start, end))
    edges = date_numbers(start, np.append(periods, last))
    ax.set_facecolor("#d9d9d9")
    mesh = ax.pcolormesh(edges, np.arange(len(names) + 1), np.ma.masked_invalid(util.to_numpy()) * 100,
                         cmap=HEAT, vmin=0, vmax=100)
    ax.set_yticks(np.arange(len(names)) + 0.5,
                  [(row_labels or {}).get(n, n) for n in names])
    ax.invert_yaxis()
    ax.grid(False)
    date_axis("x", ax, last / 12, last=edges[-1])
    bar = ax.figure.colorbar(mesh, ax=ax, shrink=0.9)
    runs = "; median run" if quantiles["p10"].notna().any() else ""
    bar.set_label(f"lines busy (%; mean over {period_months} months{runs})")
    titled(ax, "Share of lines busy, by factory (yellow: all busy; grey: no lines yet)"
           + (f"\n{subtitle}" if subtitle else ""), scenario)
    return ax


def utilisation_grid(quantiles: pd.DataFrame, point: int | None, period_months: int,
                     order: Sequence[str] = ()) -> pd.DataFrame:
    """Factories (in ``order``) x period start (months): mean of the median utilisation
    over the months in which the factory has lines (NaN: no lines in the whole period)."""
    factories = quantiles[quantiles["entity"] == "factory"]
    if point is not None:
        factories = factories[factories["point_id"] == point]
    elif factories["point_id"].nunique() > 1:
        raise ValueError("the table holds several points: choose one with point=")
    wide = factories.pivot_table(index=["name", "month"], columns="field", values="p50")
    util = wide["utilisation"].where(wide["lines"] > 0)
    frame = util.reset_index()
    frame["period"] = frame["month"] // period_months * period_months
    grid = frame.groupby(["name", "period"])["utilisation"].mean().unstack("period")
    return grid.reindex([n for n in order if n in grid.index]) if order else grid.sort_index()
