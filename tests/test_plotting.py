"""Charts draw the numbers they are given: read back from the Axes and compared with the store.

A tiny sweep (tests/data/charts_sweep.toml: 9 points x 6 runs, a few seconds) and one run
of its model give real tables, with gaps that close, gaps that never close by the end, and
P90s beyond the horizon.
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from matplotlib.collections import LineCollection, PolyCollection, QuadMesh

from leadtime_sim import plotting
from leadtime_sim.charts.files import write_charts
from leadtime_sim.cli import main
from leadtime_sim.dates import date_at, months_between
from leadtime_sim.errors import InputError
from leadtime_sim.experiment.spec import load_experiment
from leadtime_sim.plotting.series import utilisation_grid
from leadtime_sim.results import Results, load_results

DATA = Path(__file__).parent / "data"
SWEEP = DATA / "charts_sweep.toml"
MODEL = DATA / "charts_model.toml"
REQ = "army_stock"
PNG = b"\x89PNG\r\n\x1a\n"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Results:
    out = tmp_path_factory.mktemp("charts") / "store"
    code, output = invoke("sweep", SWEEP, "--out", out, "--executor", "serial", "--no-charts")
    assert code == 0, output
    assert not (out / "charts").exists()  # --no-charts
    return load_results(out)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Results:
    out = tmp_path_factory.mktemp("charts") / "run"
    code, output = invoke("run", MODEL, "--out", out, "--seed", "3")
    assert code == 0, output
    return load_results(out)


@pytest.fixture()
def ax() -> plotting.style.Axes:
    _fig, axes = plotting.new_figure()
    return axes[0]


def gap_rows(store: Results) -> pd.DataFrame:
    return store.stats[store.stats["metric"] == f"gap_closed_months.{REQ}"]


def dates(store: Results, months: pd.Series | list[float]) -> np.ndarray:
    return plotting.date_numbers(store.start, pd.Series(months, dtype=float))


def horizon(store: Results) -> float:
    return float(dates(store, [months_between(store.start, store.end)])[0])


def test_the_store_has_gaps_that_close_and_gaps_that_do_not(store: Results) -> None:
    rows = gap_rows(store)
    assert rows["p50"].isna().any() and rows["p50"].notna().any()
    assert (rows["p50"].notna() & rows["p90"].isna()).any()  # P90 beyond the horizon


def test_gap_close_chart_draws_medians_and_bands_and_no_made_up_dates(store: Results, ax) -> None:
    rows = gap_rows(store)
    plotting.gap_close_chart(store.stats, REQ, x="lines added", group="decided", start=store.start,
                             end=store.end, target="2028-01", scenario=store.name, ax=ax)
    end = horizon(store)
    lines = {line.get_label(): line for line in ax.lines}
    for decided, part in rows.groupby("decided"):
        part = part.sort_values("lines added")
        xy = lines[str(decided)].get_xydata()
        expected = dates(store, part["p50"])
        assert np.allclose(xy[:, 1], expected, equal_nan=True)
        assert np.all(np.abs(xy[:, 0] - part["lines added"].to_numpy()) < 0.2)
        assert np.all(np.isnan(xy[part["p50"].isna().to_numpy(), 1]))  # not closed: no date
    segments = [s for c in ax.collections if isinstance(c, LineCollection) for s in c.get_segments()]
    closed = rows[rows["p10"].notna()]
    assert len(segments) == len(closed)
    lows = sorted(s[0][1] for s in segments)
    highs = sorted(s[1][1] for s in segments)
    assert np.allclose(lows, sorted(dates(store, closed["p10"])))
    assert np.allclose(highs, sorted(np.where(closed["p90"].isna(), end, dates(store, closed["p90"]))))
    plotted = np.concatenate([line.get_xydata()[:, 1] for line in ax.lines if len(line.get_xydata())])
    assert np.nanmax(plotted) <= end + 1e-6  # nothing beyond the horizon
    markers = [line for line in ax.lines if line.get_marker() == "^"]
    at_horizon = np.concatenate([m.get_xydata() for m in markers])
    assert np.allclose(at_horizon[:, 1], end)
    assert len(at_horizon) == rows["p50"].isna().sum()
    labels = [t for t in ax.texts if t.get_text() == "not by 2030"]
    assert sorted(t.xy[0] for t in labels) == sorted(rows.loc[rows["p50"].isna(), "lines added"].unique())
    target = dates(store, [months_between(store.start, "2028-01")])[0]
    targets = [line for line in ax.lines if line.get_label() == "target 2028-01"]
    assert len(targets) == 1 and np.allclose(targets[0].get_ydata(), target)
    assert "Charts test" in ax.get_title(loc="left") and "army_stock" in ax.get_title(loc="left")


def test_probability_chart_draws_wilson_intervals(store: Results, ax) -> None:
    rows = gap_rows(store)
    plotting.probability_chart(store.stats, REQ, x="lines added", group="decided", target="2028-01", ax=ax)
    column = "p_closed_by_2028-01"
    assert len(ax.containers) == rows["decided"].nunique()
    for container, (_, part) in zip(ax.containers, rows.groupby("decided"), strict=True):
        part = part.sort_values("lines added")
        (bars,) = container.lines[2]
        assert np.allclose(container.lines[0].get_ydata(), part[column])
        ends = np.array([[s[0][1], s[1][1]] for s in bars.get_segments()])
        assert np.allclose(ends[:, 0], part[f"{column}_low"])
        assert np.allclose(ends[:, 1], part[f"{column}_high"])
    assert ax.get_ylim()[0] < 0 < 1 < ax.get_ylim()[1]


@pytest.mark.parametrize(("counts", "said"), [((5, 10, 20), "5-20 runs per point"),
                                              ((0, 1, 1), "1 run per point"), ((3, 3, 3), "3 runs per point")])
def test_probability_chart_says_how_many_runs_each_point_has(ax, counts: tuple[int, ...], said: str) -> None:
    """The legend gave the fewest runs of any point as every point's: an optimize store (5,
    10 and 20 runs) said "5 runs per point", and a point whose runs all failed made it "0"."""
    column = "p_closed_by_2026-01"
    rows = pd.DataFrame({"point_id": [0, 1, 2], "metric": "gap_closed_months.r", "lines": [1, 2, 3],
                         "n": list(counts), column: [0.4, 1.0, 1.0], f"{column}_low": [0.1, 0.7, 0.8],
                         f"{column}_high": [0.8, 1.0, 1.0]})
    plotting.probability_chart(rows, "r", x="lines", target="2026-01", ax=ax)
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(said in " ".join(t.split()) for t in texts), texts


def test_heatmap_cells_and_labels_are_the_median_dates(store: Results, ax) -> None:
    rows = gap_rows(store)
    plotting.close_heatmap(store.stats, REQ, x="lines added", y="decided", start=store.start,
                           end=store.end, ax=ax)
    image = ax.images[0].get_array()
    texts = {(round(t.get_position()[0]), round(t.get_position()[1])): t.get_text() for t in ax.texts}
    xs, ys = sorted(rows["lines added"].unique()), sorted(rows["decided"].unique())
    for _, row in rows.iterrows():
        c, r = xs.index(row["lines added"]), ys.index(row["decided"])
        if np.isnan(row["p50"]):
            assert np.ma.is_masked(image[r, c])
            assert texts[(c, r)] == "not by 2030"
        else:
            shown = date_at(store.start, row["p50"])  # (coloured by the month it shows)
            assert image[r, c] == pytest.approx(mdates.date2num(np.datetime64(f"{shown}-01")))
            share = row["share_not_by_end"]  # beside a date, the share of runs never closing
            assert texts[(c, r)] == date_at(store.start, row["p50"]) + (f"\n{share:.0%} not by 2030" if share else "")


def test_heatmap_cells_of_one_month_are_one_colour(ax) -> None:
    """Cells were coloured by the exact median: medians all within 2025-02 (days apart) spanned
    the whole colour scale, purple to yellow cells all labelled 2025-02, the colour bar's two
    ends both 2025-02. A cell's colour is now the month it shows: one colour, no colour bar."""
    rows = pd.DataFrame({"point_id": range(4), "metric": "gap_closed_months.r", "a": [1, 2, 1, 2],
                         "b": [1, 1, 2, 2], "p50": [1.02, 1.5, 1.97, 1.3], "share_not_by_end": 0.0})
    plotting.close_heatmap(rows, "r", x="a", y="b", start="2025-01", end="2030-01", ax=ax)
    assert sorted(t.get_text() for t in ax.texts) == ["2025-02"] * 4
    assert len(np.unique(ax.images[0].get_array().compressed())) == 1
    assert len(ax.figure.axes) == 1  # no colour bar of one date


def test_heatmap_of_probability(store: Results, ax) -> None:
    rows = gap_rows(store)
    plotting.close_heatmap(store.stats, REQ, x="lines added", y="decided", start=store.start,
                           end=store.end, value="probability", target="2028-01", ax=ax)
    values = sorted(float(t.get_text()) for t in ax.texts)
    assert values == pytest.approx(sorted(rows["p_closed_by_2028-01"].round(2)))


def test_fan_chart_draws_quantiles_and_requirement(store: Results, ax) -> None:
    q = store.quantiles
    points = [0, 6]
    plotting.fan_chart(q, REQ, start=store.start, points=points, labels={0: "base", 6: "best"},
                       milestones=[{"date": "2026-01", "label": "line in service", "point_id": 6}], ax=ax)
    inventory = q[(q.entity == "requirement") & (q.name == REQ) & (q.field == "inventory_units")]
    for point, name in ((0, "base, median"), (6, "best, median")):
        part = inventory[inventory.point_id == point].sort_values("month")
        line = next(line for line in ax.lines if line.get_label() == name)
        assert np.allclose(line.get_ydata(), part["p50"])
        assert np.allclose(line.get_xdata(), dates(store, part["month"] + 1))
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2
    part = inventory[inventory.point_id == 6]
    band_y = np.concatenate([p.vertices[:, 1] for p in bands[1].get_paths()])
    assert np.isclose(band_y.max(), part["p90"].max()) and np.isclose(band_y.min(), part["p10"].min())
    required = q[(q.name == REQ) & (q.field == "required_units") & (q.point_id == 0)].sort_values("month")
    line = next(line for line in ax.lines if line.get_label() == "required")
    assert np.allclose(line.get_ydata(), required["p50"])
    milestone = dates(store, [months_between(store.start, "2026-01")])[0]
    assert any(np.allclose(line.get_xdata(), milestone) for line in ax.lines)


BAND_CHARTS = [
    pytest.param(lambda q, start, end, ax: plotting.fan_chart(q, REQ, start=start, points=[0, 6], ax=ax),
                 ("requirement", REQ, "inventory_units", 1.0), id="fan"),
    pytest.param(lambda q, start, end, ax: plotting.backlog_chart(q, "missile", start=start, points=[0, 6], ax=ax),
                 ("product", "missile", "backlog_units", 1.0), id="backlog"),
    pytest.param(lambda q, start, end, ax: plotting.quoted_lead_time_chart(q, "missile", start=start, end=end,
                                                                           points=[0, 6], ax=ax),
                 ("product", "missile", "quoted_lead_time_months", 1 / 12), id="quoted lead time"),
]


@pytest.mark.parametrize(("draw", "series"), BAND_CHARTS)
def test_overlapping_bands_keep_their_edges_in_their_colours(store: Results, ax, draw, series) -> None:
    """Where bands overlap their fills mix into a colour no legend shows: each band's P10 and
    P90 are also dashed lines in its line's colour, the dashes of the two bands take turns
    (so a shared edge shows both colours), and the legend's key is a fill between dashed edges."""
    from matplotlib.colors import same_color
    from matplotlib.lines import Line2D

    from leadtime_sim.plotting.style import GREY, colour

    BAND_EDGE_GID = "band-edge"  # (series.BAND_EDGE_GID)

    draw(store.quantiles, store.start, store.end, ax)
    entity, name, field, scale = series
    q = store.quantiles
    rows = q[(q.entity == entity) & (q.name == name) & (q.field == field)]
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 2 and all(band.get_alpha() <= 0.15 for band in bands)  # light fills
    edges = [line for line in ax.lines if line.get_gid() == BAND_EDGE_GID]
    assert len(edges) == 4
    for i, point in enumerate((0, 6)):
        part = rows[rows.point_id == point].sort_values("month")
        mine = [line for line in edges if same_color(line.get_color(), colour(i))]
        assert len(mine) == 2, f"point {point}: its band's edges are not in its line's colour"
        assert same_color(bands[i].get_facecolor()[0][:3], colour(i))
        for line, quantile in zip(mine, ("p10", "p90"), strict=True):
            assert line.get_linestyle() == "--" and line.get_linewidth() < 2  # thin, dashed; medians: 2
            assert np.allclose(line.get_xdata(), dates(store, part["month"] + 1))
            drawn = np.asarray(line.get_ydata(), dtype=float)
            shown = np.isfinite(drawn)
            assert shown.any() and np.allclose(drawn[shown], part[quantile].to_numpy()[shown] * scale)
            spread = (part["p90"] - part["p10"]).to_numpy()
            assert (spread[shown] > 0).any()  # edges where the band has width...
        median = next(line for line in ax.lines if line.get_gid() != BAND_EDGE_GID and same_color(
            line.get_color(), colour(i)))
        assert all(edge.get_zorder() < median.get_zorder() for edge in mine)  # ...under the medians
    offsets = {line._unscaled_dash_pattern[0] for line in edges}
    assert len(offsets) == 2  # the two bands' dashes take turns: a shared edge shows both colours
    legend = ax.get_legend()
    texts = [t.get_text().replace("\n", " ") for t in legend.get_texts()]
    key = next(t for t in texts if t.startswith("P10-P90 of runs"))
    assert "dashed edges" in key and "mix" not in key
    keyed = [a for a in legend.findobj(Line2D) if a.get_linestyle() == "--" and same_color(a.get_color(), GREY)]
    assert len(keyed) == 2  # the key: a fill between a dashed top and bottom edge


def test_fan_chart_of_one_run_has_no_band(run_dir: Results, ax) -> None:
    plotting.fan_chart(run_dir.quantiles, REQ, start=run_dir.start, ax=ax)
    assert not ax.collections and not [line for line in ax.lines if line.get_gid() == "band-edge"]
    series = pd.read_parquet(run_dir.directory / "series.parquet")
    rows = series[(series.entity == "requirement") & (series.name == REQ)]
    line = next(line for line in ax.lines if line.get_label() == "inventory")
    assert np.allclose(line.get_ydata(), rows["inventory_units"])


def test_backlog_and_quoted_lead_time(store: Results) -> None:
    q = store.quantiles
    _fig, (top, bottom) = plotting.new_figure(rows=2)
    plotting.backlog_chart(q, "missile", start=store.start, points=[0], labels={0: "base"}, ax=top)
    plotting.quoted_lead_time_chart(q, "missile", start=store.start, end=store.end, points=[0],
                                    labels={0: "base"}, ax=bottom)
    rows = q[(q.point_id == 0) & (q.name == "missile")]
    backlog = rows[rows.field == "backlog_units"].sort_values("month")
    quoted = rows[rows.field == "quoted_lead_time_months"].sort_values("month")
    assert np.allclose(top.lines[0].get_ydata(), backlog["p50"])
    assert np.allclose(bottom.lines[0].get_ydata(), quoted["p50"] / 12, equal_nan=True)
    assert "years" in bottom.get_ylabel() and "units" in top.get_ylabel()


def _medians_drawn(ax) -> list[float]:
    """The x of each black median bar (two points at one x), in the groups' order."""
    bars = [line for line in ax.lines if line.get_color() == "black" and len(line.get_xdata()) == 2]
    return [float(line.get_xdata()[0]) for line in sorted(bars, key=lambda line: line.get_ydata()[0])]


def test_lead_time_chart_draws_every_order_and_the_summary_median(run_dir: Results, ax) -> None:
    orders = run_dir.orders
    plotting.lead_time_chart(orders, start=run_dir.start, end=run_dir.end, product="missile", ax=ax)
    customers = sorted(orders[orders["product"] == "missile"]["customer"].unique())
    dots = [c for c in ax.collections if len(c.get_offsets())]
    for customer in customers:
        mine = orders[(orders.customer == customer) & (orders["product"] == "missile")]
        done = mine["lead_time_months"].dropna() / 12
        still = mine["lead_time_months"].isna()
        waited = (run_dir.horizon_months - mine.loc[still, "placed_months"]) / 12
        drawn = np.concatenate([c.get_offsets()[:, 0] for c in dots if customer == _group_of(ax, c)])
        assert np.allclose(sorted(drawn), sorted([*done, *waited]))
        label = next(t.get_text() for t in ax.get_yticklabels() if t.get_text().startswith(customer))
        assert f"{len(done)} delivered" in label
        assert (f"{int(still.sum())} not by 2030" in label) == bool(still.any())
    summary = run_dir.manifest["customers"]
    expected = [summary[f"{c}:missile"]["median_lead_time_months"] for c in customers]
    assert _medians_drawn(ax) == pytest.approx([m / 12 for m in expected if m is not None])


def _group_of(ax, collection) -> str:
    """The tick label (first line) of the group a scatter of dots sits on."""
    y = float(np.round(np.mean(collection.get_offsets()[:, 1])))
    ticks = dict(zip(ax.get_yticks(), (t.get_text() for t in ax.get_yticklabels()), strict=True))
    return ticks[y].split("\n")[0]


def _orders(groups: dict[str, list[tuple[float, float | None]]]) -> pd.DataFrame:
    """An orders table: per customer, (placed months, lead time months or None: open)."""
    rows = [{"customer": c, "product": "p", "priority": 1, "placed_months": placed,
             "lead_time_months": np.nan if lead is None else lead}
            for c, orders in groups.items() for placed, lead in orders]
    return pd.DataFrame(rows)


def test_lead_time_chart_counts_open_orders_as_waiting_until_the_end(ax) -> None:
    # "a": delivered after 12, 24, 36 months; three more placed at month 60, open at the
    # end (month 120): waited 60 months. Of the delivered the median is 24; Kaplan-Meier
    # (the run summary's) puts it at 36, where half of the six have been delivered.
    # "b": one delivered of five, the rest open: the median is not reached.
    orders = _orders({"a": [(0, 12), (0, 24), (0, 36), (60, None), (60, None), (60, None)],
                      "b": [(0, 12), (30, None), (40, None), (50, None), (60, None)]})
    plotting.lead_time_chart(orders, start="2025-01", end="2035-01", ax=ax)
    assert _medians_drawn(ax) == [3.0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "median not reached" not in labels[0]
    assert labels[1] == "b\n1 delivered, 4 not by 2035\nmedian not reached (> 7.5 y)"
    arrows = [line for line in ax.lines if line.get_marker() == ">" and line.get_color() == "black"]
    assert [(a.get_xdata()[0], a.get_ydata()[0]) for a in arrows] == [(90 / 12, 2.0)]
    legend = "".join("".join(t.get_text().split()) for t in ax.get_legend().get_texts())  # unwrapped
    assert "Kaplan-Meier" in legend and "mediannotreached" in legend and "openatend" in legend


def test_lead_time_chart_box_is_kaplan_meier_quartiles(ax) -> None:
    # Eight orders, none open: the box is the quartiles (midpoint convention: 2.5, 6.5
    # months), the median 4.5, as numpy's; with the last four open at 120 months the upper
    # quartile and whisker are not reached: dashed to the longest wait (120 - 10 months).
    closed = [(0, float(m)) for m in range(1, 9)]
    plotting.lead_time_chart(_orders({"a": closed}), start="2025-01", end="2035-01", ax=ax)
    box = next(p for p in ax.patches if p.get_width() > 0)
    assert (box.get_x() * 12, (box.get_x() + box.get_width()) * 12) == pytest.approx((2.5, 6.5))
    assert _medians_drawn(ax) == pytest.approx([4.5 / 12])
    _fig, axes = plotting.new_figure()
    part_open = closed[:4] + [(10, None)] * 4
    plotting.lead_time_chart(_orders({"a": part_open}), start="2025-01", end="2035-01", ax=axes[0])
    dashed = [line for line in axes[0].lines if line.get_linestyle() not in ("-", "None")]
    assert dashed and max(max(line.get_xdata()) for line in dashed) == pytest.approx(110 / 12)
    assert _medians_drawn(axes[0]) == pytest.approx([4.0 / 12])


def test_lead_time_by_priority(run_dir: Results, ax) -> None:
    plotting.lead_time_chart(run_dir.orders, start=run_dir.start, end=run_dir.end, by="priority", ax=ax)
    labels = [t.get_text().split("\n")[0] for t in ax.get_yticklabels()]
    assert labels == [f"class {p}" for p in sorted(run_dir.orders["priority"].unique())]


def test_utilisation_chart_cells_are_period_means(store: Results, ax) -> None:
    q = store.quantiles
    plotting.utilisation_chart(q, start=store.start, point=6, period_months=6, ax=ax)
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    util = q[(q.point_id == 6) & (q.entity == "factory")]
    wide = util.pivot_table(index=["name", "month"], columns="field", values="p50").reset_index()
    wide["u"] = wide["utilisation"].where(wide["lines"] > 0)
    wide["period"] = wide["month"] // 6
    expected = wide.groupby(["name", "period"])["u"].mean().unstack().sort_index()
    got = np.ma.filled(mesh.get_array().reshape(expected.shape).astype(float), np.nan)
    assert np.allclose(got, expected.to_numpy() * 100, equal_nan=True)
    assert np.isnan(expected.to_numpy()).any()  # the new line has no lines before it is built
    assert np.allclose(utilisation_grid(q, 6, 6).to_numpy(), expected.to_numpy(), equal_nan=True)


@pytest.mark.slow
def test_every_chart_writes_a_png(store: Results, run_dir: Results) -> None:
    written = write_charts(store.directory) + write_charts(run_dir.directory)
    kinds = {p.name.split("-")[0].split(".")[0] for p in written}
    assert kinds == {"gap_close", "probability", "heatmap", "fan", "backlog", "lead_time", "utilisation"}
    for path in written:
        data = path.read_bytes()
        assert data.startswith(PNG) and len(data) > 10_000, path
    assert not list(store.directory.glob("charts/.*.tmp"))


@pytest.mark.parametrize(("fmt", "magic"), [("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_svg_and_pdf_on_request(store: Results, fmt: str, magic: bytes) -> None:
    code, output = invoke("plot", store.directory, "--chart", "gap_close", "--format", fmt)
    assert code == 0, output
    assert (store.directory / "charts" / f"gap_close-{REQ}.{fmt}").read_bytes().startswith(magic)


@pytest.mark.parametrize(("args", "message"), [
    (["plot", "/no/such/dir"], "no such directory"),
    (["plot", str(DATA)], "neither a sweep store"),
    (["plot", str(DATA / "tiny_lines.toml")], "is a file, not a directory"),  # (it said "no such directory")
    (["report", str(DATA / "tiny_lines.toml")], "is a file, not a directory"),
    (["plot", "{store}", "--chart", "pie"], "unknown chart 'pie'"),
    (["plot", "{store}", "--chart", "lead_time"], "needs a run's orders"),
    (["plot", "{run}", "--chart", "heatmap"], "needs a sweep store"),
    (["plot", "{store}", "--format", "gif"], "unknown format"),
])
def test_bad_input_is_one_line_and_exit_2(store: Results, run_dir: Results, args: list[str],
                                          message: str) -> None:
    args = [a.format(store=store.directory, run=run_dir.directory) for a in args]
    code, output = invoke(*args)
    assert code == 2
    assert output.count("\n") == 1 and output.startswith("error: ") and message in output


def test_run_with_charts_draws_the_single_run_charts(tmp_path: Path) -> None:
    code, output = invoke("run", MODEL, "--out", tmp_path / "r", "--charts")
    assert code == 0, output
    names = sorted(p.name for p in (tmp_path / "r" / "charts").iterdir())
    assert names == ["backlog-missile.png", "fan-army_stock.png", "lead_time-missile.png", "utilisation.png"]


def _experiment(tmp_path: Path, charts: str) -> Path:
    text = SWEEP.read_text().replace('model = "charts_model.toml"', f'model = "{MODEL}"')
    path = tmp_path / "e.toml"
    path.write_text(text + charts)
    return path


def test_experiment_charts_select_what_is_drawn(store: Results, tmp_path: Path) -> None:
    path = _experiment(tmp_path, '\n[[charts]]\nchart = "fan"\npoints = [3, 8]\n'
                                 '\n[[charts]]\nchart = "gap_close"\nx = "capex"\n')
    code, output = invoke("sweep", path, "--out", tmp_path / "s", "--executor", "serial")
    assert code == 0, output
    names = sorted(p.name for p in (tmp_path / "s" / "charts").iterdir())
    assert names == ["fan-army_stock.png", "gap_close-army_stock.png"]


def test_capex_on_the_x_axis(store: Results) -> None:
    from leadtime_sim.charts.jobs import gap_close_jobs
    from leadtime_sim.experiment.spec import Chart

    (job,) = gap_close_jobs(store, Chart(chart="gap_close", x="capex"))
    _fig, axes = plotting.new_figure()
    job.draw(axes)
    capex = {0: 0.0, 1: 50.0, 2: 90.0}  # tied to lines added in charts_sweep.toml
    rows = gap_rows(store)
    for line in axes[0].lines:
        if line.get_label() in set(rows["decided"]):
            part = rows[rows["decided"] == line.get_label()].sort_values("lines added")
            assert np.all(np.abs(line.get_xdata() - part["lines added"].map(capex).to_numpy()) < 5)
    assert "capex" in axes[0].get_xlabel() and "$M" in axes[0].get_xlabel()


def test_tick_labels_show_the_capex_of_the_lines(store: Results) -> None:
    from leadtime_sim.charts.jobs import gap_close_jobs
    from leadtime_sim.experiment.spec import Chart

    (job,) = gap_close_jobs(store, Chart(chart="gap_close"))
    _fig, axes = plotting.new_figure()
    job.draw(axes)
    assert [t.get_text() for t in axes[0].get_xticklabels()] == ["0\n$0M", "1\n$50M", "2\n$90M"]


@pytest.mark.slow
def test_a_full_redraw_removes_charts_it_did_not_draw(store: Results) -> None:
    stale = store.directory / "charts" / "probability-old_name.png"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(PNG)
    write_charts(store.directory, ["fan"])
    assert stale.exists()
    write_charts(store.directory)
    assert not stale.exists()


def test_a_full_redraw_keeps_the_charts_optimize_and_sensitivity_drew(store: Results) -> None:
    """``plot`` of an optimize or sensitivity store deleted its frontier or tornado charts (and
    the sensitivity section of the report then had no charts)."""
    theirs = [store.directory / "charts" / name for name in ("frontier.png", "sensitivity-capex_musd.png")]
    for path in theirs:
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(PNG)
    write_charts(store.directory)
    assert all(path.exists() for path in theirs)
    for path in theirs:
        path.unlink()


@pytest.mark.parametrize(("charts", "message"), [
    ('chart = "pie"', "charts[0].chart: unknown chart 'pie'"),
    ('chart = "fan"\nx = "lines added"', "'x' does not apply to chart 'fan'"),
    ('chart = "gap_close"\nx = "lines"', "x = 'lines' in chart 0 (gap_close) is not an axis label"),
    ('chart = "gap_close"\ntarget = "2031-01"', "is not one of the experiment's targets"),
    ('chart = "fan"\ncolour = "red"', "unknown key 'colour'"),
])
def test_chart_settings_are_validated(tmp_path: Path, charts: str, message: str) -> None:
    with pytest.raises(InputError) as info:
        load_experiment(_experiment(tmp_path, f"\n[[charts]]\n{charts}\n"))
    assert any(message in line for line in info.value.problems), info.value.problems


def test_sweep_checks_chart_names_before_running(tmp_path: Path) -> None:
    path = _experiment(tmp_path, '\n[[charts]]\nchart = "fan"\nrequirements = ["navy_stock"]\n')
    code, output = invoke("sweep", path, "--out", tmp_path / "s", "--executor", "serial")
    assert code == 2 and "no requirement 'navy_stock'" in output
    assert not (tmp_path / "s").exists()


def _design(tmp_path: Path, axes: int, targets: bool, charts: str = "") -> Path:
    """charts_sweep.toml with its first ``axes`` axes, with or without its target."""
    head, *blocks = SWEEP.read_text().replace('model = "charts_model.toml"', f'model = "{MODEL}"').split("[[axes]]")
    if not targets:
        head = head.replace('targets = ["2028-01"]', "")
    path = tmp_path / "e.toml"
    path.write_text(head + "".join("[[axes]]" + b for b in blocks[:axes]) + charts)
    return path


@pytest.mark.parametrize(("chart", "axes", "targets", "needs"), [
    ("gap_close", 0, True, "'gap_close' needs an axis (axes: 0, targets: 1)"),
    ("probability", 1, False, "'probability' needs an axis and targets (axes: 1, targets: 0)"),
    ("heatmap", 1, True, "'heatmap' needs two axes (axes: 1, targets: 1)"),
    ("lead_time", 2, True, "'lead_time' is drawn from one run's output"),
])
def test_sweep_checks_the_design_has_what_its_charts_need_before_running(
        tmp_path: Path, chart: str, axes: int, targets: bool, needs: str) -> None:
    """Such a chart passed validation, and the sweep failed (exit 2) only after every run."""
    path = _design(tmp_path, axes, targets, f'\n[[charts]]\nchart = "{chart}"\n')
    code, output = invoke("sweep", path, "--out", tmp_path / "s", "--executor", "serial")
    assert code == 2 and output == f"error: {path}: charts[0].chart: {needs}" + (
        " (leadtime-sim run MODEL --charts), not from a sweep\n" if chart == "lead_time" else "\n")
    assert not (tmp_path / "s").exists()


def test_a_sweep_of_one_point_draws_its_default_charts_and_reports(tmp_path: Path) -> None:
    """No axes: the default set took gap_close and probability, which need one, and the sweep
    ended with exit 2 after its runs ("no axes to plot against"), as did report."""
    path = _design(tmp_path, 0, True)
    code, output = invoke("sweep", path, "--out", tmp_path / "s", "--executor", "serial")
    assert code == 0, output
    assert sorted(p.name.split("-")[0] for p in (tmp_path / "s" / "charts").glob("*.png")) == \
        ["backlog", "fan", "utilisation"]
    code, output = invoke("report", tmp_path / "s")
    assert code == 0, output


def test_importing_the_package_does_not_import_matplotlib() -> None:
    code = ("import sys, leadtime_sim, leadtime_sim.charts, leadtime_sim.report, leadtime_sim.cli; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported'")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dates_on_time_axes_are_calendar_dates(store: Results, ax) -> None:
    plotting.fan_chart(store.quantiles, REQ, start=store.start, points=[0], ax=ax)
    low, high = (mdates.num2date(v) for v in ax.get_xlim())
    assert (low.year, low.month) == (2025, 1) and (high.year, high.month) == (2030, 1)
    assert ax.xaxis.get_major_formatter()(mdates.date2num(high.replace(tzinfo=None))) == "2030"


def test_typed_results_know_each_points_scenario_and_the_capex_axis(store: Results) -> None:
    assert store.capex_axis == "lines added"  # tied capex, found from the points, not the path
    for point in store.points:
        investment = point.scenario.investments["new_line"]
        assert investment.lines_added == point.axes["lines added"]
        assert investment.decided == point.axes["decided"]
        assert point.swept_capex_musd == investment.total_capex_musd == {0: 0, 1: 50, 2: 90}[investment.lines_added]


def test_milestones_are_planned_service_dates_with_the_mean_slip(store: Results) -> None:
    from leadtime_sim.charts.choices import milestones
    from leadtime_sim.distributions import Constant

    point = next(p for p in store.points if p.axes == {"lines added": 1, "decided": "2025-03"})
    (event,) = milestones(store, "missile", [point.point_id])
    assert event["date"] == "2025-09"  # decided 2025-03 + 6 months' construction
    investment = point.scenario.investments["new_line"]
    slipped = investment.model_copy(update={"slip_months": Constant(dist="constant", value=4.0)})
    assert slipped.in_service_months(store.start) == investment.in_service_months(store.start) + 4


@pytest.mark.slow
def test_a_sampled_design_draws_every_point_unconnected(tmp_path: Path) -> None:
    """Latin hypercube over two range axes: no two points share a value, so the gap-close
    chart shows all 5 points (not just those matching the baseline's other axis) as markers
    without a line through them, and without one group per sampled value."""
    from leadtime_sim.charts.jobs import _sweep_rows
    from leadtime_sim.experiment.runner import run_experiment

    data = Path(__file__).with_name("data")
    (tmp_path / "lhs.toml").write_text(f'''
name = "sampled"
model = "{(data / "charts_model.toml").as_posix()}"
replications = 2
seed = 3
sampling = "lhs"
samples = 5
targets = ["2028-01"]
overrides = {{ end = "2030-01" }}
[[axes]]
path = "investments.new_line.lines_added"
label = "lines added"
range = [0, 3]
integer = true
[[axes]]
path = "investments.new_line.construction_months"
label = "construction months"
range = [3.0, 15.0]
''')
    run_experiment(tmp_path / "lhs.toml", tmp_path / "out", executor="serial")
    results = load_results(tmp_path / "out")
    assert results.sampled
    rows = _sweep_rows(results, {"construction months"})
    assert rows["point_id"].nunique() == 5
    ax = plotting.gap_close_chart(rows, "army_stock", x="construction months", start=results.start,
                                  end=results.end, connect=False)
    (medians,) = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert len(medians.get_xdata()) == 5 and medians.get_linewidth() == 0
    # the probability chart's Wilson intervals, unconnected too: they took the line's width 0,
    # and only their caps showed (a sampled sweep of lines x ramp x decision date)
    ax = plotting.probability_chart(rows, "army_stock", x="construction months", target="2028-01",
                                    connect=False, ax=plotting.new_figure()[1][0])
    (bars,) = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert len(bars.get_segments()) == 5 and set(bars.get_linewidths()) == {2.0}
    # on the integer axis, points share values (5 points on at most 4 values of lines added):
    # they were drawn on top of one another; now side by side, and the legend says so
    rows = _sweep_rows(results, {"lines added"})
    lines_added = rows.drop_duplicates("point_id")["lines added"].to_numpy(dtype=float)
    assert len(lines_added) == 5 and len(np.unique(lines_added)) < 5
    for chart in (plotting.gap_close_chart, plotting.probability_chart):
        extra = {"start": results.start, "end": results.end} if chart is plotting.gap_close_chart \
            else {"target": "2028-01"}
        ax = chart(rows, "army_stock", x="lines added", connect=False, ax=plotting.new_figure()[1][0], **extra)
        (medians,) = [line for line in ax.get_lines() if line.get_marker() == "o"]
        xs = np.asarray(medians.get_xdata(), dtype=float)
        assert len(np.unique(xs)) == 5, xs
        assert np.allclose(np.round(xs), np.sort(lines_added)), xs
        assert "points of equal lines added: side by side" in [" ".join(t.get_text().split())
                                                               for t in ax.get_legend().get_texts()]
    written = write_charts(tmp_path / "out")
    assert any(p.name.startswith("gap_close-") for p in written)


def test_colour_scale_labels_never_repeat(store: Results) -> None:
    """A heatmap whose cells all hold one date has no colour scale (its two ends were both
    labelled with that year); a date axis over months shows months, over centuries decades."""
    import matplotlib.pyplot as plt

    from leadtime_sim.plotting.style import date_axis, date_numbers

    rows = store.stats.copy()
    gap = rows["metric"] == f"gap_closed_months.{REQ}"
    rows.loc[gap, ["p10", "p50", "p90"]] = 30.0
    rows.loc[gap, "share_not_by_end"] = 0.0
    fig, ax = plt.subplots()
    plotting.close_heatmap(rows, REQ, x="lines added", y="decided", start=store.start, end=store.end, ax=ax)
    assert len(fig.axes) == 1  # no colour bar
    plt.close(fig)
    for span_years in (1.5, 180):
        fig, ax = plt.subplots()
        lo, hi = date_numbers("2025-01", [0, span_years * 12])
        ax.set_ylim(lo, hi)
        date_axis("y", ax, span_years)
        fig.canvas.draw()
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert len(labels) == len(set(labels)) and 3 <= len(labels) <= 12, labels
        plt.close(fig)


@pytest.mark.parametrize("months", [1, 2, 6])
def test_a_date_axis_of_a_few_months_labels_each_month(months: int) -> None:
    """A one-month run's axis labelled its start alone (quarter ticks: 2025-01, then nothing)."""
    import matplotlib.pyplot as plt

    from leadtime_sim.plotting.style import date_axis, date_numbers

    fig, ax = plt.subplots()
    lo, hi = date_numbers("2025-01", [0, months])
    ax.set_xlim(lo, hi)
    date_axis("x", ax, months / 12)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels == [f"2025-{m:02d}" for m in range(1, months + 2)], labels
    plt.close(fig)


def test_a_group_equal_to_another_says_so(store: Results, ax) -> None:
    """Two groups with the very same medians would hide each other behind their dodge: the
    later one's legend entry names the first."""
    rows = store.stats.copy()
    gap = rows["metric"] == f"gap_closed_months.{REQ}"
    rows.loc[gap, ["p10", "p50", "p90"]] = 30.0
    rows.loc[gap, "share_not_by_end"] = 0.0
    plotting.gap_close_chart(rows, REQ, x="lines added", group="decided", start=store.start, end=store.end,
                             ax=ax)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    firsts = sorted(rows.loc[gap, "decided"].astype(str).unique())
    assert f"{firsts[1]} (the same as {firsts[0]})" in labels


def test_a_heatmap_cell_with_no_point_is_blank_not_hatched(store: Results, ax) -> None:
    """Hatching means "not by the end"; a cell no design point fills (a sampled or sparse
    design) has no text and no hatch. Drop one point with a date and one not closed."""
    from matplotlib.patches import Rectangle

    rows = gap_rows(store)
    gone = rows["p50"].notna().idxmax()
    stats = store.stats.drop(index=gone)
    plotting.close_heatmap(stats, REQ, x="lines added", y="decided", start=store.start, end=store.end, ax=ax)
    xs, ys = sorted(rows["lines added"].unique()), sorted(rows["decided"].unique())
    cell = (xs.index(rows.loc[gone, "lines added"]), ys.index(rows.loc[gone, "decided"]))
    texts = {(round(t.get_position()[0]), round(t.get_position()[1])) for t in ax.texts}
    hatched = {(round(p.get_x() + 0.5), round(p.get_y() + 0.5)) for p in ax.patches
               if isinstance(p, Rectangle) and p.get_hatch()}
    assert cell not in texts and cell not in hatched
    not_closed = {(xs.index(r["lines added"]), ys.index(r["decided"])) for _, r in rows.iterrows()
                  if np.isnan(r["p50"])}
    assert not_closed and hatched == not_closed


def test_a_heatmap_title_speaks_of_hatching_only_when_a_cell_is_hatched(store: Results) -> None:
    """The title said "(hatched: not by ...)" on heatmaps where every median is a date."""
    import matplotlib.pyplot as plt

    for closed in (False, True):
        rows = store.stats.copy()
        gap = rows["metric"] == f"gap_closed_months.{REQ}"
        if closed:
            rows.loc[gap, ["p10", "p50", "p90"]] = 30.0
        plotting.close_heatmap(rows, REQ, x="lines added", y="decided", start=store.start, end=store.end,
                               ax=(ax := plt.subplots()[1]))
        hatched = any(getattr(p, "get_hatch", lambda: None)() for p in ax.patches)
        assert hatched is not closed
        assert ("hatched:" in ax.get_title(loc="left") + ax.get_title()) is hatched, ax.get_title(loc="left")
        plt.close(ax.figure)


def test_a_gap_close_chart_of_many_groups_keeps_them_apart_in_order_and_its_labels_never_overlap() -> None:
    """10 x values and 12 groups (5 ... 16 lines): the palette of 8 repeated (two groups in
    one colour), the groups came in text order (10 before 5), and a "not by 2035" label per
    x ran into the next ones."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rows = pd.DataFrame([{"metric": "gap_closed_months.r", "x": x, "g": g,
                          "p10": math.nan if x < 4 else 10.0 * g, "p50": math.nan if x < 4 else 12.0 * g,
                          "p90": math.nan, "share_not_by_end": 1.0 if x < 4 else 0.3}
                         for x in range(10) for g in range(5, 17)])
    fig, (ax,) = plotting.new_figure((11.0, 6.2), 1)
    plotting.gap_close_chart(rows, "r", x="x", group="g", start="2025-01", end="2035-01", ax=ax)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    lines = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [line.get_label() for line in lines] == [str(g) for g in range(5, 17)]
    assert len({line.get_color() for line in lines}) == 12
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in ax.texts]
    assert all(not a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])
    plt.close(fig)


def test_heatmap_cells_of_a_large_grid_never_overlap_each_other_or_the_tick_labels() -> None:
    """10 x 20 cells: the cells' 14-point text ran into the next cells, and the grey boxes of
    "not by 2035" cells covered the y tick labels (0.5 read "0.")."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    xs, ys = [5 + k for k in range(10)], [round(0.5 + 0.1 * k, 1) for k in range(20)]
    rows = pd.DataFrame([{"metric": "gap_closed_months.r", "x": x, "y": y,
                          "p50": math.nan if x + 3 * y < 12 else 12.0 * (x + y),
                          "share_not_by_end": 1.0 if x + 3 * y < 12 else 0.25} for x in xs for y in ys])
    fig, (ax,) = plotting.new_figure((11.0, 6.2), 1)
    plotting.close_heatmap(rows, "r", x="x", y="y", start="2025-01", end="2035-01", ax=ax)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()

    def extent(text: Text):  # the grey box, if the text has one
        patch = text.get_bbox_patch()
        return (patch or text).get_window_extent(renderer)

    cells = [extent(t) for t in ax.texts]
    ticks = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
    assert len(cells) == 200 and ticks
    for k, a in enumerate(cells):
        assert not any(a.overlaps(b) for b in cells[k + 1:]), k
        assert not any(a.overlaps(b) for b in ticks), k


def test_charts_read_the_series_of_their_points_only(store: Results, tmp_path: Path) -> None:
    """A 1,000-point store's series_quantiles.parquet (1.2 million rows) was read whole by
    plot and report (600 MB peak; 300 MB reading the drawn points' row groups only)."""
    from leadtime_sim.charts.files import chart_jobs, render

    fresh = load_results(store.directory)
    some = [p.point_id for p in fresh.points][:2]
    whole = store.quantiles
    assert fresh.quantiles_of(some).reset_index(drop=True).equals(
        whole[whole["point_id"].isin(some)].reset_index(drop=True))
    assert set(fresh.quantiles_of(some)["point_id"]) == set(some) and fresh.has_series
    jobs = chart_jobs(fresh)
    assert {j.stem.split("-")[0] for j in jobs} >= {"fan", "backlog", "utilisation"}
    for job in jobs:
        render(job)
    assert "quantiles" not in fresh.__dict__  # (the whole table was never read)


def test_unit_axes_of_a_few_units_never_repeat_a_label(tmp_path: Path) -> None:
    """Inventory and backlog of a handful of units: the axes tick at whole units. (Ticks at
    0.5, 1.0, 1.5, ... printed without decimals read 0, 0, 1, 2, 2, 2, 3, 4, 4 on the fan of
    a run that held 3 units against 4 required.)"""
    model = tmp_path / "few.toml"
    model.write_text('name = "few"\nstart = "2025-01"\nend = "2025-05"\n[products.u]\n'
                     '[factories.f]\nproduct = "u"\ntakt_months = 1\n'
                     '[[orders]]\ncustomer = "c"\nproduct = "u"\nquantity = 10\nplaced = "2025-01"\n'
                     '[requirements.r]\ncustomer = "c"\nproduct = "u"\n'
                     'required = [{date = "2025-04-10", units = 4}]\n')
    code, output = invoke("run", model, "--out", tmp_path / "run")
    assert code == 0, output
    run = load_results(tmp_path / "run")
    for draw, name in ((plotting.fan_chart, "r"), (plotting.backlog_chart, "u")):
        fig, (axes,) = plotting.new_figure()
        draw(run.quantiles, name, start=run.start, ax=axes)
        fig.canvas.draw()
        labels = [t.get_text() for t in axes.get_yticklabels() if t.get_text()]
        assert len(labels) == len(set(labels)) > 2, labels


def test_a_chart_of_some_of_the_axes_names_the_values_it_holds_the_others_at(tmp_path: Path) -> None:
    """With three axes, gap_close, probability and heatmap draw two and hold the third at the
    baseline's value; the title did not say so (four-axis sweep: the heatmap's best cell,
    2038-05, against the report's best point, 2035-02, at other values of the hidden axes)."""
    import matplotlib.pyplot as plt

    from leadtime_sim.charts.files import chart_jobs

    third = ('\n[[axes]]\npath = "investments.new_line.construction_months"\nlabel = "construction"\n'
             'values = [3, 9]\n\n[baseline]\nconstruction = 9\n')
    path = tmp_path / "e.toml"
    path.write_text(SWEEP.read_text().replace('model = "charts_model.toml"', f'model = "{MODEL}"')
                    .replace("replications = 6", "replications = 2") + third)
    code, output = invoke("sweep", path, "--out", tmp_path / "s", "--executor", "serial", "--no-charts")
    assert code == 0, output
    results = load_results(tmp_path / "s")
    titles = {}
    for job in chart_jobs(results, ["gap_close", "probability", "heatmap"]):
        fig, ax = plt.subplots()
        job.draw([ax])
        titles[job.stem] = ax.get_title(loc="left")
        plt.close(fig)
    assert len(titles) == 3
    for stem, title in titles.items():
        assert title.endswith("Charts test; construction = 9 (as at the baseline)"), (stem, title)


@pytest.mark.parametrize("end", ["2029-06-15", "2030-01"])
def test_time_axes_end_at_the_horizon(tmp_path: Path, end: str) -> None:
    """A run ending mid-month (2029-06-15): the last month's row, cut short by the horizon,
    was drawn at the month's end and every time axis ran to 2029-07-01, a fortnight past the
    end, with a 2029-07 tick label; the utilisation chart's last cell did too. Now each time
    axis and last point stop at the horizon."""
    from leadtime_sim.charts.files import chart_jobs

    code, output = invoke("run", MODEL, "--out", tmp_path / "r", "--set", f'end="{end}"')
    assert code == 0, output
    results = load_results(tmp_path / "r")
    at_end = float(dates(results, [months_between(results.start, end)])[0])
    drawn = set()
    for job in chart_jobs(results):
        if job.kind == "lead_time":  # (no time axis)
            continue
        _fig, axes = plotting.new_figure(rows=job.rows)
        job.draw(axes)
        for axis in axes:
            assert axis.get_xlim()[1] == pytest.approx(at_end), job.stem
            lines = [line for line in axis.lines if len(line.get_xdata()) > 1]
            assert all(max(line.get_xdata()) <= at_end + 1e-6 for line in lines), job.stem
        drawn.add(job.kind)
    assert drawn == {"fan", "backlog", "utilisation"}


def test_a_quote_chart_ends_at_the_horizon(ax) -> None:
    """The what-if delivery chart's axis ran 60 days past the horizon."""
    from leadtime_sim.plotting.quote import delivery_chart

    answer = {"start": "2025-01", "end": "2030-01", "date": "2026-01", "quantity": 1, "product": "p",
              "priority": 1, "last_delivery_months": [30.0, 32.0, None], "share_not_by_end": 1 / 3,
              "last_delivery": {"p10": "2027-07", "p50": "2027-09", "p90": None}}
    delivery_chart(answer, ax=ax)
    assert ax.get_xlim()[1] == pytest.approx(plotting.date_numbers("2025-01", [60.0])[0])


@pytest.mark.parametrize("most", [0.0, 0.4, 3.0])
def test_unit_axes_tick_at_whole_units_even_with_few_units(most: float) -> None:
    """A product with no backlog (or a requirement of a unit or less): the integer locator
    falls back to fractional ticks on a range below one unit, and the backlog axis showed
    eleven ticks from 0 to 0.05, each labelled 0. Now every tick is a whole unit, labelled once."""
    rows = []
    for m in range(24):
        for entity, name, field, value in (
                ("product", "p", "backlog_units", most), ("requirement", "r", "inventory_units", most * m / 23),
                ("requirement", "r", "required_units", most)):
            rows.append({"point_id": 0, "entity": entity, "name": name, "field": field, "month": m,
                         "p10": np.nan, "p50": value, "p90": np.nan})
    q = pd.DataFrame(rows)
    for draw in (lambda ax: plotting.backlog_chart(q, "p", start="2025-01", ax=ax),
                 lambda ax: plotting.fan_chart(q, "r", start="2025-01", ax=ax)):
        fig, (ax,) = plotting.new_figure()
        draw(ax)
        fig.canvas.draw()
        low, high = ax.get_ylim()
        ticks = [t for t in ax.get_yticks() if low - 1e-9 <= t <= high + 1e-9]
        assert low == 0 and high >= 1
        assert len(ticks) >= 2 and all(float(t).is_integer() for t in ticks)
        labels = [t.get_text() for t in ax.get_yticklabels() if low - 1e-9 <= t.get_position()[1] <= high + 1e-9]
        assert len(set(labels)) == len(labels)


def test_a_unit_axis_reaching_a_round_number_ticks_it_in_round_steps() -> None:
    """single_line's requirement of 1,000 was ticked 0 to 900 by 150 (MaxNLocator's steps),
    leaving the level the lines reach unlabelled; now in round steps, up to 1,000."""
    rows = [{"point_id": 0, "entity": "requirement", "name": "r", "field": field, "month": m,
             "p10": np.nan, "p50": value, "p90": np.nan}
            for m in range(121) for field, value in (("inventory_units", 200 + 800 * min(m, 60) / 60),
                                                      ("required_units", 200 + 800 * m / 120))]
    fig, (ax,) = plotting.new_figure()
    plotting.fan_chart(pd.DataFrame(rows), "r", start="2025-01", ax=ax)
    fig.canvas.draw()
    low, high = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if low - 1e-9 <= t <= high + 1e-9]
    steps = set(np.diff(ticks).tolist())
    assert ticks[-1] == 1000 and len(steps) == 1 and steps <= {100.0, 200.0, 250.0, 500.0}, ticks


def _quotes(stops: dict[int, int], months: int = 240) -> pd.DataFrame:
    """Backlog and quoted lead time rows of points whose quotes stop after ``stops[point]``."""
    rows = []
    for point, stop in stops.items():
        for m in range(months):
            quoted = 120.0 - m / 4 + 10 * point if m <= stop else np.nan
            rows += [{"point_id": point, "entity": "product", "name": "p", "field": field, "month": m,
                      "p10": np.nan, "p50": value, "p90": np.nan}
                     for field, value in (("backlog_units", 50.0), ("quoted_lead_time_months", quoted))]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("stops", [{0: 200, 1: 110}, {0: 236, 1: 233}, {0: 140}])
def test_backlog_chart_labels_do_not_overlap(stops: dict[int, int]) -> None:
    """The quoted lead time panel labelled a line that stops early with 'orders after this: not
    delivered by ...' beside its end, which ran into the hatched strip and its label (a
    two-point sweep of models/nato_air_defence.toml, Patriot fire units); a narrow strip's
    label, turned upright, spilled over the lines and past the axes' edge (the fluid estimate's
    GEM-T). Now a stopping line is marked at its end and the legend says what the mark and a
    narrow strip mean; every text in the panel lies inside it and apart from the others."""
    q = _quotes(stops)
    fig, (top, bottom) = plotting.new_figure(rows=2)
    points = sorted(stops)
    plotting.backlog_chart(q, "p", start="2025-01", points=points, end="2045-01", ax=top)
    plotting.quoted_lead_time_chart(q, "p", start="2025-01", end="2045-01", points=points, title=False,
                                    ax=bottom)
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    inside = bottom.get_window_extent(renderer)
    boxes = [t.get_window_extent(renderer) for t in bottom.texts] + [
        a.get_window_extent(renderer) for a in bottom.get_children() if type(a).__name__ == "Annotation"]
    for k, box in enumerate(boxes):
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
        assert not any(box.overlaps(other) for other in boxes[k + 1:])
    key = [t.get_text() for t in bottom.get_legend().get_texts()] if bottom.get_legend() else []
    narrow = (240 - max(stops.values()) - 1) / 240 < 0.3  # (the strip: after the last quote)
    assert bool(bottom.texts) != narrow  # (the strip's label: inside a wide strip, else in the legend)
    assert any("ordered here" in text for text in key) == narrow
    early = len(stops) > 1
    assert any("later orders: not" in text for text in key) == early
    assert len([line for line in bottom.lines if line.get_gid() == "quote-stop"]) == (1 if early else 0)


def test_a_one_month_run_shows_its_one_point_on_the_backlog_and_fan() -> None:
    """A one-month horizon has one row per series: drawn as a line alone, the backlog, the
    inventory and the requirement were invisible (empty axes with a legend). Each is now a
    marker at the month's end."""
    rows = [{"point_id": 0, "entity": entity, "name": name, "field": field, "month": 0,
             "p10": np.nan, "p50": value, "p90": np.nan}
            for entity, name, field, value in (("product", "p", "backlog_units", 3.0),
                                               ("requirement", "r", "inventory_units", 0.0),
                                               ("requirement", "r", "required_units", 5.0))]
    q = pd.DataFrame(rows)
    for draw, count in ((lambda ax: plotting.backlog_chart(q, "p", start="2025-01", end="2025-02", ax=ax), 1),
                        (lambda ax: plotting.fan_chart(q, "r", start="2025-01", end="2025-02", ax=ax), 2)):
        _fig, (ax,) = plotting.new_figure()
        draw(ax)
        marked = [line for line in ax.lines if line.get_marker() not in (None, "None", "")
                  and len(line.get_xdata()) == 1]
        assert len(marked) == count
        assert all(not line.get_clip_on() for line in marked)  # (at the axis's end: not cut in half)
    q24 = pd.DataFrame([{**row, "month": m} for row in rows for m in range(24)])
    _fig, (ax,) = plotting.new_figure()
    plotting.backlog_chart(q24, "p", start="2025-01", ax=ax)
    assert all(line.get_marker() in (None, "None", "") for line in ax.lines)  # (longer runs: lines only)


@pytest.mark.parametrize(("same", "label"), [
    (True, "(most capex: the same as the baseline, the best point)"),
    (False, "(most capex; the baseline is the best point)")])
def test_the_point_drawn_beside_a_best_baseline_says_why(store: Results, monkeypatch: pytest.MonkeyPatch,
                                                         same: bool, label: str) -> None:
    """Where the baseline is the best point, the most expensive point is drawn beside it; its
    label read '(most capex; the baseline is the best point; the same as the baseline)'."""
    from leadtime_sim.charts import jobs

    monkeypatch.setattr(jobs, "best_point", lambda results, requirement, target: results.baseline_id)
    monkeypatch.setattr(jobs, "_same_series", lambda rows, point, baseline: same)
    other = next(p.point_id for p in store.points if p.point_id != store.baseline_id)
    labels = jobs._labels(store, [store.baseline_id, other], "army_stock", chosen=True)
    assert labels[other].endswith(label) and labels[other].count("baseline") == 1, labels[other]


def test_the_backlog_chart_says_why_each_point_is_drawn_and_when_it_hides_the_baseline(
        store: Results, monkeypatch: pytest.MonkeyPatch) -> None:
    """On the main job PAC-3 MSE's backlog is the same at every point (the sweep adds Patriot
    lines): the chosen point's line lay over the baseline's, whose legend entry then named a
    line nowhere to be seen, and the label did not say why the point was drawn (the fan chart
    said '(most capex: the same as the baseline, the best point)'). The backlog chart now
    says it too, judged on the product's own series, and names the requirement a 'best point'
    is best for (a product serves several)."""
    from leadtime_sim.charts import jobs
    from leadtime_sim.experiment.spec import Chart

    compared: list[tuple[set, set]] = []

    def same(rows: pd.DataFrame, point: int, baseline: int) -> bool:
        compared.append((set(rows["entity"]), set(rows["name"])))
        return True

    monkeypatch.setattr(jobs, "_same_series", same)
    [job] = jobs.backlog_jobs(store, Chart(chart="backlog"))
    _fig, axes = plotting.new_figure(rows=2)
    job.draw(axes)
    labels = [line.get_label() for line in axes[0].lines if not line.get_label().startswith("_")]
    other = [label for label in labels if "(baseline)" not in label]
    assert other and all("the same as the baseline" in label and "for army_stock" in label
                         for label in other), labels
    assert compared and all(c == ({"product"}, {"missile"}) for c in compared), compared


def test_a_not_by_end_median_and_a_share_not_closed_at_one_x_do_not_overlap() -> None:
    """priority_whatif: at each x the fair-share median is not by 2045 while the FIFO and
    priority medians are dates with 33% of runs not closed; the "not by 2045" label (11 points
    above the horizon) ran into the "33% not by 2045" under it (4 points above, 10-point text)."""
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    rows = pd.DataFrame([{"metric": "gap_closed_months.r", "x": x, "g": g,
                          "p10": 100.0, "p50": math.nan if g == "fair" else 110.0, "p90": math.nan,
                          "share_not_by_end": 0.87 if g == "fair" else 0.33}
                         for x in (1, 2) for g in ("fair", "fifo", "priority")])
    fig, (ax,) = plotting.new_figure((11.0, 6.2), 1)
    plotting.gap_close_chart(rows, "r", x="x", group="g", start="2025-01", end="2035-01", ax=ax)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    texts = [t for t in ax.texts if "not by 2035" in t.get_text()]
    assert sorted(t.get_text() for t in texts) == ["33% not by 2035"] * 2 + ["not by 2035"] * 2
    boxes = [t.get_window_extent(canvas.get_renderer()) for t in texts]
    assert all(not a.overlaps(b) for k, a in enumerate(boxes) for b in boxes[k + 1:])
    plt.close(fig)


def test_the_lead_time_chart_is_titled_by_the_products_name_as_the_backlog_chart(tmp_path: Path) -> None:
    """A run's charts: the backlog chart read "PAC-3 MSE hit-to-kill interceptor (Lockheed
    Martin): backlog ...", the lead-time chart of the same product "pac3_mse: lead time ..."."""
    from leadtime_sim.charts import jobs
    from leadtime_sim.experiment.spec import Chart

    code, output = invoke("run", MODEL, "--out", tmp_path / "r", "--set",
                          'products.missile.description="Interceptor missile (the prime)"')
    assert code == 0, output
    results = load_results(tmp_path / "r")
    [job] = [j for j in jobs.lead_time_jobs(results, Chart(chart="lead_time")) if j.stem == "lead_time-missile"]
    _fig, axes = plotting.new_figure()
    job.draw(axes)
    title = axes[0].get_title(loc="left") + axes[0].get_title()
    assert title.startswith("Interceptor missile (the prime): lead time by customer"), title


def test_a_legend_label_keeps_the_line_break_it_holds() -> None:
    """The probability chart's "95% Wilson interval\\n(30 runs per point)" was filled whole, the
    break dropped: "95% Wilson interval (30 runs per" over "point)"."""
    from matplotlib.lines import Line2D

    from leadtime_sim.plotting.style import legend_outside

    _fig, (ax,) = plotting.new_figure()
    ax.plot([0, 1], [0, 1], label="a")
    legend_outside(ax, extra=[Line2D([], [], label="95% Wilson interval\n(30 runs per point)")])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts[-1] == "95% Wilson interval\n  (30 runs per point)", texts
