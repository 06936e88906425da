"""``replications``: how many replications an experiment needs for the precision asked."""

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
from leadtime_sim.cli.options import experiment_seed_option, input_errors_exit_2, set_option, store_options
from leadtime_sim.cli.sweep import Progress, after_the_runs, stopping_runs
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.design import axes_text
from leadtime_sim.experiment.executors import EXECUTORS
from leadtime_sim.experiment.replications import (
    LOOK_AHEAD,
    MIN_REPLICATIONS,
    Answer,
    Target,
    advise,
    replications_text,
    summary,
)
from leadtime_sim.experiment.runner import Plan, plan_experiment
from leadtime_sim.experiment.sensitivity import check_metrics, default_metrics
from leadtime_sim.io import atomic_write, safe_name, write_json
from leadtime_sim.metrics import METRICS
from leadtime_sim.plotting.replications import replications_chart


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="A run metric (gap_closed_months.<requirement>, quoted_lead_time_months.<product>, "
                   "capex_musd, ...) or p_closed.<requirement>@YYYY-MM; repeat for more [default: every "
                   "requirement's gap_closed_months].")
@click.option("--precision", type=click.FloatRange(min=0, max=1, min_open=True, max_open=True), default=0.05,
              show_default=True, metavar="FRACTION",
              help="The 95% interval's half-width asked, as a share of the mean (a p_closed metric: the "
                   "half-width of its probability).")
@click.option("--half-width", type=click.FloatRange(min=0, min_open=True), default=None, metavar="X",
              help="Instead, an absolute half-width in each metric's unit (months, units, $M); p_closed "
                   "metrics keep --precision.")
@click.option("--look-ahead", "k_limit", type=click.IntRange(min=1, max=1000), default=LOOK_AHEAD,
              show_default=True, metavar="K",
              help="kLimit: replications after the one reaching the precision that must keep it.")
@click.option("--max-replications", "most", type=click.IntRange(min=MIN_REPLICATIONS + 1, max=100_000),
              default=500, show_default=True, metavar="N", help="Stop at N replications a point.")
@click.option("--first", type=click.IntRange(min=1, max=100_000), default=10, show_default=True, metavar="N",
              help="Replications of the first round (then rounds grow to where the precision is projected).")
@experiment_seed_option
@store_options("The store of the runs [default: results/<experiment file stem>-replications].",
               "Go on from the runs an earlier call left in OUT.", EXECUTORS.names)
@click.option("--json", "as_json", is_flag=True, help="Print the answer as JSON.")
@set_option
@input_errors_exit_2
def replications(experiment: Path, metrics: tuple[str, ...], precision: float, half_width: float | None,
                 k_limit: int, most: int, first: int, seed: int | None, out_dir: Path | None,
                 workers: int | None, executor: str, resume: bool, force: bool, as_json: bool,
                 overrides: tuple[str, ...]) -> None:
    """How many replications each design point of EXPERIMENT needs for its metrics' 95%
    intervals to be as narrow as asked (Hoad, Robinson and Davies's confidence-interval method
    with look-ahead): runs rounds of replications into a sweep store until every point's
    answer is found."""
    if most < MIN_REPLICATIONS + k_limit:
        raise InputError([f"--max-replications {most}: must be at least {MIN_REPLICATIONS + k_limit} "
                          f"({MIN_REPLICATIONS} and --look-ahead {k_limit}: a precision must be confirmed)"])
    plan = plan_experiment(experiment, overrides, seed=seed)
    wanted = tuple(dict.fromkeys(metrics)) or default_metrics(plan)
    check_metrics(plan, wanted)
    target = Target(precision, half_width, k_limit)
    out = (out_dir or Path("results") / f"{safe_name(experiment.stem, 'experiment')}-replications").resolve()
    progress = Progress()
    with stopping_runs(out, progress):
        found, run = advise(plan, out, wanted, target, most, first, executor, workers, resume, force,
                            overrides, progress)
    with after_the_runs(f"the runs in {out} are stored; the answer may not be written: run the same "
                        "command with --resume to write it (it runs nothing more)"):
        answer = summary(plan, found, target, run, most)
        rows = pd.DataFrame(answer["answers"]).drop(columns="axes")
        atomic_write(out / "replications.csv", lambda tmp: rows.to_csv(tmp, index=False))
        write_json(out / "replications.json", answer)
        _charts(plan, found, target, out)
        click.echo(json.dumps(answer, indent=2) if as_json else _text(answer, out))


def _charts(plan: Plan, found: list[Answer], target: Target, out: Path) -> None:
    labels = {p.point_id: f"point {p.point_id}" + (f" ({axes_text(p.axes)})" if p.axes else "")
              for p in plan.points}
    for metric in dict.fromkeys(a.metric for a in found):
        mine = [a for a in found if a.metric == metric]
        draw = partial(replications_chart, {labels[a.point_id]: a.path for a in mine},
                       {labels[a.point_id]: a.replications for a in mine}, target.limit(metric),
                       relative=target.half_width is None and not metric.startswith("p_closed."),
                       metric=metric, unit=_unit(metric), scenario=plan.scenario.name)
        name = safe_name(metric.replace("@", "-").replace(":", "-"), "metric")
        chart = render(Job(name, 1, on_axes(draw)))
        atomic_write(out / "charts" / f"replications-{name}.png", bytes_writer(chart))


def _unit(metric: str) -> str:
    """An absolute half-width's unit (a probability's: none; months from start: months)."""
    if metric.startswith("p_closed."):
        return ""
    return METRICS[metric.split(".", 1)[0]].unit.removesuffix(" from start")


def _text(answer: dict[str, Any], out: Path) -> str:
    return (replications_text(answer) + f"\nanswer in {out / 'replications.json'}; charts in "
            f"{out / 'charts'}; the runs are a sweep store: leadtime-sim report {out}")
