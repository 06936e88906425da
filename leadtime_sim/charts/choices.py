"""What a chart shows when its settings leave it open: the best point, and the investment
events to mark on a time axis. Read from typed results; nothing is recomputed that the
scenario knows (an investment's capex and planned entry into service are its own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from leadtime_sim.dates import date_at
from leadtime_sim.results import Results

if TYPE_CHECKING:  # a plotting type only: choosing what to draw needs no Matplotlib
    from leadtime_sim.plotting.series import Milestone


def best_point(results: Results, requirement: str, target: str | None = None) -> int:
    """The point whose gap closes first (median, to the month), then the cheapest, then the
    most surely by ``target``: a design that closes in the same month for less is the one a
    planner would pick."""
    rows = results.gap_rows(requirement)
    if (rows["n"] > 0).any():  # a point with no finished run (all failed, say) has no answer
        rows = rows[rows["n"] > 0]
    if rows.empty:
        return results.baseline_id
    column = f"p_closed_by_{target}" if target else None

    def key(row: Any) -> tuple[float, float, float, int]:
        p = -float(row[column]) if column and column in row and np.isfinite(row[column]) else 0.0
        median = float(np.floor(row["p50"] + 1e-9)) if np.isfinite(row["p50"]) else np.inf
        point = int(row["point_id"])
        return median, results.point(point).swept_capex_musd, p, point

    return int(min(rows.to_dict("records"), key=key)["point_id"])


def supply_chain(results: Results, product: str) -> set[str]:
    """``product`` and every component below it in the bills of materials."""
    products = {product}
    while True:
        more = {c for p in products for c in results.scenario.products[p].bom}
        if more <= products:
            return products
        products |= more


def milestones(results: Results, product: str, points: Sequence[int]) -> list[Milestone]:
    """When each investment in ``product`` or its components is planned to enter service, per
    point (``Investment.in_service_months``). An event common to every point gets
    ``point_id`` None; events on one date are merged."""
    products = supply_chain(results, product)
    events: dict[tuple[str, int], set[str]] = {}
    for point in points:
        scenario = results.point(point).scenario
        for name, investment in scenario.investments.items():
            if scenario.factories[investment.factory].product in products and investment.lines_added > 0:
                months = investment.in_service_months(results.start)
                if 0 < months < results.horizon_months:
                    events.setdefault((date_at(results.start, months), point), set()).add(name)
    merged: dict[tuple[str, int | None], set[str]] = {}
    for (date, point), names in events.items():
        shared = all(names <= events.get((date, other), set()) for other in points)
        merged.setdefault((date, None if shared else point), set()).update(names)
    return [{"date": d, "point_id": p, "label": " + ".join(sorted(n)) + " in service"}
            for (d, p), n in sorted(merged.items(), key=lambda kv: (kv[0][0], kv[0][1] or -1))]
