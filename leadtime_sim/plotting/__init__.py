"""Charts: functions ``(data, ..., ax=None) -> Axes`` that draw and never show or save.

The only place that imports Matplotlib (``import leadtime_sim`` does not import this).
Data in, axes out: sweep aggregates (``points.csv``), series quantiles and a run's orders,
as pandas DataFrames (a distribution fit's chart data as a dict: ``fitting.chart_data``).
:mod:`leadtime_sim.charts` reads result directories and writes files.
"""

from leadtime_sim.plotting.fit import fit_density_chart, fit_figure, fit_qq_chart
from leadtime_sim.plotting.orders import lead_time_chart
from leadtime_sim.plotting.series import (
    Milestone,
    backlog_chart,
    fan_chart,
    quoted_lead_time_chart,
    utilisation_chart,
)
from leadtime_sim.plotting.style import OKABE_ITO, bound_texts, date_numbers, new_figure, slide_style
from leadtime_sim.plotting.sweep import close_heatmap, gap_close_chart, probability_chart

__all__ = [
    "OKABE_ITO",
    "Milestone",
    "backlog_chart",
    "bound_texts",
    "close_heatmap",
    "date_numbers",
    "fan_chart",
    "fit_density_chart",
    "fit_figure",
    "fit_qq_chart",
    "gap_close_chart",
    "lead_time_chart",
    "new_figure",
    "probability_chart",
    "quoted_lead_time_chart",
    "slide_style",
    "utilisation_chart",
]
