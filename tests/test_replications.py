"""``replications``: the confidence-interval method with look-ahead (Hoad, Robinson and Davies
2010) on an experiment's design points - its arithmetic, its definition, and the command."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from leadtime_sim.cli import main
from leadtime_sim.experiment.aggregate import wilson_interval
from leadtime_sim.experiment.replications import (
    MIN_REPLICATIONS,
    Target,
    look_ahead,
    next_count,
    precision_path,
    solution,
)

DATA = Path(__file__).parent / "data"
RELATIVE = Target(0.05)


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=1, max_value=500, allow_nan=False), min_size=2, max_size=40))
def test_the_precision_is_the_t_interval_half_width_over_the_mean(values: list[float]) -> None:
    x = np.array(values)
    d = precision_path(x, RELATIVE, "gap_closed_months.r")
    absolute = precision_path(x, Target(0.05, half_width=1.0), "gap_closed_months.r")
    assert math.isnan(d[0])
    for n in range(2, len(x) + 1):
        half = stats.t.ppf(0.975, n - 1) * stats.sem(x[:n]) if np.ptp(x[:n]) > 0 else 0.0
        assert absolute[n - 1] == pytest.approx(half, rel=1e-7, abs=1e-9)
        assert d[n - 1] == pytest.approx(half / x[:n].mean(), rel=1e-7, abs=1e-9)


def test_a_probability_is_told_by_its_wilson_interval() -> None:
    closed = np.array([1, 1, 0, 1, 1, 1, 0, 1], float)
    d = precision_path(closed, RELATIVE, "p_closed.r@2030-01")
    for n in range(1, len(closed) + 1):
        low, high = wilson_interval(int(closed[:n].sum()), n)
        assert d[n - 1] == pytest.approx((high - low) / 2)


def test_the_answer_must_hold_over_the_look_ahead() -> None:
    """Within at 4 but not at 6 (inside 4's look-ahead): the answer is the next n whose own
    look-ahead holds; with too few values to confirm it, none yet."""
    d = np.array([np.nan, 0.2, 0.1, 0.04, 0.045, 0.06, 0.04, 0.04, 0.03, 0.03, 0.03, 0.02, 0.02])
    assert solution(d, 0.05, k_limit=5) == 7
    assert solution(d, 0.05, k_limit=2) == 7
    assert solution(d[:10], 0.05, k_limit=5) is None
    assert solution(np.zeros(9), 0.05, k_limit=5) == MIN_REPLICATIONS  # (no spread: the fewest)
    assert look_ahead(100, 5) == 5 and look_ahead(300, 5) == 15


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.floats(0.02, 0.3), st.integers(1, 8))
def test_the_answer_is_the_first_n_that_meets_the_definition(seed: int, cv: float, k_limit: int) -> None:
    x = np.random.default_rng(seed).normal(100.0, 100.0 * cv, 400)
    d = precision_path(x, RELATIVE, "capex_musd")
    n = solution(d, 0.05, k_limit)
    holds = [m for m in range(MIN_REPLICATIONS, len(x) + 1)
             if m + look_ahead(m, k_limit) <= len(x) and (d[m - 1:m + look_ahead(m, k_limit)] <= 0.05).all()]
    assert n == (holds[0] if holds else None)


def test_the_answer_is_the_normal_theorys() -> None:
    """Normal values with a coefficient of variation of 0.1: with the sample sd at its true
    value, a half-width of 5% of the mean needs the smallest n with t(0.975, n - 1) x 0.1 /
    sqrt(n) <= 0.05, which is 18 (z alone would say 16). The median answer over 400
    independent sequences: its 99% order-statistic interval must hold 18."""
    theory = next(n for n in range(2, 100) if stats.t.ppf(0.975, n - 1) * 0.1 / math.sqrt(n) <= 0.05)
    assert theory == 18
    answers = []
    for seed in range(400):
        x = np.random.default_rng([7, seed]).normal(100.0, 10.0, 200)
        n = solution(precision_path(x, RELATIVE, "capex_musd"), 0.05)
        assert n is not None
        answers.append(n)
    answers.sort()
    k = stats.binom.interval(0.99, len(answers), 0.5)  # (order statistics bracketing the median)
    assert answers[int(k[0])] <= theory <= answers[int(k[1])]


def test_rounds_grow_to_the_projection_within_bounds() -> None:
    assert next_count(10, 2.0, 1.0, 500) == 20  # (projected 40 + 5: at most twice)
    assert next_count(10, 1.1, 1.0, 500) == 18  # (projected 13 + 5)
    assert next_count(10, 1.01, 1.0, 500) == 16  # (at least n + kLimit)
    assert next_count(300, 1.5, 1.0, 400) == 400


@pytest.fixture(scope="module")
def answered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("replications") / "store"
    code, output = invoke("replications", DATA / "charts_sweep.toml", "--out", out, "--executor", "serial",
                          "--max-replications", 40, "--first", 8, "--json")
    assert code == 0, output
    return out, json.loads(output[output.index("{"):])


def test_the_command_answers_every_point_and_metric(answered: tuple[Path, dict]) -> None:
    out, answer = answered
    assert {"experiment", "method", "precision", "look_ahead", "replications_run", "recommended",
            "answers", "not_by_end"} <= set(answer)
    rows = answer["answers"]
    metrics = {r["metric"] for r in rows}
    assert metrics == {"gap_closed_months.r"} or all(m.startswith("gap_closed_months.") for m in metrics)
    assert len(rows) == 9 * len(metrics)
    needed = [r["replications"] for r in rows]
    assert answer["recommended"] == (None if None in needed else max(needed))
    assert all(r["precision"] <= r["limit"] + 1e-12 for r in rows if r["replications"] is not None)
    table = pd.read_csv(out / "replications.csv")
    assert len(table) == len(rows) and (out / "replications.json").is_file()
    assert len(list((out / "charts").glob("replications-*.png"))) == len(metrics)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replications"] == answer["replications_run"]
    assert manifest["counts"]["done"] + manifest["counts"]["failed"] == 9 * answer["replications_run"]


def test_the_answer_does_not_depend_on_the_rounds(answered: tuple[Path, dict], tmp_path: Path) -> None:
    """The answers come from the replications in order, and a store grown in rounds holds the
    runs of a fresh one: another first round gives the same answer, and --resume runs none."""
    out, answer = answered
    code, output = invoke("replications", DATA / "charts_sweep.toml", "--out", tmp_path / "other",
                          "--executor", "serial", "--max-replications", 40, "--first", 20, "--json")
    assert code == 0, output
    other = json.loads(output[output.index("{"):])
    assert [r["replications"] for r in other["answers"]] == [r["replications"] for r in answer["answers"]]
    runs = (out / "runs.csv").read_bytes()
    code, output = invoke("replications", DATA / "charts_sweep.toml", "--out", out, "--executor", "serial",
                          "--max-replications", 40, "--first", 8, "--resume", "--json")
    assert code == 0, output
    assert json.loads(output[output.index("{"):])["answers"] == answer["answers"]
    assert (out / "runs.csv").read_bytes() == runs


def test_the_store_is_a_sweep_store_that_reports(answered: tuple[Path, dict]) -> None:
    from leadtime_sim.report_study import study_record
    from leadtime_sim.results import load_results

    code, output = invoke("report", answered[0])
    assert code == 0, output
    page = (answered[0] / "report.html").read_text()
    head = ("replications a point reach the precision" if answered[1]["recommended"] is not None
            else "the precision asked is not reached by")
    assert "Replications needed" in page and head in page
    assert page.count("alt='replications-") == len({r["metric"] for r in answered[1]["answers"]})
    code, output = invoke("export", answered[0])
    assert code == 0, output
    sheets = pd.read_excel(answered[0] / "results.xlsx", sheet_name=None)
    assert list(sheets) == ["summary", "points", "runs", "replications", "study"]
    assert len(sheets["replications"]) == len(answered[1]["answers"])
    said = dict(study_record(load_results(answered[0])))["4.3 Replications"]
    recommended = answered[1]["recommended"]
    assert said.startswith(f"{answered[1]['replications_run']} per design point")
    assert "chosen by leadtime-sim replications" in said
    assert (f"{recommended} a point reach a 95% half-width of 5% of the mean" if recommended is not None
            else "not reached at every point") in said


@pytest.mark.parametrize(("args", "said"), [
    (("--max-replications", 6), "--max-replications 6: must be at least 8"),
    (("--metric", "no_such_metric"), "--metric no_such_metric: unknown metric"),
    (("--precision", 0), "--precision"),
    (("--half-width", -1), "--half-width"),
])
def test_bad_options_are_one_line_and_exit_2(args: tuple[object, ...], said: str, tmp_path: Path) -> None:
    code, output = invoke("replications", DATA / "charts_sweep.toml", "--out", tmp_path / "s", *args)
    assert code == 2 and said in output and "Traceback" not in output
    assert not (tmp_path / "s").exists()


def test_the_chart_draws_points_with_the_same_runs_once() -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from leadtime_sim.plotting.replications import replications_chart

    same = np.array([np.nan, 5.0, 3.0, 2.5, 2.0])
    paths = {"point 0 (x = 1)": same, "point 1 (x = 2)": same.copy(), "point 2 (x = 3)": same / 2}
    _, ax = plt.subplots()  # (its own axes: pyplot's current ones may be another test's)
    ax = replications_chart(paths, {"point 0 (x = 1)": 4, "point 1 (x = 2)": 4, "point 2 (x = 3)": 3}, 3.0,
                            relative=False, metric="gap_closed_months.r", unit="months", ax=ax)
    labels = [" ".join(t.get_text().split()) for t in ax.get_legend().get_texts()]  # (wrapped lines)
    assert labels == ["points 0, 1 (the same runs): 4 replications", "point 2 (x = 3): 3 replications",
                      "precision asked: +/- 3 months"]
    assert ax.get_ylabel() == "95% interval half-width (months)"
    plt.close(ax.figure)
