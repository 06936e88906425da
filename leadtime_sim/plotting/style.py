"""What every chart shares: palette, slide-size style, dates on axes, titles and legends.

Times in the data are months from the scenario start; charts show calendar dates, so the
conversion lives here, once. Plotted dates are Matplotlib date numbers (days), which tests
can compare with :func:`date_numbers`.
"""

from __future__ import annotations

import calendar
import contextlib
import datetime as dt
import logging
import math
import re
import textwrap
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.dates as mdates
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgba
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.legend_handler import HandlerBase
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter
from matplotlib.transforms import Transform

from leadtime_sim.dates import month_index

log = logging.getLogger(__name__)
GLYPH_WARNING = re.compile(r"Glyph (\d+) .*missing from (current )?font")
"""Matplotlib's warning of a character its font has no glyph for."""

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#56B4E9", "#E69F00", "#000000",
             "#F0E442")
"""Okabe & Ito's colour-blind-safe palette, strongest contrasts on white first."""
GREY = "#777777"
HEAT = "viridis"
"""Colour map for heatmaps: perceptually uniform, readable with any colour vision, no greys
(grey means "no value" in these charts)."""
THOUSANDS = FuncFormatter(lambda value, pos: f"{value:,.0f}")
"""Tick labels with thousands separators (13,800 units)."""
LEGEND_WIDTH = 34
"""Characters per legend line: long labels wrap instead of squeezing the plot."""
SLIDE_SIZE = (11.0, 6.2)
"""Inches: 16:9-ish, readable on a slide at 150 dpi."""
SLIDE_RC: dict[str, Any] = {
    "font.size": 13, "axes.titlesize": 15, "axes.labelsize": 13, "xtick.labelsize": 12,
    "ytick.labelsize": 12, "legend.fontsize": 11, "legend.title_fontsize": 12,
    "axes.spines.top": False, "axes.spines.right": False, "axes.grid": True,
    "grid.alpha": 0.3, "svg.fonttype": "none", "pdf.fonttype": 42,
    "text.parse_math": False}
"""``text.parse_math`` off: names and labels come from files, and are drawn as written
(``$x$`` is not TeX, and a stray ``$^{`` cannot break a chart)."""
BAND_ALPHA = 0.13
"""Fill opacity of a P10-P90 band: light, so that bands and lines show through each other."""
BAND_EDGE: dict[str, Any] = {"linewidth": 1.1, "alpha": 0.9}
"""A band's P10 and P90 are drawn as thin dashed lines in its colour (``band_dashes``):
where bands overlap (and their fills mix into a colour no legend shows) each band's extent
stays readable."""
BAND_DASH = 3.0
"""Length of one dash of a band's edge, in line widths."""


def band_dashes(i: int, count: int) -> tuple[float, tuple[float, float]]:
    """The dash pattern of the edges of band ``i`` of ``count``: the bands' dashes take turns
    (band i's dash fills the i-th gap of the others), so where two edges coincide, as when
    points share their history, the line shows both colours in turn instead of the last
    band hiding the first. Up to three turns (more would leave the edges too sparse)."""
    turns = max(1, min(count, 3))
    if turns == 1:
        return (0.0, (BAND_DASH + 1.0, BAND_DASH * 0.6))
    return (BAND_DASH * (i % turns), (BAND_DASH, BAND_DASH * (turns - 1)))


MAX_LINE_CHARS = 110
MAX_LINES = 8


@contextlib.contextmanager
def slide_style() -> Iterator[None]:
    """Fonts and spines for slides, for the charts drawn inside the block. Characters the font
    lacks (a name in Chinese: Matplotlib warns twice per character, with its source line) are
    said in one warning line at the end of the block."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        with mpl.rc_context(SLIDE_RC):  # type: ignore[arg-type]  # (stubs want literal keys)
            yield
    missing: dict[str, None] = {}
    for warning in caught:
        glyph = GLYPH_WARNING.match(str(warning.message))
        if glyph:
            missing[chr(int(glyph.group(1)))] = None
        else:  # (any other warning as it came)
            warnings.showwarning(warning.message, warning.category, warning.filename, warning.lineno)
    if missing:
        shown = "".join(list(missing)[:20]) + ("..." if len(missing) > 20 else "")
        log.warning(f"{len(missing)} character(s) not in the charts' font, drawn as boxes: {shown}")


def bound_texts(fig: Figure) -> None:
    """Cut every text of ``fig`` to MAX_LINES lines of MAX_LINE_CHARS characters: a label
    of thousands of characters would otherwise make a chart thousands of pixels wide."""
    for text in fig.findobj(Text):
        value = text.get_text()
        lines = value.splitlines()
        if len(lines) > MAX_LINES or any(len(line) > MAX_LINE_CHARS for line in lines):
            cut = [line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS - 1] + "\u2026"
                   for line in lines[:MAX_LINES]]
            text.set_text("\n".join(cut) + ("\n\u2026" if len(lines) > MAX_LINES else ""))


def new_figure(size: tuple[float, float] = SLIDE_SIZE, rows: int = 1) -> tuple[Figure, list[Axes]]:
    """A figure outside pyplot (no GUI, no global state), with ``rows`` stacked axes."""
    fig = Figure(figsize=size, layout="constrained")
    axes = fig.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def default_axes(ax: Axes | None) -> Axes:
    """``ax``, or the current pyplot axes (a new slide-size figure if there is none)."""
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt  # only when the caller gave no axes (notebooks)

    if not plt.get_fignums():
        plt.figure(figsize=SLIDE_SIZE, layout="constrained")
    return plt.gca()


def colour(i: int) -> str:
    return OKABE_ITO[i % len(OKABE_ITO)]


def group_colours(count: int) -> list[str]:
    """A colour per group: Okabe & Ito's for up to eight; for more (where the palette would
    repeat and two groups read as one) steps of a sequential map, in the groups' order."""
    if count <= len(OKABE_ITO):
        return list(OKABE_ITO[:max(count, 1)])
    cmap = mpl.colormaps["viridis"]
    return [to_hex(cmap(k / (count - 1) * 0.92)) for k in range(count)]


def to_datetime(start: str, months: float) -> dt.datetime:
    """The instant ``months`` after the first day of ``start`` (days within the month)."""
    total = month_index(start) + months
    whole = math.floor(total + 1e-9)
    year, month = divmod(whole, 12)
    days = calendar.monthrange(year, month + 1)[1]
    return dt.datetime(year, month + 1, 1) + dt.timedelta(days=(total - whole) * days)


def date_numbers(start: str, months: Iterable[float]) -> np.ndarray:
    """Matplotlib date numbers for months from ``start``; NaN ("not by end") stays NaN."""
    return np.array([mdates.date2num(to_datetime(start, float(m))) if np.isfinite(m) else np.nan
                     for m in months], dtype=float)


def end_label(end: str) -> str:
    """``not by 2045`` for a January horizon, ``not by 2045-07`` otherwise."""
    return f"not by {end[:4]}" if end[5:7] == "01" else f"not by {end[:7]}"


def date_axis(axis: str, ax: Axes, span_years: float, last: float | None = None) -> None:
    """Dates as ticks on the x or y axis, never crowded and never repeated: months
    (``YYYY-MM``) over at most half a year (a one-month run showed its start alone), quarters
    over at most two years, else every 1, 2, 5, 10, 20 or 50 years.

    No tick label after ``last`` (a date number: the horizon, beyond which nothing is known).
    """
    target = ax.xaxis if axis == "x" else ax.yaxis
    if span_years <= 0.5:
        target.set_major_locator(mdates.MonthLocator())
        labels = mdates.DateFormatter("%Y-%m")
        target.set_minor_locator(mdates.DayLocator((1, 8, 15, 22)))  # (no minor ticks: weeks)
    elif span_years <= 2:
        target.set_major_locator(mdates.MonthLocator((1, 4, 7, 10)))
        labels = mdates.DateFormatter("%Y-%m")
        target.set_minor_locator(mdates.MonthLocator())
    else:
        steps = ((1, 8), (2, 20), (5, 50), (10, 100), (20, 200))
        step = next((s for s, most in steps if span_years <= most), 50)
        target.set_major_locator(mdates.YearLocator(step))
        labels = mdates.DateFormatter("%Y")
        target.set_minor_locator(mdates.YearLocator(max(1, step // 5)) if step > 1
                                 else mdates.MonthLocator((4, 7, 10)))
    target.set_major_formatter(labels if last is None else FuncFormatter(
        lambda value, pos: labels(value, pos) if value <= last + 1 else ""))


def titled(ax: Axes, what: str, scenario: str) -> None:
    """Two-line title: what the chart shows, then the scenario it comes from."""
    ax.set_title(f"{what}\n{scenario}" if scenario else what, loc="left")


class BandKey(Patch):
    """The legend's proxy for P10-P90 bands: the band's light fill between two dashed edges
    (drawn by :class:`HandlerBand`; ``legend_outside`` knows it)."""

    def __init__(self, color: str, label: str):
        super().__init__(facecolor=to_rgba(color, BAND_ALPHA * 1.6), edgecolor=color, label=label)


class HandlerBand(HandlerBase):
    """Draws a :class:`BandKey` as a band looks in the chart: fill, dashed top and bottom edge."""

    def create_artists(self, legend: Legend, orig_handle: Artist, xdescent: float, ydescent: float,
                       width: float, height: float, fontsize: float, trans: Transform) -> list[Artist]:
        assert isinstance(orig_handle, Patch)
        x0, y0 = -xdescent, -ydescent
        fill = Rectangle((x0, y0), width, height, facecolor=orig_handle.get_facecolor(),
                         edgecolor="none", transform=trans)
        edges: list[Artist] = [Line2D([x0, x0 + width], [y, y], color=orig_handle.get_edgecolor(),
                                      linestyle=band_dashes(0, 1), transform=trans, **BAND_EDGE)
                               for y in (y0, y0 + height)]
        return [fill, *edges]


def _wrapped(text: str) -> str:
    """A legend label filled to ``LEGEND_WIDTH``, continuation lines indented, and a line break
    the label holds kept (filling it whole ran "interval\n(30 runs per point)" together)."""
    first, *rest = text.split("\n")
    parts = [textwrap.fill(first, LEGEND_WIDTH, subsequent_indent="  ")]
    parts += [textwrap.fill(part, LEGEND_WIDTH, initial_indent="  ", subsequent_indent="  ") for part in rest]
    return "\n".join(parts)


def legend_outside(ax: Axes, title: str | None = None, extra: Sequence[Artist] = (),
                   lines: bool = True) -> None:
    """A legend right of the axes, so it never covers data.

    ``extra``: proxy artists explaining marks (bands, markers) that are not in the axes, so
    they take no room in the layout; ``lines=False``: only those (the axes' labelled lines
    are in another axes' legend).
    """
    handles, labels = ax.get_legend_handles_labels() if lines else ([], [])
    handles += list(extra)
    labels += [str(h.get_label()) for h in extra]
    labels = [_wrapped(text) for text in labels]
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0,
                  frameon=False, title=title, alignment="left", handler_map={BandKey: HandlerBand()})
