"""Issue 15, part 3: bad input that still got a traceback or ran wild - duplicate axes,
designs too large to build, chart text that Matplotlib would parse or that is miles long,
colliding chart names, deep nesting, the far end of the calendar, Dask addresses, metric
subjects, orders and targets outside the horizon, read-only disks, failed runs to retry.
Each test was written to fail before its fix."""

from __future__ import annotations

import errno
import logging
import os
import time
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image
from reliability_support import (
    DATA,
    MODELS,
    TESTS_DATA,
    assert_clean_exit_2,
    invoke,
    manifest_of,
    runs_of,
    toml_dumps,
)

import leadtime_sim as lts
from leadtime_sim.errors import OutputError
from leadtime_sim.io import atomic_write

MMC = TESTS_DATA / "mmc_requirements.toml"


def experiment(tmp_path: Path, **fields: object) -> Path:
    """A small experiment on tests/data/mmc_requirements.toml (2 replications, 2 years)."""
    data = {"name": "e", "model": str(MMC), "replications": 2, "seed": 1,
            "overrides": {"end": "2027-01"}, **fields}
    path = tmp_path / "e.toml"
    path.write_text(toml_dumps(data))
    return path


AXIS = {"path": "factories.server.lines", "label": "lines", "values": [2, 3]}


# -- 6. axes that contradict each other -------------------------------------------------------

@pytest.mark.parametrize(("axes", "problem"), [
    ([AXIS, {**AXIS, "label": "other"}], "axes[1].path: 'factories.server.lines' is already varied by axis 0"),
    ([AXIS, {**AXIS, "path": "factories.server.lot_size", "values": [1, 2]}], "axes[1].label: 'lines' is already"),
    ([{**AXIS, "tied": {"factories.server.lines": [5, 7]}}], "is the axis's own path"),
    ([AXIS, {"path": "factories.server.lot_size", "values": [1, 2], "tied": {"factories.server.lines": [5, 7]}}],
     "axes[1].tied: 'factories.server.lines' is already varied by axis 0"),
    # one path spelt two ways: both axes ran, the second's values in every run (the first's label wrong)
    ([{**AXIS, "path": "order_streams[0].rate_per_year", "values": [1.0, 2.0]},
      {**AXIS, "label": "other", "path": "order_streams.0.rate_per_year", "values": [3.0, 4.0]}],
     "axes[1].path: 'order_streams.0.rate_per_year' is already varied by axis 0"),
    ([{**AXIS, "tied": {"factories[server].lines": [5, 7]}}], "is the axis's own path"),
    # the horizon: every point was charted and summarised against the base scenario's end
    ([{"path": "end", "values": ["2026-01", "2027-01"]}], "axes[0].path: 'end' cannot be varied"),
    ([{**AXIS, "tied": {"start": ["2025-01", "2025-06"]}}], "axes[0].tied: 'start' cannot be varied"),
])
def test_contradicting_axes_are_refused(tmp_path: Path, axes: list, problem: str) -> None:
    (line,) = assert_clean_exit_2(invoke("sweep", experiment(tmp_path, axes=axes), "--out", tmp_path / "s"))
    assert problem in line, line
    assert not (tmp_path / "s").exists()


# -- 7. the design is counted before it is built ----------------------------------------------

GRID_PATHS = ["factories.server.lines", "factories.server.lot_size", "factories.server.min_lot_size",
              "factories.server.initial_wip_units", "factories.server.yield_fraction",
              "order_streams[0].rate_per_year", "requirements.r.initial_units",
              "requirements.r.consumption_per_year", "products.unit.stock_target_units",
              "products.unit.unit_cost_musd"]


def test_a_huge_grid_is_refused_before_it_is_built(tmp_path: Path) -> None:
    """10 axes of 10 values: 10^10 points, which would not fit in memory if built."""
    axes = [{"path": path, "label": f"a{k}", "values": [1 + v / 100 for v in range(10)]}
            for k, path in enumerate(GRID_PATHS)]
    began = time.perf_counter()
    (line,) = assert_clean_exit_2(invoke("sweep", experiment(tmp_path, axes=axes), "--out", tmp_path / "s",
                                         "--dry-run"))
    assert "10,000,000,000 points" in line and "more than 100,000" in line
    assert time.perf_counter() - began < 5


# -- 8. chart text is drawn literally and kept to a sane size ---------------------------------

@pytest.mark.parametrize("label", ["$\\nosuchcommand$", "lines $^{$", "x" * 5000])
def test_chart_text_is_literal_and_bounded(tmp_path: Path, label: str) -> None:
    path = experiment(tmp_path, axes=[{**AXIS, "label": label}], targets=["2026-06"])
    outcome = invoke("sweep", path, "--out", tmp_path / "s", "--executor", "serial")
    assert outcome.code == 0, outcome.stderr
    for png in (tmp_path / "s" / "charts").glob("*.png"):
        with Image.open(png) as image:
            assert image.width < 4000 and image.height < 4000, (png.name, image.size)


# -- 9. chart files never overwrite each other ------------------------------------------------

def test_chart_file_names_never_collide(tmp_path: Path) -> None:
    model = tmp_path / "m.toml"
    text = MMC.read_text()
    model.write_text(text.replace("[requirements.r]", "[requirements.r-2]\ncustomer = \"c\"\nproduct = "
                                  "\"unit\"\nrequired = [{date = \"2026-01\", units = 5}]\n\n[requirements.r]"))
    path = experiment(tmp_path, model=str(model), axes=[AXIS],
                      charts=[{"chart": "gap_close"}, {"chart": "gap_close"}])
    outcome = invoke("sweep", path, "--out", tmp_path / "s", "--executor", "serial")
    assert outcome.code == 0, outcome.stderr
    said = int(outcome.stdout.split(" chart(s)")[0].rsplit("\n", 1)[-1])
    assert said == len(list((tmp_path / "s" / "charts").glob("*.png")))


# -- 10. nesting, the calendar's end, Dask addresses ------------------------------------------

def test_deep_nesting_is_one_line(tmp_path: Path) -> None:
    deep = "[" * 600 + "]" * 600
    model = tmp_path / "deep.toml"
    model.write_text(MODELS.joinpath("single_line.toml").read_text() + f"\nquote_dates = {deep}\n")
    assert_clean_exit_2(invoke("validate", model))
    assert_clean_exit_2(invoke("run", MODELS / "single_line.toml", "--set", f"quote_dates={deep}",
                               "--out", tmp_path / "r"))
    exp = tmp_path / "e.toml"
    text = experiment(tmp_path).read_text()
    assert 'overrides = { end = "2027-01" }' in text  # (the line the nesting goes into)
    exp.write_text(text.replace('overrides = { end = "2027-01" }', f'overrides = {{ end = "2027-01", x = {deep} }}'))
    (line,) = assert_clean_exit_2(invoke("sweep", exp, "--out", tmp_path / "s"))
    assert "nested more than 32 deep" in line, line


def test_the_end_of_the_calendar_is_one_line(tmp_path: Path) -> None:
    for end in ("9999-12", "9999-01", "9998-12"):
        outcome = invoke("run", MODELS / "single_line.toml", "--set", f'end="{end}"', "--out", tmp_path / end)
        if outcome.code == 2:
            (line,) = assert_clean_exit_2(outcome)
            assert "end" in line
        else:
            assert outcome.code == 0 and outcome.exception is None, outcome.stderr


@pytest.mark.parametrize("address", ["not a url", "tcp://", "http://host:8786", "tcp://host:8786\n",
                                     "tcp://host:\uff18\uff17\uff18\uff16"])  # (a newline, full-width digits)
def test_a_bad_dask_address_is_one_line_and_creates_nothing(tmp_path: Path, address: str) -> None:
    path = experiment(tmp_path, axes=[AXIS])
    (line,) = assert_clean_exit_2(invoke("sweep", path, "--out", tmp_path / "s", "--executor", "dask",
                                         "--scheduler", address))
    assert "--scheduler" in line and "is not a Dask scheduler address" in line, line  # (before connecting)
    assert not (tmp_path / "s").exists()


@pytest.mark.slow
def test_a_refused_dask_connection_leaves_no_store_behind(tmp_path: Path) -> None:
    pytest.importorskip("distributed")
    path = experiment(tmp_path, axes=[AXIS])
    (line,) = assert_clean_exit_2(invoke("sweep", path, "--out", tmp_path / "s", "--executor", "dask",
                                         "--scheduler", "tcp://127.0.0.1:9"))
    assert "cannot connect" in line
    outcome = invoke("sweep", path, "--out", tmp_path / "s", "--executor", "serial", "--no-charts")
    assert outcome.code == 0, outcome.stderr


# -- 11. metric subjects, orders at the end, targets outside the horizon ----------------------

def test_a_metric_of_no_subject_is_refused_before_running(tmp_path: Path) -> None:
    path = experiment(tmp_path, axes=[AXIS], metrics=["gap_closed_months.nosuch", "capex_musd.x"])
    lines = assert_clean_exit_2(invoke("sweep", path, "--out", tmp_path / "s"))
    assert any("metrics[0]" in line and "nosuch" in line and "requirement" in line for line in lines)
    assert any("metrics[1]" in line for line in lines)
    assert not (tmp_path / "s").exists()


def test_an_order_at_the_end_and_a_target_outside_the_horizon_are_told(tmp_path: Path,
                                                                        caplog: pytest.LogCaptureFixture) -> None:
    model = tmp_path / "m.toml"
    model.write_text(MMC.read_text() + '\n[[orders]]\ncustomer = "c"\nproduct = "unit"\nquantity = 2\n'
                     'placed = "2030-01"\n')
    with caplog.at_level(logging.WARNING, logger="leadtime_sim"):
        lts.load_scenario(model, overrides=['end="2030-01"'])
    assert any("orders[0]" in r.getMessage() and "never placed" in r.getMessage() for r in caplog.records)
    path = experiment(tmp_path, axes=[AXIS], targets=["2040-01"])
    outcome = invoke("sweep", path, "--out", tmp_path / "s", "--executor", "serial", "--no-charts")
    assert outcome.code == 0
    assert any(line.startswith("warning:") and "targets[0]" in line and "2040-01" in line
               for line in outcome.stderr.splitlines()), outcome.stderr


# -- 12. a read-only disk -----------------------------------------------------------------------

def test_atomic_write_on_a_read_only_disk_is_an_output_error(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*args: object, **kwargs: object) -> None:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(os, "replace", read_only)
    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.raises(OutputError, match="Read-only file system"):
        atomic_write(tmp_path / "x.json", lambda tmp: tmp.write_text("{}"))


# -- 13. failed runs can be retried -------------------------------------------------------------

@pytest.mark.slow
def test_retry_failed_runs_again_only_the_failed_runs(tmp_path: Path) -> None:
    timeout = DATA / "timeout_sweep.toml"
    out = tmp_path / "s"
    first = invoke("sweep", timeout, "--out", out, "--executor", "serial", "--no-charts", "--run-timeout", "0.5")
    assert first.code == 1
    before = runs_of(out)
    assert (before.status == "failed").sum() == 2 and set(before[before.status == "failed"].point_id) == {1}
    again = invoke("sweep", timeout, "--out", out, "--executor", "serial", "--no-charts", "--resume")
    assert again.code == 1 and (runs_of(out).status == "failed").sum() == 2  # resume alone keeps them
    retried = invoke("sweep", timeout, "--out", out, "--executor", "serial", "--no-charts", "--resume",
                     "--retry-failed", "--run-timeout", "600")
    assert retried.code == 0, retried.stderr
    assert (runs_of(out).status == "ok").all() and manifest_of(out)["counts"] == {"done": 4, "failed": 0}
    after = runs_of(out)
    pd.testing.assert_frame_equal(after[after.point_id == 0].reset_index(drop=True),
                                  before[before.point_id == 0].reset_index(drop=True))
