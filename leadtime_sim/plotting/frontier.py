"""The frontier of an ``optimize`` answer: capex against P(gap closed by the date).

Takes the JSON-ready answer of ``experiment.optimize.optimize`` (a plain dict)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

from matplotlib.axes import Axes

from leadtime_sim.plotting.style import GREY, colour, default_axes, legend_outside, titled


def frontier_chart(answer: Mapping[str, Any], *, scenario: str = "", ax: Axes | None = None) -> Axes:
    """Each candidate run (its 95% Wilson interval as a bar), the confidence asked for as a
    line, and the chosen design, re-estimated on fresh runs, marked; designs the fluid
    pre-screen left out, unrun, as grey triangles at their capex (at 0: infeasible, at 1:
    overbuilt; they have no estimate), one per capex with the number of designs it stands
    for; designs of equal capex that ran side by side. When no design buys anything (a budget
    or takt axis: every capex 0) the designs stand in their order along x, named by their
    values. (Bars are clipped at zero: at P = 1 the interval's upper end can fall a rounding
    error below it.)"""
    ax = default_axes(ax)
    candidates = [dict(c) for c in answer["candidates"]]
    free = not any(c["capex_musd"] for c in candidates)  # (no design buys lines: a budget, a takt)
    xs: list[float] = []
    if free:  # the designs side by side, in their order, named by their values
        xs = [float(k) for k in range(len(candidates))]
    else:
        span = max([c["capex_musd"] for c in candidates if c["p_closed"] is not None], default=0.0) or 1.0
        seen: dict[float, int] = {}
        for c in candidates:  # run designs of equal capex side by side, not on top of each other
            k = 0
            if c["p_closed"] is not None:
                k = seen[c["capex_musd"]] = seen.get(c["capex_musd"], -1) + 1
            xs.append(c["capex_musd"] + 0.012 * span * k)
    for c, x in zip(candidates, xs, strict=True):
        c["x"] = x
    run = [c for c in candidates if c["p_closed"] is not None]
    meets = [c for c in run if c["verdict"].startswith("meets")]
    fails = [c for c in run if not c["verdict"].startswith("meets")]
    for group, name, i in ((fails, "candidate: does not meet it", 1), (meets, "candidate: meets it", 0)):
        if group:
            ax.errorbar([c["x"] for c in group], [c["p_closed"] for c in group],
                        yerr=[[max(0.0, c["p_closed"] - c["p_closed_ci"][0]) for c in group],
                              [max(0.0, c["p_closed_ci"][1] - c["p_closed"]) for c in group]],
                        fmt="o", color=colour(i), capsize=3, label=name)
    left_out = (("v", 0.0, "fails", "clearly infeasible"), ("^", 1.0, "not needed", "overbuilt"))
    for mark, y, kind, why in left_out:
        left = Counter(c["x"] for c in candidates
                       if "fluid pre-screen" in c["verdict"] and c["verdict"].startswith(kind))
        if left:
            ax.plot(list(left), [y] * len(left), mark, color=GREY, markersize=7, linestyle="none",
                    label=f"not run: {why} at mean rates (fluid pre-screen; a number: designs of that capex)")
            for capex, count in left.items():  # designs of equal capex share one mark
                if count > 1:
                    ax.annotate(f"{count}", (capex, y), xytext=(0, 9 if y == 0.0 else -9),
                                textcoords="offset points", ha="center", va="bottom" if y == 0.0 else "top",
                                color=GREY, fontsize=9)
    ax.axhline(answer["confidence"], color=GREY, linestyle="--", linewidth=1.2,
               label=f"confidence asked: {answer['confidence']:g}")
    best = answer["best"]
    if best is not None and best["p_closed_ci"] is not None:  # (None: every fresh run failed)
        lo, hi = best["p_closed_ci"]
        p = best["p_closed"]
        x = next((c["x"] for c in run if "point_id" in best and c.get("point_id") == best["point_id"]),
                 best["capex_musd"])  # (on its candidate's mark)
        ax.errorbar([x], [p], yerr=[[max(0.0, p - lo)], [max(0.0, hi - p)]],
                    fmt="*", markersize=16, color="black", capsize=4,
                    label=("chosen" if answer["feasible"] else "best found (does not meet it)")
                    + f", {best['replications']} fresh runs")
    if free:
        names = list(dict.fromkeys(name for c in candidates for name in c["values"]))
        many = len(candidates) > 6
        ax.set_xticks(range(len(candidates)),
                      [", ".join(str(v) for v in c["values"].values()) or "baseline" for c in candidates],
                      rotation=30 if many else 0, ha="right" if many else "center")
        ax.set_xlabel(f"design: {', '.join(names)} (no design buys lines: capex 0)")
    else:
        ax.set_xlabel("capex of the design (million USD)")
        capexes = sorted({float(c["capex_musd"]) for c in candidates})
        if len(capexes) == 1:  # (else ticks at 192.5, 195, ... around the one design's capex)
            ax.set_xticks(capexes, [f"{capexes[0]:,.0f}"])
    ax.set_ylabel(f"P({answer['requirement']} gap closed by {answer['by']})")
    ax.set_ylim(-0.03, 1.03)
    titled(ax, f"{answer['requirement']}: cheapest design closing the gap by {answer['by']}", scenario)
    legend_outside(ax)
    return ax
