"""``run``, ``validate`` and ``schema``: thin wrappers around one library call each."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from click.core import ParameterSource

from leadtime_sim.charts.files import write_charts
from leadtime_sim.cli.options import (
    check_lots,
    fail,
    input_errors_exit_2,
    max_lots_option,
    plugin_option,
    plugins_from,
    seed_option,
    set_option,
)
from leadtime_sim.cli.summary_text import summary_table
from leadtime_sim.errors import InputError, read_toml
from leadtime_sim.fluid_model import fluid
from leadtime_sim.io import safe_name
from leadtime_sim.outputs import check_run_folder, write_run
from leadtime_sim.plugins import Plugins
from leadtime_sim.run import simulate
from leadtime_sim.scenario import json_schema
from leadtime_sim.scenario.checks import component_products
from leadtime_sim.scenario.loading import load_scenario
from leadtime_sim.sim import Limits, SimulationError, estimate_lots


@click.command()
@click.argument("model", type=click.Path(dir_okay=True, path_type=Path))
@seed_option
@click.option("--replication", type=click.IntRange(min=0), metavar="N", default=0, show_default=True,
              help="Replication number (selects the random streams, as in a sweep).")
@set_option
@plugin_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Output directory [default: results/<model name>].")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@max_lots_option
@click.option("--charts", is_flag=True, help="Also draw the single-run charts into OUT/charts/.")
@click.option("--fluid", "use_fluid", is_flag=True,
              help="The fluid estimate (mean rates, no random draws) instead of a run "
                   "(no --seed or --replication).")
@input_errors_exit_2
def run(model: Path, seed: int, replication: int, overrides: tuple[str, ...],
        plugins: tuple[str, ...], out_dir: Path | None, as_json: bool, max_lots: float,
        charts: bool, use_fluid: bool = False) -> None:
    """Simulate MODEL once and write summary.json, series and orders tables (--fluid: the
    deterministic fluid estimate, written the same way)."""
    if use_fluid:
        _no_draws(click.get_current_context())
    loaded = plugins_from(plugins)
    scenario = load_scenario(model, overrides, loaded)
    out = (out_dir if out_dir is not None else Path("results") / safe_name(model.stem, "model")).resolve()
    check_run_folder(out)
    check_lots(model, estimate_lots(scenario), max_lots)
    try:
        if use_fluid:
            result = fluid(scenario, loaded)
        else:
            result = simulate(scenario, seed, replication, loaded, Limits(max_lots=max_lots))
    except SimulationError as exc:
        click.echo(f"error: {model}: {exc}", err=True)
        sys.exit(1)
    write_run(result, out, model_path=model, overrides=overrides)
    if as_json:
        click.echo(json.dumps(result.summary, indent=2))
    else:
        if use_fluid:
            click.echo("fluid estimate (deterministic, mean rates; not a simulated run)")
        click.echo(summary_table(result.summary, component_products(scenario)))
        click.echo(f"\nwrote {out}/summary.json, series.csv, orders.csv (+ .parquet)")
    if charts:
        written = write_charts(out)
        click.echo(f"{len(written)} chart(s) in {out / 'charts'}", err=as_json)


def _no_draws(ctx: click.Context) -> None:
    """``--fluid`` with ``--seed`` or ``--replication``: refused (InputError). The fluid
    estimate draws nothing, so they would change nothing, and its output (summary.json,
    ``--json``) says seed 0, replication 0, not what was asked."""
    given = [f"--{name.replace('_', '-')} {ctx.params[name]}" for name in ("seed", "replication")
             if ctx.get_parameter_source(name) not in (ParameterSource.DEFAULT, None)]
    if given:
        raise InputError([f"{' and '.join(given)}: --fluid draws nothing (mean rates: one estimate, the "
                          f"same for every seed), so {'they' if len(given) > 1 else 'it'} would change "
                          "nothing; leave out --seed and --replication, or --fluid for a simulated run"])


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@set_option
@plugin_option
@click.option("--column", default=None, metavar="NAME",
              help="For CSV records: check NAME as fit --column would (numbers, none negative, at "
                   "least 10) [default: list the numeric columns].")
@click.option("--censored-column", default=None, metavar="NAME",
              help="For CSV records, with --column: check this 0/1 censoring column as fit would.")
@input_errors_exit_2
def validate(files: tuple[Path, ...], overrides: tuple[str, ...], plugins: tuple[str, ...],
             column: str | None = None, censored_column: str | None = None) -> None:
    """Check scenario, experiment and calibration FILES, and fit's CSV records; print every
    problem with its field path (exit 2 if any).

    A file ending in .csv is records for ``fit`` (nothing is fitted): with --column NAME
    (and --censored-column) that column gets fit's checks; without it the numeric columns
    are listed with how many values each has. The kind of a TOML file is told by its keys: an experiment
    names a ``model`` and no factories (every design point is validated, nothing runs);
    calibration targets name a ``model`` and ``targets`` tables; anything else is read as a
    scenario."""
    if censored_column is not None and column is None:
        raise InputError(["--censored-column: needs --column (the column of values it flags)"])
    if column is not None and not any(_is_records(file) for file in files):
        raise InputError(["--column: checks CSV records files (.csv), and none is given"])
    if overrides and all(_is_records(file) for file in files):
        raise InputError(["--set: applies to scenario, experiment and calibration files, and none is given"])
    loaded = plugins_from(plugins)
    problems: list[str] = []
    for file in files:
        try:
            if _is_records(file):
                what, details = _check_records(file, column, censored_column)
            else:
                what, details = _check_file(file, overrides, loaded), []
        except InputError as exc:
            problems += exc.problems
            continue
        click.echo("\n".join([f"{file}: ok ({what})", *(f"  {line}" for line in details)]))
    if problems:
        fail(problems)


def _check_file(file: Path, overrides: tuple[str, ...], plugins: Plugins) -> str:
    """Validate one input file of any kind; what it is, in words (InputError if it is bad)."""
    raw = read_toml(file)
    if "model" in raw and "factories" not in raw:
        targets = raw.get("targets")
        if isinstance(targets, list) and targets and all(isinstance(t, dict) for t in targets):
            from leadtime_sim.calibration import load_calibration

            calibration, _ = load_calibration(file, overrides)
            return f"calibration targets: {len(calibration.targets)} figures, model {calibration.model}"
        from leadtime_sim.experiment.runner import plan_experiment

        plan = plan_experiment(file, overrides)
        points, replications = len(plan.points), plan.experiment.replications
        return (f"experiment {plan.experiment.name}: {_count(points, 'design point')} x "
                f"{_count(replications, 'replication')}, every point valid")
    return f"scenario {load_scenario(file, overrides, plugins).name}"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _is_records(file: Path) -> bool:
    """A CSV file of records for ``fit``, told by its name."""
    return file.suffix.lower() == ".csv"


def _check_records(file: Path, column: str | None, censored_column: str | None) -> tuple[str, list[str]]:
    """Check records as ``fit`` would (fit's own functions), nothing fitted: what the file is
    and lines of detail (InputError if it is bad)."""
    from leadtime_sim.fitting import check_records, read_records, summarise_records

    if column is not None:
        records = read_records(file, column, censored_column)
        check_records(records)
        censored = (f", {records.n_censored} censored ({censored_column} = 1)"
                    if censored_column is not None else "")
        what = f"CSV records, column {column!r}: {records.n} values{censored}, ready to fit"
        return what, list(records.notes)
    summary = summarise_records(file)
    details = []
    for col in summary.numeric:
        text = (f"{col.name}: {col.values} value{'' if col.values == 1 else 's'}"
                + (f", {col.empty} empty" if col.empty else ""))
        if col.problem is not None:
            text += f"; fit refuses it: {col.problem}"
        elif col.flags_only:
            text += " (only 0 and 1: a --censored-column?)"
        details.append(text)
    if summary.other:
        details.append(f"not numeric: {', '.join(summary.other)}")
    return (f"CSV records: {summary.rows} rows, {len(summary.numeric)} of {summary.columns} columns numeric; "
            "validate --column NAME checks one as fit would"), details


@click.command()
@click.option("--experiment", "of_experiment", is_flag=True, help="The schema of experiment files instead.")
def schema(of_experiment: bool) -> None:
    """Print the JSON Schema of scenario files, or with --experiment of experiment files (for editors)."""
    if of_experiment:
        from leadtime_sim.experiment.spec import Experiment

        click.echo(json.dumps(Experiment.model_json_schema(by_alias=True), indent=2))
        return
    click.echo(json.dumps(json_schema(), indent=2))
