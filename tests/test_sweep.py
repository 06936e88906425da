"""Sweeps: seeding and common random numbers, the results store, resume, failures, the CLI.

The experiments live in tests/data/; most use mmc_requirements.toml (models/mmc_check.toml plus
two requirements) with a short horizon. resume_sweep.toml is bigger on purpose (it must still
be running when it is killed).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from pandas.testing import assert_frame_equal

import leadtime_sim as lts
from leadtime_sim.cli import main
from leadtime_sim.dates import months_between
from leadtime_sim.experiment import (
    DesignPoint,
    Plan,
    aggregate,
    executors,
    plan_experiment,
    run_experiment,
    runner,
)
from leadtime_sim.experiment.task import RunTask

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
MODEL = DATA / "mmc_requirements.toml"
TINY = DATA / "tiny_lines.toml"
TINY_OTHER = DATA / "tiny_lines_other_seed.toml"
RESUME = DATA / "resume_sweep.toml"
FAILING = DATA / "failing_point.toml"
STORE_FILES = ("manifest.json", "runs.parquet", "runs.csv", "points.csv", "series_quantiles.parquet")
TINY_POINTS, TINY_REPS = 3, 3
TARGETS = {"2026-01": months_between("2025-01", "2026-01"), "2029-01": months_between("2025-01", "2029-01")}


def sweep_process(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
                  timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``leadtime-sim sweep ARGS`` as a separate process."""
    return subprocess.run([sys.executable, "-m", "leadtime_sim", "sweep", *args], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=timeout)


def invoke(*args: str) -> tuple[int, str, str, BaseException | None]:
    result = CliRunner().invoke(main, ["sweep", *args])
    return result.exit_code, result.stdout, result.stderr, result.exception


def runs_of(store: Path) -> pd.DataFrame:
    return pd.read_parquet(store / "runs.parquet")


def manifest_of(store: Path) -> dict:
    return json.loads((store / "manifest.json").read_text())


def assert_same_results(store: Path, reference: Path) -> None:
    """Bit-identical runs, points and series quantiles (the manifests differ in times)."""
    assert_frame_equal(runs_of(store), runs_of(reference))
    assert (store / "runs.csv").read_text() == (reference / "runs.csv").read_text()
    assert (store / "points.csv").read_text() == (reference / "points.csv").read_text()
    assert_frame_equal(pd.read_parquet(store / "series_quantiles.parquet"),
                       pd.read_parquet(reference / "series_quantiles.parquet"))


@pytest.fixture(scope="module")
def tiny_serial(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny experiment run in this process, one run after another."""
    out = tmp_path_factory.mktemp("tiny") / "serial"
    run_experiment(TINY, out, executor="serial")
    return out


@pytest.fixture
def tiny_copy(tiny_serial: Path, tmp_path: Path) -> Path:
    """A private copy of the finished tiny store, for tests that write into it."""
    return Path(shutil.copytree(tiny_serial, tmp_path / "store"))


# -- seeding and common random numbers ------------------------------------------------------

@pytest.mark.parametrize("workers", [1, 2])
def test_process_executor_gives_the_serial_bits(tiny_serial: Path, tmp_path: Path, workers: int) -> None:
    out = tmp_path / f"process{workers}"
    run_experiment(TINY, out, executor="process", workers=workers)
    assert_same_results(out, tiny_serial)


def test_same_seed_same_bits_other_seed_other_bits(tiny_serial: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    store = run_experiment(TINY, again, executor="serial")
    assert_same_results(again, tiny_serial)
    assert_frame_equal(store.runs_frame(), runs_of(again))  # the API hands back the same table
    other = tmp_path / "other"
    run_experiment(TINY_OTHER, other, executor="serial")
    a, b = runs_of(tiny_serial), runs_of(other)
    assert not np.array_equal(a["delivered_units.unit"].to_numpy(), b["delivered_units.unit"].to_numpy())


def test_seed_option_replaces_the_experiment_seed(tmp_path: Path) -> None:
    """``sweep --seed 8`` of the seed-7 experiment runs the bits of its seed-8 copy, records
    seed 8, and the store does not resume without it (another seed is another set of runs)."""
    other = tmp_path / "other"
    run_experiment(TINY_OTHER, other, executor="serial")
    out = tmp_path / "seeded"
    code, _, err, _ = invoke(str(TINY), "--out", str(out), "--executor", "serial", "--seed", "8", "--no-charts")
    assert code == 0, err
    assert_same_results(out, other)
    assert manifest_of(out)["seed"] == 8 and manifest_of(out)["experiment"]["seed"] == 8
    code, _, err, _ = invoke(str(TINY), "--out", str(out), "--executor", "serial", "--resume", "--no-charts")
    assert code == 2, err
    code, _, err, _ = invoke(str(TINY), "--out", str(out), "--executor", "serial", "--resume", "--seed", "8",
                             "--no-charts")
    assert code == 0, err


@pytest.mark.parametrize("command", ["sweep", "optimize", "sensitivity"])
def test_every_experiment_command_takes_a_seed(command: str) -> None:
    """The option reaches the plan (its runs' seed) and refuses what is not a seed."""
    assert plan_experiment(TINY, seed=8).context.seed == 8
    assert plan_experiment(TINY).context.seed == 7
    result = CliRunner().invoke(main, [command, str(TINY), "--seed", "-3"])
    assert result.exit_code == 2 and "--seed" in result.stderr


def test_range_axes_sweep_is_the_same_on_every_executor(tmp_path: Path) -> None:
    serial, process = tmp_path / "serial", tmp_path / "process"
    run_experiment(DATA / "range_axes.toml", serial, executor="serial")
    run_experiment(DATA / "range_axes.toml", process, executor="process", workers=2)
    assert_same_results(process, serial)
    runs = runs_of(serial)
    assert len(runs) == 6 * 2 and (runs.status == "ok").all()
    assert runs["axis:lines"].between(2, 4).all() and runs["axis:rate"].between(20.0, 28.0).all()
    assert set(runs["axis:lot"]) == {1, 2}


def stream_placements(plan: Plan, point: DesignPoint, replication: int) -> list[float]:
    """Placement months of the stream's orders in one run of a design point."""
    result = lts.simulate(plan.point_scenario(point.point_id), plan.context.seed, replication)
    return [o.placed_months for o in result.records.orders if o.source == "stream"]


def test_common_random_numbers_across_points() -> None:
    """The axis (lines) touches no order stream: replication k of every point sees the same
    order placements; other replications see other placements."""
    plan = plan_experiment(TINY)
    assert len(plan.points) == TINY_POINTS
    placements = {(p.point_id, rep): stream_placements(plan, p, rep)
                  for p in plan.points for rep in range(TINY_REPS)}
    for rep in range(TINY_REPS):
        first = placements[(0, rep)]
        assert len(first) > 50
        for point in plan.points[1:]:
            assert placements[(point.point_id, rep)] == first, (point.axes, rep)
    assert placements[(0, 0)] != placements[(0, 1)] != placements[(0, 2)]
    assert placements[(0, 0)][:10] != placements[(0, 2)][:10]


def test_lines_change_the_service_but_not_the_demand(tiny_serial: Path) -> None:
    """The sweep rows of one replication differ between points (the axis is applied)."""
    runs = runs_of(tiny_serial)
    for rep in range(TINY_REPS):
        mine = runs[runs.replication == rep].sort_values("axis:lines")
        waits = mine["mean_lead_time_months.unit"].to_numpy()
        assert waits[0] > waits[-1]  # 2 lines wait longer than 4 lines, same orders


# -- the results store -----------------------------------------------------------------------

def test_store_files_exist(tiny_serial: Path) -> None:
    names = {p.name for p in tiny_serial.iterdir()}
    assert set(STORE_FILES) <= names
    assert not [p for p in tiny_serial.rglob("*") if p.name.endswith(".tmp")]


def test_manifest(tiny_serial: Path) -> None:
    m = manifest_of(tiny_serial)
    assert m["status"] == "complete"
    assert m["counts"] == {"done": TINY_POINTS * TINY_REPS, "failed": 0}
    assert m["seed"] == 7
    assert m["version"] == lts.__version__
    assert m["replications"] == TINY_REPS
    assert m["experiment_sha256"] == hashlib.sha256(TINY.read_bytes()).hexdigest()
    assert m["model_sha256"] == hashlib.sha256(MODEL.read_bytes()).hexdigest()
    assert len(m["scenario_sha256"]) == 64 and int(m["scenario_sha256"], 16) >= 0
    assert Path(m["model_file"]).resolve() == MODEL.resolve()
    assert m["scenario"]["end"] == "2030-01"  # the scenario as run: overrides applied
    assert [p["axes"] for p in m["points"]] == [{"lines": 2}, {"lines": 3}, {"lines": 4}]
    assert m["baseline_point"] == 1  # baseline = { lines = 3 }
    assert m["started"] and m["finished"]


def test_runs_table(tiny_serial: Path) -> None:
    runs = runs_of(tiny_serial)
    assert len(runs) == TINY_POINTS * TINY_REPS
    assert list(zip(runs.point_id, runs.replication, strict=True)) == \
        [(p, r) for p in range(TINY_POINTS) for r in range(TINY_REPS)]
    assert (runs.status == "ok").all()
    assert runs["axis:lines"].tolist() == [2, 2, 2, 3, 3, 3, 4, 4, 4]
    assert runs.seed_key.tolist() == [f"7/{r}" for r in range(TINY_REPS)] * TINY_POINTS
    for column in ("gap_closed_months.r", "gap_closed_months.never", "max_gap_units.r",
                   "quoted_lead_time_months.unit", "delivered_units.unit", "capex_musd"):
        assert column in runs.columns
    assert runs["gap_closed_months.r"].notna().all()
    assert runs["gap_closed_months.never"].isna().all()  # not by end: no number
    csv = pd.read_csv(tiny_serial / "runs.csv", keep_default_na=False)
    assert len(csv) == len(runs) and list(csv.columns) == list(runs.columns)
    assert (csv["gap_closed_months.never"] == "").all()  # written as an empty cell
    np.testing.assert_allclose(csv["delivered_units.unit"].astype(float), runs["delivered_units.unit"])


def test_points_table(tiny_serial: Path) -> None:
    runs = runs_of(tiny_serial)
    points = pd.read_csv(tiny_serial / "points.csv")
    metrics = [c for c in runs.columns if c not in {"point_id", "replication", "seed_key", "status",
                                                   "error", "lots"} and not c.startswith(("axis:", "limited_by."))]
    assert len(points) == TINY_POINTS * len(metrics)
    labels = [c for c in runs.columns if c.startswith("limited_by.")]  # what limits each gap: labels
    assert labels and all(points[c].str.fullmatch(r"[a-z:_.\-]+ \(\d+%\)").all() for c in labels)
    assert sorted(zip(points.point_id, points.metric, strict=True)) == sorted(
        (p, m) for p in range(TINY_POINTS) for m in metrics)
    assert (points.n == TINY_REPS).all() and (points.n_failed == 0).all()
    q = points.dropna(subset=["p10", "p50", "p90"])
    assert len(q) > 0
    assert (q.p10 <= q.p50).all() and (q.p50 <= q.p90).all()
    # quantiles, means and probabilities agree with the runs
    for (point_id, metric), row in points.set_index(["point_id", "metric"]).iterrows():
        values = runs.loc[runs.point_id == point_id, metric].to_numpy(dtype=float)
        if np.isfinite(values).all():
            assert row["mean"] == pytest.approx(values.mean())
            assert min(values) <= row["p10"] <= row["p90"] <= max(values)
            assert row["ci95_low"] <= row["mean"] <= row["ci95_high"]
        if metric.startswith("gap_closed_months."):
            for date, months in TARGETS.items():
                p = row[f"p_closed_by_{date}"]
                low, high = row[f"p_closed_by_{date}_low"], row[f"p_closed_by_{date}_high"]
                assert p == pytest.approx(np.mean(np.nan_to_num(values, nan=np.inf) <= months))
                assert 0.0 <= low <= p <= high <= 1.0
                assert low < high  # three runs leave real uncertainty


def test_runs_that_never_close_count_as_not_closed(tiny_serial: Path) -> None:
    points = pd.read_csv(tiny_serial / "points.csv")
    never = points[points.metric == "gap_closed_months.never"]
    assert len(never) == TINY_POINTS
    assert (never.share_not_by_end == 1.0).all()
    for column in ("p10", "p50", "p90", "mean"):
        assert never[column].isna().all(), column
    for date in TARGETS:
        assert (never[f"p_closed_by_{date}"] == 0.0).all()
        assert (never[f"p_closed_by_{date}_high"] > 0.0).all()  # Wilson: not certainty
    closes = points[points.metric == "gap_closed_months.r"]
    assert (closes.share_not_by_end == 0.0).all() and closes.p50.notna().all()


def test_paired_difference_against_the_baseline(tiny_serial: Path) -> None:
    runs = runs_of(tiny_serial)
    points = pd.read_csv(tiny_serial / "points.csv")
    baseline = manifest_of(tiny_serial)["baseline_point"]
    base = points[(points.point_id == baseline) & (points.diff_n_pairs > 0)]
    assert len(base) > 5
    assert (base.diff_vs_baseline_mean == 0).all()
    assert (base.diff_ci95_low == 0).all() and (base.diff_ci95_high == 0).all()
    # another point: the mean of the per-replication differences (pairs by replication)
    metric = "gap_closed_months.r"
    row = points[(points.point_id == 0) & (points.metric == metric)].iloc[0]
    mine = runs[runs.point_id == 0].set_index("replication")[metric]
    theirs = runs[runs.point_id == baseline].set_index("replication")[metric]
    assert row.diff_n_pairs == TINY_REPS
    assert row.diff_vs_baseline_mean == pytest.approx((mine - theirs).mean())
    assert row.diff_ci95_low <= row.diff_vs_baseline_mean <= row.diff_ci95_high


def test_series_quantiles(tiny_serial: Path) -> None:
    series = pd.read_parquet(tiny_serial / "series_quantiles.parquet")
    keys = ["point_id", "entity", "name", "field", "month"]
    assert not series.duplicated(keys).any()
    assert set(series.point_id) == {0, 1, 2}
    assert (series.n == TINY_REPS).all()
    fields = set(series.field)
    for field in ("inventory_units", "required_units", "gap_units", "backlog_units",
                  "quoted_lead_time_months"):
        assert field in fields, field
    assert set(series[series.entity == "requirement"].name) == {"r", "never"}
    months = series[(series.point_id == 0) & (series.field == "backlog_units")]
    assert len(months) == 60 and months.date.iloc[0] == "2025-01" and months.date.iloc[-1] == "2029-12"
    both = series.dropna(subset=["p10", "p50", "p90"])
    assert len(both) > 0.5 * len(series)
    assert (both.p10 <= both.p50).all() and (both.p50 <= both.p90).all()
    # "not by end" (NaN) is later than everything: once a lower quantile is, so are the higher
    assert not (series.p10.isna() & series.p50.notna()).any()
    assert not (series.p50.isna() & series.p90.notna()).any()
    lines = series[(series.entity == "factory") & (series.field == "lines")]
    for point_id, axis in enumerate([2, 3, 4]):
        mine = lines[lines.point_id == point_id]
        assert (mine.p10 == axis).all() and (mine.p90 == axis).all()


# -- speed does not change results ----------------------------------------------------------

def points_table_point_by_point(runs: pd.DataFrame, points: list[DesignPoint], targets: dict[str, float],
                                baseline_id: int) -> pd.DataFrame:
    """points_table as it was first written: one point and metric at a time (the reference)."""
    ok = runs[runs.status == "ok"]
    replications = int(runs.replication.max()) + 1
    failed = runs[runs.status != "ok"].groupby("point_id").size()
    metrics = [c for c in runs.columns if c not in aggregate.META_COLUMNS and not c.startswith("axis:")]
    rows = []
    for metric in metrics:
        matrix = np.full((len(points), replications), np.nan)
        values = ok[metric].to_numpy(dtype=float)
        matrix[ok.point_id.to_numpy(), ok.replication.to_numpy()] = np.where(np.isnan(values), np.inf, values)
        base = matrix[baseline_id]
        for i, point in enumerate(points):
            x = matrix[i][~np.isnan(matrix[i])]
            n = len(x)
            mean, std, low, high = aggregate.mean_interval(x)
            row = {"point_id": point.point_id, **point.axes, "metric": metric, "n": n,
                   "n_failed": int(failed.get(point.point_id, 0)),
                   "share_not_by_end": float(np.mean(np.isinf(x))) if n else math.nan,
                   "mean": mean, "std": std, "ci95_low": low, "ci95_high": high}
            for name, q in aggregate.QUANTILES.items():
                value = float(np.quantile(x, q, method="inverted_cdf")) if n else math.nan
                row[name] = value if math.isfinite(value) else math.nan
            if metric.startswith("gap_closed_months."):
                for date, months in targets.items():
                    closed = int(np.sum(x <= months))
                    row[f"p_closed_by_{date}"] = closed / n if n else math.nan
                    row[f"p_closed_by_{date}_low"], row[f"p_closed_by_{date}_high"] = \
                        aggregate.wilson_interval(closed, n)
            both = np.isfinite(matrix[i]) & np.isfinite(base)
            diff = matrix[i][both] - base[both]
            d_mean, _, d_low, d_high = aggregate.mean_interval(diff)
            if len(diff) and np.all(diff == 0):
                d_low = d_high = 0.0
            row.update(diff_vs_baseline_mean=d_mean, diff_ci95_low=d_low, diff_ci95_high=d_high,
                       diff_n_pairs=len(diff))
            rows.append(row)
    return pd.DataFrame(rows).sort_values(["point_id"], kind="stable").reset_index(drop=True)


@pytest.mark.parametrize("seed", range(40))
def test_points_table_has_the_bits_of_point_by_point_statistics(seed: int) -> None:
    """Random runs: missing and failed runs, "not by end", ties, one run, many runs."""
    rng = np.random.default_rng(seed)
    n_points, replications = int(rng.integers(1, 6)), int(rng.choice([1, 2, 3, 30, 300]))
    points = [DesignPoint(i, {"lines": i + 2, "when": f"20{26 + i}-01"}, {"x": i}) for i in range(n_points)]
    rows = []
    for point_id in range(n_points):
        for rep in range(replications):
            if rng.random() < 0.1:
                continue  # not run yet
            status = "failed" if rng.random() < 0.1 else "ok"
            row = {"point_id": point_id, "replication": rep, "seed_key": f"1/{rep}",
                   "axis:lines": point_id + 2, "status": status, "error": "", "lots": 1}
            if status == "ok":
                for metric in ("capex_musd", "gap_closed_months.r", "mean_lead_time_months.u"):
                    value = [float(rng.normal(40, 9)), float(rng.integers(0, 3)), 12.0][rng.integers(3)]
                    row[metric] = math.nan if rng.random() < 0.15 else value
            rows.append(row)
    runs = pd.DataFrame(rows)
    if "capex_musd" not in runs or len(runs.query("point_id == 0 and status == 'ok'")) == 0:
        runs = pd.concat([runs, pd.DataFrame([{"point_id": 0, "replication": 0, "seed_key": "1/0",
                                               "axis:lines": 2, "status": "ok", "error": "", "lots": 1,
                                               "capex_musd": 1.0, "gap_closed_months.r": 3.0,
                                               "mean_lead_time_months.u": math.nan}])])
        runs = runs.drop_duplicates(["point_id", "replication"], keep="last").reset_index(drop=True)
    targets = {"2030-01": 24.0, "2035-01": 40.5}
    expected = points_table_point_by_point(runs, points, targets, 0)
    table = aggregate.points_table(runs, points, targets, 0)
    assert_frame_equal(table, expected, check_exact=True)
    assert table.to_csv(index=False) == expected.to_csv(index=False)


def test_t_quantile_is_scipy_stats_t_ppf_to_the_bit() -> None:
    from scipy import stats

    for dof in [*range(1, 2001), 10_000, 123_457]:
        assert aggregate.t_quantile(dof) == float(stats.t.ppf(0.975, dof)), dof


def test_the_command_line_imports_light() -> None:
    """Dask workers re-import the program that started them (the CLI): importing it stays light;
    its commands are imported when used."""
    heavy = ("scipy.stats", "pandas", "pyarrow", "matplotlib", "leadtime_sim.experiment")
    code = ("import sys, leadtime_sim.cli\n"
            f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
    assert main.list_commands(click.Context(main)) == [
        "discover", "export", "fit", "optimize", "plot", "quote", "replications", "report", "run", "schema",
        "sensitivity", "sweep", "validate"]


def test_dask_batches_hold_every_run_once_in_order() -> None:
    tasks = [RunTask(p, rep, ()) for rep in range(30) for p in range(12)]
    for workers in (1, 2, 8):
        parts = executors.batches(tasks, workers)
        assert [t for part in parts for t in part] == tasks
        sizes = [len(part) for part in parts]
        assert max(sizes) <= executors.BATCH_RUNS and sizes == sorted(sizes, reverse=True)
        assert sizes[-1] == 1  # the last runs go one at a time: workers finish together
    assert executors.batches([], 2) == []


def test_flushes_take_a_bounded_share_of_the_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next flush comes FLUSH_SECONDS after the last, or 1 / FLUSH_SHARE times the last
    flush's CPU time if longer (flushes rewrite tables that grow with the runs)."""
    class Store:
        seconds = 0.0

        def flush(self, status: str) -> None:
            began = time.process_time()
            while time.process_time() - began < self.seconds:  # CPU, as a flush's work
                pass

    store = Store()
    due = runner.flush_due(store)  # type: ignore[arg-type]
    assert 0 < due - time.monotonic() <= runner.FLUSH_SECONDS
    store.seconds = 0.2
    due = runner.flush_due(store)  # type: ignore[arg-type]
    assert due - time.monotonic() >= 0.9 * 0.2 / runner.FLUSH_SHARE > runner.FLUSH_SECONDS


class FakeClock:
    """Wall and CPU time that only the test moves."""

    def __init__(self) -> None:
        self.now = self.used = 0.0

    def clock(self) -> runner.Clock:
        return runner.Clock(wall=lambda: self.now, cpu=lambda: self.used)


def test_flushes_keep_their_interval_in_wall_time_under_load(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """On a busy machine a flush's wall time is mostly waiting for a core: a flush of 0.05 s of
    CPU taking 1 s made the next one due 20 s later (1 / FLUSH_SHARE of the wall time), and a
    crash lost all that. The rule now counts the flush's CPU time: with runs finishing every
    0.25 s and each flush taking 1 s of wall time but 0.05 s of CPU, a flush comes about every
    FLUSH_SECONDS + 1 s (seen 8 s apart, 17 s under more load)."""
    from leadtime_sim.experiment.store import ResultsStore

    fake = FakeClock()
    monkeypatch.setattr(runner, "CLOCK", fake.clock())
    flush, add, flushes = ResultsStore.flush, ResultsStore.add, []

    def slow_flush(self: ResultsStore, status: str = "running") -> None:
        flush(self, status)
        fake.now += 1.0
        fake.used += 0.05
        flushes.append(fake.now)

    def add_later(self: ResultsStore, outcome: object) -> None:
        fake.now += 0.25
        add(self, outcome)  # type: ignore[arg-type]

    monkeypatch.setattr(ResultsStore, "flush", slow_flush)
    monkeypatch.setattr(ResultsStore, "add", add_later)
    run_experiment(TINY, tmp_path / "store", executor="serial", replications=40)  # 120 runs: 30 s
    running = flushes[:-1]  # (the last is the final one)
    gaps = [b - a for a, b in itertools.pairwise(running)]
    assert len(running) >= 9 and max(gaps) <= runner.FLUSH_SECONDS + 1.0 + 0.25, gaps
    # a flush that takes CPU is still spaced so as to take at most FLUSH_SHARE of it
    fake.used, fake.now = 0.0, 100.0
    store = type("Store", (), {"flush": lambda self, status: setattr(fake, "used", fake.used + 0.2)})()
    assert runner.flush_due(store) == pytest.approx(100.0 + 0.0 + runner.FLUSH_SECONDS)  # no wall time
    store = type("Store", (), {"flush": lambda self, status: (setattr(fake, "used", fake.used + 0.2),
                                                              setattr(fake, "now", fake.now + 0.3))})()
    assert runner.flush_due(store) == pytest.approx(100.3 + 0.2 / runner.FLUSH_SHARE)


# -- resume ----------------------------------------------------------------------------------

RESUME_RUNS = 4 * 24


@pytest.fixture(scope="module")
def resume_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bigger experiment, uninterrupted."""
    out = tmp_path_factory.mktemp("resume") / "reference"
    run_experiment(RESUME, out, executor="process", workers=2)
    return out


def start_sweep(out: Path, *args: str) -> subprocess.Popen[str]:
    """A sweep in its own process group (so that it and its workers can be signalled)."""
    return subprocess.Popen([sys.executable, "-m", "leadtime_sim", "sweep", str(RESUME), "--out", str(out),
                             "--workers", "2", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def wait_for_flushed_runs(proc: subprocess.Popen[str], out: Path, timeout: float = 90) -> None:
    """Until the store holds some finished runs (the first flush of the runs table)."""
    deadline = time.monotonic() + timeout
    while not (out / "runs.parquet").exists():
        if proc.poll() is not None:
            pytest.fail(f"the sweep ended (status {proc.returncode}) before any flush: "
                        f"{proc.stderr.read() if proc.stderr else ''}")
        if time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("no runs were flushed in time")
        time.sleep(0.05)


@pytest.fixture
def reap() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; any still running at the end are killed (with their group)."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


def series_runs_stored(store: Path) -> int:
    """How many runs' monthly series the store keeps (store layout: series_runs/point=N/*.parquet)."""
    count = 0
    for part in (store / "series_runs").rglob("*.parquet"):
        table = pd.read_parquet(part, columns=["replication"])
        count += table.replication.nunique()
    return count


@pytest.mark.slow
def test_resume_after_a_killed_sweep_equals_an_uninterrupted_one(
        resume_reference: Path, tmp_path: Path, reap: list) -> None:
    out = tmp_path / "killed"
    proc = start_sweep(out)
    reap.append(proc)
    wait_for_flushed_runs(proc, out)
    os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers, no chance to clean up
    proc.wait(timeout=30)
    partial = runs_of(out)  # what was flushed is a valid table
    assert 0 < len(partial) < RESUME_RUNS, "the sweep must be killed mid-way"
    assert manifest_of(out)["status"] == "running"
    assert_frame_equal(partial.reset_index(drop=True),
                       runs_of(resume_reference).merge(partial[["point_id", "replication"]])
                       .reset_index(drop=True))
    done = sweep_process(str(RESUME), "--out", str(out), "--workers", "2", "--resume")
    assert done.returncode == 0, done.stderr
    assert manifest_of(out)["status"] == "complete"
    assert manifest_of(out)["counts"] == {"done": RESUME_RUNS, "failed": 0}
    assert_same_results(out, resume_reference)
    # only the missing runs were run again: each run's series is stored once, give or take
    # the runs in flight at the kill (series are flushed just before the runs table)
    assert len(partial) > 4  # else the bound below could not tell
    assert RESUME_RUNS <= series_runs_stored(out) <= RESUME_RUNS + 4


@pytest.mark.slow
def test_ctrl_c_exits_130_marks_the_store_interrupted_and_resumes(
        resume_reference: Path, tmp_path: Path, reap: list) -> None:
    out = tmp_path / "interrupted"
    proc = start_sweep(out)
    reap.append(proc)
    wait_for_flushed_runs(proc, out)
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C reaches the whole foreground group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "--resume" in stderr
    manifest = manifest_of(out)
    assert manifest["status"] == "interrupted"
    runs = runs_of(out)
    assert 0 < len(runs) < RESUME_RUNS
    assert manifest["counts"]["done"] + manifest["counts"]["failed"] == len(runs)
    done = sweep_process(str(RESUME), "--out", str(out), "--workers", "2", "--resume")
    assert done.returncode == 0, done.stderr
    assert_same_results(out, resume_reference)


HALF_A_RESULT = """
import os, struct, time
from concurrent.futures import ProcessPoolExecutor
from leadtime_sim.experiment.executors import _kill_workers

pool = ProcessPoolExecutor(max_workers=1)
pool.submit(time.sleep, 0).result()  # the worker and the pool's manager thread are up
# What a worker killed while sending its result leaves: a message's length, part of its bytes.
os.write(pool._result_queue._writer.fileno(), struct.pack("!i", 1000) + b"half")
time.sleep(0.5)  # the manager thread now waits for the rest of the message
_kill_workers(pool)  # as on a Ctrl-C
pool.shutdown(wait=False, cancel_futures=True)
print("exiting")
"""


def test_killed_workers_never_leave_the_exit_waiting_for_half_a_result() -> None:
    """A Ctrl-C that kills a worker in the middle of sending its result: the sweep printed
    its message and then never exited (the interpreter's exit joins the pool's manager
    thread, which waited for the rest of the message). Seen once in a parallel test run."""
    try:
        done = subprocess.run([sys.executable, "-c", HALF_A_RESULT], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the process did not exit after its workers were killed: {exc.stdout!r}")
    assert done.returncode == 0 and done.stdout == "exiting\n", done.stderr


@pytest.mark.slow
def test_resume_after_completion_runs_nothing(tiny_copy: Path) -> None:
    parts = sorted(p.relative_to(tiny_copy) for p in (tiny_copy / "series_runs").rglob("*.parquet"))
    before = runs_of(tiny_copy)
    code, out, err, _ = invoke(str(TINY), "--out", str(tiny_copy), "--executor", "serial", "--resume")
    assert code == 0, err
    assert sorted(p.relative_to(tiny_copy) for p in (tiny_copy / "series_runs").rglob("*.parquet")) == parts
    assert_frame_equal(runs_of(tiny_copy), before)
    assert manifest_of(tiny_copy)["status"] == "complete"
    assert f"{TINY_POINTS * TINY_REPS} runs done" in out


@pytest.mark.parametrize("flags", [[], ["--resume"]], ids=["plain", "resume"])
def test_a_different_experiment_into_a_full_store_is_refused(tiny_copy: Path, flags: list[str]) -> None:
    manifest = (tiny_copy / "manifest.json").read_bytes()
    runs = (tiny_copy / "runs.parquet").read_bytes()
    code, out, err, exc = invoke(str(TINY_OTHER), "--out", str(tiny_copy), "--executor", "serial", *flags)
    assert code == 2, (out, err)
    assert isinstance(exc, SystemExit)
    assert str(tiny_copy) in err and "--force" in err
    assert (tiny_copy / "manifest.json").read_bytes() == manifest  # left as it was
    assert (tiny_copy / "runs.parquet").read_bytes() == runs


@pytest.mark.parametrize(("args", "told"), [
    ([str(TINY), "--seed", "9", "--replications", "5"], ["seed: 7 in the store, 9 now"]),
    ([str(TINY_OTHER)], ["seed: 7 in the store, 8 now"]),  # (its name, free text, is not told)
    ([str(TINY), "--set", "factories.server.lot_size=2"],
     ['--set: none in the store, ["factories.server.lot_size=2"] now',
      "scenario.factories.server.lot_size: 1 in the store, 2 now"]),
], ids=["seed", "experiment file", "--set"])
def test_a_refused_resume_names_what_differs(tiny_copy: Path, args: list[str], told: list[str]) -> None:
    code, out, err, _ = invoke(*args, "--out", str(tiny_copy), "--executor", "serial", "--resume")
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1, err
    for difference in told:
        assert difference in err, err
    assert "replications" not in err  # (more replications are the same store: not a difference)


def _tiny_edited(tmp_path: Path, **text: Any) -> Path:
    """The tiny experiment in tmp_path, its name or description replaced (or charts added:
    a list of one-key tables)."""
    charts = text.pop("charts", [])
    lines = [line for line in TINY.read_text().splitlines() if not line.startswith(tuple(text))]
    shutil.copy(MODEL, tmp_path / MODEL.name)  # (the model as written, "mmc_requirements.toml")
    path = tmp_path / "edited.toml"
    tables = [f"\n[[charts]]\n{k} = {json.dumps(v)}" for chart in charts for k, v in chart.items()]
    path.write_text("\n".join([*(f"{k} = {json.dumps(v)}" for k, v in text.items()), *lines, *tables]) + "\n")
    return path


@pytest.mark.parametrize("text", [{"description": "A new description"}, {"name": "tiny lines, renamed"},
                                  {"charts": [{"chart": "fan"}]}], ids=["description", "name", "charts"])
def test_an_edit_of_free_text_alone_does_not_block_resume(tiny_copy: Path, tmp_path: Path,
                                                          text: dict[str, Any]) -> None:
    """Editing the experiment's description (or name, or its [[charts]]) alone made --resume
    refuse the store as another experiment ('description: "" in the store, "..." now'): they
    say nothing of the runs, and are now left out of the store's identity; the manifest takes
    the new ones."""
    runs = runs_of(tiny_copy)
    code, out, err, _ = invoke(str(_tiny_edited(tmp_path, **dict(text))), "--out", str(tiny_copy), "--executor",
                               "serial", "--resume", "--no-charts")
    assert code == 0, (out, err)
    assert_frame_equal(runs_of(tiny_copy), runs)  # nothing run again
    (field, value), = text.items()
    stored = manifest_of(tiny_copy)["experiment"][field]
    assert stored == value if field != "charts" else [c["chart"] for c in stored] == ["fan"]
    assert manifest_of(tiny_copy)["status"] == "complete"


@pytest.mark.parametrize("layout", ["moved", "dot-slash", "absolute"])
def test_the_same_model_under_another_path_resumes(tiny_copy: Path, tmp_path: Path, layout: str) -> None:
    """The model's path as written was part of the store's identity: the experiment and its
    model copied elsewhere (the model in a folder of its own), or the same model written
    ./mmc_requirements.toml or as an absolute path, made --resume refuse the store ('model:
    "mmc_requirements.toml" in the store, "../models/mmc_requirements.toml" now') although
    the scenario is the same. The identity now rests on the scenario's content."""
    runs = runs_of(tiny_copy)
    folder = tmp_path / "elsewhere"
    for sub in ("models", "exp"):
        (folder / sub).mkdir(parents=True)
    shutil.copy(MODEL, folder / "models" / MODEL.name)
    shutil.copy(MODEL, folder / "exp" / MODEL.name)
    model = {"moved": "../models/mmc_requirements.toml", "dot-slash": "./mmc_requirements.toml",
             "absolute": str(MODEL)}[layout]
    text = TINY.read_text().replace('model = "mmc_requirements.toml"', f"model = {json.dumps(model)}")
    assert model in text
    experiment = folder / "exp" / "tiny.toml"
    experiment.write_text(text)
    code, out, err, _ = invoke(str(experiment), "--out", str(tiny_copy), "--executor", "serial", "--resume",
                               "--no-charts")
    assert code == 0, (out, err)
    assert_frame_equal(runs_of(tiny_copy), runs)  # nothing run again
    manifest = manifest_of(tiny_copy)
    assert manifest["experiment"]["model"] == model and manifest["experiment_file"] == str(experiment)
    assert manifest["status"] == "complete"


@pytest.mark.parametrize("sets", [["--set", "orders.0.quantity = 2"], ["--set", "orders[0].quantity=2"]],
                         ids=["spelt with a dot", "spelt with brackets"])
def test_the_same_scenario_written_another_way_resumes(tmp_path: Path, sets: list[str]) -> None:
    """The --set texts and the experiment's [overrides] as written were part of the store's
    identity: a store made with --set 'orders[0].quantity=2' refused --resume with --set
    'orders.0.quantity = 2', or with the value in the file's [overrides] ('--set:
    ["orders[0].quantity=2"] in the store, none now'), though the scenario run is the same."""
    model = tmp_path / MODEL.name
    model.write_text(MODEL.read_text() + '\n[[orders]]\ncustomer = "c"\nproduct = "unit"\nquantity = 1\n'
                     'placed = "2025-01"\n')
    experiment = tmp_path / "tiny.toml"
    experiment.write_text(TINY.read_text().replace("replications = 3", "replications = 1"))
    store = tmp_path / "store"
    common = ["--out", str(store), "--executor", "serial", "--no-charts"]
    code, out, err, _ = invoke(str(experiment), *common, "--set", "orders[0].quantity=2")
    assert code == 0, (out, err)
    runs = runs_of(store)
    code, out, err, _ = invoke(str(experiment), *common, *sets, "--resume")
    assert code == 0, (out, err)
    in_file = tmp_path / "in_file.toml"
    in_file.write_text(experiment.read_text().replace('end = "2030-01"', 'end = "2030-01"\n"orders[0].quantity" = 2'))
    code, out, err, _ = invoke(str(in_file), *common, "--resume")
    assert code == 0, (out, err)
    assert_frame_equal(runs_of(store), runs)  # nothing run again
    code, out, err, _ = invoke(str(experiment), *common, "--resume")  # (another scenario: quantity 1)
    assert code == 2 and "scenario.orders[0].quantity: 2 in the store, 1 now" in err, err


def test_another_model_under_the_same_path_is_another_experiment(tiny_copy: Path, tmp_path: Path) -> None:
    """With the path out of the identity, the model's content still is in it."""
    shutil.copy(TINY, tmp_path / TINY.name)
    (tmp_path / MODEL.name).write_text(MODEL.read_text().replace("lot_size = 1", "lot_size = 2"))
    assert (tmp_path / MODEL.name).read_text() != MODEL.read_text()
    code, out, err, _ = invoke(str(tmp_path / TINY.name), "--out", str(tiny_copy), "--executor", "serial",
                               "--resume", "--no-charts")
    assert code == 2, (out, err)
    assert "scenario.factories.server.lot_size: 1 in the store, 2 now" in err, err


@pytest.mark.parametrize(("left_out", "written"), [
    ((), True), (("name", "description"), True), (("name", "description", "charts"), True),
    (("name", "description", "charts", "model"), True),
    (("name", "description", "charts", "model", "overrides"), False)],
    ids=["whole", "free text", "free text and charts", "and the model path", "and the overrides as written"])
def test_a_store_of_an_earlier_identity_still_resumes(tiny_copy: Path, left_out: tuple[str, ...],
                                                      written: bool) -> None:
    """Stores of earlier versions hashed the experiment with the model's path (and with the
    description, name or charts), or the overrides as written, or the replications: they read
    and resume as before."""
    path = tiny_copy / "manifest.json"
    manifest = json.loads(path.read_text())
    experiment = {k: v for k, v in manifest["experiment"].items() if k not in left_out}
    text = json.dumps([experiment, manifest["scenario"], manifest["overrides"] if written else []],
                      sort_keys=True)
    manifest["identity"] = hashlib.sha256(text.encode()).hexdigest()
    path.write_text(json.dumps(manifest))
    code, out, err, _ = invoke(str(TINY), "--out", str(tiny_copy), "--executor", "serial", "--resume",
                               "--no-charts")
    assert code == 0, (out, err)
    assert manifest_of(tiny_copy)["status"] == "complete"


def test_resume_with_more_replications_adds_runs(tiny_copy: Path, tmp_path: Path) -> None:
    """Replications 0 to N - 1 are the same runs whatever N is: a finished store of 3 extended
    to 5 runs only the new ones, and is the store a sweep of 5 makes (it was refused as another
    experiment: 'replications: 3 in the store, 5 now')."""
    before = runs_of(tiny_copy)
    common = ["--executor", "serial", "--no-charts"]
    code, out, err, _ = invoke(str(TINY), "--out", str(tiny_copy), "--resume", "--replications", "5", *common)
    assert code == 0, (out, err)
    after = runs_of(tiny_copy)
    assert len(after) == TINY_POINTS * 5
    kept = after[after.replication < TINY_REPS].reset_index(drop=True)
    assert_frame_equal(kept[["point_id", "replication", "seed_key", "lots"]],
                       before[["point_id", "replication", "seed_key", "lots"]])
    assert manifest_of(tiny_copy)["replications"] == 5 and manifest_of(tiny_copy)["status"] == "complete"
    fresh = tmp_path / "fresh"
    code, out, err, _ = invoke(str(TINY), "--out", str(fresh), "--replications", "5", *common)
    assert code == 0, (out, err)
    metrics = [c for c in after.columns if c not in ("seconds", "cpu_seconds", "worker")]
    assert_frame_equal(after[metrics], runs_of(fresh)[metrics])
    assert (tiny_copy / "points.csv").read_text() == (fresh / "points.csv").read_text()


def test_resume_with_fewer_replications_than_the_store_holds_is_refused(tiny_copy: Path) -> None:
    """A resume never drops runs: fewer replications than stored get one line naming the count."""
    before = runs_of(tiny_copy)
    code, out, err, _ = invoke(str(TINY), "--out", str(tiny_copy), "--resume", "--replications", "2",
                               "--executor", "serial", "--no-charts")
    assert code == 2, (out, err)
    assert err.strip() == (f"error: {tiny_copy}: holds 3 replications per point, and --resume with 2 would "
                           "drop the others; resume with --replications 3 (or more, to add runs), or use a "
                           "new --out")
    assert_frame_equal(runs_of(tiny_copy), before)


@pytest.mark.slow
def test_resume_into_a_new_directory_runs_everything(tmp_path: Path, tiny_serial: Path) -> None:
    out = tmp_path / "fresh"
    code, _, err, _ = invoke(str(TINY), "--out", str(out), "--executor", "serial", "--resume")
    assert code == 0, err
    assert_same_results(out, tiny_serial)


def test_the_same_experiment_again_needs_resume_or_force(tiny_copy: Path) -> None:
    code, _, err, _ = invoke(str(TINY), "--out", str(tiny_copy), "--executor", "serial")
    assert code == 2 and "--resume" in err


@pytest.mark.slow
def test_force_replaces_a_store(tiny_copy: Path) -> None:
    code, _, err, _ = invoke(str(TINY_OTHER), "--out", str(tiny_copy), "--executor", "serial", "--force")
    assert code == 0, err
    assert manifest_of(tiny_copy)["seed"] == 8
    assert runs_of(tiny_copy).seed_key.str.startswith("8/").all()


def test_a_non_empty_directory_without_a_store_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "papers"
    out.mkdir()
    (out / "thesis.txt").write_text("do not overwrite")
    code, _, err, _ = invoke(str(TINY), "--out", str(out), "--executor", "serial")
    assert code == 2 and str(out) in err
    assert [p.name for p in out.iterdir()] == ["thesis.txt"]


@pytest.mark.parametrize(("signum", "code", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                      (signal.SIGTERM, 143, "terminated")],
                         ids=["Ctrl-C", "SIGTERM"])
def test_a_signal_while_the_charts_are_drawn_says_the_results_are_complete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int, code: int, word: str) -> None:
    """After the runs, while the charts are drawn: SIGTERM exited 143 with no word, Ctrl-C
    told to run the command again with --resume (which has nothing to run). Now one line:
    the results are complete, and the command that draws the charts."""
    from leadtime_sim.cli import sweep as sweep_command

    def stopped(out: Path) -> list[Path]:
        (out / "charts").mkdir()
        (out / "charts" / "fan-1.png").write_bytes(b"a chart")  # one drawn before the signal
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        sweep_command.terminate(signum, None)  # what the sweep's handler does
        return []

    monkeypatch.setattr(sweep_command, "write_charts", stopped)
    out = tmp_path / "store"
    result = CliRunner().invoke(main, ["sweep", str(TINY), "--out", str(out), "--executor", "serial"])
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith(word)]
    assert lines == [f"{word}: the results in {out} are complete; the charts may not all be drawn: "
                     f"draw them with leadtime-sim plot {out}"], result.stderr
    assert "--resume" not in result.stderr and "Traceback" not in result.output
    assert manifest_of(out)["status"] == "complete"
    assert manifest_of(out)["counts"] == {"done": TINY_POINTS * TINY_REPS, "failed": 0}
    assert not list(out.rglob("*.tmp"))
    monkeypatch.undo()
    again = CliRunner().invoke(main, ["sweep", str(TINY), "--out", str(out), "--executor", "serial",
                                      "--resume", "--no-charts"])
    assert again.exit_code == 0, again.output


# -- a failing run ----------------------------------------------------------------------------

BOOM_PLUGIN = '''
from leadtime_sim import AllocationPolicy


class Boom(AllocationPolicy):
    name = "boom"

    def take(self, units):
        raise RuntimeError("boom: this policy refuses to allocate")


POLICIES = {"boom": Boom}
'''


@pytest.mark.parametrize("executor", ["serial", "process"])
@pytest.mark.slow
def test_a_failing_run_is_recorded_and_the_rest_complete(tmp_path: Path, executor: str) -> None:
    (tmp_path / "lts_test_boom.py").write_text(BOOM_PLUGIN)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    out = tmp_path / "out"
    result = sweep_process(str(FAILING), "--out", str(out), "--executor", executor, "--workers", "2",
                           env=env)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert "boom: this policy refuses to allocate" in result.stderr
    runs = runs_of(out)
    assert len(runs) == 9
    failed = runs[runs.status == "failed"]
    ok = runs[runs.status == "ok"]
    assert sorted(failed["axis:lines"]) == [3, 3, 3]
    assert sorted(failed.replication) == [0, 1, 2]
    # (the reason names the plugin and its function: it said only "RuntimeError: boom: ...")
    assert (failed.error == "plugin lts_test_boom: Boom.take raised RuntimeError: boom: this policy "
            "refuses to allocate (lts_test_boom.py:9)").all(), failed.error.tolist()
    assert len(ok) == 6 and set(ok["axis:lines"]) == {2, 4}
    assert (ok.error.fillna("") == "").all()
    assert ok["delivered_units.unit"].notna().all() and (ok["delivered_units.unit"] > 0).all()
    manifest = manifest_of(out)
    assert manifest["status"] == "complete"
    assert manifest["counts"] == {"done": 6, "failed": 3}
    points = pd.read_csv(out / "points.csv")
    assert set(points[points.point_id == 1].n_failed) == {3}
    assert set(points[points.point_id == 1].n) == {0}
    assert set(points[points.point_id != 1].n) == {3}
    assert (out / "series_quantiles.parquet").exists()


DYING_PLUGIN = '''
import os, signal, time
from pathlib import Path
from leadtime_sim import AllocationPolicy

KILLS = Path(os.environ["LTS_TEST_KILLS"])  # how many more times "dying" kills its worker


class Slow(AllocationPolicy):
    """Its runs take a second (so that a worker is busy when the other one dies)."""
    name = "slow"

    def take(self, units):
        if not getattr(self, "slept", False):
            self.slept = True
            time.sleep(1.0)
        return super().take(units)


class Dying(AllocationPolicy):
    name = "dying"

    def take(self, units):
        left = int(KILLS.read_text())
        if left:
            KILLS.write_text(str(left - 1))
            os.kill(os.getpid(), signal.SIGKILL)
        return super().take(units)


POLICIES = {"slow": Slow, "dying": Dying}
'''


@pytest.mark.parametrize(("kills", "code"), [(1, 0), (99, 1)], ids=["once", "always"])
def test_a_killed_worker_is_retried_and_the_sweep_exits(tmp_path: Path, kills: int, code: int) -> None:
    """A worker killed (SIGKILL) mid-sweep while the other was in a run: the sweep hung at its
    exit with the store complete (the pool sends the surviving worker SIGTERM, which the
    worker took with the sweep's own handler, inherited at the fork: the run ended in
    SystemExit, sent back as its result, and the worker went on to its next run, whose
    result, more than a pipe holds, it could never send: the pool's manager thread, joined
    at exit, waited for it). Now the runs in flight are run again and a run that kills its
    worker twice is recorded as failed."""
    (tmp_path / "lts_test_dying.py").write_text(DYING_PLUGIN)
    (tmp_path / "kills").write_text(str(kills))
    env = dict(os.environ, LTS_TEST_KILLS=str(tmp_path / "kills"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(tmp_path), env.get("PYTHONPATH")]))
    out = tmp_path / "out"
    try:
        result = sweep_process(str(DATA / "dying_worker.toml"), "--out", str(out), "--workers", "2",
                               "--no-charts", env=env, timeout=60)
    except subprocess.TimeoutExpired:
        pytest.fail("the sweep did not exit after a worker was killed")
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    runs = runs_of(out)
    assert len(runs) == 6 and manifest_of(out)["status"] == "complete"
    dying = runs[runs["axis:lines"] == 3]
    if kills == 1:
        assert (runs.status == "ok").all()
    else:
        assert (dying.status == "failed").all()
        assert dying.error.str.contains("the worker process died running this run").all()
        assert (runs[runs["axis:lines"] == 2].status == "ok").all()


# -- bad experiment files ---------------------------------------------------------------------

BAD_FILES = {
    "bad_unknown_key.toml": ["replicatons", "unknown key"],
    "bad_axis_path.toml": ["factories.nope.lines"],
    "bad_axis_key.toml": ["factories.server.linez", "unknown key"],
    "bad_axis_value.toml": ["factories.server.lines", "-1"],
    "bad_model_missing.toml": ["model", "no_such_model.toml"],
    "bad_replications_zero.toml": ["replications"],
    "bad_not_toml.toml": ["TOML"],
    "bad_baseline.toml": ["baseline"],
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_bad_experiment_file_exits_2_naming_file_and_field(name: str, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    code, stdout, stderr, exc = invoke(str(DATA / name), "--out", str(out), "--executor", "serial")
    assert code == 2, (stdout, stderr, exc)
    assert isinstance(exc, SystemExit)
    assert "Traceback" not in stderr
    for line in filter(None, stderr.splitlines()):
        assert line.startswith("error: "), line
    assert name in stderr
    for expected in BAD_FILES[name]:
        assert expected in stderr, (expected, stderr)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [], "nothing may be written"


@pytest.mark.parametrize("model", ["a\\u0000b.toml", "x" * 5000 + ".toml"], ids=["NUL", "too long"])
def test_an_unusable_model_path_is_refused_in_one_line(model: str, tmp_path: Path) -> None:
    """Found by the fuzz test: a NUL character in ``model`` made Path.resolve raise."""
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'name = "x"\nmodel = "{model}"\n'
                          '[[axes]]\npath = "factories.f.lines"\nvalues = [1, 2]\n')
    out = tmp_path / "out"
    code, stdout, stderr, exc = invoke(str(experiment), "--out", str(out), "--executor", "serial")
    assert code == 2, (stdout, stderr, exc)
    assert "Traceback" not in stderr
    assert stderr.startswith(f"error: {experiment}: model: ")
    assert "not a usable path" in stderr
    assert not out.exists()


def test_bad_experiment_file_as_a_process(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = sweep_process(str(DATA / "bad_axis_value.toml"), "--out", str(out), cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "bad_axis_value.toml" in result.stderr and "factories.server.lines" in result.stderr
    assert result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_axis_naming_a_missing_product_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out"
    code, stdout, stderr, _ = invoke(str(DATA / "bad_axis_misspelt_product.toml"), "--out", str(out),
                                     "--executor", "serial")
    assert code == 2, (stdout, stderr)
    assert "bad_axis_misspelt_product.toml" in stderr and "products.unti" in stderr
    assert "Traceback" not in stderr
    assert not out.exists()


@pytest.mark.parametrize("label", ["point_id", "metric", "mean", "p50", "capex", "p_closed_by_2030-01",
                                   "limited_by.r"])
def test_an_axis_label_that_is_a_column_of_points_csv_is_refused(label: str, tmp_path: Path) -> None:
    """points.csv names the axes' columns by their labels: ``label = "point_id"`` raised KeyError
    after the runs, and ``"metric"`` or ``"mean"`` silently lost the axis's values."""
    experiment = tmp_path / "e.toml"
    experiment.write_text(TINY.read_text().replace(
        'model = "mmc_requirements.toml"', f'model = "{MODEL}"').replace(
        'label = "lines"', f'label = "{label}"').replace("baseline = { lines = 3 }", ""))
    out = tmp_path / "out"
    code, stdout, stderr, exc = invoke(str(experiment), "--out", str(out), "--executor", "serial")
    assert code == 2, (stdout, stderr, exc)
    assert stderr == f"error: {experiment}: axes[0].label: {label!r} is a column of points.csv: " \
                     "give the axis another label\n"
    assert not out.exists()


def test_every_column_of_points_csv_but_the_axes_is_a_reserved_label(tiny_serial: Path) -> None:
    from leadtime_sim.experiment.spec import POINTS_COLUMNS, POINTS_PREFIXES

    columns = set(pd.read_csv(tiny_serial / "points.csv").columns) - {"lines"}
    assert {c for c in columns if c not in POINTS_COLUMNS and not c.startswith(POINTS_PREFIXES)} == set()


# -- the command line -------------------------------------------------------------------------

def test_dry_run_prints_the_number_of_runs_and_runs_nothing(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    from leadtime_sim.experiment import task

    def no_runs(*args: object, **kwargs: object) -> None:
        raise AssertionError("--dry-run ran a simulation")

    monkeypatch.setattr(task, "simulate", no_runs, raising=False)
    monkeypatch.setattr("leadtime_sim.run.simulate", no_runs)
    code, stdout, stderr, _ = invoke(str(TINY), "--out", str(out), "--dry-run")
    assert code == 0, stderr
    assert "{" not in stdout  # the points in words, not as Python dicts
    assert f"{TINY_POINTS * TINY_REPS} runs" in stdout
    assert f"{TINY_POINTS} design points" in stdout
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_dry_run_estimates_the_serial_executor_with_one_worker(tmp_path: Path) -> None:
    """``--executor serial --workers 3 --dry-run`` estimated the time "with 3 worker(s)"
    (a third of what the serial executor, one run after another, takes)."""
    code, stdout, stderr, _ = invoke(str(TINY), "--out", str(tmp_path / "o"), "--dry-run", "--executor", "serial",
                                     "--workers", "3")
    assert code == 0, stderr
    assert stdout.rstrip().endswith("with 1 worker(s)")
    code, stdout, stderr, _ = invoke(str(TINY), "--out", str(tmp_path / "o"), "--dry-run", "--workers", "3")
    assert code == 0 and stdout.rstrip().endswith("with 3 worker(s)")


def test_dry_run_gives_its_time_as_the_bound_it_is(tmp_path: Path) -> None:
    """The time comes from the most lots a run could start (the main job's runs start about a
    third of it): "estimated 1.3 min" for a sweep that takes about 30 s read as a forecast."""
    code, stdout, stderr, _ = invoke(str(TINY), "--out", str(tmp_path / "o"), "--dry-run")
    assert code == 0, stderr
    last = stdout.rstrip().splitlines()[-1]
    assert "estimated" not in last and "at most roughly" in last and ": at most about " in last, last


def test_dry_run_of_range_axes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr, _ = invoke(str(DATA / "range_axes.toml"), "--dry-run")
    assert code == 0, stderr
    assert "6 design points" in stdout and "12 runs" in stdout
    assert list(tmp_path.iterdir()) == []


def test_a_sobol_design_of_a_count_not_a_power_of_2_is_one_warning_line(tmp_path: Path) -> None:
    """SciPy's UserWarning was printed as it came, with its source file and line."""
    experiment = tmp_path / "e.toml"
    experiment.write_text((DATA / "range_axes.toml").read_text().replace(
        'model = "../../models/mmc_check.toml"', f'model = "{ROOT / "models" / "mmc_check.toml"}"').replace(
        'sampling = "lhs"', 'sampling = "sobol"'))
    result = sweep_process(str(experiment), "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stderr == (f"warning: {experiment}: samples: 3 is not a power of 2, which a Sobol design "
                             'needs for its balance (take 4, or sampling = "lhs")\n')


def test_an_axis_that_ties_the_capex_of_lines_priced_per_line_is_warned_of(tmp_path: Path) -> None:
    """The README's example ties capex_musd = 500 a line to the Patriot lines added, and the
    default model already prices them at capex_musd_per_line = 500: a sweep of 1-2 lines showed
    swept capex $1,000M and $2,000M, with no word. The same tie without the per-line price is
    quiet (the shipped capacity sweep uses the per-line price alone)."""
    axis = ('[[axes]]\npath = "investments.patriot_new_lines.lines_added"\nlabel = "lines added"\n'
            'values = [1, 2]\ntied = { "investments.patriot_new_lines.capex_musd" = { per_unit = 500 } }\n')
    head = f'name = "x"\nmodel = "{ROOT / "models" / "nato_air_defence.toml"}"\nreplications = 1\nseed = 1\n'
    for overrides, warned in (("", True),
                              ('overrides = { "investments.patriot_new_lines.capex_musd_per_line" = 0 }\n', False)):
        experiment = tmp_path / "e.toml"
        experiment.write_text(head + overrides + axis)
        result = sweep_process(str(experiment), "--dry-run", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert result.stderr == (
            f"warning: {experiment}: axes[0].tied: investments.patriot_new_lines.capex_musd follows the lines "
            "added, and the investment also costs capex_musd_per_line = 500 a line, so each line is counted "
            "twice (tie the one or keep the other)\n" if warned else ""), result.stderr


@pytest.mark.slow
def test_cli_sweep_writes_the_store(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    code, stdout, stderr, exc = invoke(str(TINY), "--out", str(out), "--executor", "serial")
    assert code == 0, (stdout, stderr, exc)
    assert f"{TINY_POINTS * TINY_REPS} runs done, 0 failed" in stdout
    for name in STORE_FILES:
        assert (out / name).is_file(), name
    assert manifest_of(out)["status"] == "complete"
    assert len(runs_of(out)) == TINY_POINTS * TINY_REPS


@pytest.mark.parametrize("assignment", ["factories.server.lines=5", "factories.server.lines.x=5",
                                        "factories[server].lines=5"], ids=["path", "inside", "brackets"])
def test_cli_set_of_an_axis_path_is_refused(tmp_path: Path, assignment: str) -> None:
    """--set factories.server.lines=5 on a sweep of that axis ran 2, 3 and 4 lines, exit 0,
    the manifest's scenario saying 5: a value the user set and no run used."""
    code, stdout, stderr, exc = invoke(str(TINY), "--out", str(tmp_path / "o"), "--set", assignment)
    assert code == 2 and not isinstance(exc, ValueError), (stdout, stderr, exc)
    assert stderr.count("error:") == 1 and "axes[0].path at every design point" in stderr
    assert not (tmp_path / "o").exists()


def test_experiment_overrides_of_a_tied_path_are_refused(tmp_path: Path) -> None:
    """An experiment's overrides of a path that an axis (or its tie) sets are never run either."""
    text = TINY.read_text().replace('end = "2030-01"', 'end = "2030-01"\n"factories.server.lot_size" = 2')
    text += 'tied = { "factories.server.lot_size" = [1, 1, 2] }\n'
    (tmp_path / "model.toml").write_text(MODEL.read_text())
    (tmp_path / "e.toml").write_text(text.replace('model = "mmc_requirements.toml"', 'model = "model.toml"'))
    with pytest.raises(lts.InputError, match=r"overrides: factories.server.lot_size: set by axes\[0\].tied"):
        plan_experiment(tmp_path / "e.toml")
    plan_experiment(TINY, ['factories.server={product = "unit", lines = 1, takt_months = 1}'])  # a parent: fine
    (tmp_path / "bad.toml").write_text(TINY.read_text().replace('"factories.server.lines"', '"factories..lines"')
                                       .replace('model = "mmc_requirements.toml"', 'model = "model.toml"'))
    with pytest.raises(lts.InputError, match="empty part in the path"):  # not a ValueError out of the check
        plan_experiment(tmp_path / "bad.toml", ["factories.server.lines=3"])


@pytest.mark.slow
def test_cli_set_changes_the_scenario_as_run(tmp_path: Path) -> None:
    out = tmp_path / "set"
    code, _, stderr, _ = invoke(str(TINY), "--out", str(out), "--executor", "serial",
                                "--set", 'end="2027-01"')
    assert code == 0, stderr
    manifest = manifest_of(out)
    assert manifest["scenario"]["end"] == "2027-01"
    series = pd.read_parquet(out / "series_quantiles.parquet")
    assert series.month.max() == 23
    assert not math.isnan(runs_of(out)["delivered_units.unit"].sum())


def test_more_workers_than_runs_start_no_idle_processes(tiny_serial: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """--workers 200 for the tiny sweep's 9 runs started 200 worker processes (a fork pool
    starts every worker it may use), three times as slow as 2; the pool now has at most one
    worker per run, with the same bits."""
    sizes: list[int] = []

    class Counted(executors.ProcessPoolExecutor):
        def __init__(self, max_workers: int, **kwargs: Any) -> None:
            sizes.append(max_workers)
            super().__init__(max_workers=max_workers, **kwargs)

    monkeypatch.setattr(executors, "ProcessPoolExecutor", Counted)
    out = tmp_path / "many"
    run_experiment(TINY, out, executor="process", workers=200)
    assert sizes == [TINY_POINTS * TINY_REPS]
    assert_same_results(out, tiny_serial)
