"""Lead time by customer or priority class, from a run's orders table.

Orders not delivered by the end of the horizon have no lead time: they have waited at least
from being placed until the end. The box, whiskers and median are Kaplan-Meier estimates
with those orders censored at the end, the same estimator as the run summary's
``median_lead_time_months``; a quantile the survival never falls to (more than half still
open, for the median) is drawn as not reached, beyond the longest wait, never as a value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from leadtime_sim.dates import months_between
from leadtime_sim.plotting.style import colour, default_axes, end_label, legend_outside, titled
from leadtime_sim.survival import kaplan_meier_quantile

MIN_BOX = 5
"""Fewer orders than this get a median bar but no box (quartiles of 3 mislead)."""
SHARES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""The Kaplan-Meier quantiles drawn: whisker, box, median, box, whisker."""
GREY = "#444444"


@dataclass(frozen=True)
class Waits:
    """One group's orders: years from placed to last delivery, or to the end if still open."""

    years: np.ndarray
    open: np.ndarray

    def quantile(self, share: float) -> float | None:
        """The Kaplan-Meier quantile (open orders censored at the end); None: not reached."""
        return kaplan_meier_quantile(self.years, self.open, share)

    @property
    def longest(self) -> float:
        """The longest wait seen (delivered or open): a quantile not reached lies beyond it."""
        return float(self.years.max()) if len(self.years) else 0.0


def lead_time_groups(orders: pd.DataFrame, product: str | None, by: str, *, start: str,
                     end: str) -> dict[str, Waits]:
    """Group label -> its orders' waits in years (groups in sorted order); an order open at
    ``end`` waited from being placed until then, as the run summary counts it."""
    if by not in ("customer", "priority"):
        raise ValueError(f"by must be 'customer' or 'priority' (got {by!r})")
    chosen = orders if product is None else orders[orders["product"] == product]
    if chosen.empty:
        raise ValueError(f"no orders for product {product!r}")
    horizon_months = months_between(start, end)
    result = {}
    for key, part in sorted(chosen.groupby(by), key=lambda kv: kv[0]):
        name = f"class {key}" if by == "priority" else str(key)
        lead_months = part["lead_time_months"].astype(float).to_numpy()
        still_open = np.isnan(lead_months)
        waited_months = np.where(still_open, horizon_months - part["placed_months"].astype(float).to_numpy(),
                                 lead_months)
        result[name] = Waits(waited_months / 12, still_open)
    return result


def _segment(ax: Axes, y: float, low: float, high: float | None, reach: float, *,
             box: bool) -> bool:
    """A whisker (or the box) from ``low`` to ``high``; where ``high`` is not reached, dashed
    to the longest wait and ending in an arrow head. True if it was not reached."""
    if high is not None:
        if box:
            ax.add_patch(Rectangle((low, y - 0.3), high - low, 0.6, fill=False, edgecolor=GREY, zorder=2))
        else:
            ax.plot([low, high], [y, y], color=GREY, linewidth=1, zorder=2)
        return False
    if box:
        ax.plot([low, reach, reach, low, low], [y - 0.3, y - 0.3, y + 0.3, y + 0.3, y - 0.3], color=GREY,
                linewidth=1, linestyle=(0, (4, 3)), zorder=2)
    else:
        ax.plot([low, reach], [y, y], color=GREY, linewidth=1, linestyle=(0, (4, 3)), zorder=2)
    ax.plot([reach], [y], marker=">", color=GREY, markersize=6, zorder=2)
    return True


def _box(ax: Axes, y: float, waits: Waits) -> bool:
    """The Kaplan-Meier box (quartiles) and whiskers (5-95%); True if a part is not reached."""
    q05, q25, _, q75, q95 = (waits.quantile(s) for s in SHARES)
    reach = waits.longest
    if q05 is None:  # more than 95% still open: nothing to draw but the median's arrow
        return False
    ax.plot([q05] * 2, [y - 0.12, y + 0.12], color=GREY, linewidth=1, zorder=2)
    if q25 is None:
        return _segment(ax, y, q05, None, reach, box=False)
    _segment(ax, y, q05, q25, reach, box=False)
    unreached = False
    unreached |= _segment(ax, y, q25, q75, reach, box=True)
    if q75 is not None:
        unreached |= _segment(ax, y, q75, q95, reach, box=False)
        if q95 is not None:
            ax.plot([q95] * 2, [y - 0.12, y + 0.12], color=GREY, linewidth=1, zorder=2)
    return unreached


def lead_time_chart(orders: pd.DataFrame, *, start: str, end: str, product: str | None = None,
                    by: str = "customer", scenario: str = "", label: str | None = None,
                    ax: Axes | None = None) -> Axes:
    """Box plot (with every order as a dot) of order lead times per customer or class
    (``label``: the product's name for the title; default its id).

    Lead time is placed to last delivery, in years; orders placed before the start (the
    initial order book) count from their real placing date. The box (quartiles), whiskers
    (5-95%) and median are Kaplan-Meier estimates: an order open at ``end`` counts as
    waiting at least until then (a hollow dot at its wait so far), as in the run summary's
    median; one not reached is drawn dashed to the longest wait, with an arrow head.
    """
    ax = default_axes(ax)
    data = lead_time_groups(orders, product, by, start=start, end=end)
    names = list(data)
    positions = np.arange(1, len(names) + 1)
    ticks = []
    unreached = median_unreached = False
    for i, (name, waits) in enumerate(data.items()):
        late = int(waits.open.sum())
        median = waits.quantile(0.5)
        counts = f"{len(waits.years) - late} delivered" + (f", {late} {end_label(end)}" if late else "")
        beyond = "" if median is not None else f"\nmedian not reached (> {waits.longest:.1f} y)"
        ticks.append(f"{name}\n{counts}{beyond}")
        y = float(positions[i])
        if len(waits.years) >= MIN_BOX:
            unreached |= _box(ax, y, waits)
        if median is None:  # more than half still open: the median lies beyond the longest wait
            median_unreached = True
            ax.plot([waits.longest], [y], marker=">", color="black", markersize=11, zorder=4)
        else:
            ax.plot([median] * 2, [y - 0.3, y + 0.3], color="black", linewidth=2, zorder=4)
        done, still = waits.years[~waits.open], waits.years[waits.open]
        spread = np.linspace(-0.18, 0.18, len(waits.years)) if len(waits.years) > 1 else np.zeros(1)
        ax.scatter(done, y + spread[~waits.open], s=22, color=colour(i), alpha=0.7, zorder=3,
                   label="one order delivered" if i == 0 else None)
        if len(still):
            ax.scatter(still, y + spread[waits.open], s=26, facecolors="white", edgecolors=colour(i),
                       linewidths=1.3, zorder=3)
    ax.set_yticks(positions, ticks)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("lead time, order placed to last unit delivered (years)")
    what = f"{label or product}: lead time" if product else "Lead time"
    titled(ax, f"{what} by {'priority class' if by == 'priority' else by}", scenario)
    some_open = any(w.open.any() for w in data.values())
    extra: list[Artist] = []
    if some_open:
        extra.append(Line2D([], [], linestyle="", marker="o", markerfacecolor="white",
                            markeredgecolor=colour(0), label=f"one order open at end ({end_label(end)}): "
                            "its wait so far"))
    km = " (Kaplan-Meier: an open order counts as waiting at least until the end)" if some_open else ""
    extra.append(Rectangle((0, 0), 0, 0, fill=False, edgecolor=GREY,
                           label=f"box: quartiles, whiskers: 5-95% of the orders (if {MIN_BOX}+){km}"))
    extra.append(Line2D([], [], color="black", linewidth=2,
                        label="median, as in the run's summary" if some_open else "median"))
    if median_unreached:
        extra.append(Line2D([], [], linestyle="", marker=">", color="black", markersize=9,
                            label="median not reached: more than half still open at end (beyond here)"))
    if unreached:
        extra.append(Line2D([], [], color=GREY, linestyle=(0, (4, 3)), marker=">", markersize=5,
                            label="not reached by end: beyond the longest wait"))
    legend_outside(ax, extra=extra)
    return ax
