"""How precise a metric's mean gets as replications are added: one line per design point.

Takes, per point, ``d_n`` (the 95% interval's half-width over the first n replications,
relative to the mean or absolute) and the answer of the look-ahead method (None: not
reached), as ``experiment.replications`` computes them."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.axes import Axes

from leadtime_sim.plotting.style import GREY, colour, default_axes, legend_outside, titled

NAMED_POINTS = 8
"""Points drawn in a colour of their own and named in the legend; the others grey."""


def replications_chart(paths: Mapping[str, np.ndarray], needed: Mapping[str, int | None], limit: float, *,
                       relative: bool, metric: str, unit: str = "", scenario: str = "",
                       label: str | None = None, ax: Axes | None = None) -> Axes:
    """``paths``: point label -> d_n for n = 1, 2, ...; ``needed``: point label -> the
    replications it needs; ``unit``: an absolute half-width's. The worst points (most
    replications needed, then the widest last interval) get colours; a marker shows each
    one's answer."""
    ax = default_axes(ax)

    def rank(name: str) -> tuple[float, float]:
        n, d = needed.get(name), paths[name]
        last = float(d[-1]) if len(d) and np.isfinite(d[-1]) else np.inf
        return (np.inf if n is None else n, last)

    groups: dict[bytes, list[str]] = {}  # (points with the same runs draw one line, named once)
    for name in sorted(paths, key=rank, reverse=True):
        groups.setdefault(np.asarray(paths[name], dtype=float).tobytes(), []).append(name)
    order = list(groups.values())
    scale = 100.0 if relative else 1.0
    top = limit * scale
    for k, names in enumerate(order):
        name = names[0]
        d = np.asarray(paths[name], dtype=float) * scale
        n = np.arange(1, len(d) + 1)
        named = k < NAMED_POINTS
        got = needed.get(name)
        ids = ", ".join(x.split(" (")[0].removeprefix("point ") for x in names)  # ("point 3 (axes)" -> "3")
        shown = name if len(names) == 1 else f"points {ids} (the same runs)"
        text = f"{shown}: {got} replications" if got is not None else f"{shown}: not reached"
        ax.plot(n[1:], d[1:], color=colour(k) if named else GREY, linewidth=1.6 if named else 0.8,
                alpha=1.0 if named else 0.5, label=text if named else None, zorder=3 if named else 2)
        if got is not None and named:
            ax.plot([got], [d[got - 1]], marker="o", color=colour(k), zorder=4)
        finite = d[1:][np.isfinite(d[1:])]
        if len(finite):
            top = max(top, float(np.percentile(finite, 90)))
    if len(order) > NAMED_POINTS:
        others = sum(map(len, order[NAMED_POINTS:]))
        ax.plot([], [], color=GREY, linewidth=0.8, label=f"{others} other points")
    ax.axhline(limit * scale, color="black", linestyle="--", linewidth=1,
               label=f"precision asked: {limit:.0%}" if relative else
               f"precision asked: +/- {limit:g}{f' {unit}' if unit else ''}")
    ax.set_ylim(0, top * 1.1 if top > 0 else 1)
    ax.set_xlim(left=1)
    ax.set_xlabel("replications")
    ax.set_ylabel("95% interval half-width, % of the mean" if relative else
                  f"95% interval half-width{f' ({unit})' if unit else ''}")
    titled(ax, f"Replications needed: {label or metric}", scenario)
    legend_outside(ax)
    return ax
