"""Design expansion: experiment axes -> design points (pure; nothing is run)."""

from __future__ import annotations

import itertools
import math
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from leadtime_sim.dates import date_at, months_between
from leadtime_sim.experiment.design import baseline_point, expand
from leadtime_sim.experiment.spec import Experiment, load_experiment

DATA = Path(__file__).resolve().parent / "data"


def experiment(axes: list[dict[str, Any]], **fields: Any) -> Experiment:
    """An experiment from plain data, as a TOML file would give it (ranges are lists)."""
    data: dict[str, Any] = {"name": "design test", "model": "model.toml", "axes": axes}
    data.update(fields)
    return Experiment.model_validate(data)


def column(points: list, path: str) -> list[Any]:
    return [p.values[path] for p in points]


# -- grids --------------------------------------------------------------------------------

def test_grid_is_the_product_of_the_value_axes() -> None:
    lines = [1, 2, 3]
    allocation = ["fifo", "priority"]
    decided = ["2026-01", "2027-06"]
    points = expand(experiment([
        {"path": "factories.f.lines", "values": lines},
        {"path": "policy.allocation", "values": allocation},
        {"path": "investments.i.decided", "values": decided},
    ], samples=5))  # samples only matter when there are range axes
    assert len(points) == 3 * 2 * 2
    assert [p.point_id for p in points] == list(range(12))
    combos = [(p.values["factories.f.lines"], p.values["policy.allocation"],
               p.values["investments.i.decided"]) for p in points]
    assert sorted(combos) == sorted(itertools.product(lines, allocation, decided))
    assert len(set(combos)) == 12
    for p in points:  # axes are labelled by path when no label is given
        assert p.axes == {"factories.f.lines": p.values["factories.f.lines"],
                          "policy.allocation": p.values["policy.allocation"],
                          "investments.i.decided": p.values["investments.i.decided"]}


def test_no_axes_is_one_point() -> None:
    points = expand(experiment([]))
    assert len(points) == 1
    assert points[0].point_id == 0 and points[0].values == {} and points[0].axes == {}


def test_labels_name_the_axes_and_paths_name_the_values() -> None:
    points = expand(experiment([{"path": "factories.f.lines", "label": "lines", "values": [4, 5]}]))
    assert [p.axes for p in points] == [{"lines": 4}, {"lines": 5}]
    assert [p.values for p in points] == [{"factories.f.lines": 4}, {"factories.f.lines": 5}]


def test_grid_is_crossed_with_the_same_samples() -> None:
    points = expand(experiment([
        {"path": "factories.f.lines", "values": [1, 2, 3]},
        {"path": "factories.f.takt_months", "range": [0.5, 2.0]},
    ], samples=7, seed=4))
    assert len(points) == 3 * 7
    by_lines: dict[int, list[float]] = {}
    for p in points:
        by_lines.setdefault(p.values["factories.f.lines"], []).append(p.values["factories.f.takt_months"])
    assert sorted(by_lines) == [1, 2, 3]
    samples = [sorted(v) for v in by_lines.values()]
    assert all(len(s) == 7 for s in samples)
    assert samples[0] == samples[1] == samples[2]
    assert len(set(samples[0])) == 7


# -- sampled ranges -----------------------------------------------------------------------

@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_samples_lie_within_their_ranges(sampling: str) -> None:
    points = expand(experiment([
        {"path": "order_streams[0].rate_per_year", "range": [20.0, 28.0]},
        {"path": "factories.f.lines", "range": [2, 6], "integer": True},
        {"path": "investments.i.decided", "range": ["2026-01", "2028-12"]},
    ], sampling=sampling, samples=64, seed=11))
    assert len(points) == 64
    rates = column(points, "order_streams[0].rate_per_year")
    assert all(isinstance(r, float) and 20.0 <= r <= 28.0 for r in rates)
    assert len(set(rates)) == 64
    lines = column(points, "factories.f.lines")
    assert all(type(v) is int for v in lines), lines
    assert set(lines) == {2, 3, 4, 5, 6}  # whole numbers, both ends included
    dates = column(points, "investments.i.decided")
    assert all(isinstance(d, str) and len(d) == 7 and d[4] == "-" for d in dates), dates
    assert all("2026-01" <= d <= "2028-12" for d in dates)
    assert all(0 <= months_between("2026-01", d) <= 35 for d in dates)
    assert {"2026-01", "2028-12"} <= set(dates)  # 64 stratified samples reach both ends


@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_integer_range_hits_every_whole_number_equally(sampling: str) -> None:
    """Both ends included: 32 stratified samples over 1..4 give each number 8 times."""
    points = expand(experiment([{"path": "factories.f.lines", "range": [1, 4], "integer": True}],
                               sampling=sampling, samples=32, seed=5))
    counts = Counter(column(points, "factories.f.lines"))
    assert counts == {1: 8, 2: 8, 3: 8, 4: 8}


def test_date_range_covers_every_month_once_with_as_many_lhs_samples() -> None:
    months = [date_at("2026-01", k) for k in range(24)]  # 2026-01 .. 2027-12
    points = expand(experiment([{"path": "investments.i.decided", "range": ["2026-01", "2027-12"]}],
                               samples=24, seed=8))
    dates = column(points, "investments.i.decided")
    assert sorted(dates) == months


@pytest.mark.parametrize("n", [5, 16, 50])
def test_lhs_is_stratified_in_every_dimension(n: int) -> None:
    """Each of the n equal strata of each axis holds exactly one of the n samples."""
    axes = [{"path": f"x{k}", "range": [0.0, 1.0]} for k in range(3)]
    axes.append({"path": "scaled", "range": [10.0, 30.0]})
    points = expand(experiment(axes, sampling="lhs", samples=n, seed=n))
    assert len(points) == n
    for k in range(3):
        strata = sorted(math.floor(v * n) for v in column(points, f"x{k}"))
        assert strata == list(range(n)), k
    scaled = sorted(math.floor((v - 10.0) / 20.0 * n + 1e-9) for v in column(points, "scaled"))
    assert scaled == list(range(n))


def test_sobol_is_balanced_in_each_dimension() -> None:
    points = expand(experiment([{"path": f"x{k}", "range": [0.0, 1.0]} for k in range(2)],
                               sampling="sobol", samples=16, seed=3))
    for k in range(2):
        assert sorted(math.floor(v * 16) for v in column(points, f"x{k}")) == list(range(16))


def test_lhs_and_sobol_designs_differ() -> None:
    axes = [{"path": "x", "range": [0.0, 1.0]}, {"path": "y", "range": [0.0, 1.0]}]
    lhs = expand(experiment(axes, sampling="lhs", samples=8, seed=2))
    sobol = expand(experiment(axes, sampling="sobol", samples=8, seed=2))
    assert [p.values for p in lhs] != [p.values for p in sobol]


# -- tied axes ----------------------------------------------------------------------------

def test_tied_list_moves_with_its_axis() -> None:
    points = expand(experiment([
        {"path": "investments.new.lines_added", "label": "lines", "values": [0, 1, 2],
         "tied": {"investments.new.capex_musd": [0.0, 150.0, 280.0],
                  "investments.new.decided": ["2030-01", "2026-01", "2026-06"]}},
        {"path": "policy.allocation", "values": ["fifo", "priority"]},
    ]))
    assert len(points) == 6
    expected = {0: (0.0, "2030-01"), 1: (150.0, "2026-01"), 2: (280.0, "2026-06")}
    for p in points:
        lines = p.values["investments.new.lines_added"]
        assert (p.values["investments.new.capex_musd"], p.values["investments.new.decided"]) \
            == expected[lines]
        assert p.axes.keys() == {"lines", "policy.allocation"}  # tied values are not axes


def test_tied_linear_moves_with_a_grid_axis() -> None:
    points = expand(experiment([
        {"path": "investments.new.lines_added", "values": [0, 1, 3],
         "tied": {"investments.new.capex_musd": {"per_unit": 120.5, "offset": 10.0}}},
    ]))
    assert [p.values["investments.new.capex_musd"] for p in points] == [10.0, 130.5, 371.5]


@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_tied_linear_moves_with_a_sampled_axis(sampling: str) -> None:
    points = expand(experiment([
        {"path": "investments.new.lines_added", "range": [1, 6], "integer": True,
         "tied": {"investments.new.capex_musd": {"per_unit": 50.0}}},
        {"path": "order_streams[0].rate_per_year", "range": [5.0, 9.0],
         "tied": {"order_streams[0].priority_weight": {"per_unit": -2.0, "offset": 100.0}}},
    ], sampling=sampling, samples=16, seed=21))
    for p in points:
        lines = p.values["investments.new.lines_added"]
        assert p.values["investments.new.capex_musd"] == pytest.approx(50.0 * lines)
        rate = p.values["order_streams[0].rate_per_year"]
        assert p.values["order_streams[0].priority_weight"] == pytest.approx(100.0 - 2.0 * rate)
    assert len({p.values["investments.new.capex_musd"] for p in points}) > 1


def test_tied_list_needs_one_value_per_axis_value() -> None:
    with pytest.raises(ValidationError, match="2 values for 3 axis values"):
        experiment([{"path": "a", "values": [1, 2, 3], "tied": {"b": [10, 20]}}])


def test_tied_list_needs_a_grid_axis() -> None:
    with pytest.raises(ValidationError, match="needs an axis with 'values'"):
        experiment([{"path": "a", "range": [1, 3], "tied": {"b": [10, 20]}}])


@pytest.mark.parametrize("axis", [
    {"path": "a", "range": ["2025-03", "2026-02"]},
    {"path": "a", "values": ["2025-03", "2026-02"]},
    {"path": "a", "values": ["fifo", "priority"]},
    {"path": "a", "distribution": {"dist": "uniform", "low": 0, "high": 12}, "origin": "2026-01"},
], ids=["date-range", "date-values", "text-values", "origin"])
def test_tied_linear_needs_an_axis_of_numbers(axis: dict[str, Any]) -> None:
    """A linear tie on dates or text was accepted, then raised ValueError (float('2025-03'))
    out of the design's expansion: a traceback instead of one line."""
    with pytest.raises(ValidationError, match="per_unit and offset need an axis of numbers"):
        experiment([axis | {"tied": {"b": {"per_unit": 2.0}}}])


@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_an_integer_range_with_fractional_ends_takes_the_whole_numbers_inside(sampling: str) -> None:
    """range = [0.5, 2.5] took 0 (below the range) in a sixth of the points and 2 in half
    (floor(0.5 + 3u), capped at 2.5); the whole numbers inside are 1 and 2, equally often."""
    points = expand(experiment([{"path": "a", "range": [0.5, 2.5], "integer": True}],
                               sampling=sampling, samples=64, seed=5))
    assert Counter(column(points, "a")) == {1: 32, 2: 32}
    with pytest.raises(ValidationError, match="holds no whole number"):
        experiment([{"path": "a", "range": [0.2, 0.8], "integer": True}])


@pytest.mark.parametrize("axis", [{"path": "a"}, {"path": "a", "values": [1], "range": [1, 2]}],
                         ids=["neither", "both"])
def test_axis_has_values_or_range(axis: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="exactly one of 'values'"):
        experiment([axis])


@pytest.mark.parametrize("bad", [[3, 1], [2, 2], ["2027-01", "2026-01"], [1, "2026-01"], [1, 2, 3]],
                         ids=["falling", "empty", "falling-dates", "mixed", "three"])
def test_bad_ranges_are_refused(bad: list[Any]) -> None:
    with pytest.raises(ValidationError) as info:
        experiment([{"path": "a", "range": bad}])
    assert any(err["loc"][:2] == ("axes", 0) for err in info.value.errors())


# -- seeds --------------------------------------------------------------------------------

@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_same_seed_same_design_other_seed_other_design(sampling: str) -> None:
    axes: list[dict[str, Any]] = [{"path": "x", "range": [0.0, 1.0]},
                                  {"path": "n", "range": [1, 9], "integer": True},
                                  {"path": "d", "range": ["2026-01", "2030-12"]}]
    first = expand(experiment(axes, sampling=sampling, samples=16, seed=42))
    again = expand(experiment(axes, sampling=sampling, samples=16, seed=42))
    other = expand(experiment(axes, sampling=sampling, samples=16, seed=43))
    assert first == again
    assert [p.values for p in first] != [p.values for p in other]


def test_grid_does_not_depend_on_the_seed() -> None:
    axes = [{"path": "x", "values": [1, 2, 3]}]
    assert expand(experiment(axes, seed=1)) == expand(experiment(axes, seed=99))


# -- baseline -----------------------------------------------------------------------------

def test_baseline_defaults_to_the_first_point() -> None:
    e = experiment([{"path": "factories.f.lines", "values": [3, 1, 2]}])
    points = expand(e)
    assert baseline_point(e, points) is points[0]


@pytest.mark.parametrize("key", ["lines", "factories.f.lines"], ids=["label", "path"])
def test_baseline_by_label_or_path(key: str) -> None:
    e = experiment([{"path": "factories.f.lines", "label": "lines", "values": [3, 1, 2]},
                    {"path": "policy.allocation", "values": ["fifo", "priority"]}],
                   baseline={key: 1, "policy.allocation": "priority"})
    points = expand(e)
    base = baseline_point(e, points)
    assert base.values["factories.f.lines"] == 1 and base.values["policy.allocation"] == "priority"
    assert points[base.point_id] is base


def test_baseline_that_matches_no_point_is_an_error() -> None:
    e = experiment([{"path": "factories.f.lines", "label": "lines", "values": [1, 2]}],
                   baseline={"lines": 7})
    with pytest.raises(ValueError, match=r"lines = 7 is none of the values the design gives it \(1, 2\)"):
        baseline_point(e, expand(e))


@pytest.mark.parametrize(("values", "baseline"), [
    (["2026-01", "2028-01"], "2028-01-01"),
    (["2026-01-01", "2028-01-01"], "2028-01"),
], ids=["month-values-day-baseline", "day-values-month-baseline"])
def test_a_baseline_date_matches_however_it_is_written(values: list[str], baseline: str) -> None:
    e = experiment([{"path": "investments.i.decided", "label": "decided", "values": values}],
                   baseline={"decided": baseline})
    assert baseline_point(e, expand(e)).point_id == 1


# -- the form a TOML file gives -------------------------------------------------------------

def test_unquoted_toml_dates_are_axis_values_ties_and_baselines(tmp_path: Path) -> None:
    """``values = [2026-01-01]`` (TOML dates) work as the quoted "2026-01-01" do: they were
    refused as 'should be a valid integer or ... string' (datetime.date)."""
    (tmp_path / "e.toml").write_text("""
name = "dates"
model = "model.toml"
[[axes]]
path = "investments.i.decided"
label = "decided"
values = [2026-01-01, 2028-03-15]
tied = { "investments.j.decided" = [2027-01-01, 2029-01-01] }
[[axes]]
path = "investments.k.decided"
range = [2026-01-01, 2030-01-01]
[baseline]
decided = 2028-03-15
""")
    (tmp_path / "model.toml").write_text("")  # (the experiment is what is read here)
    e, _ = load_experiment(tmp_path / "e.toml")
    assert e.axes[0].values == ["2026-01-01", "2028-03-15"]
    assert e.axes[0].tied["investments.j.decided"] == ["2027-01-01", "2029-01-01"]
    assert e.axes[1].range == ["2026-01-01", "2030-01-01"]
    points = expand(e)
    assert baseline_point(e, points).values["investments.i.decided"] == "2028-03-15"


def test_range_axes_accept_the_lists_a_toml_file_gives() -> None:
    """TOML has no tuples: ``range = [20.0, 28.0]`` arrives as a list and must be accepted."""
    e = Experiment.model_validate({
        "name": "toml ranges", "model": "model.toml", "samples": 4,
        "axes": [{"path": "order_streams[0].rate_per_year", "range": [20.0, 28.0]},
                 {"path": "factories.f.lines", "range": [1, 3], "integer": True,
                  "tied": {"factories.f.capex": {"per_unit": 2}}}],
    })
    points = expand(e)
    assert len(points) == 4
    assert all(20.0 <= p.values["order_streams[0].rate_per_year"] <= 28.0 for p in points)
    assert all(p.values["factories.f.capex"] == 2 * p.values["factories.f.lines"] for p in points)


def test_range_experiment_file_loads_and_expands() -> None:
    e, model = load_experiment(DATA / "range_axes.toml")
    assert model == (DATA / e.model).resolve() and model.is_file()
    points = expand(e)
    assert len(points) == 2 * e.samples  # a 2-value grid axis times the samples
    for p in points:
        assert p.values["factories.server.lines"] in {2, 3, 4}
        assert 20.0 <= p.values["order_streams[0].rate_per_year"] <= 28.0


def test_an_uncertain_input_is_stratified_in_probability() -> None:
    """A Latin hypercube of 20 points over a gamma input: the k-th smallest value lies
    between the distribution's k/20 and (k+1)/20 quantiles (one point per stratum), so the
    sample follows the distribution, not a uniform range."""
    from scipy import stats

    experiment = Experiment.model_validate({
        "name": "u", "model": "m.toml", "samples": 20, "axes": [{"path": "factories.f.lines", "values": [1, 2]}],
        "uncertain": [{"path": "factories.f.flow_months", "distribution": {"dist": "gamma", "mean": 12.0, "sd": 4.0}}]})
    points = expand(experiment)
    assert len(points) == 40  # the grid (2) crossed with the samples (20)
    values = np.sort([p.values["factories.f.flow_months"] for p in points if p.axes["factories.f.lines"] == 1])
    gamma = stats.gamma(9, scale=12 / 9)
    k = np.arange(20)
    assert np.all(gamma.ppf(k / 20) <= values) and np.all(values < gamma.ppf((k + 1) / 20))


@pytest.mark.parametrize(("uncertain", "problem"), [
    ({"path": "factories.f.takt_months", "values": [1, 2]}, "an uncertain input is sampled"),
    ({"path": "factories.f.takt_months", "range": [1, 2], "distribution": {"dist": "uniform", "low": 1, "high": 2}},
     "exactly one of"),
    ({"path": "factories.f.takt_months", "distribution": {"dist": "triangular", "low": 3, "mode": 1, "high": 2}},
     "low <= mode <= high"),
    ({"path": "factories.f.lines", "distribution": {"dist": "uniform", "low": 1, "high": 2}},
     "uncertain[0].path: 'factories.f.lines' is already varied by axis 0"),
])
def test_a_bad_uncertain_input_is_named_by_its_path(tmp_path: Path, uncertain: dict[str, Any], problem: str) -> None:
    from leadtime_sim.errors import InputError
    from leadtime_sim.experiment.spec import experiment_from

    (tmp_path / "m.toml").write_text("")
    data = {"name": "u", "model": "m.toml", "axes": [{"path": "factories.f.lines", "values": [1, 2]}],
            "uncertain": [uncertain]}
    with pytest.raises(InputError) as caught:
        experiment_from(data, tmp_path, "u.toml")
    assert problem in str(caught.value) and "u.toml" in str(caught.value)


@pytest.mark.parametrize("sampling", ["lhs", "sobol"])
def test_dates_with_a_day_stay_inside_the_range_and_after_the_origin(sampling: str) -> None:
    """range = ["2025-01-15", "2025-06-14"] gave "2025-01" (the 1st, before the low end: a
    point before a 2025-01-15 start, refused) up to "2025-06"; now the low end's day in each
    month, never past the high end. An origin's day is kept the same way."""
    points = expand(experiment([{"path": "a", "range": ["2025-01-15", "2025-06-14"]}],
                               uncertain=[{"path": "b", "origin": "2025-11-30",
                                           "distribution": {"dist": "uniform", "low": 0.0, "high": 3.0}}],
                               sampling=sampling, samples=64, seed=2))
    assert set(column(points, "a")) == {"2025-01-15", "2025-02-15", "2025-03-15", "2025-04-15", "2025-05-15"}
    assert set(column(points, "b")) == {"2025-11-30", "2025-12-30", "2026-01-30", "2026-02-28"}
    month_only = expand(experiment([{"path": "a", "range": ["2025-11", "2026-02"]}], samples=8))
    assert set(column(month_only, "a")) == {"2025-11", "2025-12", "2026-01", "2026-02"}  # as before


def test_an_uncertain_date_is_whole_months_after_its_origin() -> None:
    """A decision date 0-24 months (uniform) after 2026-01, 8 Latin hypercube points: each a
    'YYYY-MM' date, the k-th earliest within its stratum [3k, 3k + 3] months (rounded)."""
    experiment = Experiment.model_validate({
        "name": "u", "model": "m.toml", "samples": 8,
        "uncertain": [{"path": "investments.more.decided", "origin": "2026-01",
                       "distribution": {"dist": "uniform", "low": 0.0, "high": 24.0}}]})
    dates = sorted(p.values["investments.more.decided"] for p in expand(experiment))
    months = [months_between("2026-01", d) for d in dates]
    assert all(isinstance(d, str) and len(d) == 7 for d in dates)
    assert all(3 * k <= m <= 3 * k + 3 for k, m in enumerate(months)), months
    with pytest.raises(ValidationError, match="'origin' dates the months of a 'distribution'"):
        Experiment.model_validate({"name": "u", "model": "m.toml", "uncertain": [
            {"path": "investments.more.decided", "origin": "2026-01", "range": ["2026-01", "2027-01"]}]})
