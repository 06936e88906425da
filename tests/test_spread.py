"""A sampled design's answer is the close date pooled over its sampled points (``spread``),
not its "best" draw: checked against a case whose close month is known by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from leadtime_sim.cli import main
from leadtime_sim.report import headlines
from leadtime_sim.results import load_results
from leadtime_sim.spread import spreads

# One line, constant takt T, 60 units ordered at start, flow 2: the gap (60 by month 24)
# closes at month 60 T + 2 exactly; the unit cost changes nothing (the file says why).
MODEL = (Path(__file__).parent / "data" / "one_line_60_units.toml").read_text()
EXPERIMENT = """
name = "spread"
model = "model.toml"
replications = 2
seed = 3
samples = 20
targets = ["2032-01"]
{grid}
[[uncertain]]
path = "factories.f.takt_months"
label = "takt"
distribution = {{dist = "uniform", low = 1.0, high = 2.0}}
[[uncertain]]
path = "orders[0].placed"
label = "booked"
origin = "2024-01"
distribution = {{dist = "uniform", low = 0.0, high = 11.0}}
[[uncertain]]
path = "products.p.unit_cost_musd"
label = "unit cost"
distribution = {{dist = "gamma", mean = 5.0, sd = 2.0}}
"""
GRID = """
[[axes]]
path = "factories.f.flow_months"
label = "flow"
values = [2.0, 14.0]
"""


def sweep(tmp_path: Path, grid: str = "") -> Path:
    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "e.toml").write_text(EXPERIMENT.format(grid=grid))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["-q", "sweep", str(tmp_path / "e.toml"), "--out", str(out),
                                       "--executor", "serial", "--no-charts"])
    assert result.exit_code == 0, result.output
    return out


def test_the_close_month_is_pooled_over_every_run_and_tied_to_the_input_that_moves_it(tmp_path: Path) -> None:
    out = sweep(tmp_path)
    results = load_results(out)
    [spread] = spreads(results, "a_p")
    runs = pd.read_parquet(out / "runs.parquet")
    by_hand = 60 * runs["axis:takt"] + 2  # the close month of every run, known exactly
    assert np.allclose(runs["gap_closed_months.a_p"], by_hand)
    assert spread.points == 20 and spread.runs == 40
    assert spread.p50 == pytest.approx(np.quantile(by_hand, 0.5, method="inverted_cdf"))
    assert spread.p10 == pytest.approx(np.quantile(by_hand, 0.1, method="inverted_cdf"))
    # closed by 2032-01 (month 84) when 60 T + 2 <= 84, T <= 1.3667
    assert spread.p_closed["2032-01"][0] == pytest.approx(float(np.mean(by_hand <= 84)))
    assert [name for name, _ in spread.correlations] == ["takt"]  # the cost is inert
    assert spread.correlations[0][1] == pytest.approx(1.0)
    text = headlines(results)[0].text
    assert "over 20 sampled points of takt, booked, unit cost (40 runs" in text and "best of" not in text
    assert "it moves most with takt (+1.00)" in text


def test_a_grid_axis_makes_groups_and_the_best_group_is_named(tmp_path: Path) -> None:
    """Flow 14 instead of 2 delays every close month by 12: flow 2 is the best option."""
    out = sweep(tmp_path, GRID)
    results = load_results(out)
    fast, slow = spreads(results, "a_p")
    assert fast.group == {"flow": 2.0} and slow.group == {"flow": 14.0}
    assert slow.p50 == pytest.approx(fast.p50 + 12)
    assert "with flow = 2 (the best of 2 options by pooled median)" in headlines(results)[0].text


def test_a_grid_axis_that_does_not_change_the_close_names_no_best_option(tmp_path: Path) -> None:
    """One order of one customer: the allocation policy changes nothing, its two options pool
    to the same close dates, and the answer named the first "the best of 2 options by pooled
    median" (a sampled design of Patriot lines x decision date said so of the PAC-3 objective,
    which no Patriot line moves), where a grid says "the swept axes do not change it"."""
    out = sweep(tmp_path, '\n[[axes]]\npath = "policy.allocation"\nlabel = "policy"\n'
                          'values = ["fifo", "priority"]\n')
    results = load_results(out)
    fifo, priority = spreads(results, "a_p")
    assert (fifo.p10, fifo.p50, fifo.p90, fifo.p_closed) == \
        (priority.p10, priority.p50, priority.p90, priority.p_closed)
    text = headlines(results)[0].text
    assert "best of" not in text
    assert "with every one of the 2 options of policy (they do not change it), over 20 sampled" in text


def test_prcc_is_the_partial_correlation_of_the_ranks_and_clears_an_inert_correlated_input() -> None:
    """Two inputs: PRCC equals the textbook partial correlation of the ranks,
    (r_y1 - r_y2 r_12) / sqrt((1 - r_y2^2)(1 - r_12^2)). An inert input built to correlate
    with the influential one has a large plain rank correlation with the output but a
    partial one that is not significant."""
    from scipy.stats import rankdata

    from leadtime_sim.spread import prcc

    rng = np.random.default_rng(11)
    x1 = rng.random(40)
    x2 = 0.8 * x1 + 0.2 * rng.random(40)  # inert, but correlated with x1
    y = 10 * x1 + rng.normal(0, 1, 40)
    (rho1, p1), (_, p2) = prcc(np.column_stack([x1, x2]), y)
    r = np.corrcoef([rankdata(y), rankdata(x1), rankdata(x2)])
    by_hand = (r[0, 1] - r[0, 2] * r[1, 2]) / np.sqrt((1 - r[0, 2] ** 2) * (1 - r[1, 2] ** 2))
    assert rho1 == pytest.approx(by_hand, abs=1e-12) and p1 < 0.01
    assert r[0, 2] > 0.5 and p2 > 0.05


def test_the_fan_chart_of_a_sampled_design_pools_every_run(tmp_path: Path) -> None:
    """Inventory at the end of month m (time m + 1) is the units delivered by then: unit k
    arrives at k T + 2, so min(60, floor((m - 1) / T)). The pooled median over the 40 runs
    is the median of that over the runs' takts, not any one point's."""
    from leadtime_sim.spread import pooled_quantiles

    out = sweep(tmp_path)
    results = load_results(out)
    quantiles, labels = pooled_quantiles(results, "a_p")
    assert labels == {0: "pooled over 20 sampled points (40 runs)"}
    takts = pd.read_parquet(out / "runs.parquet")["axis:takt"].to_numpy()
    inventory = quantiles[quantiles["field"] == "inventory_units"].set_index("month")
    for month in (30, 70, 100):
        by_hand = np.minimum(60, np.floor((month - 1) / takts + 1e-9))
        assert inventory.loc[month, "p50"] == np.quantile(by_hand, 0.5, method="inverted_cdf")
        assert inventory.loc[month, "p10"] == np.quantile(by_hand, 0.1, method="inverted_cdf")


ROUNDED = """
name = "rounded draws"
model = "model.toml"
replications = 2
seed = 3
sampling = "lhs"
samples = 10
targets = ["2032-01"]
[[axes]]
path = "factories.f.takt_months"
label = "takt"
range = [1, 2]
integer = true
[[axes]]
path = "factories.f.flow_months"
label = "flow"
range = [2, 3]
integer = true
"""


def test_a_heatmap_of_rounded_draws_pools_the_runs_that_share_a_cell(tmp_path: Path) -> None:
    """Two integer range axes: 10 draws fall in at most 4 cells. The heatmap refused ("several
    points share one cell"), and with it plot and report; each cell now pools its points'
    runs, and its median is the close month 60 T + flow of the cell, exactly."""
    from leadtime_sim.spread import pooled_cells

    (tmp_path / "model.toml").write_text(MODEL)
    (tmp_path / "e.toml").write_text(ROUNDED)
    out = tmp_path / "out"
    done = CliRunner().invoke(main, ["-q", "sweep", str(tmp_path / "e.toml"), "--out", str(out),
                                     "--executor", "serial"])
    assert done.exit_code == 0, done.output
    assert (out / "charts" / "heatmap-a_p.png").is_file()
    assert CliRunner().invoke(main, ["report", str(out)]).exit_code == 0
    cells = pooled_cells(load_results(out), "a_p", "takt", "flow")
    assert len(cells) <= 4 and cells["n"].sum() == 20 and (cells["points"] >= 1).all()
    assert cells["points"].sum() == 10
    assert np.allclose(cells["p50"], 60 * cells["takt"] + cells["flow"])
    assert (cells["share_not_by_end"] == 0).all()
    assert np.allclose(cells["p_closed_by_2032-01"], (60 * cells["takt"] + cells["flow"] <= 84).astype(float))


def test_a_requirement_no_run_closes_is_not_said_to_move_with_no_input(tmp_path: Path) -> None:
    """A requirement closed in no run of a sampled design was answered "no sampled input's
    partial rank correlation with the close month is significant at 5%", as if the inputs had
    been found not to matter; with no close month there is nothing to correlate, and it says so."""
    model = Path(__file__).with_name("data") / "mmc_requirements.toml"
    experiment = tmp_path / "sampled.toml"
    experiment.write_text(f'name = "sampled"\nmodel = "{model}"\nreplications = 1\nsamples = 4\n'
                          '[overrides]\nend = "2026-01"\n[[axes]]\npath = "order_streams[0].rate_per_year"\n'
                          'label = "rate"\nrange = [20.0, 28.0]\n')
    out = tmp_path / "store"
    done = CliRunner().invoke(main, ["sweep", str(experiment), "--out", str(out), "--executor", "serial",
                                     "--no-charts"])
    assert done.exit_code == 0, done.output
    texts = {h.requirement: h.text for h in headlines(load_results(out))}
    assert "not closed by 2026-01 in 100% of runs" in texts["never"], texts
    assert "no run closes it, so nothing tells which input would move its close" in texts["never"]
    assert "is significant" not in texts["never"]
