"""``report.html`` of an ``optimize`` output: the answer in one sentence first, then every
candidate with its verdict, the frontier chart and the method. One self-contained file, as
the sweep report (``report.py``)."""

from __future__ import annotations

import base64
from functools import partial
from pathlib import Path
from typing import Any

from leadtime_sim.charts.catalogue import Job
from leadtime_sim.charts.files import render
from leadtime_sim.charts.jobs import on_axes
from leadtime_sim.experiment.optimize import answer_text
from leadtime_sim.experiment.optimize_store import read_answer
from leadtime_sim.io import atomic_write
from leadtime_sim.plotting.frontier import frontier_chart
from leadtime_sim.report import CSS, esc

METHOD = [
    "Candidates are the experiment's design points in order of the capex of the investments their "
    "values change. Each gets replications in batches, under common random numbers, until the 95% "
    "Wilson interval of P(closed by the date) lies wholly above or below the confidence asked for, "
    "or the cap is reached (then the estimate decides: a close call).",
    "A design that fails rules out the designs with fewer lines and the same other values (more "
    "lines never close a gap later). The chosen design is re-estimated on fresh replications no "
    "candidate used; that estimate is the one reported.",
    "Before any run, the fluid model (mean rates, no random draws) estimates every design's close "
    "month. A design whose estimate is more than the pre-screen margin after the date is left out as "
    "clearly infeasible, and once a design clearly feasible by that estimate (more than the margin "
    "before the date) meets the confidence, dearer designs are left out as overbuilt; neither is run. "
    "The pre-screen is off for scenarios the fluid model does not model (budgets, learning curves, "
    "minimum lot sizes, allocation other than first come first served or by priority).",
]


def optimize_report_html(answer: dict[str, Any], title: str) -> str:
    first, *rest = answer_text(answer).splitlines()
    rows = "".join(
        f"<tr><td>{esc(', '.join(f'{k} = {v}' for k, v in c['values'].items()))}</td>"
        f"<td class='num'>{c['capex_musd']:,.0f}</td>"
        f"<td class='num'>{'' if c['p_closed'] is None else format(c['p_closed'], '.2f')}</td>"
        f"<td>{'' if c['p_closed_ci'] is None else '{:.2f}-{:.2f}'.format(*c['p_closed_ci'])}</td>"
        f"<td class='num'>{c['replications']}</td>"
        f"<td>{esc(c['median_close'] or ('not by end' if c['replications'] else ''))}</td>"
        f"<td>{esc(c['verdict'])}</td></tr>" for c in answer["candidates"])
    job = Job("frontier", 1, on_axes(partial(frontier_chart, answer, scenario=title)))
    chart = render(job, "png", dpi=110)
    data = base64.b64encode(chart).decode("ascii")
    return "".join([
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{esc(title)}: optimize</title><style>{CSS}</style></head><body>",
        f"<h1>{esc(title)}</h1><h2>The answer</h2><p class='headline'>{esc(first)}</p>",
        "".join(f"<p>{esc(line)}</p>" for line in rest if not line.startswith(" ")),
        "<h2>Candidates</h2><table><tr><th>design</th><th>capex ($M)</th><th>P(closed by)</th>"
        f"<th>95% CI</th><th>runs</th><th>median close</th><th>verdict</th></tr>{rows}</table>",
        f"<h2>Frontier</h2><figure><img src='data:image/png;base64,{data}' alt='frontier'>"
        "<figcaption>charts/frontier.png</figcaption></figure>",
        "<h2>Method</h2>" + "".join(f"<p>{esc(t)}</p>" for t in METHOD),
        "</body></html>\n"])


def write_optimize_report(directory: Path) -> Path:
    """Write ``DIR/report.html`` for an optimize output (``DIR/optimize.json``)."""
    answer = read_answer(directory / "optimize.json")
    text = optimize_report_html(answer, f"{answer['requirement']} by {answer['by']}")
    path = directory / "report.html"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path
