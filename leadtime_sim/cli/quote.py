"""``quote``: what an order placed at a date would get - the exact what-if, in paired runs."""

from __future__ import annotations

import json
import logging
from functools import partial
from pathlib import Path
from typing import Any

import click

from leadtime_sim.charts.catalogue import Job
from leadtime_sim.charts.files import bytes_writer, render
from leadtime_sim.charts.jobs import on_axes
from leadtime_sim.cli.options import (
    check_lots,
    input_errors_exit_2,
    max_lots_option,
    plugin_option,
    plugins_from,
    seed_option,
    set_option,
)
from leadtime_sim.dates import date_problem, month_form, month_index, normalise_date
from leadtime_sim.errors import InputError, OutputError
from leadtime_sim.experiment.whatif import quote as what_if
from leadtime_sim.io import atomic_write, check_creatable, foreign_files, write_json
from leadtime_sim.plotting.quote import delivery_chart, displacement_chart
from leadtime_sim.scenario.loading import load_scenario
from leadtime_sim.sim import estimate_lots

log = logging.getLogger(__name__)

QUOTE_NAMES = ("quote.json", "charts")
"""What a quote's output directory holds (it never writes into one holding anything else)."""


@click.command()
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--product", required=True, help="Product to order (not a component).")
@click.option("--quantity", type=click.IntRange(min=1, max=1_000_000_000), metavar="N", default=1,
              show_default=True,
              help="Units in the order.")
@click.option("--date", "date", default=None, metavar="YYYY-MM",
              help="When it is placed (YYYY-MM-DD: on that day of the month) [default: start].")
@click.option("--customer", default=None, help="Who orders it [default: what-if].")
@click.option("--priority", type=click.IntRange(min=0), metavar="N", default=None,
              help="Its priority class [default: the product's least urgent].")
@click.option("--replications", type=click.IntRange(min=1, max=100_000), metavar="N", default=30,
              show_default=True,
              help="Paired runs (with and without the order).")
@seed_option
@set_option
@plugin_option
@click.option("--workers", type=click.IntRange(min=1, max=1024), metavar="N", default=None,
              help="Worker processes [default: one per core].")
@click.option("--target", "targets", multiple=True, metavar="YYYY-MM",
              help="A date to mark on the delivery chart (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write quote.json and its charts into this directory.")
@max_lots_option
@input_errors_exit_2
def quote(model: Path, product: str, quantity: int, date: str | None, customer: str | None,
          priority: int | None, replications: int, seed: int, overrides: tuple[str, ...],
          plugins: tuple[str, ...], workers: int | None, targets: tuple[str, ...], as_json: bool,
          out_dir: Path | None, max_lots: float = 10_000_000) -> None:
    """When would an order of QUANTITY x PRODUCT placed at DATE arrive, and whom would it delay?

    Runs MODEL with and without the order under common random numbers (the exact what-if)."""
    loaded = plugins_from(plugins)
    scenario = load_scenario(model, overrides, loaded)
    check_lots(model, estimate_lots(scenario), max_lots)  # (each paired run: as run refuses one)
    marks = tuple(_date(t) for t in targets)
    for mark in marks:  # (allowed, as an experiment's targets, but the chart cannot show it)
        if not month_index(scenario.start) <= month_index(mark) <= month_index(scenario.end):
            span = f"{month_form(scenario.start)} to {month_form(scenario.end)}"
            log.warning(f"--target {month_form(mark)} is outside the horizon ({span})")
    out = out_dir.resolve() if out_dir is not None else None
    if out is not None and foreign_files(out, QUOTE_NAMES):
        raise OutputError([f"{out}: holds files that are not a quote's "
                           f"({', '.join(foreign_files(out, QUOTE_NAMES)[:5])}); use a new --out"])
    if out is not None:
        check_creatable(out)  # (before the runs, not after them)
    answer = what_if(scenario, product, quantity, date, customer, priority, replications, seed, workers,
                     loaded)
    if out is not None:
        write_json(out / "quote.json", answer)
        for job in _jobs(answer, scenario.name, marks):
            atomic_write(out / "charts" / f"{job.stem}.png", bytes_writer(render(job)))
    click.echo(json.dumps(answer, indent=2) if as_json else summary(answer))


def _date(text: str) -> str:
    try:
        return normalise_date(text)
    except ValueError as exc:
        raise InputError([f"--target {text!r}: {date_problem(text, exc)}"]) from None


def _jobs(answer: dict[str, Any], scenario: str, targets: tuple[str, ...]) -> list[Job]:
    """The quote's two charts: when the order arrives, and whom it delays."""
    return [Job("quote-delivery", 1, on_axes(partial(delivery_chart, answer, scenario=scenario,
                                                     targets=targets))),
            Job("quote-displaced", 1, on_axes(partial(displacement_chart, answer, scenario=scenario)))]


def _month(value: str | None, end: str) -> str:
    return value if value is not None else f"not by {end}"


def _delay(months: float) -> str:
    """A delay to a tenth of a month, or to two figures below that: a delay (always above
    0) printed as "0.0 months" read as none."""
    return f"{months:.1f}" if months >= 0.095 else f"{months:.2g}"


def summary(answer: dict[str, Any]) -> str:
    """The answer in a few lines of text."""
    end, last, lead = answer["end"], answer["last_delivery"], answer["lead_time_months"]
    lines = [f"What-if: {answer['quantity']} x {answer['product']} ordered {answer['date']} by "
             f"{answer['customer']} (priority {answer['priority']}), {answer['replications']} paired runs",
             f"last unit delivered: P10 {_month(last['p10'], end)}, median {_month(last['p50'], end)}, "
             f"P90 {_month(last['p90'], end)}"]
    if lead["p50"] is not None:
        mean = f"; mean {lead['mean']:.1f}" if lead["mean"] is not None else ""
        lines.append(f"lead time: median {lead['p50']:.1f} months{mean}")
    if answer["share_not_by_end"]:
        lines.append(f"not delivered by {end} in {answer['share_not_by_end']:.0%} of runs")
    quote = answer["in_run_quote_months"]["p50"]
    lines.append("in-run quote at the date (from the run's state then): median "
                 + ("not by end" if quote is None else f"{quote:.1f} months"))
    sure = [f"{d} {p:.2f}" for d, p in answer["p_delivered_by"].items() if p > 0]
    if sure:
        lines.append("P(delivered by): " + ", ".join(sure[:6]) + (" ..." if len(sure) > 6 else ""))
    for row in answer["displaced"]:
        orders = f"{row['orders']} order{'s' if row['orders'] != 1 else ''}"
        mean, p90 = _delay(row["mean_delay_months"]), _delay(row["p90_delay_months"])
        lines.append(f"delays {row['customer']}: {orders}, {row['delays_per_run']:.1f} a run, "
                     f"mean {mean} months (P90 {p90})")
    for row in answer["requirements_moved"]:
        shift = row["mean_shift_months"]
        lines.append(f"gap {row['requirement']}: closes at another date in {row['share_of_runs']:.0%} of runs"
                     + (f", {shift:+.1f} months on average" if shift is not None else ""))
    return "\n".join(lines)
