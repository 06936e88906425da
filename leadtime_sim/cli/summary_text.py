"""The run summary as a table a person reads in a terminal."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from leadtime_sim.dates import month_form
from leadtime_sim.limits import limit_words


def _years(months: float | None) -> str:
    if months is None:
        return "not by end"
    return f"{months / 12:.1f} y" if months >= 12 else f"{months:.1f} mo"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, rows)])


def summary_table(summary: dict[str, Any], components: Collection[str] = ()) -> str:
    """The summary as text: requirements, then every product that is ordered or could be
    (``components``, made to stock, only when ordered), with its quoted lead time."""
    drawn = "mean rates" if summary.get("estimate") == "fluid" else f"seed {summary['seed']}"
    span = f"{month_form(summary['start'])} to {month_form(summary['end'])}"
    parts = [f"{summary['scenario']}  ({span}, {drawn})"]
    reqs = summary["requirements"]
    if reqs:
        parts.append("\nRequirements: when the gap closes")
        parts.append(_table(
            ["requirement", "product", "gap closes", "largest gap", "gap at end", "limited by (at end)"],
            [[name, r["product"], r["gap_closed"] or "not by end", f"{r['max_gap_units']:.0f}",
              f"{r['gap_end_units']:.0f}", limit_words(r.get("limited_by"), r.get("units_short"))]
             for name, r in reqs.items()]))
    parts.append("\nProducts")
    parts.append(_table(
        # (in work: on the lines or in integration and test at the end, ordered and not delivered
        # beside the backlog: without it 286 ordered, 248 delivered and a backlog of 0 left 38 unsaid)
        ["product", "ordered", "delivered", "in work at end", "backlog at end", "quoted lead time",
         "mean lead time", "median lead time"],
        [[name, str(p["ordered_units"]), str(p["delivered_units"]), str(p.get("wip_end_units", "")),
          str(p["backlog_end_units"]), _years(p["quoted_lead_time_months"]), *_realised(p)]
         for name, p in summary["products"].items() if p["ordered_units"] or name not in components]))
    parts.append(f"\nCapex spent: {summary['capex_musd']:,.0f} $M")
    return "\n".join(parts)


def _realised(product: Mapping[str, Any]) -> list[str]:
    """The mean and median lead time of a product's orders: "no orders" where it has none
    (not "not by end", which says that orders wait)."""
    if not product["ordered_units"]:
        return ["no orders", "no orders"]
    return [_years(product["mean_lead_time_months"]), _years(product.get("median_lead_time_months"))]
