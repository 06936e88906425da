"""A tornado of sensitivity indices: one bar per input, the most influential on top.

Takes rows of ``sensitivity.csv`` for one metric (Sobol: S1 and ST with their intervals;
Morris: mu* with its interval and sigma)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes

from leadtime_sim.plotting.style import GREY, colour, default_axes, legend_outside, titled

MAX_ROWS = 25
"""The inputs a chart shows at most (those that move the metric most; the rest are named in
the label, and every one is in sensitivity.csv)."""
UNITS = "the metric's units"
"""What a Morris effect is in when the caller names no unit."""


def sensitivity_chart(rows: pd.DataFrame, metric: str, *, noise_share: float | None = None,
                      noise_note: str | None = None, scenario: str = "", label: str | None = None,
                      unit: str | None = None, not_by_end: float | None = None,
                      caution: bool = False, ax: Axes | None = None) -> Axes:
    """Sobol: total (ST) and first-order (S1) indices as paired bars with bootstrap 95%
    intervals; Morris: mu* bars with intervals and sigma as diamonds, in the metric's ``unit``.
    ``noise_note``: why there is no noise share when there is a reason other than no input
    moving it; ``not_by_end``: the share of runs counted at the horizon (none: not said);
    ``caution``: a Sobol index lies outside [0, 1] (sampling error), which the label says."""
    ax = default_axes(ax)
    sobol = "ST" in rows.columns
    key = "ST" if sobol else "mu_star"
    rows = rows.sort_values(key, na_position="first").reset_index(drop=True)  # (not estimated: bottom)
    left_out = ""
    if len(rows) > MAX_ROWS:  # (60 rows of labels ran into one another)
        rest = rows.iloc[:len(rows) - MAX_ROWS]
        rows = rows.iloc[len(rows) - MAX_ROWS:].reset_index(drop=True)
        most = rest[key].max()
        left_out = (f"\nthe {MAX_ROWS} of {len(rows) + len(rest)} inputs that move it most; the other "
                    f"{len(rest)} ({'ST' if sobol else 'mu*'} up to {most:.2g}"
                    f"{', or not estimated' if rest[key].isna().any() else ''}) are in sensitivity.csv")
    y = np.arange(len(rows), dtype=float)
    if sobol:
        bars = ((0.18, "ST", "total order ST", 0), (-0.18, "S1", "first order S1", 1))
        for offset, column, name, i in bars:
            value = rows[column].to_numpy(dtype=float)
            err = [np.clip(value - rows[f"{column}_lo"], 0, None),
                   np.clip(rows[f"{column}_hi"] - value, 0, None)]
            ax.barh(y + offset, value, height=0.34, xerr=err, color=colour(i), capsize=3, label=name)
        ax.axvline(0, color=GREY, linewidth=1)
        ax.set_xlabel("share of the output's variance (bars: 95% bootstrap intervals)")
    else:
        value = rows["mu_star"].to_numpy(dtype=float)
        err = [np.clip(value - rows["mu_star_lo"], 0, None), np.clip(rows["mu_star_hi"] - value, 0, None)]
        ax.barh(y, value, height=0.5, xerr=err, color=colour(0), capsize=3, label="mu* (mean |effect|)")
        ax.plot(rows["sigma"], y, linestyle="none", marker="D", color=colour(1), label="sigma (interaction)")
        ax.set_xlabel(f"elementary effect over the input's range ({unit or UNITS})")
        for k in np.flatnonzero(np.isnan(value)):  # a rounded input no step of the design moved
            ax.text(0.01, y[k], "  not estimated: no step of the design moved it", va="center",
                    color=GREY, transform=ax.get_yaxis_transform())
    ax.set_yticks(y, rows["input"])
    ax.set_ylim(-0.6, len(rows) - 0.4)  # (a row not estimated has no bar to make room for it)
    share = ("" if noise_share is None else "under 1%" if 0 < noise_share < 0.005  # (not "0%": none)
             else f"{noise_share:.0%}")
    noise = (f"simulation noise: {noise_note}" if noise_note
             else "no input moves it" if noise_share is None
             else f"simulation noise: {share} of the variance")
    if not_by_end:
        noise += f"; not by end in {not_by_end:.0%} of runs, counted at the horizon"
    warning = ("\ncaution: an index outside [0, 1], where none can be: sampling error; raise --samples"
               if caution else "")
    ax.set_xlabel(f"{ax.get_xlabel()}\n{noise}{left_out}{warning}")
    titled(ax, f"What moves it most: {label or metric}", scenario)
    legend_outside(ax)
    return ax
