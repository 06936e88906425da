"""Close dates censored at the horizon (issue 12, item 1): paired comparisons use every pair,
P(closed by) differences get Newcombe's paired interval, and a censored statistic is never
shown as a date. Checked against hand computations on small tables."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from leadtime_sim.experiment import aggregate
from leadtime_sim.experiment.design import DesignPoint

ROOT = Path(__file__).resolve().parents[1]


def test_newcombe_interval_by_hand() -> None:
    """n11 = 5, n10 = 3, n01 = 1, n00 = 1: p1 = 0.8, p2 = 0.6. Wilson 95%: 8/10 -> (0.4902,
    0.9433), 6/10 -> (0.3127, 0.8318). n11 n00 - n10 n01 = 2 < n/2 = 5, so phi = 0 and
    low = 0.2 - sqrt(0.3098^2 + 0.2318^2) = -0.1870, high = 0.2 + sqrt(0.1433^2 + 0.2873^2) = 0.5211."""
    d, low, high = aggregate.newcombe_paired_interval(5, 3, 1, 1)
    assert d == pytest.approx(0.2)
    assert low == pytest.approx(-0.1870, abs=5e-4) and high == pytest.approx(0.5211, abs=5e-4)


def test_newcombe_interval_properties() -> None:
    for table in [(0, 0, 0, 10), (10, 0, 0, 0), (3, 4, 0, 3), (0, 0, 7, 3), (20, 1, 9, 70)]:
        d, low, high = aggregate.newcombe_paired_interval(*table)
        assert -1 <= low <= d <= high <= 1, table
        swapped = aggregate.newcombe_paired_interval(table[0], table[2], table[1], table[3])
        assert swapped == pytest.approx((-d, -high, -low)), table
    assert all(math.isnan(v) for v in aggregate.newcombe_paired_interval(0, 0, 0, 0))


def _runs(values: dict[int, list[float]]) -> pd.DataFrame:
    rows = [{"point_id": p, "replication": k, "seed_key": f"1/{k}", "axis:x": p, "status": "ok",
             "error": "", "lots": 1, "gap_closed_months.r": v}
            for p, column in values.items() for k, v in enumerate(column)]
    return pd.DataFrame(rows)


def test_paired_difference_uses_every_pair_censored_at_the_horizon() -> None:
    """Horizon 2033-05 = 100 months from 2025-01. Baseline [50, -, 70, -], point [40, 60, -, -]
    ("-": not by end): counted at 100, the differences are -10, -40, +30, 0 (mean -5, all 4
    pairs, 3 of them with a run not closed). Closed by month 65 (2030-06): the point in
    replications 0 and 1, the baseline in 0 only: n11 = 1, n10 = 1, n01 = 0, n00 = 2."""
    nan = math.nan
    runs = _runs({0: [50.0, nan, 70.0, nan], 1: [40.0, 60.0, nan, nan]})
    points = [DesignPoint(0, {"x": 0}, {}), DesignPoint(1, {"x": 1}, {})]
    table = aggregate.points_table(runs, points, {"2030-06": 65.0}, 0, start="2025-01", end="2033-05")
    row = table[table["point_id"] == 1].iloc[0]
    assert row["diff_vs_baseline_mean"] == pytest.approx(-5.0)
    assert row["diff_n_pairs"] == 4 and row["diff_censored_pairs"] == 3
    _, low, high = aggregate.newcombe_paired_interval(1, 1, 0, 2)
    assert (row["diff_p_closed_by_2030-06"], row["diff_p_closed_by_2030-06_low"],
            row["diff_p_closed_by_2030-06_high"]) == pytest.approx((0.25, low, high))
    base = table[table["point_id"] == 0].iloc[0]
    assert base["diff_vs_baseline_mean"] == 0 and base["diff_p_closed_by_2030-06_low"] == 0
    # quantiles as dates, "not by" where the runs not closed reach them (share 0.5)
    assert row["share_not_by_end"] == 0.5 and row["p50_date"] == "2030-01"  # month 60
    assert row["p90_date"] == "not by 2033-05" and math.isnan(row["p90"])


@pytest.mark.slow
def test_a_censored_statistic_is_never_shown_as_a_date(tmp_path: Path) -> None:
    """The heatmap cells and the report's headline and table of a store whose medians are
    dates while half the runs never close, or whose medians are not closed at all."""
    from leadtime_sim.charts.jobs import heatmap_jobs
    from leadtime_sim.experiment import run_experiment
    from leadtime_sim.experiment.spec import Chart
    from leadtime_sim.plotting import new_figure
    from leadtime_sim.report import report_html
    from leadtime_sim.results import load_results

    run_experiment(ROOT / "tests" / "data" / "charts_sweep.toml", tmp_path / "s", executor="serial")
    results = load_results(tmp_path / "s")
    rows = results.stats[results.stats["metric"].str.startswith("gap_closed_months.")]
    assert (rows["p50"].notna() & (rows["share_not_by_end"] > 0)).any()  # the case at issue
    assert rows["p50"].isna().any()
    for requirement in results.requirements:
        for job in heatmap_jobs(results, Chart(chart="heatmap", requirements=[requirement])):
            _fig, axes = new_figure()
            job.draw(axes)
            texts = [t.get_text() for t in axes[0].texts]
            for _, row in results.gap_rows(requirement).iterrows():
                if math.isnan(row["p50"]):  # censored: a "not by" cell, no date
                    assert any(t.startswith("not by") for t in texts), texts
                    continue
                cell = next(t for t in texts if t.startswith(str(row["p50_date"])))
                if row["share_not_by_end"] > 0:
                    assert f"{row['share_not_by_end']:.0%} not by" in cell, cell
    html = report_html(results)
    assert (rows.loc[rows["p50"].isna(), "p50_date"] == f"not by {results.end}").all()
    assert f"not by {results.end}" in html and "Newcombe" in html


def test_sparse_replication_numbers_pair_as_dense_ones() -> None:
    """``optimize`` numbers its fresh replications from 1,000,000: the table pairs runs by
    their number, so renumbering 0-3 as 0, 7, 10^6, 10^12 changes nothing (and the cube is
    as wide as the numbers used: 10^12 columns could not be allocated)."""
    nan = math.nan
    dense = _runs({0: [50.0, nan, 70.0, nan], 1: [40.0, 60.0, nan, nan]})
    sparse = dense.assign(replication=dense["replication"].map({0: 0, 1: 7, 2: 10**6, 3: 10**12}))
    points = [DesignPoint(0, {"x": 0}, {}), DesignPoint(1, {"x": 1}, {})]
    tables = [aggregate.points_table(runs, points, {"2030-06": 65.0}, 0, start="2025-01", end="2033-05")
              for runs in (dense, sparse)]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert tables[1].loc[tables[1]["point_id"] == 1, "diff_n_pairs"].iloc[0] == 4
