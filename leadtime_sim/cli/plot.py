"""``plot`` and ``report``: charts and a self-contained HTML report from a results directory."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from leadtime_sim.charts.catalogue import CHARTS
from leadtime_sim.charts.files import FORMATS, write_charts
from leadtime_sim.cli.options import input_errors_exit_2
from leadtime_sim.cli.settings import SETTINGS
from leadtime_sim.report import partial_warning, write_report
from leadtime_sim.results import load_results

directory_argument = click.argument("directory", type=click.Path(path_type=Path))


@click.command()
@directory_argument
@click.option("--chart", "names", multiple=True, metavar="NAME",
              help=f"Draw only this chart (repeatable): {', '.join(CHARTS)}.")
@click.option("--format", "fmt", default="png", show_default=True, metavar="|".join(FORMATS),
              help="File format of the charts.")
@input_errors_exit_2
def plot(directory: Path, names: tuple[str, ...], fmt: str) -> None:
    """Draw the charts of DIRECTORY (a sweep store or a run's output) into DIRECTORY/charts/."""
    if not SETTINGS.quiet and sys.stderr.isatty():  # (for a person waiting; not in logs)
        click.echo(f"drawing the charts of {directory} ...", err=True)
    results = load_results(directory)
    written = write_charts(results, names or None, fmt)
    click.echo(f"wrote {len(written)} chart(s) to {directory / 'charts'}")
    if note := partial_warning(results, "the charts"):
        click.echo(f"warning: {note}", err=True)


@click.command()
@directory_argument
@input_errors_exit_2
def report(directory: Path) -> None:
    """Write DIRECTORY/report.html: question, answer, setup, charts and tables in one file."""
    if not SETTINGS.quiet and sys.stderr.isatty():  # (for a person waiting; not in logs)
        click.echo(f"writing the report of {directory} ...", err=True)
    click.echo(f"wrote {write_report(directory)}")


@click.command()
@directory_argument
@click.option("--out", "out_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="The workbook [default: DIRECTORY/results.xlsx].")
@input_errors_exit_2
def export(directory: Path, out_path: Path | None) -> None:
    """Write one Excel workbook of DIRECTORY (a sweep store or a run's output): summary, points and runs
    (an optimize store: also its candidates; a sensitivity store: its indices)."""
    from leadtime_sim.export import export_excel  # (openpyxl: only when asked)

    click.echo(f"wrote {export_excel(directory, out_path)}")
    if note := partial_warning(load_results(directory), "the workbook's answers"):
        click.echo(f"warning: {note}", err=True)
