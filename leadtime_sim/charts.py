"""Chart files from a results directory: a sweep store or the output of one run.

Reads what the directory holds (it never re-runs a simulation), turns the experiment's
``charts`` list (or, if it is empty, a default set) into one job per file, draws each job
with :mod:`leadtime_sim.plotting` and writes ``DIR/charts/<chart>-<subject>.<format>``
atomically. Matplotlib is imported only by the plotting package, when a chart is drawn.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import numpy as np
import pandas as pd
from pydantic import ValidationError

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.errors import InputError, pydantic_problems
from leadtime_sim.experiment.spec import CHART_NAMES, Chart
from leadtime_sim.experiment.task import SERIES_FIELDS
from leadtime_sim.io import atomic_write

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class Milestone(TypedDict):
    """An investment event drawn on a time axis (``point_id`` None: the same for all points)."""

    date: str
    label: str
    point_id: int | None

FORMATS = ("png", "svg", "pdf")
SWEEP_ONLY = {"gap_close", "probability", "heatmap"}


@dataclass(frozen=True)
class Results:
    """A results directory as read from disk (tables as DataFrames)."""

    directory: Path
    kind: str
    """``sweep`` (a results store) or ``run`` (one run's output)."""
    scenario: dict[str, Any]
    manifest: dict[str, Any]
    """The store's manifest.json, or the run's summary.json."""
    points: pd.DataFrame
    quantiles: pd.DataFrame
    orders: pd.DataFrame

    @property
    def name(self) -> str:
        return str(self.scenario["name"])

    @property
    def start(self) -> str:
        return str(self.scenario["start"])

    @property
    def end(self) -> str:
        return str(self.scenario["end"])

    @property
    def experiment(self) -> dict[str, Any]:
        return dict(self.manifest.get("experiment") or {}) if self.kind == "sweep" else {}

    @property
    def axes(self) -> list[str]:
        return [a.get("label") or a["path"] for a in self.experiment.get("axes", [])]

    @property
    def targets(self) -> list[str]:
        return list(self.experiment.get("targets", []))

    @property
    def baseline(self) -> int:
        return int(self.manifest.get("baseline_point", 0))

    @property
    def requirements(self) -> list[str]:
        return list(self.scenario.get("requirements", {}))

    def point_axes(self, point_id: int) -> dict[str, Any]:
        return next((p["axes"] for p in self.manifest.get("points", []) if p["point_id"] == point_id), {})

    def point_label(self, point_id: int) -> str:
        """``lines added 2, decided 2026-01`` (``(baseline)`` added for the baseline)."""
        text = ", ".join(f"{k} {v}" for k, v in self.point_axes(point_id).items())
        return text + (" (baseline)" if point_id == self.baseline and self.kind == "sweep" else "")


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError([f"{path}: cannot read: {exc}"]) from None
    if not isinstance(data, dict):
        raise InputError([f"{path}: not a JSON object"])
    return data


def _table(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # any reader error is bad input, reported in one line
        raise InputError([f"{path}: cannot read: {exc}"]) from None


def load_results(directory: str | Path) -> Results:
    """Read a sweep store or a run's output directory; InputError if it is neither."""
    folder = Path(directory)
    if not folder.is_dir():
        raise InputError([f"{folder}: no such directory"])
    if (folder / "manifest.json").is_file():
        manifest = _json(folder / "manifest.json")
        if not (folder / "points.csv").is_file() or "scenario" not in manifest:
            raise InputError([f"{folder}: the results store holds no finished runs (no points.csv)"])
        quantiles = folder / "series_quantiles.parquet"
        return Results(folder, "sweep", manifest["scenario"], manifest, _table(folder / "points.csv"),
                       _table(quantiles) if quantiles.is_file() else pd.DataFrame(), pd.DataFrame())
    if (folder / "summary.json").is_file() and (folder / "series.parquet").is_file():
        summary = _json(folder / "summary.json")
        scenario = _json(folder / "scenario_as_run.json")
        return Results(folder, "run", scenario, summary, pd.DataFrame(),
                       run_quantiles(_table(folder / "series.parquet")),
                       _table(folder / "orders.parquet"))
    raise InputError([f"{folder}: neither a sweep store (manifest.json, points.csv) nor a run's "
                      "output (summary.json, series.parquet)"])


def run_quantiles(series: pd.DataFrame) -> pd.DataFrame:
    """A run's series in the long form of a store's quantiles (p50 = the value; no band)."""
    parts = []
    for entity, fields in SERIES_FIELDS.items():
        rows = series[series["entity"] == entity]
        wanted = [*fields, "quoted_lead_time_months"] if entity == "product" else list(fields)
        wanted = [w for w in wanted if w in rows.columns]  # a model without requirements has none
        if rows.empty or not wanted:
            continue
        long = rows.melt(id_vars=["name", "month"], value_vars=wanted, var_name="field", value_name="p50")
        long.insert(0, "entity", entity)
        parts.append(long)
    frame = pd.concat(parts, ignore_index=True)
    frame["p50"] = pd.to_numeric(frame["p50"], errors="coerce").astype(float)
    frame.insert(0, "point_id", 0)
    frame["p10"] = frame["p90"] = np.nan
    return frame


def swept_capex(results: Results) -> dict[int, float]:
    """Capex ($M) of the investments the axes change, per design point."""
    capex = {}
    for point in results.manifest.get("points", []):
        names = {path.split(".")[1] for path in point["values"] if path.startswith("investments.")}
        invest = point_investments(results, point["point_id"])
        capex[point["point_id"]] = sum(
            0.0 if invest[n].get("lines_added", 1) == 0 else
            float(invest[n].get("capex_musd", 0)) + float(invest[n].get("capex_musd_per_line", 0))
            * float(invest[n].get("lines_added", 1)) for n in names if n in invest)
    return capex


def point_investments(results: Results, point_id: int) -> dict[str, dict[str, Any]]:
    """The scenario's investments with the design point's values applied."""
    invest = copy.deepcopy(results.scenario.get("investments") or {})
    point = next((p for p in results.manifest.get("points", []) if p["point_id"] == point_id), None)
    for path, value in (point or {}).get("values", {}).items():
        parts = path.split(".")
        if len(parts) == 3 and parts[0] == "investments" and parts[1] in invest:
            invest[parts[1]][parts[2]] = value
    return invest


def best_point(results: Results, requirement: str, target: str | None = None) -> int:
    """The point whose gap closes first (median), then most surely by ``target``, then cheapest."""
    rows = results.points[results.points["metric"] == f"gap_closed_months.{requirement}"]
    if rows.empty:
        return results.baseline
    capex = swept_capex(results)
    column = f"p_closed_by_{target}" if target else None

    def key(row: Any) -> tuple[float, float, float, int]:
        p = -float(row[column]) if column and column in row and np.isfinite(row[column]) else 0.0
        median = float(row["p50"]) if np.isfinite(row["p50"]) else np.inf
        return median, p, capex.get(int(row["point_id"]), 0.0), int(row["point_id"])

    return int(min(rows.to_dict("records"), key=key)["point_id"])


def milestones(results: Results, product: str, points: Sequence[int]) -> list[Milestone]:
    """When each investment in ``product`` or its components enters service, per point.

    An event common to every point gets ``point_id`` None; events on one date are merged.
    """
    products = {product}
    while True:
        more = {c for p in products for c in (results.scenario["products"].get(p, {}).get("bom") or {})}
        if more <= products:
            break
        products |= more
    factories = {n for n, f in results.scenario["factories"].items() if f["product"] in products}
    events: dict[tuple[str, int], set[str]] = {}
    for point in points:
        for name, inv in point_investments(results, point).items():
            if inv["factory"] in factories and inv.get("lines_added", 1) > 0:
                build = float(inv.get("construction_months", 0))
                months = months_between(results.start, inv["decided"]) + build
                if 0 < months < months_between(results.start, results.end):
                    events.setdefault((date_at(results.start, months), point), set()).add(name)
    merged: dict[tuple[str, int | None], set[str]] = {}
    for (date, point), names in events.items():
        shared = all(names <= events.get((date, other), set()) for other in points)
        merged.setdefault((date, None if shared else point), set()).update(names)
    return [Milestone(date=d, point_id=p, label=" + ".join(sorted(n)) + " in service")
            for (d, p), n in sorted(merged.items(), key=lambda kv: (kv[0][0], kv[0][1] or -1))]


@dataclass(frozen=True)
class Job:
    """One chart file: its name and how to draw it on ``rows`` stacked axes."""

    stem: str
    rows: int
    draw: Callable[[list[Axes]], None]

    @property
    def kind(self) -> str:
        """The chart's name (``gap_close``, ``fan``, ...)."""
        return self.stem.split("-", 1)[0]


def chart_specs(results: Results, names: Sequence[str] | None = None) -> list[Chart]:
    """The charts to draw: the experiment's list (or the defaults), limited to ``names``."""
    unknown = [n for n in names or () if n not in CHART_NAMES]
    if unknown:
        raise InputError([f"unknown chart {n!r} (charts: {', '.join(CHART_NAMES)})" for n in unknown])
    for n in names or ():
        if results.kind == "run" and n in SWEEP_ONLY:
            raise InputError([f"{results.directory}: chart {n!r} needs a sweep store, not one run"])
        if results.kind == "sweep" and n == "lead_time":
            raise InputError([f"{results.directory}: chart 'lead_time' needs a run's orders: use "
                              "leadtime-sim run MODEL --charts"])
    try:
        specs = [Chart.model_validate(c) for c in results.experiment.get("charts", [])]
    except ValidationError as exc:
        raise InputError(pydantic_problems(exc, f"{results.directory}/manifest.json", Chart)) from None
    specs = specs or default_specs(results)
    if names:
        specs = [s for s in specs if s.chart in names]
        specs += [Chart.model_validate({"chart": n}) for n in dict.fromkeys(names)
                  if n not in {s.chart for s in specs}]
    return specs


def check_charts(experiment_path: str | Path) -> None:
    """Before a sweep: the requirements, products and points its charts name exist.

    (Axis labels and targets are checked with the experiment file.) A typo found after a
    long sweep would leave a store whose charts cannot be drawn.
    """
    from leadtime_sim.errors import read_toml
    from leadtime_sim.experiment.design import expand
    from leadtime_sim.experiment.spec import load_experiment

    experiment, model_path = load_experiment(experiment_path)
    model = read_toml(model_path)
    tables: dict[str, dict[str, Any]] = {
        key: value if isinstance(value := model.get(key), dict) else {}
        for key in ("requirements", "products")}  # a malformed model is reported later
    known: dict[str, list[Any]] = {
             "requirements": list(tables["requirements"]), "products": list(tables["products"]),
             "points": list(range(len(expand(experiment)))) if experiment.charts else []}
    problems = [f"{experiment_path}: charts[{i}].{key}: no {key[:-1]} {value!r} in {model_path.name}"
                for i, chart in enumerate(experiment.charts) for key in known
                for value in getattr(chart, key) if value not in known[key]]
    if problems:
        raise InputError(problems)


def default_specs(results: Results) -> list[Chart]:
    if results.kind == "run":
        kinds = ["fan", "backlog", "lead_time", "utilisation"]
    else:
        kinds = ["gap_close"] + (["probability"] if results.targets else [])
        kinds += ["heatmap"] if len(results.axes) >= 2 else []
        kinds += ["fan", "backlog", "utilisation"] if not results.quantiles.empty else []
    return [Chart.model_validate({"chart": k}) for k in kinds]


def chart_jobs(results: Results, names: Sequence[str] | None = None) -> list[Job]:
    """One job per file for the charts asked for (stems made unique)."""
    from leadtime_sim.plotting.jobs import jobs_for

    jobs = [job for spec in chart_specs(results, names) for job in jobs_for(results, spec)]
    seen: dict[str, int] = {}
    unique = []
    for job in jobs:
        seen[job.stem] = seen.get(job.stem, 0) + 1
        stem = job.stem if seen[job.stem] == 1 else f"{job.stem}-{seen[job.stem]}"
        unique.append(Job(stem, job.rows, job.draw))
    return unique


def render(job: Job, fmt: str = "png", dpi: int = 150) -> bytes:
    """Draw one job on a fresh slide-size figure and return the file's bytes."""
    from leadtime_sim import plotting

    with plotting.slide_style():
        size = (11.0, 6.2) if job.rows == 1 else (11.0, 8.5)
        fig, axes = plotting.new_figure(size, job.rows)
        try:
            job.draw(axes)
        except ValueError as exc:
            raise InputError([f"chart {job.stem}: {exc}"]) from None
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, dpi=dpi, bbox_inches="tight", pad_inches=0.15)
    return buffer.getvalue()


def _bytes_writer(data: bytes) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        tmp.write_bytes(data)
    return write


def write_charts(directory: str | Path, names: Sequence[str] | None = None, fmt: str = "png") -> list[Path]:
    """Draw the charts of a results directory into ``DIR/charts/``; return the files written.

    Drawing every chart (no ``names``) also removes ``DIR/charts/*.<fmt>`` files it did not
    write, so the folder never mixes charts of two drawings.
    """
    if fmt not in FORMATS:
        raise InputError([f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})"])
    results = load_results(directory)
    written = []
    for job in chart_jobs(results, names):
        data = render(job, fmt)
        path = results.directory / "charts" / f"{job.stem}.{fmt}"
        atomic_write(path, _bytes_writer(data))
        written.append(path)
    if not names:  # a full drawing replaces the charts of an earlier one (names may have changed)
        for old in set((results.directory / "charts").glob(f"*.{fmt}")) - set(written):
            old.unlink()
    return written
