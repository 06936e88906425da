"""``optimize``: the cheapest design (or, within a budget, the earliest) that closes a gap
by a date with a given confidence."""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import click

from leadtime_sim.charts.catalogue import Job
from leadtime_sim.charts.files import bytes_writer, render
from leadtime_sim.charts.jobs import on_axes
from leadtime_sim.cli.options import input_errors_exit_2, set_option
from leadtime_sim.dates import normalise_date
from leadtime_sim.errors import InputError, OutputError
from leadtime_sim.experiment.executors import EXECUTORS
from leadtime_sim.experiment.optimize import Question, RunRecord, answer_text
from leadtime_sim.experiment.optimize import optimize as find
from leadtime_sim.experiment.runner import plan_experiment
from leadtime_sim.io import atomic_write, foreign_files, write_json
from leadtime_sim.plotting.frontier import frontier_chart

OPTIMIZE_NAMES = ("optimize.json", "optimize_runs.jsonl", "charts", "report.html")
"""What an optimize output directory holds (it never writes into one holding anything else)."""


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
              help="Also write optimize.json and charts/frontier.png into this directory.")
@click.option("--workers", type=click.IntRange(min=1, max=1024), default=None,
              help="Worker processes [default: one per core].")
@click.option("--executor", type=click.Choice(EXECUTORS.names), default="process", show_default=True,
              help="Where runs execute (as for sweep).")
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@click.option("--resume", is_flag=True, help="Reuse the runs logged in OUT by an interrupted optimize.")
@click.option("--force", is_flag=True, help="Discard the runs logged in OUT and start over.")
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
    out = out_dir.resolve() if out_dir is not None else None
    if out is not None and foreign_files(out, OPTIMIZE_NAMES):
        raise OutputError([f"{out}: holds files that are not an optimize answer's "
                           f"({', '.join(foreign_files(out, OPTIMIZE_NAMES)[:5])}); use a new --out"])
    plan = plan_experiment(experiment, overrides)
    question = Question(requirement, by, confidence, budget_musd, minimize, batch, cap, fresh)  # type: ignore[arg-type]
    header = {"experiment_sha256": hashlib.sha256(plan.experiment_path.read_bytes()).hexdigest(),
              "model_sha256": hashlib.sha256(plan.model_path.read_bytes()).hexdigest(),
              "overrides": list(overrides), "seed": plan.context.seed, "requirement": requirement, "by": by}
    known, keep = _run_log(out, header, resume, force)
    tty = sys.stderr.isatty()

    def progress(runs: int) -> None:
        click.echo(f"\rruns {runs}" if tty else f"runs {runs}", err=True, nl=not tty)

    answer = find(plan, question, executor, workers, progress, known, keep)
    if tty:
        click.echo("", err=True)
    if out is not None:
        write_json(out / "optimize.json", answer)
        job = Job("frontier", 1, on_axes(partial(frontier_chart, answer, scenario=plan.scenario.name)))
        atomic_write(out / "charts" / "frontier.png", bytes_writer(render(job)))
    click.echo(json.dumps(answer, indent=2) if as_json else answer_text(answer))


def _run_log(out: Path | None, header: dict[str, Any], resume: bool, force: bool) -> tuple[
        dict[tuple[int, int], tuple[float, str]], Callable[[list[RunRecord]], None] | None]:
    """``OUT/optimize_runs.jsonl``: the question, then one line per run, appended (and synced)
    as each batch finishes, so an interrupted optimize loses nothing; ``--resume`` reuses
    them (for the same experiment, model, overrides, seed, requirement and date only)."""
    if out is None:
        return {}, None
    path = out / "optimize_runs.jsonl"
    known: dict[tuple[int, int], tuple[float, str]] = {}
    if path.exists() and not force:
        if not resume:
            raise OutputError([f"{path}: holds the runs of an earlier optimize; pass --resume to reuse "
                               "them or --force to start over"])
        lines = path.read_text().splitlines()
        if not lines or json.loads(lines[0]) != header:
            raise OutputError([f"{path}: holds runs of another question (experiment, model, overrides, "
                               "seed, requirement or date differ); use a new --out or --force"])
        for line in lines[1:]:
            try:
                point, replication, closed, label = json.loads(line)
            except ValueError:  # a line cut short by a crash: that run is made again
                continue
            known[(point, replication)] = (math.nan if closed is None else closed, label)
    out.mkdir(parents=True, exist_ok=True)
    if not known:
        path.write_text(json.dumps(header) + "\n")

    def keep(records: list[RunRecord]) -> None:
        with path.open("a") as log:
            log.writelines(json.dumps([p, r, None if math.isnan(c) else c, label]) + "\n"
                           for p, r, c, label in records)
            log.flush()
            os.fsync(log.fileno())
    return known, keep
