"""Charts of a sweep's aggregates (``points.csv``): when each gap closes, against the axes.

Every function takes the points table as a DataFrame, one requirement, and the names of
the columns to put on the axes; months are turned into dates with the scenario's start.
A quantile that is "not by end" (empty in the table) is never drawn as a date: it is a
caret at the horizon, labelled ``not by <end>``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.plotting.style import (
    GREY,
    HEAT,
    date_axis,
    date_numbers,
    default_axes,
    end_label,
    group_colours,
    legend_outside,
    titled,
)

DODGE = 0.06
"""Horizontal offset between groups, as a fraction of the smallest step between x values."""


def metric_rows(points: pd.DataFrame, requirement: str) -> pd.DataFrame:
    """The gap-close rows of one requirement; ValueError naming the known ones if absent."""
    metric = f"gap_closed_months.{requirement}"
    rows = points[points["metric"] == metric]
    if rows.empty:
        known = sorted(m.split(".", 1)[1] for m in points["metric"].unique()
                       if str(m).startswith("gap_closed_months."))
        raise ValueError(f"no requirement {requirement!r} in the points table (known: {known})")
    return rows.reset_index(drop=True)


MAX_CATEGORY_LABELS = 8
"""Most labelled ticks on an axis of categories (dates or names of 7 characters fit 8)."""


def _thinned(labels: list[str]) -> list[str]:
    """Every k-th label kept (the others blank) so that at most MAX_CATEGORY_LABELS show."""
    step = max(1, math.ceil(len(labels) / MAX_CATEGORY_LABELS))
    return [label if k % step == 0 else "" for k, label in enumerate(labels)]


def x_positions(values: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numbers as they are; anything else (dates, names) as categories 0, 1, ... in order."""
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.notna().all():
        return numeric.to_numpy(dtype=float), None
    categories = sorted({str(v) for v in values})
    return np.array([categories.index(str(v)) for v in values], dtype=float), categories


def groups(rows: pd.DataFrame, group: str | None) -> Iterator[tuple[int, str, pd.DataFrame]]:
    """(index, legend label, rows) per value of the ``group`` column (or one group)."""
    if group is None:
        yield 0, "", rows
        return
    values = list(rows[group].unique())
    numbers = pd.to_numeric(pd.Series(values), errors="coerce")
    if numbers.notna().all():  # numbers in their order (as text, 10 came before 5)
        values = [v for _, v in sorted(zip(numbers.tolist(), values, strict=True), key=lambda p: p[0])]
    else:
        values.sort(key=str)
    for i, value in enumerate(values):
        yield i, str(value), rows[rows[group] == value]


def dodge(xs: np.ndarray, index: int, count: int) -> float:
    """The offset of group ``index`` of ``count`` so that groups at one x stay apart."""
    steps = np.diff(np.unique(xs))
    step = float(steps.min()) if len(steps) else 1.0
    return (index - (count - 1) / 2) * DODGE * step


def ties_apart(xs_sorted: np.ndarray, xs: np.ndarray, count: int) -> np.ndarray:
    """Offsets that set a group's points of equal x side by side (a sampled design rounds an
    integer axis: eight points on three values of lines were drawn on top of one another,
    showing three). Ties share the group's slot (``dodge``), or half a step with one group."""
    steps = np.diff(np.unique(xs))
    step = float(steps.min()) if len(steps) else 1.0
    offsets = np.zeros(len(xs_sorted))
    _, first, ties = np.unique(xs_sorted, return_index=True, return_counts=True)
    for begin, k in zip(first, ties, strict=True):
        if k > 1:
            offsets[begin:begin + k] = (np.arange(k) - (k - 1) / 2) * (DODGE if count > 1 else 0.5) * step / k
    return offsets


def ties_key(rows: pd.DataFrame, x: str, group: str | None) -> list[Line2D]:
    """The legend's note that points of equal x are side by side (when some are)."""
    if not rows.duplicated([x] if group is None else [x, group]).any():
        return []
    return [Line2D([], [], linestyle="none", label=f"points of equal {x}: side by side")]


def _x_axis(ax: Axes, x: str, xlabel: str | None, categories: list[str] | None,
            xs: np.ndarray, tick_labels: Mapping[float, str] | None = None) -> None:
    """Label the x axis; ticks at the swept values when there are few of them."""
    ax.set_xlabel(xlabel or x)
    if categories is not None:  # (many: every k-th labelled, so that labels never overlap)
        ax.set_xticks(range(len(categories)), _thinned(categories))
    elif len(np.unique(xs)) <= 12:
        notes = tick_labels or {}
        ax.set_xticks(np.unique(xs), [f"{v:g}" + (f"\n{notes[v]}" if v in notes else "")
                                      for v in np.unique(xs)])
    ax.margins(x=0.08)


def gap_close_chart(points: pd.DataFrame, requirement: str, *, x: str, start: str, end: str,
                    group: str | None = None, target: str | Sequence[str] | None = None,
                    scenario: str = "", label: str | None = None, xlabel: str | None = None,
                    tick_labels: Mapping[float, str] | None = None, connect: bool = True,
                    ax: Axes | None = None) -> Axes:
    """Median gap-close date against an axis, P10-P90 as bars, one line per ``group`` value.

    ``target``: one date or several, drawn as dashed lines; ``tick_labels``: text under
    some x values (the capex of a number of lines, say); ``connect=False``: points only
    (a sampled design, whose points differ in every axis, not only in ``x``).

    What is not closed by ``end`` is never a date: a median beyond the horizon is a
    triangle on the horizon line, labelled "not by <end>"; a P90 beyond it makes the bar
    stop at the horizon line.
    """
    ax = default_axes(ax)
    rows = metric_rows(points, requirement)
    xs, categories = x_positions(rows[x])
    horizon = date_numbers(start, [months_between(start, end)])[0]
    count = rows[group].nunique() if group else 1
    palette = group_colours(count)
    late: set[float] = set()
    unclosed: dict[float, list[float]] = {}
    """x -> the shares of runs not closed by the end, of the medians there that are dates."""
    seen: dict[tuple[float, ...], str] = {}
    """The medians of the groups drawn so far (a group equal to one of them says so)."""
    for i, name, part in groups(rows, group):
        idx = part.index.to_numpy()
        order = idx[np.argsort(xs[idx], kind="stable")]
        px = xs[order] + dodge(xs, i, count) + ties_apart(xs[order], xs, count)
        p10, p50, p90 = (date_numbers(start, rows.loc[order, q]) for q in ("p10", "p50", "p90"))
        key = tuple(np.round(np.nan_to_num(p50, nan=-1.0), 3))
        if group and key in seen:
            name = f"{name} (the same as {seen[key]})"
        else:
            seen.setdefault(key, name)
        c = palette[i]
        has = np.isfinite(p10)
        ax.vlines(px[has], p10[has], np.where(np.isfinite(p90), p90, horizon)[has], colors=c,
                  linewidth=7, alpha=0.3)
        ax.plot(px, p50, marker="o", markersize=7, color=c, linewidth=2 if connect else 0,
                label=name or ("median" if connect else "median of a sampled point"))
        share = rows.loc[order, "share_not_by_end"].to_numpy(dtype=float)
        for x_at, y_at, part_share in zip(xs[order], p50, share, strict=True):
            if np.isfinite(y_at) and part_share > 0:  # a date, with runs that never close
                unclosed.setdefault(float(x_at), []).append(float(part_share))
        gone = ~np.isfinite(p50)
        if gone.any():
            ax.plot(px[gone], np.full(gone.sum(), horizon), linestyle="none", marker="^",
                    markersize=12, color=c, markeredgecolor="black", clip_on=False)
        late.update(xs[order][gone])
    shares_at = {value: f"{shares[0]:.0%}" if len(set(shares)) == 1 else
                 " / ".join(f"{v:.0%}" for v in shares) for value, shares in sorted(unclosed.items())}
    share_texts = [f"{t} {end_label(end)}" for t in shares_at.values()]
    shares_fit = _labels_fit(ax, xs, list(shares_at), share_texts, 10)
    if _labels_fit(ax, xs, sorted(late), [end_label(end)] * len(late), 11):  # (else the legend says it)
        for value in sorted(late):
            # (above the share of another group's median at this x, which takes 4-17 points)
            lift = 19 if shares_fit and value in shares_at else 11
            ax.annotate(end_label(end), (value, horizon), xytext=(0, lift), textcoords="offset points",
                        ha="center", va="bottom", fontsize=11)
    if shares_fit:
        for value, text in shares_at.items():
            ax.annotate(f"{text} {end_label(end)}", (value, horizon), xytext=(0, 4),
                        textcoords="offset points", ha="center", va="bottom", fontsize=10, color=GREY)
    elif shares_at:
        ax.annotate(f"some medians have runs {end_label(end)} (points.csv: share_not_by_end)",
                    (0.01, horizon), xycoords=("axes fraction", "data"), xytext=(0, 4),
                    textcoords="offset points", ha="left", va="bottom", fontsize=10, color=GREY)
    for k, date in enumerate([target] if isinstance(target, str) else target or []):
        ax.axhline(date_numbers(start, [months_between(start, date)])[0], color="black",
                   linestyle=("--", "-.", ":")[k % 3], linewidth=1.2, label=f"target {date}")
    beyond = bool(late) or bool(unclosed) or rows["p90"].isna().any()
    if beyond:
        ax.axhline(horizon, color=GREY, linewidth=1, linestyle=":", label=f"horizon {end}")
    low, high = ax.get_ylim()
    if beyond:
        high = horizon + 0.1 * (horizon - low)
    ax.set_ylim(low, high)
    date_axis("y", ax, (high - low) / 365.25, last=horizon)
    ax.set_ylabel("gap closes (date)")
    _x_axis(ax, x, xlabel, categories, xs, tick_labels)
    titled(ax, f"When the gap closes: {label or requirement}", scenario)
    extra = [Line2D([], [], color=GREY, linewidth=7, alpha=0.3, label="P10-P90 of runs")]
    if late:
        extra.append(Line2D([], [], color=GREY, linestyle="none", marker="^", markersize=11,
                            markeredgecolor="black", label=f"median {end_label(end)}"))
    legend_outside(ax, title=f"{group} (median)" if group else None, extra=extra + ties_key(rows, x, group))
    return ax


def _labels_fit(ax: Axes, xs: np.ndarray, at: Sequence[float], texts: Sequence[str], points: float) -> bool:
    """Whether labels centred at the x values ``at`` stay apart (about 0.6 em a character) on
    the axes' width, the x range being that of ``xs`` with its margins."""
    if len(at) < 2:
        return True
    width = ax.get_window_extent().width * 72 / ax.figure.dpi
    span = (float(np.nanmax(xs)) - float(np.nanmin(xs))) * 1.16 or 1.0
    gaps = np.diff(np.asarray(at, dtype=float)) / span * width
    halves = np.array([0.3 * points * len(t) for t in texts])
    return bool((gaps >= halves[:-1] + halves[1:] + 2).all())


def probability_chart(points: pd.DataFrame, requirement: str, *, x: str, target: str,
                      group: str | None = None, scenario: str = "", label: str | None = None,
                      xlabel: str | None = None, tick_labels: Mapping[float, str] | None = None,
                      connect: bool = True, ax: Axes | None = None) -> Axes:
    """P(gap closed by ``target``) against an axis, with 95% Wilson intervals (``connect``:
    as for ``gap_close_chart``)."""
    ax = default_axes(ax)
    rows = metric_rows(points, requirement)
    column = f"p_closed_by_{target}"
    if column not in rows:
        raise ValueError(f"no target {target!r} in the points table")
    xs, categories = x_positions(rows[x])
    count = rows[group].nunique() if group else 1
    palette = group_colours(count)
    for i, name, part in groups(rows, group):
        idx = part.index.to_numpy()
        order = idx[np.argsort(xs[idx], kind="stable")]
        p = rows.loc[order, column].to_numpy(dtype=float)
        low = rows.loc[order, f"{column}_low"].to_numpy(dtype=float)
        high = rows.loc[order, f"{column}_high"].to_numpy(dtype=float)
        spread = [np.clip(p - low, 0, None), np.clip(high - p, 0, None)]  # rounding: never < 0
        ax.errorbar(xs[order] + dodge(xs, i, count) * 2 + ties_apart(xs[order], xs, count), p, yerr=spread,
                    color=palette[i],
                    marker="o", markersize=7, linewidth=2 if connect else 0, capsize=5,
                    elinewidth=2, label=name or "P(closed)")  # (else the intervals take linewidth 0)
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel(f"P(gap closed by {target})")
    _x_axis(ax, x, xlabel, categories, xs, tick_labels)
    ran = rows.loc[rows["n"] > 0, "n"] if (rows["n"] > 0).any() else rows["n"]
    fewest, most = int(ran.min()), int(ran.max())  # (an optimize, failed runs: they differ)
    runs = f"{fewest}-{most} runs" if fewest != most else f"{fewest} run{'s' if fewest != 1 else ''}"
    titled(ax, f"Chance the gap is closed by {target}: {label or requirement}", scenario)
    legend_outside(ax, title=group, extra=[Line2D(
        [], [], color=GREY, linestyle="none", marker="|", markersize=16, markeredgewidth=1.5,
        label=f"95% Wilson interval\n({runs} per point)"), *ties_key(rows, x, group)])
    return ax


def close_heatmap(points: pd.DataFrame, requirement: str, *, x: str, y: str, start: str, end: str,
                  value: str = "p50", target: str | None = None, scenario: str = "",
                  label: str | None = None, ax: Axes | None = None) -> Axes:
    """Median close date (``value="p50"``) or P(closed by ``target``) over two axes, annotated."""
    ax = default_axes(ax)
    rows = metric_rows(points, requirement)
    if rows.duplicated([x, y]).any():
        raise ValueError(f"several points share one ({x}, {y}) cell: fix the other axes first")
    xs, xcat = x_positions(rows[x])
    ys, ycat = x_positions(rows[y])
    xv, yv = np.unique(xs), np.unique(ys)
    grid = np.full((len(yv), len(xv)), np.nan)
    present = np.zeros(grid.shape, dtype=bool)
    """Cells with a design point (a sampled design leaves most empty: blank, not hatched)."""
    texts = np.full(grid.shape, "", dtype=object)
    probability = value == "probability"
    column = f"p_closed_by_{target}" if probability else "p50"
    raw = rows[column].to_numpy(dtype=float)
    share = rows["share_not_by_end"].to_numpy(dtype=float)
    cells = raw if probability else _shown_months(start, raw)
    for k in range(len(rows)):
        cell = np.searchsorted(yv, ys[k]), np.searchsorted(xv, xs[k])
        grid[cell] = cells[k]
        present[cell] = True
        texts[cell] = (f"{raw[k]:.2f}" if probability else
                       date_at(start, raw[k]) if np.isfinite(raw[k]) else end_label(end))
        if not probability and np.isfinite(raw[k]) and share[k] > 0:  # a median with runs not closed
            texts[cell] += f"\n{share[k]:.0%} {end_label(end)}"
    finite = grid[np.isfinite(grid)]
    vmin, vmax = (0.0, 1.0) if probability else (
        (finite.min(), finite.max()) if finite.size else (0.0, 1.0))
    if vmin == vmax:
        vmin, vmax = vmin - 1, vmax + 1
    cmap = HEAT if probability else f"{HEAT}_r"
    for r, c in zip(*np.nonzero(present & ~np.isfinite(grid)), strict=True):  # not by the end: hatched
        ax.add_patch(Rectangle((c - 0.5, r - 0.5), 1, 1, facecolor="#eeeeee", edgecolor="#aaaaaa",
                               hatch="//", linewidth=0, zorder=0))
    image = ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=vmin, vmax=vmax, aspect="auto",
                      origin="lower", zorder=1)
    size = _cell_fontsize(ax, texts[present], len(xv), len(yv))
    for (r, c), v in np.ndenumerate(grid):
        if not present[r, c]:
            continue
        shade = image.cmap(image.norm(v)) if np.isfinite(v) else (0.93, 0.93, 0.93)
        ax.text(c, r, str(texts[r, c]), ha="center", va="center", fontsize=size, zorder=2,
                color="black" if _light(shade) else "white",
                bbox=None if np.isfinite(v) else {"facecolor": "#eeeeee", "edgecolor": "none"})
    ax.set_xticks(range(len(xv)), _thinned(xcat if xcat else [f"{v:.4g}" for v in xv]))
    ax.set_yticks(range(len(yv)), _thinned(ycat if ycat else [f"{v:.4g}" for v in yv]))
    ax.set_xlim(-0.5, len(xv) - 0.5)
    ax.set_ylim(-0.5, len(yv) - 0.5)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.grid(False)
    if probability:
        ax.figure.colorbar(image, ax=ax, shrink=0.9).set_label(f"P(gap closed by {target})")
        what = f"Chance the gap is closed by {target}: {label or requirement}"
    else:
        if finite.size and np.ptp(finite) > 0:  # no colour scale when no cell, or one date, is shown
            bar = ax.figure.colorbar(image, ax=ax, shrink=0.9)
            bar.set_label("median close date")
            first, last = (mdates.num2date(v) for v in (vmin, vmax))
            months = (last.year - first.year) * 12 + last.month - first.month
            if months <= 12:  # every month (a date axis over a few months may tick none of them)
                index = first.year * 12 + first.month - 1
                ticks = [mdates.date2num(dt.datetime((index + k) // 12, (index + k) % 12 + 1, 1))
                         for k in range(months + 1)]
                bar.set_ticks(ticks, labels=[mdates.num2date(v).strftime("%Y-%m") for v in ticks])
            else:
                date_axis("y", bar.ax, (vmax - vmin) / 365.25)
        hatched = bool((present & ~np.isfinite(grid)).any())
        what = (f"Median close date (hatched: {end_label(end)}): " if hatched else "Median close date: ") \
            + (label or requirement)
    titled(ax, what, scenario)
    return ax


def _shown_months(start: str, months: np.ndarray) -> np.ndarray:
    """Date numbers of the first day of the month each cell shows (``date_at``): a cell's colour
    is the month it is labelled with, so cells of one label are one colour (coloured by the
    exact instant, a design whose medians all fell in one month spanned the whole colour scale
    over days, and ``2025-02`` cells ranged from purple to yellow)."""
    return np.array([date_numbers(date_at(start, m), [0.0])[0] if np.isfinite(m) else np.nan
                     for m in months], dtype=float)


CELL_FONT_POINTS = (5.0, 14.0)
"""Smallest and largest size of a heatmap cell's text."""


def _cell_fontsize(ax: Axes, texts: np.ndarray, columns: int, rows: int) -> float:
    """Points for the cells' text: the largest (up to 14) at which the longest of ``texts``
    fits its cell (about 0.62 em a character, 1.3 em a line; the colour bar takes about 15% of
    the width), so that many cells never overflow onto each other and the tick labels."""
    box = ax.get_window_extent().transformed(ax.figure.dpi_scale_trans.inverted())
    width, height = 72 * 0.85 * box.width / max(1, columns), 72 * box.height / max(1, rows)
    lines = [str(t).split("\n") for t in texts]
    chars = max((len(line) for parts in lines for line in parts), default=1)
    count = max((len(parts) for parts in lines), default=1)
    low, high = CELL_FONT_POINTS
    return float(np.clip(min(width / (0.62 * max(1, chars)), height / (1.3 * count)), low, high))


def _light(rgba: Any) -> bool:
    """Whether black text reads better than white on this colour."""
    r, g, b = (float(c) for c in rgba[:3])
    return 0.299 * r + 0.587 * g + 0.114 * b > 0.45
