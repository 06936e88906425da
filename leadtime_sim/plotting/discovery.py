"""Scenario discovery charts: PRIM's peeling trajectory and the box it chose.

Take the trajectory (one row per box: ``coverage``, ``density``, ``restricted``) and the
chosen box's limits, each as a share of its input's full range, as ``discovery`` gives them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from leadtime_sim.plotting.style import GREY, colour, default_axes, legend_outside, titled


def trajectory_chart(trajectory: pd.DataFrame, step: int, *, outcome: str, scenario: str = "",
                     pruned: tuple[float, float] | None = None, ax: Axes | None = None) -> Axes:
    """Coverage against density of each box as the peeling goes on, coloured by the inputs it
    restricts; the chosen box ringed, and ``pruned`` (its coverage and density once its weak
    limits are dropped) a star."""
    ax = default_axes(ax)
    ax.plot(trajectory["coverage"], trajectory["density"], color=GREY, linewidth=0.8, zorder=1)
    for k, (count, rows) in enumerate(trajectory.groupby("restricted", sort=True)):
        ax.scatter(rows["coverage"], rows["density"], color=colour(k), s=22, zorder=2,
                   label=f"{count} input{'' if count == 1 else 's'} restricted")
    picked = trajectory[trajectory["step"] == step]
    ax.scatter(picked["coverage"], picked["density"], s=140, facecolors="none", edgecolors="black",
               linewidths=1.5, zorder=3, label=f"box chosen (step {step})")
    if pruned is not None:
        ax.scatter([pruned[0]], [pruned[1]], marker="*", s=160, color="black", zorder=4,
                   label="the answer: that box without its weak limits")
    ax.set_xlim(0, 1.02)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("coverage: share of all runs with the outcome that the box holds")
    ax.set_ylabel("density: share of the box's runs with the outcome")
    titled(ax, f"Scenario discovery: {outcome}", scenario)
    legend_outside(ax)
    return ax


def box_chart(limits: Sequence[tuple[str, float, float, str, str]], *, outcome: str, scenario: str = "",
              ax: Axes | None = None) -> Axes:
    """The chosen box: for each input it restricts, the kept part of its full range (0 to 1),
    labelled with the values (``(input, low share, high share, low text, high text)``)."""
    ax = default_axes(ax)
    y = np.arange(len(limits), dtype=float)[::-1]
    for k, (_, low, high, low_text, high_text) in enumerate(limits):
        ax.barh(y[k], 1.0, left=0.0, height=0.5, color="#eeeeee", edgecolor=GREY, linewidth=0.6)
        ax.barh(y[k], max(high - low, 0.01), left=low, height=0.5, color=colour(0))
        ax.text(low, y[k] + 0.33, low_text, ha="left", va="bottom", fontsize=9)
        ax.text(high, y[k] - 0.33, high_text, ha="right", va="top", fontsize=9)
    ax.set_yticks(y, [limit[0] for limit in limits])
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.8, len(limits) - 0.2)
    ax.set_xlabel("share of the input's swept range (grey: all of it; blue: the box)")
    titled(ax, f"Where it happens: {outcome}", scenario)
    return ax
