"""``optimize``: the cheapest design (or, within a budget, the earliest) that closes a gap
by a date with a given confidence."""

from __future__ import annotations

import json
import sys
from functools import partial
from pathlib import Path

import click

from leadtime_sim.charts.catalogue import Job
from leadtime_sim.charts.files import bytes_writer, render
from leadtime_sim.charts.jobs import on_axes
from leadtime_sim.cli.options import input_errors_exit_2, set_option
from leadtime_sim.dates import normalise_date
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.executors import EXECUTORS
from leadtime_sim.experiment.optimize import Question, answer_text
from leadtime_sim.experiment.optimize import optimize as find
from leadtime_sim.experiment.optimize_store import optimize_into
from leadtime_sim.experiment.runner import plan_experiment
from leadtime_sim.io import atomic_write
from leadtime_sim.plotting.frontier import frontier_chart


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--requirement", required=True, help="The requirement whose gap must close.")
@click.option("--by", "by", required=True, metavar="YYYY-MM", help="The date it must be closed by.")
@click.option("--confidence", type=float, default=0.9, show_default=True,
              help="The probability (0-1) it must be closed by then.")
@click.option("--budget-musd", type=click.FloatRange(min=0), default=None,
              help="Consider only designs whose swept capex is at most this (million USD).")
@click.option("--minimize", type=click.Choice(["capex", "close"]), default="capex", show_default=True,
              help="capex: the cheapest design that meets the confidence; close: the earliest median "
                   "close within --budget-musd.")
@click.option("--batch", type=click.IntRange(min=1, max=10_000), default=10, show_default=True,
              help="Replications added to a candidate at a time.")
@click.option("--cap", type=click.IntRange(min=1, max=100_000), default=80, show_default=True,
              help="Most replications a candidate gets.")
@click.option("--fresh", type=click.IntRange(min=1, max=100_000), default=100, show_default=True,
              help="Fresh replications re-estimating the chosen design.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the runs in a results store here (as sweep: resumable), with optimize.json "
                   "and charts/frontier.png.")
@click.option("--workers", type=click.IntRange(min=1, max=1024), default=None,
              help="Worker processes [default: one per core].")
@click.option("--executor", type=click.Choice(EXECUTORS.names), default="process", show_default=True,
              help="Where runs execute (as for sweep).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--resume", is_flag=True, help="Reuse the runs in OUT (an interrupted optimize, or the same "
              "requirement and date asked with another confidence or budget).")
@click.option("--force", is_flag=True, help="Replace the store in OUT and start over.")
@set_option
@input_errors_exit_2
def optimize(experiment: Path, requirement: str, by: str, confidence: float, budget_musd: float | None,
             minimize: str, batch: int, cap: int, fresh: int, out_dir: Path | None, workers: int | None,
             executor: str, as_json: bool, resume: bool, force: bool, overrides: tuple[str, ...]) -> None:
    """The cheapest design of EXPERIMENT's axes that closes REQUIREMENT's gap by a date with
    the confidence asked (adaptive replications under common random numbers; the choice
    re-estimated on fresh runs)."""
    try:
        by = normalise_date(by)
    except ValueError as exc:
        raise InputError([f"--by {by!r}: {exc}"]) from None
    plan = plan_experiment(experiment, overrides)
    question = Question(requirement, by, confidence, budget_musd, minimize, batch, cap, fresh)  # type: ignore[arg-type]
    tty = sys.stderr.isatty()

    def progress(runs: int) -> None:
        click.echo(f"\rruns {runs}" if tty else f"runs {runs}", err=True, nl=not tty)

    if out_dir is None:
        answer = find(plan, question, executor, workers, progress)
    else:
        answer = optimize_into(plan, question, out_dir, overrides, resume, force, executor, workers, progress)
    if tty:
        click.echo("", err=True)
    if out_dir is not None:
        job = Job("frontier", 1, on_axes(partial(frontier_chart, answer, scenario=plan.scenario.name)))
        atomic_write(out_dir.resolve() / "charts" / "frontier.png", bytes_writer(render(job)))
    click.echo(json.dumps(answer, indent=2) if as_json else answer_text(answer))

