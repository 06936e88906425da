"""Resource guards (issue 5, "Bad input", third point).

A run whose lot estimate is absurd is refused with the estimate and the ``--max-lots``
hint; a sweep of more than 100,000 runs is refused, before anything runs, with the
``--yes`` hint; ``--run-timeout`` records a run that exceeds it as failed instead of
waiting. Values the schema accepts but no run can honour must not hang or crash a run.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from reliability_support import (
    DATA,
    MODELS,
    TESTS_DATA,
    TookTooLong,
    assert_clean_exit_2,
    assert_no_half_written_files,
    invoke,
    manifest_of,
    runs_of,
    time_limit,
    toml_dumps,
)

import leadtime_sim as lts

ABSURD = DATA / "absurd_lots.toml"
MMC = MODELS / "mmc_check.toml"
MMC_REQ = TESTS_DATA / "mmc_requirements.toml"
TINY = TESTS_DATA / "tiny_lines.toml"
HUGE = DATA / "huge_sweep.toml"
TIMEOUT = DATA / "timeout_sweep.toml"


# -- lots ------------------------------------------------------------------------------------

def test_a_run_of_absurdly_many_lots_is_refused_with_the_estimate_and_the_hint(tmp_path: Path) -> None:
    estimate = lts.estimate_lots(lts.load_scenario(ABSURD))
    assert estimate > 10_000_000
    out = tmp_path / "out"
    with time_limit(10):  # refused before running: at once
        lines = assert_clean_exit_2(invoke("run", ABSURD, "--out", out))
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {ABSURD}: ")
    assert f"about {estimate:,.0f} lots" in lines[0] and "--max-lots" in lines[0], lines
    assert not out.exists()


def test_raising_max_lots_lets_that_run_pass_the_guard(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with time_limit(30):
        done = invoke("run", ABSURD, "--max-lots", "2e7", "--json", "--out", out)
    assert done.code == 0, done.stderr
    assert json.loads(done.stdout)["lots_started"] == 1000  # the estimate is only a bound
    assert (out / "summary.json").is_file()


def test_a_modest_max_lots_refuses_a_normal_run(tmp_path: Path) -> None:
    scenario = lts.load_scenario(MMC)
    estimate = lts.estimate_lots(scenario)
    assert 100 < estimate < 10_000_000
    lines = assert_clean_exit_2(invoke("run", MMC, "--max-lots", "100", "--out", tmp_path / "out"))
    assert len(lines) == 1 and f"about {estimate:,.0f} lots" in lines[0] and "--max-lots 100" in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_tiny_takt_on_a_ramping_line_is_refused_not_projected_lot_by_lot(tmp_path: Path) -> None:
    """Quotes project a line ramping up lot by lot, whatever the demand: a takt of 1e-7
    months on single_line.toml's ramping investment made every quote step through 6e7 lots
    (a run of over 100 s). The estimate counts those lots, so the run is refused at once."""
    model = MODELS / "single_line.toml"
    tiny = "factories.line.takt_months=1e-7"
    estimate = lts.estimate_lots(lts.load_scenario(model, overrides=[tiny]))
    assert estimate > 10_000_000
    with time_limit(10):
        lines = assert_clean_exit_2(invoke("run", model, "--set", tiny, "--out", tmp_path / "out"))
    assert len(lines) == 1 and f"about {estimate:,.0f} lots" in lines[0] and "--max-lots" in lines[0]
    # without the ramp (ramp_months = 0) nothing is projected lot by lot: no such term
    flat = lts.load_scenario(model, overrides=[tiny, "investments.second_line.ramp_months=0"])
    assert lts.estimate_lots(flat) < 10_000


def test_the_estimate_bounds_what_a_run_starts() -> None:
    """The guard's estimate is an upper bound on the lots of real runs (the kernel stops a
    run that would go beyond --max-lots anyway)."""
    for model in (MMC, MMC_REQ, MODELS / "single_line.toml", TESTS_DATA / "charts_model.toml"):
        scenario = lts.load_scenario(model)
        estimate = lts.estimate_lots(scenario)
        for seed in (1, 2):
            assert lts.simulate(scenario, seed).records.lots_started <= estimate, model


def test_a_sweep_point_of_too_many_lots_is_refused_before_running(tmp_path: Path) -> None:
    out = tmp_path / "out"
    lines = assert_clean_exit_2(invoke("sweep", TINY, "--max-lots", "100", "--out", out))
    assert all(re.match(rf"error: {re.escape(str(TINY))}: point \d ", line) for line in lines), lines
    assert all("lots, more than --max-lots 100" in line for line in lines), lines
    assert not out.exists()


# -- runs in a sweep -------------------------------------------------------------------------

@pytest.mark.parametrize("flags", [[], ["--dry-run"]], ids=["run", "dry-run"])
def test_a_sweep_of_a_million_runs_is_refused_before_running(tmp_path: Path, flags: list[str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    with time_limit(20):
        lines = assert_clean_exit_2(invoke("sweep", HUGE, "--out", out, *flags))
    assert lines == [f"error: {HUGE}: 1 points x 1000000 replications = 1,000,000 runs (more than "
                     "100,000); pass --yes to run them anyway"]
    assert list(tmp_path.iterdir()) == []


def test_a_huge_grid_is_refused_without_validating_every_point(tmp_path: Path) -> None:
    experiment = tmp_path / "grid.toml"
    experiment.write_text(toml_dumps({
        "name": "grid", "model": str(MMC), "replications": 1, "overrides": {"end": "2026-01"},
        "axes": [{"path": "factories.server.lines", "values": list(range(1, 401))},
                 {"path": "order_streams[0].rate_per_year", "values": [float(r) for r in range(1, 301)]}]}))
    with time_limit(20):
        lines = assert_clean_exit_2(invoke("sweep", experiment, "--dry-run"))
    assert "120,000 runs" in lines[0] and "--yes" in lines[0]


def test_yes_lets_a_huge_sweep_pass_the_guard(tmp_path: Path) -> None:
    with time_limit(60):
        shown = invoke("sweep", HUGE, "--yes", "--dry-run", "--out", tmp_path / "out")
    assert shown.code == 0, shown.stderr
    assert "1000000 runs" in shown.stdout
    assert not (tmp_path / "out").exists()


# -- wall time -------------------------------------------------------------------------------

def test_a_run_over_the_time_limit_is_recorded_as_failed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with time_limit(60):
        done = invoke("sweep", TIMEOUT, "--out", out, "--workers", "2", "--run-timeout", "0.5", "--no-charts")
    assert done.code == 1, (done.stdout, done.stderr, done.exception)
    assert "Traceback" not in done.stderr
    assert "wall-time limit of 0.5 s" in done.stderr
    runs = runs_of(out)
    assert len(runs) == 4
    slow, quick = runs[runs["point_id"] == 1], runs[runs["point_id"] == 0]  # (300 lines; 1 line)
    assert (slow.status == "failed").all() and (quick.status == "ok").all()
    assert slow.error.str.contains(r"run exceeded its wall-time limit of 0\.5 s \(at month \d+\)").all()
    assert manifest_of(out)["status"] == "complete"
    assert manifest_of(out)["counts"] == {"done": 2, "failed": 2}
    points = pd.read_csv(out / "points.csv")
    assert set(points[points.point_id == 1].n_failed) == {2}
    assert_no_half_written_files(out)


@pytest.mark.slow
def test_the_time_limit_also_stops_a_run_stuck_within_one_month(tmp_path: Path) -> None:
    experiment = tmp_path / "stuck.toml"
    experiment.write_text(toml_dumps({
        "name": "stuck", "model": str(MMC), "replications": 1, "overrides": {"end": "2026-01"},
        "axes": [{"path": "order_streams[0].rate_per_year", "label": "rate", "values": [28.8, 1e9]}]}))
    out = tmp_path / "out"
    try:
        with time_limit(5):
            done = invoke("sweep", experiment, "--out", out, "--executor", "serial", "--run-timeout", "0.5",
                          "--max-lots", "1e12", "--no-charts")  # past the guard: the limit must act
    except TookTooLong:
        pytest.fail("--run-timeout 0.5 did not stop the run within 5 s")
    assert not isinstance(done.exception, TookTooLong), "--run-timeout 0.5 did not stop the run within 5 s"
    assert done.code == 1, done.stderr
    runs = runs_of(out)
    assert list(runs.status) == ["ok", "failed"]


# -- values the schema accepts but no run can honour ------------------------------------------

ABSURD_VALUES = [
    pytest.param('factories.server.takt_months={dist="gamma",mean=1e300,sd=1e300}', id="huge gamma takt"),
    pytest.param('factories.server.flow_months={dist="normal",mean=1e308,sd=1e308}', id="huge normal flow"),
    pytest.param("factories.server.takt_months=1e-300", id="tiny takt"),
    pytest.param("factories.server.lines=10000", id="10000 lines"),
    pytest.param("order_streams[0].rate_per_year=1e-300", id="tiny rate"),
    pytest.param("factories.server.learning={progress_ratio=1e-300,floor_fraction=1e-300}", id="steep learning"),
    pytest.param('end="2026-01-02"', id="end one day into a month"),
    pytest.param("factories.server.takt_months=0", id="zero takt"),
    pytest.param("factories.server.disruptions={between_months=0,repair_months=0}", id="zero disruptions"),
    pytest.param("order_streams[0].rate_per_year=1e9", id="1e9 orders a year"),
    pytest.param("requirements.r.ordering={review_every_months=1e-9}", id="review every 1e-9 months"),
    pytest.param("factories.server.yield_fraction=1e-300", id="yield 1e-300"),
    pytest.param("order_streams[0].quantity=1e300", id="order of 1e300 units"),
    pytest.param('factories.server.takt_months={dist="lognormal",median=1,sigma=1e300}',
                 id="lognormal sigma 1e300"),
    pytest.param('start="0001-01"', id="year 0001"),
]


@pytest.fixture(scope="module")
def warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One ordinary run of each distribution's code first, so that the 3 s limits time the
    runs, not the first imports (SciPy's stats alone take ~2 s on a busy 2-core machine)."""
    out = tmp_path_factory.mktemp("warm")
    for k, flow in enumerate(['{dist="normal",mean=1,sd=0.1}', '{dist="gamma",mean=1,sd=0.1}']):
        done = invoke("run", MMC_REQ, "--set", f"factories.server.flow_months={flow}", "--set", 'end="2026-01"',
                      "--out", out / str(k))
        assert done.code == 0, done.stderr


@pytest.mark.parametrize("assignment", ABSURD_VALUES)
def test_an_accepted_value_never_hangs_or_crashes_a_run(warm: None, assignment: str, tmp_path: Path) -> None:
    """Refused (exit 2, one line) or run (exit 0, or 1 with a one-line error) within 3 s."""
    end = [] if assignment.startswith("end=") else (
        ["--set", 'end="0002-01"'] if assignment.startswith("start=") else ["--set", 'end="2026-01"'])
    out = tmp_path / "out"
    try:
        with time_limit(3):
            done = invoke("run", MMC_REQ, "--set", assignment, *end, "--out", out)
    except TookTooLong:
        pytest.fail(f"--set {assignment}: the run did not finish within 3 s")
    if isinstance(done.exception, TookTooLong):
        pytest.fail(f"--set {assignment}: the run did not finish within 3 s")
    assert done.exception is None or isinstance(done.exception, SystemExit), \
        f"--set {assignment}: {done.exception!r}"
    assert "Traceback" not in done.stderr
    assert done.code in (0, 1, 2), done.stderr
    if done.code == 2:
        assert len(assert_clean_exit_2(done)) >= 1
        assert not out.exists()
    elif done.code == 1:
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    else:
        assert_no_half_written_files(out)
        assert {p.name for p in out.iterdir()} >= {"summary.json", "series.csv", "orders.csv"}
