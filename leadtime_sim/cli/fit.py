"""``fit``: maximum-likelihood fits of the scenario's distributions to a column of records,
ranked by AIC, with the best as a line of TOML to paste into a scenario."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import click

from leadtime_sim.cli.options import input_errors_exit_2, seed_option
from leadtime_sim.errors import InputError
from leadtime_sim.fitting import (
    DEFAULT_BOOTSTRAP,
    FIT_NAMES,
    FitReport,
    chart_data,
    fit_records,
    read_records,
)

CHART_FORMATS = ("png", "svg", "pdf")
WIDTH = 100
"""Characters per line of the notes (the table and the TOML line are never wrapped)."""


@click.command()
@click.argument("records", type=click.Path(path_type=Path))
@click.option("--column", required=True, metavar="NAME",
              help="The column of values to fit; its name is the key of the TOML line.")
@click.option("--dist", "dists", multiple=True, metavar="NAME[,NAME...]",
              help=f"Fit only these (repeatable, or a comma list): {', '.join(FIT_NAMES)} [default: all].")
@click.option("--censored-column", default=None, metavar="NAME",
              help="A 0/1 column: 1 = right-censored (not yet delivered: the value is a lower bound).")
@click.option("--bootstrap", type=click.IntRange(min=0, max=100_000), metavar="N", default=DEFAULT_BOOTSTRAP,
              show_default=True,
              help="Parametric bootstrap samples for the KS and AD p-values (0: none; the KS p-value is "
                   "then the optimistic textbook one).")
@seed_option
@click.option("--json", "as_json", is_flag=True, help="Print the fits as JSON.")
@click.option("--chart", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Also draw the histogram with the fitted densities and a Q-Q plot (.png, .svg or .pdf).")
@input_errors_exit_2
def fit(records: Path, column: str, dists: tuple[str, ...], censored_column: str | None, bootstrap: int,
        seed: int, as_json: bool, chart: Path | None) -> None:
    """Fit the scenario's distributions to COLUMN of the CSV file RECORDS (maximum likelihood).

    Ranks the fits by AIC (BIC beside it), tests each (Kolmogorov-Smirnov, Anderson-Darling)
    and prints the best, or the empirical distribution if every family is rejected, as a
    line to paste into a scenario: COLUMN = {dist = ...}."""
    families = [name.strip() for value in dists for name in value.split(",") if name.strip()] or None
    if dists and not families:
        raise InputError(["--dist: no distribution named"])
    fmt = chart.suffix.lower().lstrip(".") if chart is not None else ""
    if chart is not None and fmt not in CHART_FORMATS:
        raise InputError([f"--chart {chart}: the name must end in .png, .svg or .pdf"])
    if chart is not None:  # (before the fit and its bootstrap, which can take a while; and imported
        # only here: leadtime_sim.io imports pandas, which a fit without a chart does not need)
        from leadtime_sim.io import check_creatable

        check_creatable(chart.parent)
    data = read_records(records, column, censored_column)
    report = fit_records(data, families, bootstrap=bootstrap, seed=seed)
    if chart is not None:
        from leadtime_sim.io import atomic_write

        atomic_write(chart, lambda tmp: tmp.write_bytes(_chart_bytes(report, fmt)))
    click.echo(json.dumps(report.as_json(), indent=2, allow_nan=False) if as_json else summary(report))


def _chart_bytes(report: FitReport, fmt: str) -> bytes:
    """The chart drawn in the project's slide style (Matplotlib imported only here)."""
    from leadtime_sim import plotting

    with plotting.slide_style():
        fig = plotting.fit_figure(chart_data(report))
        plotting.bound_texts(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=150, bbox_inches="tight", pad_inches=0.15)
    return buffer.getvalue()


def _number(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def summary(report: FitReport) -> str:
    """The ranking as a table, the notes and the line to paste."""
    records = report.records
    censored = (f", {records.n_censored} censored ({records.censored_column} = 1: lower bounds)"
                if records.censored_column is not None else "")
    lines = [f"{records.column} in {records.source}: {records.n} values{censored}", ""]
    if report.fits:
        width = max(len(f.dist) for f in report.fits)
        tested = not records.n_censored  # (with censoring there is no KS or AD)
        gof = f"  {'KS':>6}  {'KS p':>6}  {'AD':>7}  {'AD p':>6}" if tested else ""
        lines.append(f"rank  {'dist':<{width}}  {'AIC':>9}  {'dAIC':>7}  {'BIC':>9}{gof}  parameters")
        for rank, fit in enumerate(report.fits, start=1):
            params = ", ".join(f"{k} = {v:g}" for k, v in fit.table.items() if k != "dist")
            gof = (f"  {_number(fit.ks, 3):>6}  {_number(fit.ks_p, 3):>6}  {_number(fit.ad, 3):>7}  "
                   f"{_number(fit.ad_p, 3):>6}") if tested else ""
            delta = fit.aic - report.fits[0].aic
            lines.append(f"{rank:>4}  {fit.dist:<{width}}  {fit.aic:>9.1f}  {delta:>7.1f}  {fit.bic:>9.1f}"
                         f"{gof}  {params}")
        lines.append("")
    lines.append(textwrap.fill(f"goodness of fit: {report.p_values}", WIDTH, subsequent_indent="  "))
    if report.notes:
        lines += ["notes:", *(textwrap.fill(note, WIDTH, initial_indent="  ", subsequent_indent="    ")
                              for note in report.notes)]
    lines += ["", f"best: {report.best}; paste into the scenario:", report.toml]
    return "\n".join(lines)
