"""The chart of ``leadtime-sim fit``: the records' histogram with the fitted densities, and a
Q-Q plot of the lowest-AIC fit.

They take the plain dict of ``fitting.chart_data`` (values, density curves, Q-Q points).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from leadtime_sim.plotting.style import GREY, SLIDE_SIZE, colour, default_axes, titled

MAX_BINS = 40
PLAIN_RANGE = (1e-30, 1e30)
"""Values whose largest is outside this are drawn in a power of ten of them (``view_unit``)."""


def view_unit(data: Mapping[str, Any]) -> tuple[dict[str, Any], float]:
    """The chart's data in a unit the axes can show, and the unit (1: as given). Matplotlib
    takes a span below ~1e-287 for zero, so values of 1e-300 (and the densities, 1e-300, of
    values of 1e300) drew empty axes; in a power of ten of the largest value they are plain."""
    values = [abs(v) for v in (*data["exact"], *data["censored"])]
    largest = max(values, default=1.0)
    if largest == 0 or PLAIN_RANGE[0] <= largest <= PLAIN_RANGE[1]:
        return dict(data), 1.0
    unit = 10.0 ** max(math.floor(math.log10(largest)), -307)  # (a normal number, not 0)
    shown = dict(data)
    shown["exact"] = [v / unit for v in data["exact"]]
    shown["censored"] = [v / unit for v in data["censored"]]
    shown["curves"] = [{**c, "x": [x / unit for x in c["x"]], "pdf": [f * unit for f in c["pdf"]]}
                       for c in data["curves"]]
    if data["qq"] is not None:
        shown["qq"] = {**data["qq"], "theoretical": [t / unit for t in data["qq"]["theoretical"]],
                       "observed": [o / unit for o in data["qq"]["observed"]]}
    shown["unit"] = f" (in units of {unit:.0e})"
    return shown, unit


def fit_density_chart(data: Mapping[str, Any], *, ax: Axes | None = None) -> Axes:
    """Histogram of the values (as a density; censored ones stacked, hatched) with the
    densities of the best fits, the lowest AIC drawn thickest."""
    ax = default_axes(ax)
    data, _ = view_unit(data)
    exact = np.asarray(data["exact"], dtype=float)
    censored = np.asarray(data["censored"], dtype=float)
    every = np.concatenate([exact, censored])
    edges = np.histogram_bin_edges(every, bins="auto")
    if len(edges) > MAX_BINS + 1:
        edges = np.histogram_bin_edges(every, bins=MAX_BINS)
    bins = edges.tolist()
    if len(censored):
        _, _, patches = ax.hist([exact, censored], bins=bins, stacked=True, density=True,
                                color=["#C9DDEB", "white"], edgecolor="#8FA9BD", linewidth=0.6,
                                label=[f"values ({len(exact)})", f"censored: lower bounds ({len(censored)})"])
        for patch in patches[1]:  # type: ignore[index, union-attr]  # (one container per stacked data set)
            patch.set_hatch("///")
    else:
        ax.hist(exact, bins=bins, density=True, color="#C9DDEB", edgecolor="#8FA9BD", linewidth=0.6,
                label=f"values ({len(exact)})")
    for k, curve in enumerate(data["curves"]):
        ax.plot(curve["x"], curve["pdf"], color=colour(k), linewidth=2.6 if k == 0 else 1.6,
                linestyle="-" if k == 0 else ("--", ":", "-.")[(k - 1) % 3], label=curve["label"])
    ax.set_ylim(bottom=0)
    ax.set_xlabel(data["column"] + data.get("unit", ""))
    ax.set_ylabel("density" + (" (per unit)" if "unit" in data else ""))
    best = data["best"]
    titled(ax, f"Fits to {data['title']}" + (" (suggested: empirical)" if best == "empirical" else ""),
           data["source"])
    ax.legend(loc="best", frameon=False)  # (under censoring a fit's peak may lie on the right)
    return ax


def fit_qq_chart(data: Mapping[str, Any], *, ax: Axes | None = None) -> Axes:
    """Observed quantiles against those of the lowest-AIC fit; on the diagonal if it fits."""
    ax = default_axes(ax)
    data, _ = view_unit(data)
    qq = data["qq"]
    if qq is None:
        ax.text(0.5, 0.5, "no family fitted", ha="center", va="center", transform=ax.transAxes, color=GREY)
        ax.set_axis_off()
        return ax
    theoretical = np.asarray(qq["theoretical"], dtype=float)
    observed = np.asarray(qq["observed"], dtype=float)
    both = np.concatenate([theoretical[np.isfinite(theoretical)], observed])
    low, high = float(both.min()), float(both.max())
    pad = 0.04 * (high - low) or 1.0
    ax.plot([low, high], [low, high], color=GREY, linestyle="--", linewidth=1.2, label="a perfect fit")
    ax.plot(theoretical, observed, "o", color=colour(0), markersize=4, alpha=0.8, label="values (exact)")
    ax.set_xlabel(f"{qq['label']} quantile" + data.get("unit", ""))
    ax.set_ylabel("observed quantile" + data.get("unit", ""))
    positions = "Kaplan-Meier positions" if len(data["censored"]) else "(i - 0.5) / n"
    ax.set_title(f"Q-Q: {qq['label']} (lowest AIC)\n{positions}", loc="left")
    ax.set_xlim(low - pad, high + pad)
    ax.set_ylim(low - pad, high + pad)
    ax.set_aspect("equal", adjustable="box")
    ax.legend(loc="upper left", frameon=False)
    return ax


def fit_figure(data: Mapping[str, Any], size: tuple[float, float] = SLIDE_SIZE) -> Figure:
    """Both charts side by side on a new figure (outside pyplot)."""
    fig = Figure(figsize=size, layout="constrained")
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    fit_density_chart(data, ax=left)
    fit_qq_chart(data, ax=right)
    return fig
