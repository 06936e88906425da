"""The study record (STRESS-DES): each session of a store is recorded, and the report's record
states the store's own design, random inputs, precision, versions and run time."""

from __future__ import annotations

import html
import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner
from conftest import build, factory, scenario_dict

from leadtime_sim.cli import main
from leadtime_sim.environment import PACKAGES, environment, processor_name
from leadtime_sim.report_study import WANTED_HALF_WIDTH, precision, random_inputs, study_record
from leadtime_sim.results import load_results

DATA = Path(__file__).parent / "data"


def invoke(*args: object) -> None:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def resumed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The charts sweep at 3 replications, then resumed to 6 on the process executor."""
    out = tmp_path_factory.mktemp("study") / "store"
    invoke("sweep", DATA / "charts_sweep.toml", "--out", out, "--executor", "serial", "--no-charts",
           "--replications", 3)
    invoke("sweep", DATA / "charts_sweep.toml", "--out", out, "--executor", "process", "--workers", 2,
           "--no-charts", "--replications", 6, "--resume")
    invoke("report", out)
    return out


def test_every_session_is_recorded_with_its_runs_executor_and_environment(resumed: Path) -> None:
    manifest = json.loads((resumed / "manifest.json").read_text())
    sessions = manifest["sessions"]
    assert [(s["executor"], s["workers"], s["runs"], s["status"]) for s in sessions] == [
        ("serial", 1, 27, "complete"), ("process", 2, 27, "complete")]
    assert sum(s["runs"] for s in sessions) == manifest["counts"]["done"] == 54
    for s in sessions:
        assert s["wall_seconds"] >= 0 and s["started"] <= s["finished"]
        assert s["environment"]["packages"]["simpy"] and s["environment"]["cores"] >= 1
    assert manifest["started"] == sessions[0]["started"]


def test_the_environment_names_versions_and_the_processor(tmp_path: Path) -> None:
    env = environment()
    assert env["python"].split()[1].startswith("3.") and set(env["packages"]) <= set(PACKAGES)
    assert {"simpy", "numpy", "scipy", "pandas"} <= set(env["packages"])
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: X\nmodel name\t: Test CPU 9000\n")
    assert processor_name(cpuinfo) == "Test CPU 9000"
    assert processor_name(tmp_path / "missing")  # (falls back to what platform says)


def test_the_precision_is_the_widest_wilson_interval_and_scales_as_root_n(resumed: Path) -> None:
    results = load_results(resumed)
    stats = pd.read_csv(resumed / "points.csv")
    rows = stats[stats["metric"].str.startswith("gap_closed_months.")]
    half = (rows["p_closed_by_2028-01_high"] - rows["p_closed_by_2028-01_low"]) / 2
    width, where, needed = precision(results)
    assert width == pytest.approx(half.max())
    assert where.endswith(f"at point {int(rows.loc[half.idxmax(), 'point_id'])}")
    assert needed == math.ceil(6 * (half.max() / WANTED_HALF_WIDTH) ** 2 / 10) * 10
    assert needed > 6  # (6 replications cannot give +/- 0.05)


def test_the_report_states_the_record_of_this_store(resumed: Path) -> None:
    text = html.unescape(re.sub(r"<[^>]+>", " ", (resumed / "report.html").read_text()))
    record = dict(study_record(load_results(resumed)))
    assert "Study record (STRESS-DES)" in text
    for item in ("1.2", "1.3", "3.3", "4.1", "4.2", "4.3", "5.1", "5.2", "5.3", "5.4", "6.1"):
        assert any(k.startswith(item) for k in record), item
    assert "9 design points: a full grid of lines added, decided; baseline point 0" in record["1.3 Experimental design"]
    assert record["4.2 Run length"].startswith("60 months (2025-01 to 2030-01)")
    assert record["4.3 Replications"].startswith("6 per design point, 54 runs done, 0 failed")
    assert "serial, process executor(s)" in record["5.3 Event mechanism and parallel runs"]
    assert record["5.4 Hardware and run time"].count(" runs in ") == 2
    assert "seed 2," in record["5.2 Random numbers"]


def test_a_store_from_before_sessions_says_not_recorded(resumed: Path, tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    for path in resumed.iterdir():
        if path.is_file():
            (old / path.name).write_bytes(path.read_bytes())
    (old / "series_quantiles.parquet").unlink(missing_ok=True)
    manifest = json.loads((old / "manifest.json").read_text())
    del manifest["sessions"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    record = dict(study_record(load_results(old)))
    assert record["5.4 Hardware and run time"].startswith("not recorded")
    assert "were not recorded" in record["5.1 Software"]


def test_random_inputs_list_every_random_source_and_no_constant() -> None:
    data = scenario_dict(
        factories={"f": factory(takt_months={"dist": "triangular", "low": 1, "mode": 2, "high": 3},
                                flow_months=3, yield_fraction=0.9),
                   "g": factory(takt_months=1, flow_months={"dist": "gamma", "mean": 4, "sd": 1})},
        order_streams=[{"customer": "a", "product": "p", "rate_per_year": 2,
                        "quantity": {"dist": "uniform", "low": 1, "high": 3}},
                       {"customer": "a", "product": "p", "rate_per_year": 1}])
    found = random_inputs(build(data))
    assert [p for p, _ in found] == [
        "factories.f.takt_months", "factories.f.yield_fraction", "factories.g.flow_months",
        "order_streams[0]", "order_streams[0].quantity", "order_streams[1]"]
    shown = dict(found)
    assert shown["factories.f.takt_months"] == "triangular (low 1, mode 2, high 3; mean 2)"
    assert shown["factories.g.flow_months"] == "gamma (mean 4, sd 1)"
    assert shown["order_streams[1]"].startswith("Poisson arrivals, 1 order a year")
    assert random_inputs(build(scenario_dict())) == []


def test_the_design_is_told_as_a_grid_samples_or_a_sensitivity_design() -> None:
    import tomllib

    from leadtime_sim.experiment.spec import Experiment
    from leadtime_sim.report_study import _design_text

    data = tomllib.loads((DATA / "range_axes.toml").read_text())
    mixed = Experiment.model_validate(data)
    assert _design_text(mixed, None) == "a full grid of lot, crossed with 3 Latin hypercube samples of lines, rate"
    sampled = Experiment.model_validate({**data, "axes": data["axes"][:2], "sampling": "sobol"})
    assert _design_text(sampled, None) == "3 Sobol' sequence samples of lines, rate"
    assert _design_text(mixed, {"method": "sobol", "samples": 8}) == (
        "Saltelli's Sobol' design (SALib) of 2 inputs, N = 8 (N (p + 2) points), the other axes at the "
        "baseline (lot): lines, rate")
    assert _design_text(mixed, {"method": "morris", "samples": 4}).startswith(
        "Morris's elementary-effects design (SALib) of 2 inputs, 4 trajectories of p + 1 points")
    assert _design_text(Experiment.model_validate({**data, "axes": []}), None) == "the scenario as it is"
