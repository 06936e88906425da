"""The results store: a directory written as runs finish, resumable, never half-written.

    manifest.json             the experiment and scenario as run, hashes, counts, status
    runs.parquet, runs.csv    one row per run (axis values, replication, metrics, status)
    points.csv                aggregates per design point and metric
    series_quantiles.parquet  P10/P50/P90 per point, month and series (fan charts)
    series_runs/point=N/      each run's monthly series, kept so that quantiles can be
                              recomputed after a resume without holding runs in memory

Every file is replaced atomically; the runs table is rewritten at each flush, so a crash
loses at most the runs since the last flush, and ``--resume`` redoes just those.
"""

from __future__ import annotations

import json
import shutil
import uuid
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leadtime_sim.dates import date_at
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.aggregate import META_COLUMNS, points_table
from leadtime_sim.experiment.design import DesignPoint
from leadtime_sim.experiment.task import RunOutcome
from leadtime_sim.io import atomic_write, make_directory, write_json, write_table

SERIES_QUANTILES = (0.1, 0.5, 0.9)
KEYS_PER_PASS = 16
"""Series whose runs are held in memory at once when computing quantiles (each pass reads
the point's files for just these): a sixteenth of a point's series, not all of them."""


@dataclass
class ResultsStore:
    """Collects run outcomes and writes the store's files."""

    directory: Path
    manifest: dict[str, Any]
    points: list[DesignPoint]
    targets: dict[str, float]
    baseline_id: int
    start: str
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    """Runs written so far, as columns (compact: memory must not grow with runs)."""
    rows: list[dict[str, Any]] = field(default_factory=list)
    """Runs finished since the last flush."""
    pending: list[RunOutcome] = field(default_factory=list)
    finished: int = 0
    """Runs in the table and the rows (kept as counts: the progress line asks after every run)."""
    failed: int = 0

    @classmethod
    def open(cls, directory: Path, manifest: dict[str, Any], points: list[DesignPoint],
             targets: dict[str, float], baseline_id: int, start: str, resume: bool,
             force: bool) -> ResultsStore:
        """Open ``directory`` for this experiment: resume it, or start afresh."""
        store = cls(directory, manifest, points, targets, baseline_id, start)
        old_manifest = directory / "manifest.json"
        if old_manifest.exists():
            old = json.loads(old_manifest.read_text())
            same = old.get("identity") == manifest["identity"]
            if resume and not same and not force:
                raise InputError([f"{directory}: holds another experiment (or other settings); "
                                  "use a new --out, or --force to replace it"])
            if resume and same:
                runs = directory / "runs.parquet"
                if runs.exists():
                    store.table = pd.read_parquet(runs)
                    store.finished = len(store.table)
                    store.failed = int((store.table["status"] != "ok").sum())
                store.manifest["started"] = old.get("started", manifest["started"])
                return store
            if not force:
                raise InputError([f"{directory}: already holds results ({old.get('status')}); "
                                  "use --resume to finish them, or --force to start afresh"])
        elif directory.exists() and _holds_files(directory) and not force:
            raise InputError([f"{directory}: is not empty and holds no results store; "
                              "use a new --out, or --force"])
        if force and directory.exists():
            _clear(directory)
        make_directory(directory)
        return store

    def done(self) -> set[tuple[int, int]]:
        frame = self.runs_frame()
        if frame.empty:
            return set()
        return set(zip(frame["point_id"].astype(int), frame["replication"].astype(int), strict=True))

    def add(self, outcome: RunOutcome) -> None:
        point = self.points[outcome.point_id]
        row: dict[str, Any] = {
            "point_id": outcome.point_id, "replication": outcome.replication,
            "seed_key": f"{self.manifest['seed']}/{outcome.replication}",
            **{f"axis:{k}": v for k, v in point.axes.items()},
            "status": outcome.status, "error": outcome.error, "lots": outcome.lots,
            **outcome.metrics,
        }
        self.rows.append(row)
        self.pending.append(outcome)
        self.finished += 1
        self.failed += int(outcome.status != "ok")

    @property
    def counts(self) -> dict[str, int]:
        return {"done": self.finished - self.failed, "failed": self.failed}

    def runs_frame(self) -> pd.DataFrame:
        """Every run so far, by point and replication, columns in a fixed order."""
        if self.rows:
            parts = [p for p in (self.table, pd.DataFrame(self.rows)) if not p.empty]
            frame = pd.concat(parts, ignore_index=True)
            meta = [c for c in frame.columns if c in META_COLUMNS or c.startswith("axis:")]
            metrics = sorted(c for c in frame.columns if c not in meta)
            frame = frame[meta + metrics].sort_values(["point_id", "replication"], kind="stable")
            self.table = frame.reset_index(drop=True)
            self.rows = []
        return self.table

    def points_frame(self) -> pd.DataFrame:
        """``points.csv``: aggregates per design point and metric."""
        return pd.read_csv(self.directory / "points.csv")

    def series_quantiles(self) -> pd.DataFrame:
        """``series_quantiles.parquet``: P10/P50/P90 per point, month and series."""
        return pd.read_parquet(self.directory / "series_quantiles.parquet")

    def flush(self, status: str = "running") -> None:
        """Write what has finished: series of new runs first, then the tables, then the manifest."""
        self._write_series_parts()
        runs = self.runs_frame()
        if not runs.empty:
            write_table(runs, self.directory / "runs")
            table = points_table(runs, self.points, self.targets, self.baseline_id)
            atomic_write(self.directory / "points.csv", lambda tmp: table.to_csv(tmp, index=False))
        self.manifest.update(status=status, counts=self.counts)
        write_json(self.directory / "manifest.json", self.manifest)

    def _write_series_parts(self) -> None:
        by_point: dict[int, list[RunOutcome]] = {}
        for outcome in self.pending:
            if outcome.series:
                by_point.setdefault(outcome.point_id, []).append(outcome)
        for point_id, outcomes in by_point.items():
            keys, reps, values = [], [], []
            for o in outcomes:
                for key, array in o.series.items():
                    keys.append(key)
                    reps.append(o.replication)
                    values.append(array)
            table = pa.table({"replication": pa.array(reps, pa.int32()), "key": keys,
                              "values": pa.array(values, pa.list_(pa.float32()))})
            path = self.directory / "series_runs" / f"point={point_id:05d}" / f"{uuid.uuid4().hex}.parquet"
            atomic_write(path, partial(_write_parquet, table))
        self.pending.clear()

    def finish(self, status: str) -> None:
        """Final flush and the series quantiles, point by point (memory: one point at a time);
        the manifest takes the final status only once every file is written."""
        self.flush("running" if status == "complete" else status)
        if any((self.directory / "series_runs" / f"point={p.point_id:05d}").exists() for p in self.points):
            atomic_write(self.directory / "series_quantiles.parquet", self._write_quantiles)
        self.manifest.update(status=status, counts=self.counts)
        write_json(self.directory / "manifest.json", self.manifest)

    def _write_quantiles(self, path: Path) -> None:
        """Each point's quantiles in turn, as a row group of one Parquet file."""
        writer = None
        for point in self.points:
            frame = self._point_quantiles(point.point_id)
            if frame.empty:
                continue
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            del frame, table
            pa.default_memory_pool().release_unused()  # Arrow keeps freed memory otherwise
        if writer is not None:
            writer.close()

    def _point_quantiles(self, point_id: int) -> pd.DataFrame:
        folder = self.directory / "series_runs" / f"point={point_id:05d}"
        if not folder.exists():
            return pd.DataFrame()
        runs = self.runs_frame()
        mine = runs[(runs["point_id"] == point_id) & (runs["status"] == "ok")]
        recorded = set(mine["replication"].astype(int).tolist())
        files = sorted(folder.glob("*.parquet"))
        all_keys = sorted({key for file in files for key in
                           pq.read_table(file, columns=["key"], use_threads=False).column("key").to_pylist()})
        columns: dict[str, list[Any]] = {name: [] for name in ("entity", "name", "field", "month", "date",
                                                               "n", "p10", "p50", "p90")}
        for start in range(0, len(all_keys), KEYS_PER_PASS):
            self._quantiles_of(files, all_keys[start:start + KEYS_PER_PASS], recorded, columns)
            pa.default_memory_pool().release_unused()
        if not columns["month"]:
            return pd.DataFrame()
        return pd.DataFrame({"point_id": point_id, **{
            name: np.concatenate(parts) if isinstance(parts[0], np.ndarray) else list(chain(*parts))
            for name, parts in columns.items()}})

    def _quantiles_of(self, files: list[Path], keys: list[str], recorded: set[int],
                      columns: dict[str, list[Any]]) -> None:
        """Append the quantile rows of some series keys (their values of every recorded run)."""
        latest: dict[tuple[int, str], np.ndarray] = {}
        wanted = set(keys)
        for file in files:
            part = pq.read_table(file, use_threads=False)  # small files: threads only hold memory
            reps = part.column("replication").to_numpy()
            names = part.column("key").to_pylist()
            lists = part.column("values").combine_chunks()
            flat = lists.flatten().to_numpy(zero_copy_only=False)  # float32: half the memory
            offsets = lists.offsets.to_numpy()
            for k, (rep, key) in enumerate(zip(reps.tolist(), names, strict=True)):
                if rep in recorded and key in wanted:  # a copy: the file's buffers are let go
                    latest[(rep, key)] = flat[offsets[k]:offsets[k + 1]].copy()
        for key in sorted({k for _, k in latest}):
            stack = np.vstack([latest[(rep, key)] for rep in sorted(recorded) if (rep, key) in latest])
            filled = np.where(np.isnan(stack), np.inf, stack)  # "not by end" is later than all
            q = np.quantile(filled, SERIES_QUANTILES, axis=0, method="inverted_cdf").astype(float)
            q = np.where(np.isfinite(q), q, np.nan)  # (inverted_cdf picks values: exact in float32)
            count, months = stack.shape
            for name, value in zip(("entity", "name", "field"), key.split("|"), strict=True):
                columns[name].append([value] * months)
            columns["month"].append(np.arange(months))
            columns["date"].append(_month_dates(self.start, months))
            columns["n"].append(np.full(months, count))
            for k, name in enumerate(("p10", "p50", "p90")):
                columns[name].append(q[k])


@lru_cache(maxsize=8)
def _month_dates(start: str, months: int) -> tuple[str, ...]:
    """The ``YYYY-MM`` of each month 0 .. months - 1 of a horizon (the same for every series)."""
    return tuple(date_at(start, m) for m in range(months))


def _holds_files(directory: Path) -> bool:
    """Anything in ``directory`` but the temporaries of an interrupted first write?"""
    return any(not (p.name.startswith(".") and p.name.endswith(".tmp")) for p in directory.iterdir())


def _write_parquet(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path)


def _clear(directory: Path) -> None:
    """Remove a previous store's files (only the names a store uses)."""
    for name in ("manifest.json", "runs.parquet", "runs.csv", "points.csv",
                 "series_quantiles.parquet"):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory / "series_runs", ignore_errors=True)
    shutil.rmtree(directory / "charts", ignore_errors=True)
