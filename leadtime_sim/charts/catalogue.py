"""The charts, each declared once: its name, the settings it reads, the results it needs,
whether it is drawn by default, its builder and the caption the report gives it.

Experiment validation (``[[charts]]``), ``leadtime-sim plot --chart``, the default chart set,
the chart jobs and the report all read this table. A builder is named as
``module:function`` and imported when a chart is drawn, so that validating an experiment
imports neither the builders nor Matplotlib. To add a chart: one ``_chart(...)`` line here
and its builder in ``charts/jobs.py`` (a function ``(results, spec) -> list[Job]``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any, Literal

from leadtime_sim.registry import Registry

Source = Literal["sweep", "run"]


@dataclass(frozen=True)
class ChartKind:
    """One kind of chart."""

    name: str
    settings: frozenset[str]
    """The ``[[charts]]`` settings it reads (any other given for it is an error)."""
    sources: frozenset[Source]
    """The results it can be drawn from: a sweep store, one run's output, or both."""
    default_for: frozenset[Source]
    """Drawn when an experiment lists no charts (sweeps: if its data is there)."""
    needs: str
    """What it needs beyond its source (shown in messages): "an axis", "an axis and targets",
    "two axes", "series", ""."""
    builder: str
    """``module:function`` making its jobs from typed results and a chart setting."""
    caption: str
    """How to read it (the report's text above its charts)."""

    def build(self) -> Callable[..., Any]:
        module, function = self.builder.split(":")
        return getattr(import_module(module), function)


@dataclass(frozen=True)
class Job:
    """One chart file: its name and how to draw it on ``rows`` stacked axes."""

    stem: str
    rows: int
    draw: Callable[[list[Any]], None]
    """Draws on the figure's axes (Matplotlib ``Axes``)."""

    @property
    def kind(self) -> str:
        """The chart's name (``gap_close``, ``fan``, ...)."""
        return self.stem.split("-", 1)[0]


CHARTS: Registry[ChartKind] = Registry("chart")
JOBS = "leadtime_sim.charts.jobs"


def _chart(name: str, settings: str, sources: str, default_for: str, needs: str, builder: str,
           caption: str) -> None:
    CHARTS.add(name, ChartKind(name, frozenset(settings.split()), frozenset(sources.split()),  # type: ignore[arg-type]
                               frozenset(default_for.split()), needs, f"{JOBS}:{builder}", caption))  # type: ignore[arg-type]


_chart("gap_close", "requirements x group target", "sweep", "sweep", "an axis", "gap_close_jobs",
       "When each gap closes against the swept investment: the median run (line) and the P10-P90 "
       "of runs (bars); a triangle on the horizon: not closed by the end.")
_chart("probability", "requirements x group target", "sweep", "sweep", "an axis and targets",
       "probability_jobs",
       "The chance each gap is closed by the target date, with 95% Wilson intervals.")
_chart("heatmap", "requirements x y value target", "sweep", "sweep", "two axes", "heatmap_jobs",
       "The median close date over two axes at once (or, with value = \"probability\" in the "
       "chart's settings, the chance the gap is closed by the target date).")
_chart("fan", "requirements points", "sweep run", "sweep run", "series", "fan_jobs",
       "Inventory against the requirement over time, for the baseline and the best point; "
       "numbered lines: capacity investments planned to enter service.")
_chart("backlog", "products points", "sweep run", "sweep run", "series", "backlog_jobs",
       "Backlog: units ordered and not yet started on a line (work in progress - units on the "
       "lines or in integration and test - is not counted), and the lead time a new one-unit "
       "order is quoted.")
_chart("lead_time", "products by", "run", "run", "", "lead_time_jobs",
       "Lead time of every order, by customer: box (quartiles), whiskers (5-95%) and median are "
       "Kaplan-Meier estimates, an order open at the end counting as waiting at least until then "
       "(hollow dots), the median as in the run's summary; one not reached (more than half still "
       "open, for the median) is shown as beyond the longest wait, never as a value.")
_chart("utilisation", "points period_months", "sweep run", "sweep run", "series", "utilisation_jobs",
       "Share of each factory's lines that are busy: the bottleneck tier stays yellow.")
