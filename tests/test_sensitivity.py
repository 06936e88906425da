"""``leadtime-sim sensitivity``: Sobol and Morris indices on a case whose answer is known
(one input moves the close date, one is inert), the noise share by hand, and the CLI."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from leadtime_sim.cli import main
from leadtime_sim.experiment.sensitivity import (
    SOBOL_COLUMNS,
    Study,
    morris_notes,
    outputs,
    problem_of,
    sample,
)
from leadtime_sim.experiment.sensitivity import analyse as analyse_indices
from leadtime_sim.experiment.spec import Axis

# One line, constant takt T, 60 units ordered at start, flow 2: the gap closes at month
# 60 T + 2 exactly; the unit cost changes nothing (the file says why).
MODEL = (Path(__file__).parent / "data" / "one_line_60_units.toml").read_text()
EXPERIMENT = """
name = "known answer"
model = "model.toml"
replications = 1
seed = 5
[[axes]]
path = "factories.f.takt_months"
label = "takt"
range = [1.0, 2.0]
[[axes]]
path = "products.p.unit_cost_musd"
label = "unit cost"
range = [1.0, 10.0]
"""


@pytest.fixture()
def experiment(tmp_path: Path) -> Path:
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "sens.toml").write_text(EXPERIMENT)
    return tmp_path / "sens.toml"


def analyse(experiment: Path, *args: str) -> tuple[pd.DataFrame, dict]:
    out = experiment.parent / "out"
    result = CliRunner().invoke(main, ["sensitivity", str(experiment), "--out", str(out), "--workers", "1",
                                       "--executor", "serial", "--force", *args])
    assert result.exit_code == 0, result.output
    return pd.read_csv(out / "sensitivity.csv"), json.loads((out / "sensitivity.json").read_text())


TAKT_AND_DISCRETE_FLOW = EXPERIMENT.split("[[axes]]")[0] + """
[[axes]]
path = "factories.f.takt_months"
label = "takt"
range = [1.0, 2.0]
[[uncertain]]
path = "factories.f.flow_months"
label = "flow"
distribution = {dist = "empirical", values = [1, 2, 3], weights = [0.1, 0.8, 0.1]}
"""
"""A takt range and a flow whose four Morris levels are all 2 (its 1/8 to 7/8 quantiles)."""


@pytest.mark.slow
def test_sobol_finds_the_input_that_matters_and_the_inert_one(experiment: Path) -> None:
    """The close month is 60 T + 2: all its variance is the takt's (S1 = ST = 1, up to the
    estimator's error: the bootstrap interval must hold 1), none the unit cost's (exactly 0)."""
    table, summary = analyse(experiment, "--samples", "64")
    assert list(table.columns) == SOBOL_COLUMNS
    takt = table[table["input"] == "takt"].iloc[0]
    cost = table[table["input"] == "unit cost"].iloc[0]
    assert takt.S1_lo <= 1.0 <= takt.S1_hi and takt.ST_lo <= 1.0 <= takt.ST_hi
    assert takt.S1 > 0.8 and takt.ST > 0.8
    assert cost.S1 == 0 and cost.ST == 0
    assert summary["points"] == 64 * (2 + 2)
    info = summary["metrics"]["gap_closed_months.a_p"]  # one replication per point: no noise to measure
    assert info["noise_share"] is None and info["noise_share_note"] == "not estimated (one replication per point)"


def test_morris_effect_is_the_slope_by_hand(experiment: Path) -> None:
    """d(close month)/d(takt) = 60 everywhere, so mu* = 60 with no spread; the cost: 0."""
    table, summary = analyse(experiment, "--method", "morris", "--samples", "6")
    takt = table[table["input"] == "takt"].iloc[0]
    assert takt.mu_star == pytest.approx(60, rel=1e-9) and takt.sigma == pytest.approx(0, abs=1e-9)
    assert table[table["input"] == "unit cost"].iloc[0].mu_star == 0
    assert summary["points"] == 6 * 3


def test_p_closed_is_a_share_of_replications(experiment: Path) -> None:
    """Closed by 2029-01 (month 48) when 60 T + 2 <= 48, i.e. T <= 46/60: never on [1, 2];
    by 2035-01 (month 120) when T <= 118/60."""
    table, summary = analyse(experiment, "--samples", "16", "--metric", "p_closed.a_p@2035-01")
    assert set(table["metric"]) == {"p_closed.a_p@2035-01"}
    assert 0 < summary["metrics"]["p_closed.a_p@2035-01"]["mean"] < 1
    assert table.set_index("input").loc["takt", "ST"] > 0.5


def test_the_noise_share_needs_two_replications() -> None:
    """One replication per point has no replications' variance: the share is not estimated
    (it read 0%, "no noise"); two that agree at every point are a deterministic model: 0."""
    once = pd.DataFrame({"point_id": [0, 1], "replication": [0, 0], "status": "ok",
                         "gap_closed_months.r": [10.0, 20.0]})
    means, noise, note = outputs(once, "gap_closed_months.r", 2, 22.0, "2025-01")
    assert list(means) == [10, 20] and noise is None and note == "not estimated (one replication per point)"
    twice = pd.DataFrame({"point_id": [0, 0, 1, 1], "replication": [0, 1, 0, 1], "status": "ok",
                          "gap_closed_months.r": [10.0, 10.0, 20.0, 20.0]})
    assert outputs(twice, "gap_closed_months.r", 2, 22.0, "2025-01")[1:] == (0.0, None)


def test_one_replication_per_point_says_the_noise_is_not_estimated(experiment: Path) -> None:
    """The printed line and --json (null, and why), not "noise 0% of the variance"."""
    args = ["sensitivity", str(experiment), "--method", "morris", "--samples", "4", "--executor", "serial",
            "--out", str(experiment.parent / "out")]
    printed = CliRunner().invoke(main, args)
    assert printed.exit_code == 0, printed.output
    assert "gap_closed_months.a_p (noise not estimated (one replication per point)):" in printed.output
    as_json = CliRunner().invoke(main, [*args, "--resume", "--json"])
    info = json.loads(as_json.stdout)["metrics"]["gap_closed_months.a_p"]
    assert info["noise_share"] is None and info["noise_share_note"] == "not estimated (one replication per point)"


def test_a_sobol_sample_count_not_a_power_of_2_is_one_warning_line(experiment: Path) -> None:
    """--help asks for a power of 2 for Sobol; another N still runs, with one line in the
    tool's words instead of scipy's raw UserWarning (file, line and source on stderr)."""
    args = ["sensitivity", str(experiment), "--samples", "6", "--executor", "serial",
            "--out", str(experiment.parent / "out")]
    with warnings.catch_warnings(record=True) as raw:
        warnings.simplefilter("always")
        result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert [str(w.message) for w in raw if "Sobol" in str(w.message)] == []
    told = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert told == ["warning: --samples 6 is not a power of 2: Sobol' points lose their balance and the "
                    "indices converge more slowly (4 or 8 keep it)"]
    again = CliRunner().invoke(main, [*args[:3], "8", *args[4:], "--force"])
    assert again.exit_code == 0 and "warning:" not in again.stderr, again.output


@pytest.mark.parametrize(("date", "warning"), [
    ("2041-01", "2041-01 is after the horizon's end (2040-01): P(closed by it) is P(closed by the end)"),
    ("2024-06", "2024-06 is before the horizon's start (2025-01)"),
    ("2040-01", None)])
def test_a_p_closed_date_outside_the_horizon_is_warned_of_as_targets_are(experiment: Path, date: str,
                                                                         warning: str | None) -> None:
    result = CliRunner().invoke(main, ["sensitivity", str(experiment), "--method", "morris", "--samples", "2",
                                       "--metric", f"p_closed.a_p@{date}", "--executor", "serial",
                                       "--out", str(experiment.parent / "out")])
    assert result.exit_code == 0, result.output
    told = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert told == ([f"warning: --metric p_closed.a_p@{date}: {warning}"] if warning else [])


def test_a_scenario_without_requirements_needs_a_metric_and_analyses_those_it_has(experiment: Path) -> None:
    """With no requirements the default metrics (every requirement's gap_closed_months) are
    none: a traceback from pandas ("No objects to concatenate") after every run. Now one
    line before any run naming metrics it has; --metric quoted_lead_time_months.p works."""
    model = experiment.parent / "model.toml"
    model.write_text(MODEL.split("[requirements.a_p]")[0])
    out = experiment.parent / "out"
    args = ["sensitivity", str(experiment), "--method", "morris", "--samples", "2", "--executor", "serial",
            "--out", str(out)]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2 and "Traceback" not in refused.output and refused.exception is not None
    assert refused.output.strip().splitlines() == [
        f"error: {experiment}: the scenario has no requirements, so there is no default metric (every "
        "requirement's gap_closed_months); give --metric, e.g. quoted_lead_time_months.p, capex_musd"]
    assert not out.exists()
    done = CliRunner().invoke(main, [*args, "--metric", "quoted_lead_time_months.p", "--metric", "capex_musd"])
    assert done.exit_code == 0, done.output
    assert set(pd.read_csv(out / "sensitivity.csv")["metric"]) == {"quoted_lead_time_months.p", "capex_musd"}


def test_the_noise_share_by_hand() -> None:
    """Two points, three replications under common random numbers: (10, 12, 14) and (20, 23,
    23). Point means 12 and 22 (variance 50). Replication means 15, 17.5, 18.5, grand mean
    17: the residuals y - point mean - replication mean + 17 are 0, -0.5, 0.5 and 0, 0.5,
    -0.5, a sum of squares of 1 over (2 - 1)(3 - 1) = 2 degrees of freedom: 0.5, over 3
    replications 1/6: noise share 1/300. (The replications' own variance at a point, 4 and 3,
    gave 3.5 / 3 / 50 = 7/300: it counted the noise common to both points, which moves both
    means alike.)"""
    runs = pd.DataFrame({"point_id": [0, 0, 0, 1, 1, 1], "replication": [0, 1, 2, 0, 1, 2], "status": "ok",
                         "gap_closed_months.r": [10.0, 12.0, 14.0, 20.0, 23.0, np.nan]})
    means, noise, note = outputs(runs, "gap_closed_months.r", 2, 23.0, "2025-01")
    assert list(means) == [12, 22] and note is None  # the run not closed by the end is censored at the horizon (23)
    assert noise == pytest.approx(1 / 300)


def test_noise_common_to_every_point_is_not_counted_and_the_rest_is_unbiased() -> None:
    """y = input effect + a replication's common noise (sd 3, the same at every point) + noise
    of its own (sd 1). The point means' spread holds 1/R of the own noise only: over many
    draws the share's numerator estimates 1/R exactly (the old estimate, 1 + 9 over R, ten
    times too much)."""
    rng = np.random.default_rng(7)
    points, reps = 20, 4
    effect = np.linspace(0.0, 2.0, points)
    estimates = []
    for _ in range(200):
        y = effect[:, None] + rng.normal(0, 3, reps)[None, :] + rng.normal(0, 1, (points, reps))
        runs = pd.DataFrame({"point_id": np.repeat(np.arange(points), reps),
                             "replication": np.tile(np.arange(reps), points), "status": "ok",
                             "gap_closed_months.r": y.ravel()})
        means, noise, _ = outputs(runs, "gap_closed_months.r", points, 1e9, "2025-01")
        estimates.append(noise * float(np.var(means, ddof=1)))
    assert np.mean(estimates) == pytest.approx(1 / reps, rel=0.1)


def test_runs_failed_so_that_no_two_replications_are_whole_leave_the_noise_unestimated() -> None:
    runs = pd.DataFrame({"point_id": [0, 0, 1, 1], "replication": [0, 1, 1, 2], "status": "ok",
                         "gap_closed_months.r": [10.0, 12.0, 20.0, 23.0]})
    _, noise, note = outputs(runs, "gap_closed_months.r", 2, 30.0, "2025-01")
    assert noise is None and note == "not estimated (fewer than two replications succeeded at every point)"


@pytest.mark.slow
def test_executors_give_the_same_indices(experiment: Path, tmp_path: Path) -> None:
    serial, _ = analyse(experiment, "--samples", "8")
    out = tmp_path / "process"
    result = CliRunner().invoke(main, ["sensitivity", str(experiment), "--samples", "8", "--out", str(out),
                                       "--workers", "2"])
    assert result.exit_code == 0, result.output
    pd.testing.assert_frame_equal(serial, pd.read_csv(out / "sensitivity.csv"))


@pytest.mark.parametrize("metric", [None, "p_closed.a_p@2030-01"])
def test_a_metric_the_experiment_does_not_record_is_refused_before_any_run(experiment: Path,
                                                                            metric: str | None) -> None:
    """An experiment's ``metrics`` list keeps only those columns: the default close month (or
    the p_closed read from it) was missing after every run (a KeyError for p_closed)."""
    experiment.write_text(experiment.read_text().replace("seed = 5", 'seed = 5\nmetrics = ["capex_musd"]'))
    args = ["sensitivity", str(experiment), "--out", str(experiment.parent / "o")]
    result = CliRunner().invoke(main, args + (["--metric", metric] if metric else []))
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert "metrics = ['capex_musd'] does not record gap_closed_months.a_p" in result.output
    assert not (experiment.parent / "o").exists()


@pytest.mark.parametrize(("edit", "metric", "problem"), [
    (lambda text: text.replace('range = [1.0, 2.0]', 'values = [1.0, 2.0]').replace(
        'range = [1.0, 10.0]', 'values = [1.0]'), None, "no uncertain inputs"),
    (None, "nonsense", "--metric nonsense: unknown metric"),
    (None, "p_closed.a_p@2030-13", "--metric p_closed.a_p@2030-13: '2030-13': month must be 01-12"),
    (None, "p_closed.a_p@soon", "--metric p_closed.a_p@soon: 'soon' is not a date"),
    (None, "gap_closed_months.nope", "--metric gap_closed_months.nope: no requirement 'nope' in the scenario "
                                     "(known: a_p)"),
    (None, "gap_closed_months", "--metric gap_closed_months: give the requirement"),
    (None, "quoted_lead_time_months.q", "--metric quoted_lead_time_months.q: no product 'q'"),
    (None, "capex_musd.p", "--metric capex_musd.p: capex_musd is one number per run"),
])
def test_bad_input_is_one_line_and_exit_2(experiment: Path, edit, metric: str | None, problem: str) -> None:
    if edit is not None:
        experiment.write_text(edit(experiment.read_text()))
    args = ["sensitivity", str(experiment), "--out", str(experiment.parent / "o")]
    if metric is not None:
        args += ["--metric", metric]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2 and problem in result.output and "Traceback" not in result.output
    assert not (experiment.parent / "o").exists()


@pytest.mark.slow
def test_resume_reuses_the_store_and_another_design_is_refused(experiment: Path) -> None:
    """The analysis is a results store: --resume finishes it (here: nothing left to run, the
    same indices); another method or sample count is another design, refused (exit 2)."""
    first, _ = analyse(experiment, "--samples", "8")
    out = experiment.parent / "out"
    again = CliRunner().invoke(main, ["sensitivity", str(experiment), "--samples", "8", "--out", str(out),
                                      "--executor", "serial", "--resume"])
    assert again.exit_code == 0, again.output
    pd.testing.assert_frame_equal(first, pd.read_csv(out / "sensitivity.csv"))
    other = CliRunner().invoke(main, ["sensitivity", str(experiment), "--samples", "16", "--out", str(out),
                                      "--executor", "serial", "--resume"])
    assert other.exit_code == 2 and "another experiment" in other.output


@pytest.mark.slow
@pytest.mark.parametrize(("replications", "noise"), [
    ("1", "Simulation noise: not estimated (one replication per point)"),
    ("2", "Simulation noise: 0% of the variance")])  # a deterministic model, run twice
def test_the_report_has_a_sensitivity_section(experiment: Path, replications: str, noise: str) -> None:
    """The experiment runs once per point: there is no noise share to give (it read 0%); with
    two replications the model's determinism shows as 0%. The question and the answer are
    the analysis's (they were a sweep's: "When does each delivery gap close ...")."""
    analyse(experiment, "--samples", "8", "--replications", replications)
    out = experiment.parent / "out"
    assert (out / "charts" / "sensitivity-gap_closed_months.a_p.png").read_bytes().startswith(b"\x89PNG")
    result = CliRunner().invoke(main, ["report", str(out)])
    assert result.exit_code == 0, result.output
    text = (out / "report.html").read_text(encoding="utf-8")
    section = text[text.index("<h2>Sensitivity</h2>"):]  # (a collapsible section of its own)
    assert noise in section and "takt" in section
    assert "data:image/png;base64," in section
    question = text[text.index("<h2>The question</h2>"):text.index("<h2>The answer</h2>")]
    assert "Which uncertain input moves each metric most" in question
    assert f"Sobol analysis of takt, unit cost: 32 points x {replications} replications" in question
    assert "When does each delivery gap close" not in question  # (the sweep's question)
    answer = text[text.index("<h2>The answer</h2>"):text.index("<h2>Scenario and experiment")]
    assert "gap_closed_months.a_p moves most with takt (ST = " in answer


def test_the_answer_over_morris_points_is_not_given_as_a_sample_of_the_inputs(experiment: Path) -> None:
    """The close month is 60 T + 2 with T uniform over [1, 2]: uniform over months 62-122, P10
    68 and P90 116. Morris's points put T at four levels, its range's ends included, and the
    report's answer pooled them "over 12 sampled points ... (input uncertainty and simulation
    noise together)": P10 2030-03 (month 62) and P90 2035-03 (122), the ends of the range."""
    from leadtime_sim.report import headlines
    from leadtime_sim.results import load_results

    analyse(experiment, "--method", "morris", "--samples", "4")
    runs = pd.read_parquet(experiment.parent / "out" / "runs.parquet")
    assert sorted(runs["axis:takt"].round(4).unique()) == [1.0, 1.3333, 1.6667, 2.0]
    [text] = [h.text for h in headlines(load_results(experiment.parent / "out"))]
    assert "sampled points" not in text and "input uncertainty and simulation noise together" not in text
    assert "over the 12 points of the Morris screening design of takt, unit cost (12 runs; each input " \
           "at four levels, a range's ends included: not a sample of what is uncertain" in text, text
    # (its partial rank correlations over 280 Morris points of 13 inputs named an export order rate
    # as moving a close month (+0.13) none of whose Morris steps changed it: mu* = 0, sigma = 0)
    assert "partial rank correlation" not in text and "which inputs move it: the Morris indices" in text


def test_not_by_end_says_how_many_runs_and_leaves_failed_runs_out(experiment: Path) -> None:
    """The close month 60 T + 2, T over [1, 2], passes a horizon of 96 months for T above
    1.567: then the run is censored at the horizon. sensitivity.json said only "censored at the
    horizon", not in how many runs (here 14 of 32; with most runs open an index says more about
    whether the gap closes than when), and counted a failed run, which has no value either, as
    one not closed."""
    from leadtime_sim.experiment.runner import plan_experiment
    from leadtime_sim.experiment.sensitivity import indices, sensitivity_plan

    _, summary = analyse(experiment, "--samples", "8", "--set", "end=2033-01")
    runs = pd.read_parquet(experiment.parent / "out" / "runs.parquet")
    open_runs = int(runs["gap_closed_months.a_p"].isna().sum())
    assert 0 < open_runs < len(runs) == 32
    info = summary["metrics"]["gap_closed_months.a_p"]
    assert info["not_by_end"] == (f"censored at the horizon (2033-01, 96 months): {open_runs} of 32 runs "
                                  f"({open_runs / 32:.0%})")
    assert info["share_not_by_end"] == open_runs / 32
    plan = plan_experiment(experiment, ("end=2033-01",))
    study = Study("sobol", 8, ("gap_closed_months.a_p", "capex_musd"))
    analysis, matrix = sensitivity_plan(plan, study)
    closed = pd.concat([runs, runs.assign(replication=1)], ignore_index=True).assign(
        **{"gap_closed_months.a_p": lambda frame: 3.0 + frame["point_id"] % 2})
    closed.loc[0, ["status", "gap_closed_months.a_p"]] = ["error", np.nan]  # (closed at every other run)
    _, failed = indices(analysis, study, matrix, closed)
    assert failed["metrics"]["gap_closed_months.a_p"]["not_by_end"] is None
    assert failed["metrics"]["gap_closed_months.a_p"]["share_not_by_end"] == 0


def test_a_metric_no_input_moves_has_no_noise_share() -> None:
    """Common random numbers: the same replications at every point give the same mean, so
    there is no variance between points to split (not "all noise")."""
    runs = pd.DataFrame({"point_id": [0, 0, 1, 1], "replication": [0, 1, 0, 1], "status": "ok",
                         "gap_closed_months.r": [10.0, 12.0, 10.0, 12.0]})
    means, noise, note = outputs(runs, "gap_closed_months.r", 2, 22.0, "2025-01")
    assert list(means) == [11, 11] and noise is None and note is None


UNCERTAIN = """
name = "known answer, uncertain inputs"
model = "model.toml"
replications = 1
seed = 5
[[uncertain]]
path = "factories.f.takt_months"
label = "takt"
distribution = {dist = "uniform", low = 1.0, high = 2.0}
[[uncertain]]
path = "products.p.unit_cost_musd"
label = "unit cost"
distribution = {dist = "gamma", mean = 5.0, sd = 2.0}
"""


@pytest.fixture()
def uncertain(tmp_path: Path) -> Path:
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "unc.toml").write_text(UNCERTAIN)
    return tmp_path / "unc.toml"


def test_morris_on_uncertain_inputs_steps_between_bin_middles(uncertain: Path) -> None:
    """An uncertain input's Morris levels are the quantiles 1/8, 3/8, 5/8, 7/8: for takt
    uniform on [1, 2] a step of 2/3 of the unit range moves takt by 0.5, the close month by
    60 x 0.5 = 30, so mu* = 30 / (2/3) = 45 (a range axis [1, 2] gives 60); cost inert."""
    table, summary = analyse(uncertain, "--method", "morris", "--samples", "6")
    takt = table[table["input"] == "takt"].iloc[0]
    assert takt.mu_star == pytest.approx(45, rel=1e-9) and takt.sigma == pytest.approx(0, abs=1e-9)
    assert table[table["input"] == "unit cost"].iloc[0].mu_star == 0
    assert summary["inputs"][1] == {"input": "unit cost", "path": "products.p.unit_cost_musd",
                                    "distribution": {"dist": "gamma", "mean": 5.0, "sd": 2.0}}
    points = pd.read_csv(uncertain.parent / "out" / "points.csv")
    assert set(np.round(points["takt"], 9)) <= {1.125, 1.375, 1.625, 1.875}


@pytest.mark.slow
def test_sobol_on_uncertain_inputs_finds_the_input_that_matters(uncertain: Path) -> None:
    table, _ = analyse(uncertain, "--samples", "64")
    takt = table[table["input"] == "takt"].iloc[0]
    cost = table[table["input"] == "unit cost"].iloc[0]
    assert takt.S1_lo <= 1.0 <= takt.S1_hi and takt.ST > 0.8
    assert cost.S1 == 0 and cost.ST == 0


def test_equal_point_means_that_are_not_round_numbers_have_no_noise_share() -> None:
    """The variance of 70 equal floats such as 137.4333... comes out at about 1e-27, not 0:
    it must still read as "no input moves it", not as 100% noise."""
    value = 412.3 / 3
    runs = pd.DataFrame({"point_id": np.repeat(np.arange(70), 2), "replication": np.tile([0, 1], 70),
                         "status": "ok", "gap_closed_months.r": np.tile([value, value + 1.0], 70)})
    means, noise, _ = outputs(runs, "gap_closed_months.r", 70, 240.0, "2025-01")
    assert float(np.var(means)) != 0.0 and noise is None


INTEGER = """
name = "known answer, an integer input"
model = "model.toml"
replications = 1
seed = 5
[[axes]]
path = "factories.f.flow_months"
label = "flow"
range = RANGE
integer = true
[[axes]]
path = "factories.f.takt_months"
label = "takt"
range = [1.0, 2.0]
"""


ROUNDED_SOBOL = """
name = "Sobol over rounded inputs"
model = "model.toml"
replications = 1
seed = 5
[[axes]]
path = "factories.f.flow_months"
label = "flow"
range = [1, 3]
integer = true
[[axes]]
path = "orders[0].placed"
label = "placed"
range = ["2025-01-20", "2025-03-10"]
[[axes]]
path = "factories.f.takt_months"
label = "takt"
range = [1.0, 2.0]
"""


def test_sobol_takes_each_whole_number_and_month_of_a_rounded_range_alike(tmp_path: Path) -> None:
    """A sweep samples an integer range [1, 3] as 1, 2 and 3 alike; Sobol rounded its
    coordinate, so 1 and 3 came half as often as 2 (1/4, 1/2, 1/4: the input's variance, and
    its share, understated), and a date range ending on the 10th, from the 20th, was rounded up
    to 2025-03-20, past its end, in a tenth of the points. Now both as a sweep takes them."""
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "rounded.toml").write_text(ROUNDED_SOBOL)
    analyse(tmp_path / "rounded.toml", "--samples", "64")
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    flow = runs["axis:flow"].value_counts(normalize=True)
    assert sorted(flow.index) == [1, 2, 3] and flow.between(0.3, 0.37).all(), flow
    placed = runs["axis:placed"].value_counts(normalize=True)
    assert sorted(placed.index) == ["2025-01-20", "2025-02-20"] and placed.between(0.45, 0.55).all(), placed


@pytest.mark.parametrize(("high", "placed"), [("2025-03-10", ["2025-01-20", "2025-02-20"]),
                                              ("2025-02-10", ["2025-01-20"])])
def test_morris_levels_of_a_date_range_stay_within_it(tmp_path: Path, high: str, placed: list[str]) -> None:
    """Morris's levels over 2025-01-20 to 2025-03-10 (1.67 months) rounded to 0, 1, 1, 2 months
    after the start: 2025-03-20, past the range's end, as was 2025-02-20 for a range ending
    2025-02-10. The levels now span the whole months the range holds (none: its start only,
    and the note says no step moved it)."""
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "rounded.toml").write_text(ROUNDED_SOBOL.replace("2025-03-10", high))
    _, summary = analyse(tmp_path / "rounded.toml", "--method", "morris", "--samples", "6")
    runs = pd.read_parquet(tmp_path / "out" / "runs.parquet")
    assert sorted(runs["axis:placed"].unique()) == placed
    notes = [n for n in summary["notes"] if n.startswith("placed: ")]
    assert bool(notes) == (len(placed) == 1), summary["notes"]


@pytest.mark.parametrize(("low", "high"), [(1, 3), (0, 1), (0, 5)])
def test_morris_effect_of_an_integer_input_is_over_the_step_it_made(tmp_path: Path, low: int,
                                                                     high: int) -> None:
    """The close month is 60 T + flow: slope 1 in the flow, so mu* = 1 x its range. Morris's
    levels round (over [1, 3]: 1, 2, 2, 3), so a step moves the flow by 1, not by the 2/3 of
    the range SALib divides by (it gave 1.5 for [1, 3], 1.5 for [0, 1], 4.5 for [0, 5]); the
    takt, not rounded, keeps SALib's own figures, bit for bit."""
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "int.toml").write_text(INTEGER.replace("RANGE", f"[{low}, {high}]"))
    table, summary = analyse(tmp_path / "int.toml", "--method", "morris", "--samples", "6")
    flow = table[table["input"] == "flow"].iloc[0]
    assert flow.mu_star == pytest.approx(high - low, rel=1e-12) and flow.mu == pytest.approx(high - low)
    assert flow.sigma == pytest.approx(0, abs=1e-9) and flow.mu_star_lo == pytest.approx(high - low)
    assert summary["notes"] == []
    takt = table[table["input"] == "takt"].iloc[0]
    assert takt.mu_star == pytest.approx(60, rel=1e-9)


def test_morris_on_a_rounded_input_is_salib_for_the_others_and_drops_steps_that_did_not_move() -> None:
    """Continuous inputs get SALib's analysis unchanged (the same bits, intervals included);
    an integer input over [0.6, 1.6] rounds its levels to 1, 1, 1, 2 (some steps leave it at
    1: no effect to measure, dropped), over [0.6, 1.4] to 1 throughout (nothing left: NaN,
    and a note says why)."""
    from SALib.analyze import morris

    axes = [Axis(path="a", range=[0.0, 4.0]), Axis(path="n", range=[0.6, 1.6], integer=True),
            Axis(path="m", range=[0.6, 1.4], integer=True), Axis(path="b", range=[-1.0, 1.0])]
    study = Study("morris", 20)
    matrix = sample(axes, study, 3)
    rounded = np.round(matrix[:, 1])
    y = matrix[:, 0] ** 2 + 3.0 * rounded + matrix[:, 0] * matrix[:, 3]
    table = analyse_indices(axes, study, matrix, y, "y", 3)
    salib = morris.analyze(problem_of(axes), matrix, y, num_levels=4, seed=3)
    for j in (0, 3):
        row = table.iloc[j]
        assert (row.mu, row.mu_star, row.sigma) == (salib["mu"][j], salib["mu_star"][j], salib["sigma"][j])
        assert row.mu_star_hi == salib["mu_star"][j] + salib["mu_star_conf"][j]
    n = table.iloc[1]
    assert n.mu_star == pytest.approx(3.0 * 1.0) and n.sigma == pytest.approx(0, abs=1e-12)
    assert np.isnan(table.iloc[2].mu_star)
    notes = morris_notes(axes, study, matrix)
    assert any(note.startswith("n: ") and "did not move it" in note for note in notes)
    assert any(note.startswith("m: no step") for note in notes)


def test_morris_mu_star_intervals_do_not_go_below_zero() -> None:
    """mu* is a mean of absolute effects (>= 0), but its interval was mu* -/+ SALib's normal
    bootstrap half-width: on a noisy output with few trajectories mu*_lo came out below 0
    (here for every input). Now it is cut at 0; mu* and the upper end are SALib's."""
    from SALib.analyze import morris

    axes = [Axis(path="a", range=[0.0, 1.0]), Axis(path="b", range=[0.0, 1.0]),
            Axis(path="n", range=[0, 4], integer=True)]
    study = Study("morris", 4)
    matrix = sample(axes, study, 3)
    y = np.random.default_rng(3).normal(0.0, 1.0, len(matrix)) ** 3
    table = analyse_indices(axes, study, matrix, y, "y", 3)
    salib = morris.analyze(problem_of(axes), matrix, y, num_levels=4, seed=3)
    assert (salib["mu_star"][:2] - salib["mu_star_conf"][:2] < 0).all()  # (the case: SALib's would)
    assert (table["mu_star_lo"] >= 0).all() and (table["mu_star_lo"] <= table["mu_star"]).all()
    assert list(table["mu_star_hi"][:2]) == list(salib["mu_star"][:2] + salib["mu_star_conf"][:2])


def test_sobol_indices_outside_0_1_get_a_caution(tmp_path: Path) -> None:
    """At N = 4 the takt's S1 came out 1.43 [0.19, 2.66] and ST 1.62 with no word that no
    index can exceed 1; now the printed output, sensitivity.json and the report say so."""
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "sens.toml").write_text(EXPERIMENT)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sensitivity", str(tmp_path / "sens.toml"), "--samples", "4",
                                       "--executor", "serial", "--out", str(out)])
    assert result.exit_code == 0, result.output
    caution = json.loads((out / "sensitivity.json").read_text())["metrics"]["gap_closed_months.a_p"]["caution"]
    assert caution == ("S1 of takt is 1.43 and ST of takt is 1.62, outside [0, 1] where no index can be: "
                       "sampling error, the indices have not settled; raise --samples (and --replications "
                       "if the noise share is large)")
    assert f"  caution: {caution}" in result.output
    assert CliRunner().invoke(main, ["report", str(out)]).exit_code == 0
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "Caution: S1 of takt is 1.43" in report and "caution: indices outside [0, 1]" in report
    # An index 1.0004 (1.00 printed) is no caution, nor an interval reaching 1.29 or -0.2 (it
    # cannot tell the index from 1 or from 0: no sign that the indices are unsettled); -0.05 is.
    from leadtime_sim.experiment.sensitivity import sobol_caution

    wide = pd.DataFrame({"input": ["takt", "cost"], "S1": [1.0004, 0.0], "S1_lo": [0.71, -0.2],
                         "S1_hi": [1.29, 0.2], "ST": [0.98, 0.0], "ST_lo": [0.8, 0.0], "ST_hi": [1.003, 0.0]})
    assert sobol_caution(wide) is None
    assert sobol_caution(wide.assign(S1=[1.0, -0.05])) == (
        "S1 of cost is -0.05, outside [0, 1] where no index can be: sampling error, the indices have "
        "not settled; raise --samples (and --replications if the noise share is large)")


def test_report_of_an_interrupted_analysis_gives_the_command_that_resumes_it(
        experiment: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A sensitivity store stopped after 5 runs: its report said "This sweep did not finish
    ...; finish it with leadtime-sim sweep sens.toml --out OUT --resume", which is refused as
    another experiment (no study, other replications); so was a sweep's with --replications
    or --set left out."""
    from conftest import ctrl_c_after_runs

    out = experiment.parent / "out"
    args = ["sensitivity", str(experiment), "--method", "morris", "--samples", "2", "--replications", "2",
            "--set", "factories.f.flow_months=3", "--out", str(out), "--workers", "1", "--executor", "serial"]
    undo = ctrl_c_after_runs(monkeypatch, 5)
    assert CliRunner().invoke(main, args).exit_code == 130
    undo()
    done = CliRunner().invoke(main, ["report", str(out)])
    assert done.exit_code == 0, done.output
    page = (out / "report.html").read_text()
    command = (f"leadtime-sim sensitivity {experiment} --method morris --samples 2 --replications 2 "
               f"--seed 5 --set factories.f.flow_months=3 --out {out} --resume")
    assert "This sensitivity analysis did not finish (interrupted): 5 of 12 runs done, 0 failed" in page
    assert command in page, page.split("did not finish")[1][:400]
    resumed = CliRunner().invoke(main, [*command.split()[1:], "--workers", "1", "--executor", "serial"])
    assert resumed.exit_code == 0, resumed.output


def test_sigterm_stops_an_analysis_with_a_line_naming_its_store(experiment: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM (``terminate``: SystemExit 143) exited 143 with no line at all, where sweep and
    optimize say "terminated: finished runs are in OUT; continue with --resume"."""
    from leadtime_sim.experiment.store import ResultsStore

    def terminated(self: ResultsStore, outcome: object) -> None:
        raise SystemExit(143)

    monkeypatch.setattr(ResultsStore, "add", terminated)
    out = experiment.parent / "out"
    result = CliRunner().invoke(main, ["sensitivity", str(experiment), "--method", "morris", "--samples", "2",
                                       "--out", str(out), "--workers", "1", "--executor", "serial"])
    assert result.exit_code == 143, result.output
    assert f"terminated: finished runs are in {out.resolve()}; continue with --resume" in result.output
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"


@pytest.mark.parametrize(("signalled", "code", "word"), [
    (KeyboardInterrupt(), 130, "interrupted"), (SystemExit(143), 143, "terminated")])
def test_a_signal_after_the_runs_says_they_are_complete_and_how_to_write_the_rest(
        experiment: Path, monkeypatch: pytest.MonkeyPatch, signalled: BaseException, code: int,
        word: str) -> None:
    """A Ctrl-C or SIGTERM while the indices and charts were written (after every run) exited
    143 with no word (or said to continue, with nothing to run); now one line, and the same
    command with --resume writes them without running anything."""
    import leadtime_sim.cli.sensitivity as command

    def stopped(*args: object) -> None:
        raise signalled

    out = experiment.parent / "out"
    args = ["sensitivity", str(experiment), "--out", str(out), "--executor", "serial", "--samples", "4"]
    monkeypatch.setattr(command, "indices", stopped)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == code, result.output
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("runs ")]
    assert lines == [f"{word}: the runs in {out} are complete; the indices and charts may not all be written: "
                     "run the same command with --resume to write them (it runs nothing)"], result.stderr
    assert not (out / "sensitivity.csv").exists()
    monkeypatch.undo()
    again = CliRunner().invoke(main, [*args, "--resume"])
    assert again.exit_code == 0, again.output
    assert (out / "sensitivity.csv").is_file()


def test_a_morris_input_no_step_moved_is_null_in_json_and_said_in_the_chart(tmp_path: Path) -> None:
    """An integer input over [0.6, 1.4] runs at 1 throughout: its mu*, interval and sigma are
    not estimated. --json printed them as NaN (not JSON: a strict reader refuses the file) and
    the chart left its row blank, as if the input were inert; now they are null, and the chart
    says "not estimated"."""
    from leadtime_sim.plotting import new_figure
    from leadtime_sim.plotting.sensitivity import sensitivity_chart

    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "sens.toml").write_text(EXPERIMENT.split("[[axes]]")[0] + """
[[axes]]
path = "factories.f.takt_months"
label = "takt"
range = [1.0, 2.0]
[[axes]]
path = "factories.f.lines"
label = "lines"
range = [0.6, 1.4]
integer = true
""")
    result = CliRunner().invoke(main, ["sensitivity", str(tmp_path / "sens.toml"), "--out", str(tmp_path / "out"),
                                       "--executor", "serial", "--method", "morris", "--samples", "4", "--json"])
    assert result.exit_code == 0, result.output

    def refuse(constant: str) -> None:
        raise ValueError(constant)

    printed = json.loads(result.stdout[result.stdout.index("{"):], parse_constant=refuse)
    lines = next(row for row in printed["indices"] if row["input"] == "lines")
    assert lines["mu_star"] is None and lines["sigma"] is None
    table = pd.read_csv(tmp_path / "out" / "sensitivity.csv")
    _fig, (ax,) = new_figure()
    sensitivity_chart(table, "gap_closed_months.a_p", ax=ax)
    assert [t.get_text().strip() for t in ax.texts] == ["not estimated: no step of the design moved it"]
    assert ax.get_ylim()[0] < -0.5  # the row is inside the axes, not on its edge


def test_a_metric_named_twice_is_analysed_once(experiment: Path) -> None:
    """--metric capex_musd --metric capex_musd wrote every row of sensitivity.csv twice and
    printed the indices twice."""
    table, summary = analyse(experiment, "--samples", "2", "--metric", "capex_musd", "--metric", "capex_musd")
    assert list(table["input"]) == ["takt", "unit cost"] and list(summary["metrics"]) == ["capex_musd"]


def test_the_reports_answer_names_no_input_for_a_metric_no_input_moves(tmp_path: Path) -> None:
    """On the shipped uncertainty study the US Army objective is the same at every point (every
    mu* 0): the answer read "moves most with median slip (months) (mu* = 0, ...)" - the first of
    equal zeros - while the printed output and the Sensitivity section say no input moves it."""
    from leadtime_sim.report_sensitivity import sensitivity_answer

    inputs = [{"input": "slip", "path": "a.b", "range": [1, 10]}, {"input": "takt", "path": "c.d", "range": [1, 2]}]
    metrics = {"gap_closed_months.moved": {"noise_share": 0.1, "noise_share_note": None, "not_by_end": None,
                                           "caution": None},
               "gap_closed_months.still": {"noise_share": None, "noise_share_note": None, "not_by_end": None,
                                           "caution": None}}
    (tmp_path / "sensitivity.json").write_text(json.dumps(
        {"method": "morris", "samples": 4, "points": 12, "replications": 2, "inputs": inputs, "metrics": metrics}))
    pd.DataFrame({"input": ["slip", "takt"] * 2,
                  "metric": ["gap_closed_months.moved"] * 2 + ["gap_closed_months.still"] * 2,
                  "mu": [0.5, 3.0, 0.0, 0.0], "mu_star": [0.5, 3.0, 0.0, 0.0], "mu_star_lo": [0.4, 2.0, 0.0, 0.0],
                  "mu_star_hi": [0.6, 4.0, 0.0, 0.0], "sigma": [0.1, 0.2, 0.0, 0.0]}
                 ).to_csv(tmp_path / "sensitivity.csv", index=False)
    answer = sensitivity_answer(tmp_path)
    assert "gap_closed_months.moved moves most with takt (mu* = 3" in answer
    assert "gap_closed_months.still: no input moves it" in answer
    assert "still moves most" not in answer


@pytest.mark.parametrize(("metric", "unit"), [("gap_closed_months.a_p", "months"), ("max_gap_units.a_p", "units"),
                                              ("capex_musd", "$M"), ("p_closed.a_p@2030-01", "probability")])
def test_a_morris_chart_gives_the_effects_unit(experiment: Path, metric: str, unit: str) -> None:
    """The tornado's axis read "elementary effect over the input's range (metric's units)" on
    every chart: a planner reading the close month's chart had to know it is months."""
    from leadtime_sim.cli.sensitivity import _what
    from leadtime_sim.experiment.runner import plan_experiment
    from leadtime_sim.plotting import new_figure
    from leadtime_sim.plotting.sensitivity import sensitivity_chart

    assert _what(plan_experiment(experiment, ()), metric)[1] == unit
    table = pd.DataFrame({"input": ["takt"], "metric": [metric], "mu": [1.0], "mu_star": [1.0],
                          "mu_star_lo": [0.5], "mu_star_hi": [1.5], "sigma": [0.1]})
    _fig, (ax,) = new_figure()
    sensitivity_chart(table, metric, noise_share=0.1, unit=unit, ax=ax)
    assert ax.get_xlabel().startswith(f"elementary effect over the input's range ({unit})\n")


def test_the_chart_names_what_is_measured_in_what_unit_and_the_runs_not_closed(experiment: Path) -> None:
    """The tornado of a close month was titled 'What moves it most: a_p' (not what of a_p),
    a Morris chart's effects were in "the metric's units" (not named) and the chart did not
    say that runs not closed by the end were counted at the horizon."""
    from leadtime_sim.cli.sensitivity import _what
    from leadtime_sim.experiment.runner import plan_experiment
    from leadtime_sim.plotting import new_figure
    from leadtime_sim.plotting.sensitivity import sensitivity_chart

    plan = plan_experiment(experiment, ())
    assert _what(plan, "gap_closed_months.a_p") == ("when the gap of a_p closes", "months")
    assert _what(plan, "p_closed.a_p@2030-01") == ("P(the gap of a_p closed by 2030-01)", "probability")
    assert _what(plan, "capex_musd") == ("capex_musd", "$M")
    analyse(experiment, "--method", "morris", "--samples", "4", "--set", "end=2033-01")
    table = pd.read_csv(experiment.parent / "out" / "sensitivity.csv")
    _fig, (ax,) = new_figure()
    sensitivity_chart(table, "gap_closed_months.a_p", label="when the gap of a_p closes", unit="months",
                      noise_share=0.0, not_by_end=0.44, ax=ax)
    assert ax.get_xlabel() == ("elementary effect over the input's range (months)\nsimulation noise: 0% of "
                               "the variance; not by end in 44% of runs, counted at the horizon")
    assert ax.get_title(loc="left") == "What moves it most: when the gap of a_p closes"


def test_a_path_no_point_can_take_is_one_line_not_one_per_point(tmp_path: Path) -> None:
    """takt_months.median on a factory whose takt is a number: every one of the 16 points of
    --samples 4 (and 40 of a sweep of 40) was refused in a line of its own, alike but for the
    value; now one line: the first point's, and how many points have it. A problem of some
    points only (a value out of bounds, differing with it) stays one line per point."""
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "sens.toml").write_text(EXPERIMENT.replace('path = "factories.f.takt_months"',
                                                           'path = "factories.f.takt_months.median"'))
    result = CliRunner().invoke(main, ["sensitivity", str(tmp_path / "sens.toml"), "--samples", "4",
                                       "--executor", "serial", "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"error: {tmp_path / 'sens.toml'}: point 0 {{")
    assert line.endswith("}: factories.f.takt_months.median: unknown key 'median' (allowed here: dist, value); "
                         "the same at every one of the 16 points")
    assert not (tmp_path / "out").exists()


def test_an_uncertain_input_whose_morris_levels_are_one_value_is_not_called_inert(tmp_path: Path) -> None:
    """The flow, empirical over 1, 2, 3 weighted 0.1, 0.8, 0.1, is 2 at each of Morris's levels
    (its 1/8 to 7/8 quantiles): no step moves it, and its mu* = 0, sigma = 0 read as an input
    that does not matter, though the close month is 60 T + flow. Now not estimated (null),
    with a note; the takt keeps its mu* = 60."""
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "sens.toml").write_text(TAKT_AND_DISCRETE_FLOW)
    table, summary = analyse(tmp_path / "sens.toml", "--method", "morris", "--samples", "4")
    flow = table[table["input"] == "flow"].iloc[0]
    assert np.isnan(flow.mu_star) and np.isnan(flow.sigma) and np.isnan(flow.mu)
    assert table[table["input"] == "takt"].iloc[0].mu_star == pytest.approx(60)
    assert summary["notes"] == ["flow: its four levels (the 1/8 to 7/8 quantiles of its distribution) are all "
                                "2.0, so no step of the design moved it: its effects are not estimated"]


def test_the_report_gives_the_notes_and_says_not_estimated_not_nan(tmp_path: Path) -> None:
    """sensitivity.json's notes (here: the flow's four Morris levels are all 2, so nothing
    moved it) were printed but left out of the report, whose table showed its indices as
    NaN; now the section gives every note and the table says "not estimated"."""
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "sens.toml").write_text(TAKT_AND_DISCRETE_FLOW)
    _, summary = analyse(tmp_path / "sens.toml", "--method", "morris", "--samples", "4")
    result = CliRunner().invoke(main, ["report", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    section = text[text.index("<h2>Sensitivity</h2>"):]
    [note] = summary["notes"]
    assert f"<p>Note: {note.replace(chr(39), '&#x27;')}.</p>" in section
    assert "<td>NaN</td>" not in section and "<td>not estimated</td>" in section


def test_a_tornado_of_many_inputs_shows_those_that_move_it_most_and_says_so() -> None:
    """60 inputs (Morris screens many) gave 60 rows of labels on one chart, running into one
    another; now the 25 that move the metric most, and the label says how many more there are,
    how much they move it at most, and that every one is in sensitivity.csv."""
    from leadtime_sim.plotting import new_figure
    from leadtime_sim.plotting.sensitivity import MAX_ROWS, sensitivity_chart

    mu = np.arange(60, dtype=float)
    rows = pd.DataFrame({"input": [f"input {k}" for k in range(60)], "metric": "m", "mu": mu, "mu_star": mu,
                         "mu_star_lo": mu, "mu_star_hi": mu, "sigma": mu / 2})
    _fig, (ax,) = new_figure()
    sensitivity_chart(rows, "m", noise_share=0.1, ax=ax)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert MAX_ROWS == 25 and labels == [f"input {k}" for k in range(35, 60)]
    assert ax.get_xlabel().endswith("\nthe 25 of 60 inputs that move it most; the other 35 (mu* up to 34) are "
                                     "in sensitivity.csv")
    _fig, (ax,) = new_figure()
    sensitivity_chart(rows.iloc[:25], "m", noise_share=0.1, ax=ax)
    assert len(ax.get_yticklabels()) == 25 and "inputs that move it most" not in ax.get_xlabel()


def test_the_chart_of_indices_outside_0_1_says_caution(experiment: Path) -> None:
    """At N = 4 the takt's S1 is 1.43: the printed output, sensitivity.json and the report
    cautioned, but the chart (which goes into slides on its own) drew a bar past 1 with no word."""
    from leadtime_sim.plotting import new_figure
    from leadtime_sim.plotting.sensitivity import sensitivity_chart

    table, summary = analyse(experiment, "--samples", "4")
    assert summary["metrics"]["gap_closed_months.a_p"]["caution"]
    _fig, (ax,) = new_figure()
    sensitivity_chart(table, "gap_closed_months.a_p", noise_share=0.0, caution=True, ax=ax)
    assert ax.get_xlabel().endswith("\ncaution: an index outside [0, 1], where none can be: sampling error; "
                                    "raise --samples")


def test_a_small_noise_share_is_under_1_percent_not_0() -> None:
    """A noise share of 0.4% (the close month of a model with random takts, at 640 points)
    printed "noise 0% of the variance", which reads as no noise at all; a share that is not 0
    but rounds to it is now "under 1%" (printed, charted, reported); 0 stays 0%."""
    from leadtime_sim.experiment.sensitivity import share_text, text
    from leadtime_sim.plotting import new_figure
    from leadtime_sim.plotting.sensitivity import sensitivity_chart

    assert (share_text(0.004), share_text(0.0), share_text(0.07)) == ("under 1%", "0%", "7%")
    table = pd.DataFrame({"input": ["a"], "metric": "m", "S1": [0.5], "S1_lo": [0.4], "S1_hi": [0.6],
                          "ST": [0.5], "ST_lo": [0.4], "ST_hi": [0.6]})
    summary = {"method": "sobol", "points": 8, "replications": 2, "notes": [],
               "metrics": {"m": {"noise_share": 0.004, "noise_share_note": None, "not_by_end": None}}}
    assert "m (noise under 1% of the variance):" in text(table, summary)
    _fig, (ax,) = new_figure()
    sensitivity_chart(table, "m", noise_share=0.004, ax=ax)
    assert ax.get_xlabel().endswith("simulation noise: under 1% of the variance")
