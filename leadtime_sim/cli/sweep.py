"""``sweep``: run an experiment into a results store, with a progress line."""

from __future__ import annotations

import math
import re
import shlex
import signal
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import click

from leadtime_sim.charts.files import check_charts, write_charts
from leadtime_sim.cli.options import (
    FiniteFloatRange,
    experiment_seed_option,
    input_errors_exit_2,
    max_lots_option,
    set_option,
)
from leadtime_sim.cli.settings import SETTINGS
from leadtime_sim.experiment.design import axes_text
from leadtime_sim.experiment.executors import EXECUTORS, ExecutorError, default_workers
from leadtime_sim.experiment.runner import MAX_RUNS, Plan, plan_experiment, run_plan
from leadtime_sim.io import safe_name
from leadtime_sim.report import headlines
from leadtime_sim.results import load_results
from leadtime_sim.sim import Limits, estimate_lots


class Progress:
    """``runs 120/360 (2 failed)  33%  ETA 0:45`` on stderr, redrawn at most 4 times a second."""

    def __init__(self) -> None:
        self.began = time.monotonic()
        self.shown = 0.0
        self.first: int | None = None
        self.tty = sys.stderr.isatty()

    def __call__(self, finished: int, failed: int, total: int) -> None:
        if SETTINGS.quiet:
            return
        now = time.monotonic()
        if self.first is None:
            self.first = finished - 1
        if now - self.shown < (0.25 if self.tty else 10) and finished < total:
            return
        self.shown = now
        rate = (finished - self.first) / max(now - self.began, 1e-9)
        eta = (total - finished) / rate if rate > 0 else 0
        line = (f"runs {finished}/{total} ({failed} failed)  {100 * finished / total:3.0f}%  "
                f"ETA {int(eta // 60)}:{int(eta % 60):02d}")
        click.echo(("\r" + line) if self.tty else line, err=True, nl=not self.tty)

    def close(self) -> None:
        if self.tty and not SETTINGS.quiet:
            click.echo("", err=True)


def terminate(signum: int, frame: FrameType | None) -> None:
    """SIGTERM or SIGHUP (the terminal closed): stop like Ctrl-C, exit 128 + the signal."""
    raise SystemExit(128 + signum)


def no_more_interrupts() -> None:
    """The sweep is stopping and its store is valid: a second Ctrl-C (or another signal) must
    not interrupt the exit, which only waits for already-stopped workers."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # (SIG_IGN: it holds through the interpreter's exit)


SCHEDULER_ADDRESS = re.compile(r"((tcp|tls|ws|wss|ucx)://)?(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}")
"""Matched whole (``fullmatch``: ``$`` let a trailing newline through), with ASCII digits only."""


def _scheduler_address(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """A Dask scheduler address, ``[tcp://]host:port``: checked before anything is written."""
    if value is not None and not SCHEDULER_ADDRESS.fullmatch(value):
        raise click.BadParameter(f"{value!r} is not a Dask scheduler address such as tcp://host:8786")
    return value


SECONDS_PER_LOT = 20e-6
"""A run's time per lot that ``estimate_lots`` counts (an upper bound: ~14,600 for the default
scenario, which starts ~7,000), on the 2-core Intel Xeon VM of README's Speed section (about
0.29 s a run): ``--dry-run``'s rough estimate, made without running anything."""


@contextmanager
def stopping_runs(out: Path, progress: Progress) -> Iterator[None]:
    """Runs into the store at ``out``: SIGTERM and SIGHUP stop them as Ctrl-C does, and any of
    the three, or a lost executor, ends the command with one line saying the finished runs are
    in ``out`` and to continue with --resume (exit 130, 128 + the signal, or 1); the progress
    line is closed either way."""
    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGHUP, terminate)
    try:
        yield
    except ExecutorError as exc:
        no_more_interrupts()
        progress.close()
        click.echo(f"error: {exc}; finished runs are in {out}; continue with --resume", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        no_more_interrupts()
        progress.close()
        click.echo(f"interrupted: finished runs are in {out}; continue with --resume", err=True)
        sys.exit(130)
    except SystemExit as exc:
        no_more_interrupts()
        progress.close()
        if exc.code in (128 + signal.SIGTERM, 128 + signal.SIGHUP):
            click.echo(f"terminated: finished runs are in {out}; continue with --resume", err=True)
        raise
    progress.close()


@contextmanager
def after_the_runs(what_is_left: str) -> Iterator[None]:
    """Work after every run is stored: a Ctrl-C, SIGTERM or SIGHUP there stops with one line,
    "<interrupted|terminated>: <what_is_left>", and its exit code (not a bare exit 143, nor a
    line telling to ``--resume`` runs that are all done)."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit) as exc:
        code = 130 if isinstance(exc, KeyboardInterrupt) else exc.code
        if code not in (130, 128 + signal.SIGTERM, 128 + signal.SIGHUP):
            raise
        no_more_interrupts()
        click.echo(f"{'interrupted' if code == 130 else 'terminated'}: {what_is_left}", err=True)
        sys.exit(code)


def _answer_and_charts(out: Path, no_charts: bool) -> None:
    """The headlines and the charts of a finished store (``after_the_runs``: a signal says
    the results are complete and how to draw the charts)."""
    with after_the_runs(f"the results in {out} are complete; the charts may not all be drawn: "
                        f"draw them with leadtime-sim plot {shlex.quote(str(out))}"):
        for headline in headlines(load_results(out)):
            click.echo(f"  {headline.text}")
        if not no_charts:
            if not SETTINGS.quiet:
                click.echo("drawing the charts ...", err=True)
            click.echo(f"{len(write_charts(out))} chart(s) in {out / 'charts'}")


def show_design(plan: Plan, workers: int) -> None:
    """Print the design and a rough time estimate from the lots each point would start
    (``--dry-run``: every point is validated; nothing runs)."""
    e = plan.experiment
    click.echo(f"{e.name}: {len(plan.points)} design points x {e.replications} replications "
               f"= {plan.runs} runs")
    for point in plan.points[:20]:
        values = axes_text(point.axes)
        click.echo(f"  point {point.point_id}: {values or 'the model as it is'}")
    if len(plan.points) > 20:
        click.echo(f"  ... and {len(plan.points) - 20} more")
    lots = statistics.mean(estimate_lots(plan.point_scenario(p.point_id)) for p in plan.points[:50])
    seconds = lots * SECONDS_PER_LOT
    estimate = seconds * plan.runs / workers
    # (an upper bound, as the lot count is: the main job's runs start a third of it, 360 runs in
    # about 30 s against "1.3 min")
    click.echo(f"at most about {lots:,.0f} lots a run, at most roughly {seconds:.2f} s each on a 2-core "
               f"VM: at most about {estimate / 60:.1f} min with {workers} worker(s)")


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Results store [default: results/<experiment file stem>].")
@click.option("--workers", type=click.IntRange(min=1, max=1024), metavar="N", default=None,
              help="Worker processes [default: one per core].")
@click.option("--executor", type=click.Choice(EXECUTORS.names), default="process", show_default=True,
              help=f"Where runs execute: {EXECUTORS.summaries()}.")
@click.option("--scheduler", default=None, metavar="ADDRESS", callback=_scheduler_address,
              help="Dask scheduler, e.g. tcp://host:8786 (with --executor dask).")
@click.option("--resume", is_flag=True, help="Run only the runs missing from the store.")
@click.option("--retry-failed", is_flag=True,
              help="With --resume: also run again the runs recorded as failed (a timeout, say).")
@click.option("--force", is_flag=True, help="Replace a store holding other results.")
@click.option("--dry-run", is_flag=True,
              help="Validate every point, print the design and a rough time estimate; run nothing.")
@click.option("--replications", type=click.IntRange(min=1, max=1_000_000), metavar="N", default=None,
              help="Replications per design point [default: the experiment's].")
@experiment_seed_option
@click.option("--no-charts", is_flag=True, help="Do not draw the experiment's charts into OUT/charts/.")
@set_option
@max_lots_option
@click.option("--run-timeout", type=FiniteFloatRange(min=0, min_open=True), default=None,
              metavar="SECONDS", help="Record a run that takes longer as failed.")
@click.option("--yes", is_flag=True, help=f"Run even more than {MAX_RUNS:,} runs.")
@input_errors_exit_2
def sweep(experiment: Path, out_dir: Path | None, workers: int | None, executor: str,
          scheduler: str | None, resume: bool, retry_failed: bool, force: bool, dry_run: bool,
          replications: int | None, seed: int | None, no_charts: bool, overrides: tuple[str, ...],
          max_lots: float, run_timeout: float | None, yes: bool) -> None:
    """Run EXPERIMENT: every design point x replications, stored as runs finish."""
    count = workers or default_workers()
    limits = Limits(max_lots=max_lots, wall_seconds=run_timeout or math.inf)
    if scheduler and executor != "dask" and not dry_run:
        raise click.UsageError("--scheduler needs --executor dask")
    if retry_failed and not resume:
        raise click.UsageError("--retry-failed needs --resume")
    plan = plan_experiment(experiment, overrides, limits, yes, replications, seed=seed)
    if dry_run:
        show_design(plan, 1 if executor == "serial" else count)  # (serial: one run at a time)
        return
    default = Path("results") / safe_name(experiment.stem, "experiment")
    out = (out_dir if out_dir is not None else default).resolve()
    if not no_charts:
        check_charts(plan.experiment, plan.scenario, len(plan.points), str(experiment))
    progress = Progress()
    with stopping_runs(out, progress):
        store = run_plan(plan, out, executor, count, scheduler, resume, force, overrides, progress,
                         retry_failed)
    counts = store.counts
    click.echo(f"{counts['done']} run{'s' if counts['done'] != 1 else ''} done, {counts['failed']} failed; "
               f"results in {out}")
    if counts["done"]:
        _answer_and_charts(out, no_charts)
    if counts["failed"]:
        runs = store.runs_frame()
        errors = sorted(set(runs.loc[runs["status"] != "ok", "error"].astype(str)))
        for error in errors[:5]:
            click.echo(f"  failed: {error}", err=True)
        sys.exit(1)
