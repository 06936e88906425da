"""``discover``: scenario discovery (PRIM) on a sweep store."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import Any

import click
import pandas as pd

from leadtime_sim.charts.catalogue import Job
from leadtime_sim.charts.files import bytes_writer, render
from leadtime_sim.charts.jobs import on_axes
from leadtime_sim.cli.options import input_errors_exit_2
from leadtime_sim.comparisons import display_name, short_name
from leadtime_sim.dates import date_problem, month_form, months_between, normalise_date
from leadtime_sim.discovery import (
    ALPHA,
    ANSWERS,
    DENSITY,
    MIN_SUPPORT,
    P_MAX,
    chart_file,
    discover,
    discovery_text,
)
from leadtime_sim.errors import InputError
from leadtime_sim.io import atomic_write, write_json
from leadtime_sim.plotting.discovery import box_chart, trajectory_chart
from leadtime_sim.results import load_results


@click.command()
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--requirement", required=True, metavar="R", help="The requirement whose gap is asked about.")
@click.option("--by", "by", required=True, metavar="YYYY-MM",
              help="The outcome of concern: the gap not closed by then.")
@click.option("--alpha", type=click.FloatRange(min=0, max=0.5, min_open=True), default=ALPHA,
              show_default=True, help="Share of the box's runs peeled at each step.")
@click.option("--min-support", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True),
              default=MIN_SUPPORT, show_default=True,
              help="Stop before a box holds less than this share of runs.")
@click.option("--density", type=click.FloatRange(min=0, max=1, min_open=True), default=DENSITY,
              show_default=True,
              help="The box chosen: the widest-covering one of at least this density (else the densest).")
@click.option("--p-max", type=click.FloatRange(min=0, max=1, min_open=True), default=P_MAX, show_default=True,
              help="Drop the box's limits whose quasi-p-value is above this, weakest first (1: keep all).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@input_errors_exit_2
def discover_command(directory: Path, requirement: str, by: str, alpha: float, min_support: float,
                     density: float, p_max: float, as_json: bool) -> None:
    """Which ranges of the swept inputs of DIRECTORY (a sweep store) leave REQUIREMENT's gap
    open by a date: PRIM scenario discovery, a box of the inputs with its density, coverage
    and quasi-p-values."""
    try:
        by = month_form(normalise_date(by))
    except ValueError as exc:
        raise InputError([f"--by {by!r}: {date_problem(by, exc)}"]) from None
    results = load_results(directory)
    answer = discover(results, requirement, by, alpha, min_support, density, p_max)
    at = months_between(results.start, by)
    if not 0 <= at <= results.horizon_months:
        click.echo(f"warning: --by {by} is outside the horizon ({results.start} to {results.end})", err=True)
    key = f"{requirement}@{by}"
    path = results.directory / ANSWERS
    answers = _answers(path)
    answers[key] = answer
    write_json(path, answers)
    names = {k: display_name(results, "requirement", k) for k in results.scenario.requirements}
    outcome = f"{short_name(results, 'requirement', requirement, 45)} not closed by {by}"
    for name, chart in _charts(answer, outcome, results.scenario.name).items():
        atomic_write(results.directory / "charts" / chart_file(name, key), bytes_writer(chart))
    click.echo(json.dumps(answer, indent=2) if as_json else discovery_text(answer, names))


def _answers(path: Path) -> dict[str, Any]:
    """The answers kept so far (a damaged file: started afresh, with a warning)."""
    if not path.is_file():
        return {}
    try:
        kept = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        kept = None
    if not isinstance(kept, dict):
        click.echo(f"warning: {path}: damaged; written again with this answer only", err=True)
        return {}
    return kept


def _charts(answer: dict[str, Any], outcome: str, scenario: str) -> dict[str, bytes]:
    trajectory = pd.DataFrame(answer["trajectory"])
    box = answer["box"]
    pruned = (box["coverage"], box["density"]) if box["dropped"] else None
    charts = {"trajectory": render(Job("trajectory", 1, on_axes(partial(
        trajectory_chart, trajectory, answer["found"]["step"], outcome=outcome, scenario=scenario,
        pruned=pruned))))}
    rows = [_bar(lim) for lim in answer["box"]["limits"]]
    if rows:
        charts["box"] = render(Job("box", 1, on_axes(partial(box_chart, rows, outcome=outcome,
                                                             scenario=scenario))))
    return charts


def _bar(limit: dict[str, Any]) -> tuple[str, float, float, str, str]:
    """A limit as (input, low share, high share, low text, high text) of its full range."""
    if "kept" in limit:
        return (limit["input"], 0.0, 1.0, "kept: " + ", ".join(limit["kept"]), "")
    full_low, full_high = limit["full"]
    if isinstance(full_low, str):  # (a date: as months between)
        low, high = months_between(full_low, limit["low"]), months_between(full_low, limit["high"])
        span = months_between(full_low, full_high)
    else:
        low, high, span = limit["low"] - full_low, limit["high"] - full_low, full_high - full_low
    text = (lambda v: v) if isinstance(full_low, str) else (lambda v: f"{v:.4g}")
    share = (lambda v: v / span) if span else (lambda v: 0.0)
    return (limit["input"], share(low), share(high), text(limit["low"]), text(limit["high"]))
