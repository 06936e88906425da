"""Charts of a what-if quote: when the order's last unit arrives (an ECDF over the paired
runs), and whom the order pushes back (delays by customer).

They take the JSON-ready answer of ``experiment.whatif.quote`` (a plain dict)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from leadtime_sim.dates import months_between
from leadtime_sim.plotting.style import (
    GREY,
    colour,
    date_axis,
    date_numbers,
    default_axes,
    end_label,
    legend_outside,
    titled,
)


def delivery_chart(answer: Mapping[str, Any], *, targets: tuple[str, ...] = (), scenario: str = "",
                   ax: Axes | None = None) -> Axes:
    """ECDF of the last delivery date over the replications; runs not delivered by the end
    are the gap between the curve's top and 1, labelled at the horizon."""
    ax = default_axes(ax)
    start, end = answer["start"], answer["end"]
    horizon = months_between(start, end)
    months = np.sort([m for m in answer["last_delivery_months"] if m is not None])
    runs = len(answer["last_delivery_months"])
    if len(months):
        x = date_numbers(start, np.concatenate([[months_between(start, answer["date"])], months, [horizon]]))
        y = np.concatenate([[0.0], np.arange(1, len(months) + 1) / runs, [len(months) / runs]])
        ax.step(x, y, where="post", color=colour(0), linewidth=2.2, label="share of runs delivered")
        for name, q in (("P10", 0.1), ("median", 0.5), ("P90", 0.9)):
            value = answer["last_delivery"][name.lower() if name != "median" else "p50"]
            if value is not None:
                ax.plot(date_numbers(start, [months_between(start, value) + 0.5])[0], q, "o", color=colour(0),
                        markersize=6)
                ax.annotate(f"{name} {value}", (date_numbers(start, [months_between(start, value)])[0], q),
                            xytext=(8, -4), textcoords="offset points", fontsize=11)
    placed = date_numbers(start, [months_between(start, answer["date"])])[0]
    ax.axvline(placed, color=GREY, linestyle=":", label=f"ordered {answer['date']}")
    for k, target in enumerate(targets):
        ax.axvline(date_numbers(start, [months_between(start, target)])[0], color=colour(k + 1),
                   linestyle="--", label=f"target {target}")
    share = float(answer["share_not_by_end"])
    if share > 0:
        ax.annotate(f"{share:.0%} {end_label(end)}", (date_numbers(start, [horizon])[0], 1 - share),
                    xytext=(-6, 6), textcoords="offset points", ha="right", color=GREY)
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("share of runs with the order delivered")
    ax.set_xlabel("last unit delivered")
    span = (horizon - months_between(start, answer["date"])) / 12
    date_axis("x", ax, span, last=date_numbers(start, [horizon])[0])
    ax.set_xlim(placed - 60, date_numbers(start, [horizon])[0])  # (to the horizon: nothing is known past it)
    what = (f"What-if: {answer['quantity']} x {answer['product']} ordered {answer['date']} "
            f"(priority {answer['priority']}), {runs} paired runs")
    titled(ax, what, scenario)
    legend_outside(ax)
    return ax


def displacement_chart(answer: Mapping[str, Any], *, scenario: str = "", ax: Axes | None = None) -> Axes:
    """Per customer, the mean and P90 delay (months) the order causes to its orders."""
    ax = default_axes(ax)
    rows = list(answer["displaced"])
    if not rows:
        ax.text(0.5, 0.5, "the order delays no other order", ha="center", va="center",
                transform=ax.transAxes, color=GREY)
        ax.set_axis_off()
    else:
        y = np.arange(len(rows))
        ax.barh(y - 0.2, [r["mean_delay_months"] for r in rows], height=0.4, color=colour(0),
                label="mean delay of a delayed order")
        ax.barh(y + 0.2, [r["p90_delay_months"] for r in rows], height=0.4, color=colour(1),
                label="P90 delay")
        ax.set_yticks(y, [f"{r['customer']}\n{r['orders']} orders, {r['delays_per_run']:.1f} a run"
                          for r in rows])
        ax.invert_yaxis()
        ax.set_xlabel("months later than without the order")
        legend_outside(ax)
    titled(ax, f"Whom {answer['quantity']} x {answer['product']} ordered {answer['date']} pushes back",
           scenario)
    return ax
