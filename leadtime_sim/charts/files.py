"""Chart files from a results directory: a sweep store or the output of one run.

Reads the directory (``results.load_results``; it never re-runs a simulation), turns the
experiment's ``charts`` list (or, if it is empty, the catalogue's default set) into one job
per file, draws each job with :mod:`leadtime_sim.plotting` and writes
``DIR/charts/<chart>-<subject>.<format>`` atomically.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from leadtime_sim.charts.catalogue import CHARTS, Job
from leadtime_sim.errors import InputError, pydantic_problems
from leadtime_sim.experiment.spec import Chart, Experiment
from leadtime_sim.io import atomic_write
from leadtime_sim.results import Results, load_results
from leadtime_sim.scenario import Scenario

FORMATS = ("png", "svg", "pdf")


def chart_specs(results: Results, names: Sequence[str] | None = None) -> list[Chart]:
    """The charts to draw: the experiment's list (or the defaults), limited to ``names``."""
    unknown = [n for n in names or () if n not in CHARTS]
    if unknown:
        raise InputError([f"unknown chart {n!r} (charts: {', '.join(CHARTS)})" for n in unknown])
    for n in names or ():
        if results.kind not in CHARTS[n].sources:
            raise InputError([f"{results.directory}: chart {n!r} needs "
                              + ("a sweep store, not one run" if results.kind == "run" else
                                 "a run's orders: use leadtime-sim run MODEL --charts")])
    specs = list(results.experiment.charts) if results.experiment else []
    specs = specs or default_specs(results)
    if names:
        specs = [s for s in specs if s.chart in names]
        specs += [_spec(n, results) for n in dict.fromkeys(names) if n not in {s.chart for s in specs}]
    return specs


def _spec(name: str, results: Results) -> Chart:
    try:
        return Chart.model_validate({"chart": name})
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, str(results.directory), Chart)) from None


def _available(axes: int, targets: bool, series: bool) -> dict[str, bool]:
    """Which of the catalogue's ``needs`` a design of so many axes, with or without targets
    and recorded series, meets."""
    return {"": True, "an axis": axes >= 1, "an axis and targets": axes >= 1 and targets,
            "two axes": axes >= 2, "series": series}


def default_specs(results: Results) -> list[Chart]:
    """The catalogue's charts for this kind of results, whose data the results hold."""
    available = _available(len(results.axes), bool(results.targets),
                           results.kind == "run" or results.has_series)
    return [Chart(chart=kind.name) for kind in CHARTS.values()
            if results.kind in kind.default_for and available[kind.needs]]


def check_charts(experiment: Experiment, scenario: Scenario, points: int, source: str) -> None:
    """Before a sweep: the requirements, products and points its charts name exist, and the
    design has what each chart needs (axes, targets).

    (Chart names, settings, axis labels and targets are checked with the experiment file.)
    A typo found after a long sweep would leave a store whose charts cannot be drawn.
    """
    known: dict[str, list[Any]] = {"requirements": list(scenario.requirements),
                                   "products": list(scenario.products), "points": list(range(points))}
    problems = [f"{source}: charts[{i}].{key}: no {key[:-1]} {value!r} in the scenario"
                for i, chart in enumerate(experiment.charts) for key in known
                for value in getattr(chart, key) if value not in known[key]]
    available = _available(len(experiment.design_axes), bool(experiment.targets), True)
    for i, chart in enumerate(experiment.charts):
        kind = CHARTS[chart.chart]
        if "sweep" not in kind.sources:
            problems.append(f"{source}: charts[{i}].chart: {chart.chart!r} is drawn from one run's "
                            "output (leadtime-sim run MODEL --charts), not from a sweep")
        elif not available[kind.needs]:
            problems.append(f"{source}: charts[{i}].chart: {chart.chart!r} needs {kind.needs} "
                            f"(axes: {len(experiment.design_axes)}, targets: {len(experiment.targets)})")
    if problems:
        raise InputError(problems)


def chart_jobs(results: Results, names: Sequence[str] | None = None) -> list[Job]:
    """One job per file for the charts asked for (stems made unique)."""
    jobs = [job for spec in chart_specs(results, names)
            for job in CHARTS[spec.chart].build()(results, spec)]
    taken = {job.stem for job in jobs}  # a repeat never takes a name another job has
    seen: set[str] = set()
    unique = []
    for job in jobs:
        stem, k = job.stem, 1
        while stem in seen or (stem != job.stem and stem in taken):
            k += 1
            stem = f"{job.stem}-{k}"
        seen.add(stem)
        unique.append(Job(stem, job.rows, job.draw))
    return unique


def render(job: Job, fmt: str = "png", dpi: int = 150) -> bytes:
    """Draw one job on a fresh slide-size figure and return the file's bytes.

    Matplotlib is imported here, when a chart is drawn: a run or a sweep without charts
    never loads it."""
    from leadtime_sim import plotting

    with plotting.slide_style():
        size = (11.0, 6.2) if job.rows == 1 else (11.0, 8.5)
        fig, axes = plotting.new_figure(size, job.rows)
        try:
            job.draw(axes)
        except ValueError as exc:
            raise InputError([f"chart {job.stem}: {exc}"]) from None
        plotting.bound_texts(fig)
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.15)
    return buffer.getvalue()


def bytes_writer(data: bytes) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
    return write


def write_charts(directory: str | Path | Results, names: Sequence[str] | None = None,
                 fmt: str = "png") -> list[Path]:
    """Draw the charts of a results directory (or its results, read) into ``DIR/charts/``;
    return the files written.

    Drawing every chart (no ``names``) also removes the catalogue's ``DIR/charts/*.<fmt>`` files
    it did not write, so the folder never mixes charts of two drawings; the charts ``optimize``
    and ``sensitivity`` drew (``frontier``, ``sensitivity-*``) are theirs, and stay.
    """
    if fmt not in FORMATS:
        raise InputError([f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})"])
    results = directory if isinstance(directory, Results) else load_results(directory)
    written = []
    for job in chart_jobs(results, names):
        data = render(job, fmt)
        path = results.directory / "charts" / f"{job.stem}.{fmt}"
        atomic_write(path, bytes_writer(data))
        written.append(path)
    if not names:  # a full drawing replaces the charts of an earlier one (names may have changed)
        for old in set((results.directory / "charts").glob(f"*.{fmt}")) - set(written):
            if old.stem.split("-", 1)[0] in CHARTS:
                old.unlink()
    return written
