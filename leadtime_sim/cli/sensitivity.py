"""``sensitivity``: Sobol or Morris indices of an experiment's uncertain inputs."""

from __future__ import annotations

import json
import textwrap
from functools import partial
from pathlib import Path

import click
import numpy as np

from leadtime_sim.charts.catalogue import Job
from leadtime_sim.charts.files import bytes_writer, render
from leadtime_sim.charts.jobs import on_axes
from leadtime_sim.cli.options import experiment_seed_option, input_errors_exit_2, set_option, store_options
from leadtime_sim.cli.sweep import Progress, after_the_runs, stopping_runs
from leadtime_sim.experiment.executors import EXECUTORS
from leadtime_sim.experiment.runner import Plan, plan_experiment, run_plan
from leadtime_sim.experiment.sensitivity import (
    Study,
    check_metrics,
    default_metrics,
    indices,
    sensitivity_plan,
    text,
)
from leadtime_sim.experiment.store import ResultsStore
from leadtime_sim.io import atomic_write, safe_name, write_json
from leadtime_sim.metrics import METRICS
from leadtime_sim.plotting.sensitivity import sensitivity_chart


@click.command()
@click.argument("experiment", type=click.Path(path_type=Path))
@click.option("--method", type=click.Choice(["sobol", "morris"]), default="sobol", show_default=True,
              help="sobol: first- and total-order indices (N (p + 2) points); morris: elementary "
                   "effects for screening many inputs (N (p + 1) points).")
@click.option("--samples", type=click.IntRange(min=2, max=100_000), metavar="N", default=64,
              show_default=True,
              help="N, SALib's base sample count (a power of 2 for Sobol).")
@click.option("--metric", "metrics", multiple=True, metavar="NAME",
              help="A run metric (gap_closed_months.<requirement>, quoted_lead_time_months.<product>, "
                   "max_gap_units.<requirement>, capex_musd, ...) or p_closed.<requirement>@YYYY-MM; "
                   "repeat for more [default: every requirement's gap_closed_months; a scenario without "
                   "requirements needs --metric].")
@click.option("--replications", type=click.IntRange(min=1, max=10_000), metavar="N", default=None,
              help="Replications per point [default: the experiment's].")
@experiment_seed_option
@store_options("The results store [default: results/<experiment file stem>-sensitivity].",
               "Finish the runs an interrupted analysis left in OUT.", EXECUTORS.names)
@click.option("--json", "as_json", is_flag=True, help="Print the indices as JSON.")
@set_option
@input_errors_exit_2
def sensitivity(experiment: Path, method: str, samples: int, metrics: tuple[str, ...],
                replications: int | None, seed: int | None, out_dir: Path | None, workers: int | None,
                executor: str, resume: bool, force: bool, as_json: bool, overrides: tuple[str, ...]) -> None:
    """Which uncertain input (EXPERIMENT's range axes and [[uncertain]] inputs) moves each
    metric most: Sobol or Morris indices with bootstrap intervals, and how much of the
    variance is simulation noise."""
    plan = plan_experiment(experiment, overrides, replications=replications, seed=seed)
    study = Study(method, samples, tuple(dict.fromkeys(metrics)) or default_metrics(plan))  # type: ignore[arg-type]
    check_metrics(plan, study.metrics)
    analysis, matrix = sensitivity_plan(plan, study)
    out = (out_dir or Path("results") / f"{safe_name(experiment.stem, 'experiment')}-sensitivity").resolve()
    progress = Progress()
    with stopping_runs(out, progress):
        store = run_plan(analysis, out, executor, workers, None, resume, force, overrides, progress,
                         study=study.record())
    with after_the_runs(f"the runs in {out} are complete; the indices and charts may not all be written: "
                        "run the same command with --resume to write them (it runs nothing)"):
        _write_analysis(analysis, study, matrix, store, out, plan, as_json)


def _write_analysis(analysis: Plan, study: Study, matrix: np.ndarray, store: ResultsStore, out: Path,
                    plan: Plan, as_json: bool) -> None:
    """sensitivity.csv, sensitivity.json and the charts from the stored runs; the answer printed."""
    table, summary = indices(analysis, study, matrix, store.runs_frame())
    atomic_write(out / "sensitivity.csv", lambda tmp: table.to_csv(tmp, index=False))
    write_json(out / "sensitivity.json", summary)
    for metric, info in summary["metrics"].items():
        label, unit = _what(plan, metric)
        draw = partial(sensitivity_chart, table[table["metric"] == metric], metric,
                       noise_share=info["noise_share"], noise_note=info["noise_share_note"],
                       scenario=plan.scenario.name, label=label, unit=unit,
                       not_by_end=info.get("share_not_by_end"), caution=bool(info.get("caution")))
        name = safe_name(metric.replace("@", "-").replace(":", "-"), "metric")
        chart = render(Job(name, 1, on_axes(draw)))
        atomic_write(out / "charts" / f"sensitivity-{name}.png", bytes_writer(chart))
    if as_json:
        # an index not estimated (a rounded Morris input no step moved) is null, not NaN (not JSON)
        rows = table.astype(object).where(table.notna(), None).to_dict(orient="records")
        click.echo(json.dumps({**summary, "indices": rows}, indent=2, allow_nan=False))
    else:
        click.echo(text(table, summary))
        click.echo(f"indices in {out / 'sensitivity.csv'}; charts in {out / 'charts'}")


def _what(plan: Plan, metric: str) -> tuple[str, str]:
    """A chart's name for a metric (a requirement's by its description: what of it is
    measured) and the unit of a change in it."""
    if metric.startswith("p_closed."):
        key, _, date = metric.removeprefix("p_closed.").partition("@")
        requirement = plan.scenario.requirements[key]
        return f"P(the gap of {_short(requirement.description or key)} closed by {date})", "probability"
    base, _, subject = metric.partition(".")
    unit = METRICS[base].unit.removesuffix(" from start")  # (a change of a date: months)
    if base == "gap_closed_months":
        requirement = plan.scenario.requirements[subject]
        return f"when the gap of {_short(requirement.description or subject)} closes", unit
    return metric, unit


def _short(text: str, limit: int = 50) -> str:
    """A requirement's description cut for a chart title (at a comma, then at a word)."""
    for mark in (": ", ", "):
        if len(text) > limit and mark in text:
            text = text.split(mark, 1)[0]
    return textwrap.shorten(text, limit, placeholder="...")
