"""Lead time by customer or priority class, from a run's orders table.

Orders not delivered by the end of the horizon have no lead time: they are counted in the
row label ("3 not by 2045"), never drawn as a value.
"""

from __future__ import annotations

from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from leadtime_sim.plotting.style import colour, default_axes, end_label, legend_outside, titled

HORIZONTAL: dict[str, Any] = (
    {"orientation": "horizontal"} if tuple(map(int, matplotlib.__version__.split(".")[:2])) >= (3, 10)
    else {"vert": False})
"""``boxplot`` keywords for horizontal boxes (``vert`` is deprecated from Matplotlib 3.10)."""
MIN_BOX = 5
"""Fewer delivered orders than this get a median bar but no box (quartiles of 3 mislead)."""


def lead_time_groups(orders: pd.DataFrame, product: str | None, by: str) -> dict[str, pd.Series]:
    """Group label -> lead times in years of the delivered orders (groups in sorted order)."""
    if by not in ("customer", "priority"):
        raise ValueError(f"by must be 'customer' or 'priority' (got {by!r})")
    chosen = orders if product is None else orders[orders["product"] == product]
    if chosen.empty:
        raise ValueError(f"no orders for product {product!r}")
    result = {}
    for key, part in sorted(chosen.groupby(by), key=lambda kv: kv[0]):
        name = f"class {key}" if by == "priority" else str(key)
        result[name] = part["lead_time_months"].astype(float) / 12
    return result


def lead_time_chart(orders: pd.DataFrame, *, end: str, product: str | None = None,
                    by: str = "customer", scenario: str = "", ax: Axes | None = None) -> Axes:
    """Box plot (with every order as a dot) of order lead times per customer or class.

    Lead time is placed to last delivery, in years; orders placed before the start (the
    initial order book) count from their real placing date.
    """
    ax = default_axes(ax)
    data = lead_time_groups(orders, product, by)
    names = list(data)
    delivered = [s.dropna().to_numpy() for s in data.values()]
    ticks = []
    for name, series, done in zip(names, data.values(), delivered, strict=True):
        late = int(series.isna().sum())
        ticks.append(f"{name}\n{len(done)} delivered" + (f", {late} {end_label(end)}" if late else ""))
    positions = np.arange(1, len(names) + 1)
    boxed = [i for i, d in enumerate(delivered) if len(d) >= MIN_BOX]
    grey = {"color": "#444444"}
    if boxed:
        ax.boxplot([delivered[i] for i in boxed], positions=positions[boxed], widths=0.6,
                   showfliers=False, whis=(5, 95), medianprops={"color": "black", "linewidth": 2},
                   boxprops=grey, whiskerprops=grey, capprops=grey, **HORIZONTAL)
    for i, done in enumerate(delivered):
        if 0 < len(done) < MIN_BOX:  # too few orders for quartiles: the median alone
            ax.plot([np.median(done)] * 2, [positions[i] - 0.3, positions[i] + 0.3], color="black",
                    linewidth=2)
    for i, done in enumerate(delivered):
        spread = np.linspace(-0.18, 0.18, len(done)) if len(done) > 1 else np.zeros(len(done))
        ax.scatter(done, positions[i] + spread, s=22, color=colour(i), alpha=0.7, zorder=3,
                   label="one order" if i == 0 else None)
    ax.set_yticks(positions, ticks)
    ax.invert_yaxis()
    ax.set_xlim(left=0)
    ax.set_xlabel("lead time, order placed to last unit delivered (years)")
    what = f"{product}: lead time" if product else "Lead time"
    titled(ax, f"{what} by {'priority class' if by == 'priority' else by}", scenario)
    some_late = any(series.isna().any() for series in data.values())
    of = "orders delivered by end" if some_late else "orders"
    box = Rectangle((0, 0), 0, 0, fill=False, edgecolor="#444444",
                    label=f"box: quartiles, whiskers: 5-95% of {of} (if {MIN_BOX}+)")
    median = Line2D([], [], color="black", linewidth=2,
                    label="median of those delivered (the run's summary gives the median of all)"
                    if some_late else "median")
    legend_outside(ax, extra=[box, median])
    return ax
