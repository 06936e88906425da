"""Reading a results directory into typed objects: the typed boundary between the store and
the charts and report.

A sweep store gives the experiment and the scenario as run (validated models), each design
point with its own scenario (the base with the point's values), the points table and the
series quantiles; a run's directory gives its scenario, summary, series and orders. Charts
and the report read these, never the manifest's dicts, and take what the scenario knows
(an investment's capex, its planned entry into service) from the scenario itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, ValidationError

from leadtime_sim.dates import months_between
from leadtime_sim.errors import InputError, pydantic_problems
from leadtime_sim.experiment.design import axes_text
from leadtime_sim.experiment.lock import writer_alive
from leadtime_sim.experiment.spec import Experiment
from leadtime_sim.experiment.task import SERIES_FIELDS
from leadtime_sim.metrics import METRICS
from leadtime_sim.scenario import Scenario
from leadtime_sim.scenario.loading import apply_values

GAP_CLOSED = METRICS["gap_closed_months"]


@dataclass(frozen=True)
class StoredPoint:
    """A design point as stored: its axis values, the scenario values they set, its scenario."""

    point_id: int
    axes: dict[str, Any]
    """Axis label -> value."""
    values: dict[str, Any]
    """Scenario path -> value (tied values included)."""
    base: Scenario = field(repr=False, compare=False)

    @cached_property
    def scenario(self) -> Scenario:
        """The base scenario with this point's values (validated when the sweep ran)."""
        if not self.values:
            return self.base
        return Scenario.model_validate(apply_values(self.base.model_dump(by_alias=True), self.values))

    @cached_property
    def swept_investments(self) -> tuple[str, ...]:
        """The investments whose settings the point's values change."""
        names = {path.split(".")[1] for path in self.values if path.startswith("investments.")}
        return tuple(n for n in self.scenario.investments if n in names)

    @cached_property
    def swept_capex_musd(self) -> float:
        """Capex of the swept investments at this point (``Investment.total_capex_musd``)."""
        return sum(self.scenario.investments[n].total_capex_musd for n in self.swept_investments)


@dataclass(frozen=True)
class Provenance:
    """Where the results came from, for the report's facts."""

    seed: int | None = None
    replication: int | None = None
    replications: int | None = None
    status: str = ""
    done: int | None = None
    failed: int | None = None
    model_file: str = ""
    model_sha256: str = ""
    version: str = ""
    finished: str | None = None
    estimate: str = ""
    """A run's ``estimate`` (``"fluid"``: mean rates, no random draws; empty: a simulated run)."""


@dataclass(frozen=True)
class Results:
    """A results directory: a sweep store (``kind == "sweep"``) or one run's output (``run``)."""

    directory: Path
    kind: Literal["sweep", "run"]
    scenario: Scenario
    """The scenario as run (for a sweep: before the axes are applied)."""
    experiment: Experiment | None
    points: tuple[StoredPoint, ...]
    """Design points (a run: one point, 0, with no values)."""
    baseline_id: int
    stats: pd.DataFrame
    """``points.csv``: one row per design point and metric (empty for a run)."""
    quantile_source: Path | pd.DataFrame
    """A sweep store's ``series_quantiles.parquet`` (read when asked, ``quantiles_of``) or a
    run's series in that form."""
    orders: pd.DataFrame
    """A run's orders (empty for a sweep)."""
    provenance: Provenance
    manifest: dict[str, Any] = field(repr=False)
    """The file as written (manifest.json or summary.json), shown verbatim in the report."""

    @property
    def name(self) -> str:
        return self.scenario.name

    @property
    def start(self) -> str:
        return self.scenario.start

    @property
    def end(self) -> str:
        return self.scenario.end

    @property
    def horizon_months(self) -> float:
        return months_between(self.start, self.end)

    @property
    def axes(self) -> list[str]:
        return [a.name for a in self.experiment.design_axes] if self.experiment else []

    @property
    def sampled(self) -> bool:
        """The design samples range axes (Latin hypercube, Sobol): its points differ in every
        axis, so no axis can be varied with the others held."""
        return self.experiment is not None and any(a.sampled for a in self.experiment.design_axes)

    @property
    def targets(self) -> list[str]:
        return list(self.experiment.targets) if self.experiment else []

    @property
    def requirements(self) -> list[str]:
        return list(self.scenario.requirements)

    @property
    def closing_requirements(self) -> list[str]:
        """The requirements whose close dates the results hold (a sweep's ``metrics`` may
        leave them out: then there is no answer, no gap-close chart for them)."""
        if self.kind != "sweep":
            return self.requirements
        kept = set(self.stats["metric"]) if "metric" in self.stats else set()
        return [r for r in self.requirements if GAP_CLOSED.column(r) in kept]

    def point(self, point_id: int) -> StoredPoint:
        return next(p for p in self.points if p.point_id == point_id)

    def point_label(self, point_id: int) -> str:
        """``lines added 2, decided 2026-01`` (``(baseline)`` added for the baseline); a design
        of no axes: ``the scenario as it is``."""
        text = axes_text(self.point(point_id).axes, " ") or "the scenario as it is"
        return text + (" (baseline)" if point_id == self.baseline_id and self.kind == "sweep" else "")

    @cached_property
    def quantiles(self) -> pd.DataFrame:
        """Series quantiles of every point: point_id, entity, name, field, month, p10, p50, p90."""
        return self.quantiles_of(None)

    def quantiles_of(self, point_ids: Iterable[int] | None) -> pd.DataFrame:
        """The series quantiles of some points (None: all). A store's file holds a row group
        per point, so a chart of two points of a 1,000-point store reads two, not the whole
        file (1.2 million rows, some 400 MB)."""
        source = self.quantile_source
        if isinstance(source, pd.DataFrame) or "quantiles" in self.__dict__:
            table = source if isinstance(source, pd.DataFrame) else self.quantiles
            if point_ids is None or table.empty:
                return table
            return table[table["point_id"].isin(list(point_ids))]
        if not source.is_file():
            return pd.DataFrame()
        wanted = None if point_ids is None else [("point_id", "in", sorted({int(p) for p in point_ids}))]
        try:
            return pd.read_parquet(source, filters=wanted)
        except Exception as exc:  # any reader error is bad input, reported in one line
            raise InputError([f"{source}: cannot read: {exc}"]) from None

    @cached_property
    def has_series(self) -> bool:
        """Whether the results hold series quantiles (without reading them)."""
        source = self.quantile_source
        if isinstance(source, pd.DataFrame):
            return not source.empty
        if not source.is_file() and self.provenance.status in ("complete", "interrupted") \
                and any((self.directory / "series_runs").glob("point=*/*.parquet")):
            # (a store that stopped writes it too: missing, it was lost, and the charts of the
            # series would be left out without a word)
            raise InputError([f"{source}: missing, though the store holds its runs' series (series_runs/); "
                              "rewrite it with sweep --resume"])
        try:
            return source.is_file() and pq.ParquetFile(source).metadata.num_rows > 0
        except Exception as exc:
            raise InputError([f"{source}: cannot read: {exc}"]) from None

    @cached_property
    def runs(self) -> pd.DataFrame:
        """A sweep store's runs table (``runs.parquet``, else ``runs.csv``), read once; a
        damaged one is InputError naming it."""
        path = self.directory / "runs.parquet"
        return read_table(path if path.exists() else self.directory / "runs.csv")

    @cached_property
    def ok_runs(self) -> pd.DataFrame:
        """A sweep store's successful runs."""
        return self.runs[self.runs["status"] == "ok"]

    @cached_property
    def failures(self) -> dict[int, tuple[int, list[str]]]:
        """Per point with failed runs: how many failed and their distinct errors, most
        frequent first (read from the runs table only if ``points.csv`` counts failures): a
        point whose runs all failed has no statistics, and the error is the only answer."""
        if self.kind != "sweep" or "n_failed" not in self.stats or not (self.stats["n_failed"] > 0).any():
            return {}
        failed = self.runs[self.runs["status"] != "ok"]
        return {int(point): (len(rows), rows["error"].fillna("").astype(str).value_counts().index.tolist())
                for point, rows in failed.groupby("point_id")}

    def gap_rows(self, requirement: str) -> pd.DataFrame:
        """The points table's rows of a requirement's close date."""
        return self.stats[self.stats["metric"] == GAP_CLOSED.column(requirement)]

    @cached_property
    def capex_axis(self) -> str | None:
        """The first axis whose values change the swept capex (points that differ only in it
        differ in capex), or None."""
        if len(self.points) < 2:
            return None
        capex = pd.Series([p.swept_capex_musd for p in self.points])
        table = pd.DataFrame([p.axes for p in self.points]).astype(str)
        for axis in self.axes:
            others = [a for a in self.axes if a != axis]
            spread = capex.groupby([table[a] for a in others]).nunique() if others else capex.nunique()
            if np.any(np.asarray(spread) > 1):
                return axis
        return None


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError([f"{path}: cannot read: {exc}"]) from None
    except RecursionError:
        raise InputError([f"{path}: cannot read: nested too deeply"]) from None
    if not isinstance(data, dict):
        raise InputError([f"{path}: not a JSON object"])
    return data


def read_table(path: Path) -> pd.DataFrame:
    """A CSV or Parquet table of a results directory; any reader error (a damaged or missing
    file) is InputError, one line naming it."""
    try:
        return pd.read_csv(path) if path.suffix == ".csv" else pd.read_parquet(path)
    except Exception as exc:  # any reader error is bad input, reported in one line
        raise InputError([f"{path}: cannot read: {exc}"]) from None


def _model(kind: type[BaseModel], data: Any, source: str) -> Any:
    """``data`` validated as ``kind``; a damaged or edited file is one line naming it."""
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        problems = pydantic_problems(exc, source, kind)
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise InputError([f"{problems[0]}{more}"]) from None


def load_results(directory: str | Path) -> Results:
    """Read a sweep store or a run's output directory; InputError if it is neither."""
    folder = Path(directory)
    if folder.exists() and not folder.is_dir():
        raise InputError([f"{folder}: is a file, not a directory (a sweep store or a run's output)"])
    if not folder.is_dir():
        raise InputError([f"{folder}: no such directory"])
    if (folder / "manifest.json").is_file():
        return _sweep(folder, _json(folder / "manifest.json"))
    if (folder / "summary.json").is_file() and (folder / "series.parquet").is_file():
        return _run(folder)
    if (folder / "quote.json").is_file():
        raise InputError([f"{folder}: is a quote's output (quote.json), not a sweep store or a run's output: "
                          "quote --out draws its charts and writes its answer there"])
    raise InputError([f"{folder}: neither a sweep store (manifest.json, points.csv) nor a run's "
                      "output (summary.json, series.parquet)"])


class _StoredPointEntry(BaseModel):
    point_id: int
    axes: dict[str, Any]
    values: dict[str, Any]


class _ManifestFile(BaseModel):
    """What the charts and report read of a manifest (the rest is shown as it is)."""

    model_config = ConfigDict(extra="allow")
    scenario: dict[str, Any]
    experiment: dict[str, Any]
    points: list[_StoredPointEntry]
    baseline_point: int = 0
    counts: dict[str, int] = {}
    seed: int | None = None
    replications: int | None = None
    status: str = ""
    model_file: str = ""
    model_sha256: str = ""
    version: str = ""
    finished: str | None = None


POINTS_COLUMNS = ("point_id", "metric", "n", "share_not_by_end", "p10", "p50", "p90")


def _points_table(path: Path, points: int) -> pd.DataFrame:
    """``points.csv``, checked: its columns, and one complete row per point and metric."""
    table = read_table(path)
    missing = [c for c in POINTS_COLUMNS if c not in table.columns]
    if missing:
        raise InputError([f"{path}: damaged (no column {', '.join(missing)}); rewrite it with "
                          "sweep --resume"])
    rows = points * table["metric"].nunique()
    if len(table) != rows or table[["point_id", "metric", "n"]].isna().any().any():
        raise InputError([f"{path}: damaged ({len(table)} rows, not one whole row for each of {points} "
                          f"points and {table['metric'].nunique()} metrics); rewrite it with sweep --resume"])
    return table


def _no_points(folder: Path) -> str:
    """Why a store has no points.csv: no run finished yet, or its writer stopped between
    writing the runs table and points.csv (a second Ctrl-C, a kill): then the runs are there,
    and saying there are none would be untrue."""
    try:
        runs = pq.ParquetFile(folder / "runs.parquet").metadata.num_rows
    except Exception:  # no runs table, or a damaged one: no finished run to speak of
        runs = 0
    if writer_alive(folder):
        return (f"{folder}: the results store holds no points.csv yet: a sweep is writing it; try again "
                "when its first runs are written")
    if runs:
        return (f"{folder}: the results store holds {runs:,} finished runs but no points.csv: its writer "
                "stopped before writing it; finish it with sweep --resume")
    return f"{folder}: the results store holds no finished runs (no points.csv)"


def _sweep(folder: Path, raw: dict[str, Any]) -> Results:
    source = str(folder / "manifest.json")
    if "scenario" in raw and not (folder / "points.csv").is_file():
        raise InputError([_no_points(folder)])
    manifest = _model(_ManifestFile, raw, source)
    if manifest.counts.get("done") == 0 and manifest.counts.get("failed"):  # points.csv is empty
        raise InputError([f"{folder}: the results store holds no successful run ({manifest.counts['failed']} "
                          "failed; their errors are in runs.csv)"])
    scenario = _model(Scenario, manifest.scenario, f"{source}: scenario")
    studies = ("optimize", "sensitivity")  # what else the runs were for (``manifest_for``)
    kept = {k: v for k, v in manifest.experiment.items() if k not in studies}
    if "optimize" in manifest.experiment:  # (its targets are the question's date: charts of others go)
        kept["charts"] = [c for c in kept.get("charts", []) if c.get("target") in (None, *kept["targets"])]
    experiment = _model(Experiment, kept, f"{source}: experiment")
    points = tuple(StoredPoint(p.point_id, p.axes, p.values, scenario) for p in manifest.points)
    status = manifest.status
    if status == "running" and not writer_alive(folder):
        status = "running, but its writer stopped without closing the store: finish it with --resume"
    provenance = Provenance(
        seed=manifest.seed, replications=manifest.replications, status=status,
        done=manifest.counts.get("done"), failed=manifest.counts.get("failed"),
        model_file=manifest.model_file, model_sha256=manifest.model_sha256,
        version=manifest.version, finished=manifest.finished)
    stats = _points_table(folder / "points.csv", len(points))
    return Results(folder, "sweep", scenario, experiment, points, manifest.baseline_point, stats,
                   folder / "series_quantiles.parquet", pd.DataFrame(), provenance, raw)


def _run(folder: Path) -> Results:
    summary = _json(folder / "summary.json")
    scenario = _model(Scenario, _json(folder / "scenario_as_run.json"), str(folder / "scenario_as_run.json"))
    provenance = Provenance(seed=summary.get("seed"), replication=summary.get("replication"),
                            model_file=str(summary.get("model_file") or ""),
                            version=str(summary.get("version", "")),
                            estimate=str(summary.get("estimate") or ""))
    series = read_table(folder / "series.parquet")
    return Results(folder, "run", scenario, None, (StoredPoint(0, {}, {}, scenario),), 0, pd.DataFrame(),
                   run_quantiles(series), read_table(folder / "orders.parquet"), provenance, summary)


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
