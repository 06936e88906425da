"""The results store: a directory written as runs finish, resumable, never half-written.

    manifest.json             the experiment and scenario as run, hashes, counts, status
    runs.parquet, runs.csv    one row per run (axis values, replication, metrics, status)
    points.csv                aggregates per design point and metric
    series_quantiles.parquet  P10/P50/P90 per point, month and series (fan charts)
    series_runs/point=N/      each run's monthly series, kept so that quantiles can be
                              recomputed after a resume without holding runs in memory

Every file is replaced atomically; the runs table is rewritten at each flush, so a crash
loses at most the runs since the last flush, and ``--resume`` redoes just those. The runs
table is the record: a process killed between writing it and the manifest leaves the
manifest's counts one flush behind (its status then says the writer stopped; ``--resume``
counts from the table).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import accumulate, chain
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from leadtime_sim.dates import date_at
from leadtime_sim.environment import environment
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.aggregate import META_COLUMNS, points_table
from leadtime_sim.experiment.design import DesignPoint
from leadtime_sim.experiment.integrity import differences, inspect_runs, read_manifest, store_identity
from leadtime_sim.experiment.lock import LOCK_NAME, WRITER_NAME, StoreLock
from leadtime_sim.experiment.task import RunOutcome
from leadtime_sim.io import atomic_write, foreign_files, make_directory, write_json, write_table

log = logging.getLogger(__name__)
SERIES_QUANTILES = (0.1, 0.5, 0.9)
VALUES_PER_PASS = 1 << 20
"""Monthly values (float32: 4 MiB) of a point's runs held at once when computing its
quantiles: each pass takes as many series as fit, so memory stays the same whatever the
number of runs, and reads just the row groups of those series."""
SERIES_PER_ROW_GROUP = 8
"""Series of a row group in a series file: one each would let a pass read only its own, but
would make writing twice as slow (about 1 ms a row group)."""


def _check_run_count(directory: Path, old: dict[str, Any], manifest: dict[str, Any]) -> None:
    """A resume may add replications to a store, never drop them (an optimize store keeps
    every range it ran: ``_resume``)."""
    if "optimize" in manifest or "optimize" in old:
        return
    held, asked = int(old.get("replications", 0)), int(manifest["replications"])
    if asked < held:
        raise InputError([f"{directory}: holds {held} replications per point, and --resume with "
                          f"{asked} would drop the others; resume with --replications {held} (or "
                          "more, to add runs), or use a new --out"])


def _union(ranges: list[list[int]]) -> list[list[int]]:
    """Replication ranges [low, high) merged where they overlap or touch, in order."""
    merged: list[list[int]] = []
    for low, high in sorted((int(lo), int(hi)) for lo, hi in ranges):
        if merged and low <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], high)
        else:
            merged.append([low, high])
    return merged


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
    lock: StoreLock | None = None
    """Held while this process writes the store (``open`` to ``close``)."""
    created: bool = False
    """The directory did not exist before ``open``."""
    session: dict[str, Any] = field(default_factory=dict)
    """This session's entry in the manifest's ``sessions`` (``open`` to ``finish``): when,
    on what (``environment``), with which executor, how many runs and how long."""
    _session_began: float = 0.0
    _runs_before: int = 0

    @classmethod
    def open(cls, directory: Path, manifest: dict[str, Any], points: list[DesignPoint],
             targets: dict[str, float], baseline_id: int, start: str, resume: bool,
             force: bool, retry_failed: bool = False) -> ResultsStore:
        """Open ``directory`` (resolved) for this experiment and hold its lock: resume it, or
        start afresh. Refused (InputError): a directory that is not a store and holds anything
        but a store's files, a store another process is writing, another experiment's store
        without ``force``. Files a store holds besides its own (a workbook ``export --out``
        wrote there, the user's notes) are left as they are, also by ``force``."""
        foreign = foreign_files(directory, STORE_NAMES)
        if foreign and not _is_store(directory):
            raise InputError([f"{directory}: is not a results store: it holds "
                              f"{', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}; use a new "
                              "--out (--force replaces only a results store)"])
        if foreign and force:
            log.warning(f"{directory}: --force replaces the store's own files and keeps "
                        f"{', '.join(foreign[:5])}{' ...' if len(foreign) > 5 else ''}, which may "
                        "describe the results replaced")
        existed = directory.exists()
        make_directory(directory)
        store = cls(directory, manifest, points, targets, baseline_id, start)
        store.created = not existed
        store.lock = StoreLock(directory)
        store.lock.acquire()
        try:
            store._take_over(resume, force, retry_failed)
        except BaseException:
            store.close()
            raise
        store._begin_session()
        return store

    def _begin_session(self) -> None:
        """Add this session to the manifest's ``sessions`` (a resumed store keeps those before):
        a study's versions, hardware and run time, as a report states them (STRESS-DES 5.1, 5.4)."""
        self.session = {"started": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "finished": None,
                        "status": "running", "executor": None, "workers": None, "runs": 0,
                        "wall_seconds": None, "environment": environment()}
        self.manifest.setdefault("sessions", []).append(self.session)
        self._session_began, self._runs_before = time.monotonic(), self.finished

    def _update_session(self, status: str, ended: bool = False) -> None:
        if not self.session:  # (a store made without ``open``)
            return
        self.session.update(status=status, runs=self.finished - self._runs_before,
                            wall_seconds=round(time.monotonic() - self._session_began, 1))
        if ended:
            self.session["finished"] = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")

    def describe_session(self, executor: str, workers: int | None) -> None:
        """Record the executor and the workers asked for (None: one per core; the serial executor
        runs in this process alone) of this session."""
        self.session.update(executor=executor, workers=1 if executor == "serial" else workers)

    def _take_over(self, resume: bool, force: bool, retry_failed: bool) -> None:
        """Read what the directory holds (under the lock): resume it, replace it, or refuse."""
        directory, manifest = self.directory, self.manifest
        if (directory / "manifest.json").exists():
            try:
                old = read_manifest(directory / "manifest.json")
            except InputError:
                if not force:
                    raise
                old = {}  # damaged beyond resuming: --force replaces it
            same = bool(old) and store_identity(old) == manifest["identity"]
            if old and not force and store_kind(old) != store_kind(manifest):
                raise InputError([f"{directory}: is the store of {store_kind(old, described=True)}, not of "
                                  f"{store_kind(manifest)}; use a new --out, or --force to replace it"])
            if resume and old and not same and not force:
                what = "; ".join(differences(old, manifest))
                raise InputError([f"{directory}: holds another experiment (or other settings)"
                                  f"{': ' + what if what else ''}; use a new --out, or --force to "
                                  "replace it"])
            if resume and same:
                _check_run_count(directory, old, manifest)
                self._resume(old, retry_failed)
                return
            if old and not force:
                raise InputError([f"{directory}: already holds results ({old.get('status')}); "
                                  "use --resume to finish them, or --force to start afresh"])
        elif _holds_files(directory) and not force:
            raise InputError([f"{directory}: holds parts of a results store but no manifest.json; "
                              "use a new --out, or --force to replace them"])
        if force:
            _clear(directory)

    def _resume(self, old: dict[str, Any], retry_failed: bool) -> None:
        """Keep the runs that are whole (``inspect_runs``), and with ``retry_failed`` only those
        that succeeded; the others will be run again."""
        ranges = self.manifest.get("replication_ranges", [[0, int(self.manifest["replications"])]])
        if "optimize" in self.manifest and "optimize" in old:
            # Another confidence, cap or --fresh asks the same question of the same runs: those
            # a smaller cap or --fresh does not use are kept (dropped, a later ask ran them again).
            ranges = _union(ranges + old.get("replication_ranges", []))
            self.manifest["replication_ranges"] = ranges
        inspection = inspect_runs(self.directory, {p.point_id for p in self.points},
                                  [range(int(lo), int(hi)) for lo, hi in ranges])
        for warning in inspection.warnings:
            log.warning(warning)
        self.table = inspection.runs
        if retry_failed and not self.table.empty:
            self.table = self.table[self.table["status"] == "ok"].reset_index(drop=True)
        self.finished = len(self.table)
        self.failed = int((self.table["status"] != "ok").sum()) if self.finished else 0
        self.manifest["started"] = old.get("started", self.manifest["started"])
        sessions = old.get("sessions")
        self.manifest["sessions"] = [s for s in sessions if isinstance(s, dict)] \
            if isinstance(sessions, list) else []

    def discard(self) -> None:
        """Remove a store that this process made and that holds no run (a sweep that could not
        start): it would only block the next attempt."""
        _clear(self.directory)
        self.close()
        for name in (LOCK_NAME, WRITER_NAME):
            (self.directory / name).unlink(missing_ok=True)
        if self.created and not any(self.directory.iterdir()):
            self.directory.rmdir()

    def close(self) -> None:
        """Release the store's lock (the files stay as the last flush left them)."""
        if self.lock is not None:
            self.lock.release()
            self.lock = None

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
            **outcome.labels,
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
            table = points_table(runs, self.points, self.targets, self.baseline_id, self.start,
                                 self.manifest["scenario"]["end"])
            atomic_write(self.directory / "points.csv", lambda tmp: table.to_csv(tmp, index=False))
        self._update_session(status)
        self.manifest.update(status=status, counts=self.counts)
        write_json(self.directory / "manifest.json", self.manifest)

    def _write_series_parts(self) -> None:
        """Each point's new runs as one file, sorted by series, SERIES_PER_ROW_GROUP series a
        row group (so that computing quantiles reads little more than the series it needs)."""
        by_point: dict[int, list[RunOutcome]] = {}
        for outcome in self.pending:
            if outcome.series:
                by_point.setdefault(outcome.point_id, []).append(outcome)
        for point_id, outcomes in by_point.items():
            rows = sorted(((key, o.replication, array) for o in outcomes for key, array in o.series.items()),
                          key=itemgetter(0, 1))
            keys, reps, values = zip(*rows, strict=True)
            table = pa.table({"replication": pa.array(reps, pa.int32()), "key": keys,
                              "values": pa.array(values, pa.list_(pa.float32()))})
            path = self.directory / "series_runs" / f"point={point_id:05d}" / f"{uuid.uuid4().hex}.parquet"
            atomic_write(path, partial(_write_series, table, SERIES_PER_ROW_GROUP * len(outcomes)))
        self.pending.clear()

    def finish(self, status: str) -> None:
        """Final flush and the series quantiles, point by point (memory: one point at a time);
        the manifest takes the final status only once every file is written."""
        self.flush("running" if status == "complete" else status)
        if any((self.directory / "series_runs" / f"point={p.point_id:05d}").exists() for p in self.points):
            path = self.directory / "series_quantiles.parquet"
            written: list[int] = []
            atomic_write(path, lambda tmp: written.append(self._write_quantiles(tmp)))
            if not written[0]:  # no recorded run has series: no file, rather than an empty one
                path.unlink()
        self._update_session(status, ended=True)
        self.manifest.update(status=status, counts=self.counts)
        write_json(self.directory / "manifest.json", self.manifest)

    def _write_quantiles(self, path: Path) -> int:
        """Each point's quantiles in turn, as a row group of one Parquet file; returns how
        many points had any (none: nothing is written)."""
        writer = None
        points = 0
        for point in self.points:
            frame = self._point_quantiles(point.point_id)
            if frame.empty:
                continue
            table = pa.Table.from_pandas(frame, preserve_index=False)
            writer = writer or pq.ParquetWriter(path, table.schema)
            writer.write_table(table)
            points += 1
            del frame, table
            pa.default_memory_pool().release_unused()  # Arrow keeps freed memory otherwise
        if writer is not None:
            writer.close()
        return points

    def _point_quantiles(self, point_id: int) -> pd.DataFrame:
        folder = self.directory / "series_runs" / f"point={point_id:05d}"
        if not folder.exists():
            return pd.DataFrame()
        runs = self.runs_frame()
        mine = runs[(runs["point_id"] == point_id) & (runs["status"] == "ok")]
        recorded = set(mine["replication"].astype(int).tolist())
        parts = [SeriesPart.read(file) for file in sorted(folder.glob("*.parquet"))]
        all_keys = sorted(set().union(*(part.keys for part in parts)))
        months = max(part.values_per_row for part in parts)
        keys_per_pass = max(1, VALUES_PER_PASS // max(1, len(recorded) * months))
        if keys_per_pass > SERIES_PER_ROW_GROUP:  # whole row groups: none is read twice
            keys_per_pass -= keys_per_pass % SERIES_PER_ROW_GROUP
        columns: dict[str, list[Any]] = {name: [] for name in ("entity", "name", "field", "month", "date",
                                                               "n", "p10", "p50", "p90")}
        for start in range(0, len(all_keys), keys_per_pass):
            self._quantiles_of(parts, all_keys[start:start + keys_per_pass], recorded, columns)
        if not columns["month"]:
            return pd.DataFrame()
        return pd.DataFrame({"point_id": point_id, **{
            name: np.concatenate(chunks) if isinstance(chunks[0], np.ndarray) else list(chain(*chunks))
            for name, chunks in columns.items()}})

    def _quantiles_of(self, parts: list[SeriesPart], keys: list[str], recorded: set[int],
                      columns: dict[str, list[Any]]) -> None:
        """Append the quantile rows of some series keys (their values of every recorded run)."""
        latest: dict[tuple[int, str], np.ndarray] = {}
        wanted = set(keys)
        for part in parts:
            for rep, key, values in part.rows(wanted):
                if rep in recorded:
                    latest[(rep, key)] = values
        replications = sorted(recorded)
        for key in sorted({k for _, k in latest}):
            stack = np.vstack([latest[(rep, key)] for rep in replications if (rep, key) in latest])
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


@dataclass(frozen=True)
class SeriesPart:
    """One file of a point's run series, and which series each of its row groups holds."""

    path: Path
    group_keys: tuple[frozenset[str], ...]
    values_per_row: int
    """Months per series (the most in the file)."""

    @property
    def keys(self) -> frozenset[str]:
        return frozenset().union(*self.group_keys)

    @classmethod
    def read(cls, path: Path) -> SeriesPart:
        """Index a file by its ``key`` column alone (files of earlier versions are one row
        group, unsorted: every pass then reads all of it, which is slower but right)."""
        with pq.ParquetFile(path) as handle:
            keys = handle.read(columns=["key"], use_threads=False).column("key").to_pylist()
            meta = handle.metadata
            groups = [meta.row_group(g) for g in range(meta.num_row_groups)]
        ends = list(accumulate(group.num_rows for group in groups))
        group_keys = tuple(frozenset(keys[a:b]) for a, b in zip([0, *ends], ends, strict=False))
        leaves = max((g.column(2).num_values / max(1, g.num_rows) for g in groups), default=0)
        return cls(path, group_keys, math.ceil(leaves))

    def rows(self, wanted: set[str]) -> Iterator[tuple[int, str, np.ndarray]]:
        """(replication, key, monthly values) of the rows whose key is wanted; the values are
        copies, so the file's buffers are let go."""
        groups = [g for g, keys in enumerate(self.group_keys) if not keys.isdisjoint(wanted)]
        if not groups:
            return
        with pq.ParquetFile(self.path) as handle:  # small reads: threads only hold memory
            part = handle.read_row_groups(groups, use_threads=False)
        lists = part.column("values").combine_chunks()
        flat = lists.flatten().to_numpy(zero_copy_only=False)  # float32: half the memory
        offsets = lists.offsets.to_numpy()
        reps = part.column("replication").to_numpy().tolist()
        for k, (rep, key) in enumerate(zip(reps, part.column("key").to_pylist(), strict=True)):
            if key in wanted:
                yield rep, key, flat[offsets[k]:offsets[k + 1]].copy()


STORE_NAMES = ("manifest.json", "runs.parquet", "runs.csv", "points.csv", "series_quantiles.parquet",
               "series_runs", "charts", "report.html", "results.xlsx", "optimize.json", "sensitivity.csv",
               "sensitivity.json", "replications.csv", "replications.json", "discovery.json", LOCK_NAME,
               WRITER_NAME)
"""What a store directory may hold (``optimize.json``: an optimize answer's store;
``results.xlsx``: ``export``'s default workbook); a sweep never writes into a directory
holding anything else, unless it is a store already (its manifest reads): files there that
are not these are kept as they are."""


@lru_cache(maxsize=8)
def _month_dates(start: str, months: int) -> tuple[str, ...]:
    """The ``YYYY-MM`` of each month 0 .. months - 1 of a horizon (the same for every series)."""
    return tuple(date_at(start, m) for m in range(months))


def store_kind(manifest: dict[str, Any], described: bool = False) -> str:
    """What a store's runs are for: ``a sweep``, ``an optimize`` or ``a sensitivity
    analysis``; ``described``: with its question (``an optimize (r by 2026-01)``)."""
    stored = manifest.get("experiment")
    experiment: dict[str, Any] = stored if isinstance(stored, dict) else {}
    question = experiment.get("optimize")
    study = experiment.get("sensitivity")
    if isinstance(question, dict):
        asked = f" ({question.get('requirement')} by {question.get('by')})"
        return "an optimize" + (asked if described else "")
    if isinstance(study, dict):
        return "a sensitivity analysis" + (f" ({study.get('method')}, {study.get('samples')} samples)"
                                           if described else "")
    return "a sweep"


def _is_store(directory: Path) -> bool:
    """Does ``directory`` hold a results store (a manifest that matches its own hashes)?"""
    try:
        read_manifest(directory / "manifest.json")
    except InputError:
        return False
    return True


def _holds_files(directory: Path) -> bool:
    """Any store file in ``directory`` (besides its lock and temporaries)?"""
    return any(p.name not in (LOCK_NAME, WRITER_NAME)
               and not (p.name.startswith(".") and p.name.endswith(".tmp")) for p in directory.iterdir())


def _write_series(table: pa.Table, row_group_rows: int, path: Path) -> None:
    """Dictionary and statistics for the keys only: the values have no repeats to find, and
    trying costs a flush half its time."""
    pq.write_table(table, path, row_group_size=row_group_rows, use_dictionary=["key"],
                   write_statistics=["key"])


def _clear(directory: Path) -> None:
    """Remove a previous store's files (only the names a store uses)."""
    for name in ("manifest.json", "runs.parquet", "runs.csv", "points.csv",
                 "series_quantiles.parquet", "report.html", "results.xlsx", "optimize.json",
                 "sensitivity.csv", "sensitivity.json", "replications.csv", "replications.json",
                 "discovery.json"):
        (directory / name).unlink(missing_ok=True)
    shutil.rmtree(directory / "series_runs", ignore_errors=True)
    shutil.rmtree(directory / "charts", ignore_errors=True)
