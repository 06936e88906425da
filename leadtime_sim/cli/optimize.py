"""``optimize``: the cheapest design (or, within a budget, the earliest) that closes a gap
by a date with a given confidence."""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import click

from leadtime_sim.charts.catalogue import Job
from leadtime_sim.charts.files import bytes_writer, render
from leadtime_sim.charts.jobs import on_axes
from leadtime_sim.cli.options import experiment_seed_option, input_errors_exit_2, set_option
from leadtime_sim.cli.settings import SETTINGS
from leadtime_sim.cli.sweep import no_more_interrupts, terminate
from leadtime_sim.dates import date_problem, normalise_date
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.executors import EXECUTORS
from leadtime_sim.experiment.optimize import Question, answer_text
from leadtime_sim.experiment.optimize import optimize as find
from leadtime_sim.experiment.optimize_store import optimize_into
from leadtime_sim.experiment.prescreen import DEFAULT_MARGIN_MONTHS
from leadtime_sim.experiment.runner import Plan, plan_experiment
from leadtime_sim.io import atomic_write
from leadtime_sim.plotting.frontier import frontier_chart


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--requirement", required=True, help="The requirement whose gap must close.")
@click.option("--by", "by", required=True, metavar="YYYY-MM", help="The date it must be closed by.")
@click.option("--confidence", type=float, default=0.9, show_default=True,
              help="The probability (0-1) it must be closed by then.")
@click.option("--budget-musd", type=click.FloatRange(min=0), metavar="MUSD", default=None,
              help="Consider only designs whose swept capex is at most this (million USD).")
@click.option("--minimize", type=click.Choice(["capex", "close"]), default="capex", show_default=True,
              help="capex: the cheapest design that meets the confidence; close: the earliest median "
                   "close within --budget-musd.")
@click.option("--batch", type=click.IntRange(min=1, max=10_000), metavar="N", default=10, show_default=True,
              help="Replications added to a candidate at a time.")
@click.option("--cap", type=click.IntRange(min=1, max=100_000), metavar="N", default=80, show_default=True,
              help="Most replications a candidate gets (the last batch is cut at it).")
@click.option("--fresh", type=click.IntRange(min=1, max=100_000), metavar="N", default=100, show_default=True,
              help="Fresh replications re-estimating the chosen design.")
@click.option("--prescreen-months", type=click.FloatRange(min=0, max=1200), metavar="MONTHS",
              default=DEFAULT_MARGIN_MONTHS, show_default=True,
              help="Leave out, unrun, designs whose fluid (mean-rate) close month is more than this "
                   "after --by, or dearer than one clearly feasible by it; 0 runs every design.")
@experiment_seed_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the runs in a results store here (as sweep: resumable), with optimize.json "
                   "and charts/frontier.png.")
@click.option("--workers", type=click.IntRange(min=1, max=1024), metavar="N", default=None,
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
             minimize: str, batch: int, cap: int, fresh: int, prescreen_months: float, seed: int | None,
             out_dir: Path | None, workers: int | None,
             executor: str, as_json: bool, resume: bool, force: bool, overrides: tuple[str, ...]) -> None:
    """The cheapest design of EXPERIMENT's axes that closes REQUIREMENT's gap by a date with
    the confidence asked (adaptive replications under common random numbers; the choice
    re-estimated on fresh runs)."""
    try:
        by = normalise_date(by)
    except ValueError as exc:
        raise InputError([f"--by {by!r}: {date_problem(by, exc)}"]) from None
    plan = plan_experiment(experiment, overrides, seed=seed)
    question = Question(requirement, by, confidence, budget_musd, minimize, batch, cap, fresh,  # type: ignore[arg-type]
                        prescreen_months)
    tty = sys.stderr.isatty()
    bound = len(plan.points) * cap + fresh
    shown = [0.0]

    def progress(runs: int) -> None:
        now = time.monotonic()
        if SETTINGS.quiet:
            return
        if now - shown[0] >= (0.25 if tty else 10):
            shown[0] = now
            line = f"runs {runs} (at most {bound}: every design at the cap)"
            click.echo(f"\r{line}" if tty else line, err=True, nl=not tty)

    if out_dir is None:
        answer = find(plan, question, executor, workers, progress)
    else:
        answer = _into_store(plan, question, out_dir, overrides, resume, force, executor, workers, progress)
    if tty and not SETTINGS.quiet:
        click.echo("", err=True)
    if out_dir is not None:
        job = Job("frontier", 1, on_axes(partial(frontier_chart, answer, scenario=plan.scenario.name)))
        atomic_write(out_dir.resolve() / "charts" / "frontier.png", bytes_writer(render(job)))
    click.echo(json.dumps(answer, indent=2) if as_json else answer_text(answer))
    if answer.get("failed_runs"):  # as sweep: the answer stands on the runs that succeeded; exit 1
        for failure in answer["failures"][:5]:
            click.echo(f"  failed: {failure}", err=True)
        sys.exit(1)



def _into_store(plan: Plan, question: Question, out_dir: Path, overrides: tuple[str, ...], resume: bool,
                force: bool, executor: str, workers: int | None,
                progress: Callable[[int], None]) -> dict[str, Any]:
    """``optimize_into``, stopping like ``sweep`` on Ctrl-C, SIGTERM or SIGHUP: the store
    valid and "interrupted", a line saying where the runs are, exit 130 or 128 + signal."""
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    try:
        return optimize_into(plan, question, out_dir, overrides, resume, force, executor, workers, progress)
    except KeyboardInterrupt:
        no_more_interrupts()
        click.echo(f"\ninterrupted: finished runs are in {out_dir}; continue with --resume", err=True)
        sys.exit(130)
    except SystemExit as exc:
        no_more_interrupts()
        if exc.code in (128 + signal.SIGTERM, 128 + signal.SIGHUP):
            click.echo(f"\nterminated: finished runs are in {out_dir}; continue with --resume", err=True)
        raise
