"""The fluid pre-screen of ``optimize``: designs judged from the fluid model, unrun.

The fluid model (``fluid_model``) gives, in milliseconds and without random draws, the
close month a design would have at mean rates. Against the DES median it agrees within a
few months on the default model (README: "A fast estimate"). ``optimize`` uses it, with a
margin of ``margin_months``, to leave out two kinds of design:

* clearly infeasible: the fluid close month is more than the margin after ``--by`` (or the
  gap is not closed by the end at all). Such a design would need its gap to close a
  margin's worth ahead of its own mean-rate date in most runs.
* clearly overbuilt: a cheaper design's fluid close month is already more than the margin
  before ``--by``, and the DES confirms that cheaper design meets the confidence; every
  dearer design is then not needed (in a small design, evaluated whole for the frontier
  chart, these would otherwise be run).

A margin of 0 turns the pre-screen off. It is off by itself, and says why, for a scenario
the fluid model does not model (budgets, learning curves, minimum lot sizes, allocation
other than first come first served or by priority): there its estimate could be far from the DES.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.experiment.runner import Plan, plugin_folders
from leadtime_sim.fluid_model import fluid_summary, not_modelled
from leadtime_sim.plugins import NO_PLUGINS, load_plugins

DEFAULT_MARGIN_MONTHS = 12.0


@dataclass
class Screen:
    """Each design point's fluid close month for the question's requirement."""

    margin_months: float
    by_months: float
    horizon_months: float
    start: str
    close_months: dict[int, float] = field(default_factory=dict)
    """Point id -> fluid close month (math.inf: not by end)."""
    off: str | None = None
    """Why the pre-screen is off (None: on)."""

    def close_of(self, point_ids: list[int]) -> float:
        """A design's fluid close month: its point's, or the median over the sampled points
        it pools (the lower middle one for an even number)."""
        closes = sorted(self.close_months[p] for p in point_ids)
        return closes[(len(closes) - 1) // 2]

    def infeasible(self, point_ids: list[int]) -> str | None:
        """The verdict of a clearly infeasible design (its points' ids), or None."""
        if self.off is not None:
            return None
        close = self.close_of(point_ids)
        if close <= self.by_months + self.margin_months:
            return None
        when = "is not closed by the end" if math.isinf(close) else f"closes in {self.month(close)}"
        return (f"fails (fluid pre-screen, not run): at mean rates the gap {when}, more than "
                f"{self.margin_months:g} months after the date")

    def clearly_feasible(self, point_ids: list[int]) -> bool:
        """The fluid close month is more than the margin before the date."""
        return self.off is None and self.close_of(point_ids) < self.by_months - self.margin_months

    def month(self, months: float) -> str:
        return date_at(self.start, months)

    def record(self) -> dict[str, object]:
        """What ``optimize.json`` says of the pre-screen."""
        return {"margin_months": self.margin_months, "off": self.off,
                "fluid_close": {str(p): (None if math.isinf(m) else self.month(m))
                                for p, m in sorted(self.close_months.items())}}


def screen(plan: Plan, requirement: str, by: str, margin_months: float) -> Screen:
    """The fluid close month of every design point (none when the pre-screen is off)."""
    scenario = plan.scenario
    result = Screen(margin_months, months_between(scenario.start, by),
                    months_between(scenario.start, scenario.end), scenario.start)
    if margin_months <= 0:
        result.off = "turned off (--prescreen-months 0)"
        return result
    plugins = (load_plugins(plan.experiment.plugins, plugin_folders(plan.experiment_path))
               if plan.experiment.plugins else NO_PLUGINS)
    for point in plan.points:
        point_scenario = plan.point_scenario(point.point_id)
        reasons = not_modelled(point_scenario)
        if reasons:
            result.off = reasons[0]
            result.close_months.clear()
            return result
        summary = fluid_summary(point_scenario, plugins)
        close = summary["requirements"][requirement]["gap_closed_months"]
        result.close_months[point.point_id] = math.inf if close is None else float(close)
    return result
