"""Scenario validation: every kind of bad input names the file and the field path."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from conftest import START, build, factory, order, problems_of, scenario_dict

import leadtime_sim as lts


def _paths(problems: list[str]) -> list[str]:
    """The field path of each ``SOURCE: path: message`` line."""
    out = []
    for line in problems:
        source, path, _ = line.split(": ", 2)
        assert source == "test.toml", line
        out.append(path)
    return out


def _only(data: dict) -> tuple[str, str]:
    """(path, message) of the single problem ``data`` has."""
    problems = problems_of(data)
    assert len(problems) == 1, problems
    _, path, message = problems[0].split(": ", 2)
    return path, message


def test_valid_scenario_is_accepted_and_frozen() -> None:
    scenario = build(scenario_dict())
    assert scenario.factories["f"].lines == 1
    assert scenario.factories["f"].takt_months.mean == 2
    with pytest.raises(Exception):  # noqa: B017 - pydantic raises its own frozen-instance error
        scenario.factories["f"].lines = 3  # type: ignore[misc]


# -- unknown keys ----------------------------------------------------------------------

@pytest.mark.parametrize(("where", "key", "path", "hint"), [
    ((), "strat", "strat", "start"),
    (("factories", "f"), "lnies", "factories.f.lnies", "lines"),
    (("factories", "f"), "lot_sise", "factories.f.lot_sise", "lot_size"),
    (("orders", 0), "quantiy", "orders[0].quantiy", "quantity"),
    (("products", "p"), "bomm", "products.p.bomm", "bom"),
])
def test_unknown_key_with_did_you_mean(where: tuple, key: str, path: str, hint: str) -> None:
    data = scenario_dict()
    node = data
    for part in where:
        node = node[part]
    node[key] = 1
    got_path, message = _only(data)
    assert got_path == path
    assert f"unknown key {key!r}" in message
    assert f"did you mean {hint!r}" in message


def test_unknown_key_without_close_match_has_no_hint() -> None:
    data = scenario_dict()
    data["factories"]["f"]["zzzzqqq"] = 1
    path, message = _only(data)
    assert path == "factories.f.zzzzqqq"
    assert "did you mean" not in message


def test_did_you_mean_never_suggests_the_same_key() -> None:
    """Regression: 'sd' is a key of other distributions, not of exponential; the hint once
    read "unknown key 'sd' (did you mean 'sd'?)"."""
    data = scenario_dict(factories={"f": factory(takt_months={"dist": "exponential", "mean": 1, "sd": 2})})
    path, message = _only(data)
    assert path == "factories.f.takt_months.sd"
    assert "did you mean 'sd'" not in message


def test_a_name_with_an_accent_says_what_a_name_may_hold() -> None:
    """It said "String should match pattern '^[A-Za-z0-9_.\\-]+$'", a regular expression."""
    path, message = _only(scenario_dict(orders=[order(5, customer="bundeswehr-süd")]))
    assert path == "orders[0].customer"
    assert message == ("a name may hold only the letters A-Z and a-z, digits, '_', '.' and '-' (no spaces or "
                       "accents) (got 'bundeswehr-süd')")


def test_names_that_look_like_distribution_names_stay_in_the_path() -> None:
    """Regression: a factory named 'constant' was dropped from paths ('factories.lnies')."""
    data = scenario_dict(products={"normal": {}},
                         factories={"constant": factory("normal", lnies=2)},
                         orders=[order(1, product="normal")])
    path, _ = _only(data)
    assert path == "factories.constant.lnies"


# -- wrong types, negative and non-finite numbers ------------------------------------

@pytest.mark.parametrize(("field", "value", "path", "words"), [
    ("lines", "two", "factories.f.lines", "valid integer"),
    ("lines", 2.5, "factories.f.lines", "fractional part"),
    ("lines", -1, "factories.f.lines", "greater than or equal to 0"),
    ("lot_size", 0, "factories.f.lot_size", "greater than or equal to 1"),
    ("yield_fraction", 0, "factories.f.yield_fraction", "greater than or equal to 0.01"),
    ("yield_fraction", 1.5, "factories.f.yield_fraction", "less than or equal to 1"),
    ("yield_fraction", math.nan, "factories.f.yield_fraction", "finite number"),
    # a bare number is told at the path written (not at the constant's ``value``)
    ("takt_months", -2, "factories.f.takt_months", "greater than or equal to 0"),
    ("takt_months", math.inf, "factories.f.takt_months", "finite number"),
    ("takt_months", 10**400, "factories.f.takt_months", "finite number"),
    ("takt_months", True, "factories.f.takt_months", "should be a number (a constant) or a distribution table"),
    ("takt_months", "two", "factories.f.takt_months", "should be a number (a constant) or a distribution table"),
    ("takt_months", [1, 2], "factories.f.takt_months", "should be a number (a constant) or a distribution table"),
    ("product", 3, "factories.f.product", "valid string"),
])
def test_bad_factory_values(field: str, value: object, path: str, words: str) -> None:
    data = scenario_dict(factories={"f": factory(**{field: value})})
    got_path, message = _only(data)
    assert got_path == path
    assert words in message
    if not isinstance(value, bool) and isinstance(value, int | float) and abs(value) < 1e300 \
            and math.isfinite(value):
        assert f"(got {value!r})" in message  # the offending value is quoted


@pytest.mark.parametrize(("field", "value"), [("quantity", -3), ("quantity", 0), ("priority", -1)])
def test_bad_order_numbers(field: str, value: int) -> None:
    data = scenario_dict(orders=[order(5), {**order(2), field: value}])
    path, message = _only(data)
    assert path == f"orders[1].{field}"
    assert f"got {value}" in message


@pytest.mark.parametrize(("where", "field", "value"), [
    ("order_streams[0]", "rate_per_year", -1.0),
    ("order_streams[0]", "rate_per_year", math.nan),
    ("requirements.r", "consumption_per_year", -5.0),
    ("requirements.r", "initial_units", math.inf),
    ("investments.i", "construction_months", -1.0),
    ("investments.i", "capex_musd", math.nan),
])
def test_negative_and_non_finite_numbers_elsewhere(where: str, field: str, value: float) -> None:
    data = scenario_dict(
        order_streams=[{"customer": "a", "product": "p", "rate_per_year": 1.0}],
        requirements={"r": {"customer": "a", "product": "p", "required": [{"date": "2027-01", "units": 5}]}},
        investments={"i": {"factory": "f", "decided": START}},
    )
    if where.endswith("[0]"):
        target = data[where.removesuffix("[0]")][0]
    else:
        section, name = where.split(".")
        target = data[section][name]
    target[field] = value
    path, _ = _only(data)
    assert path == f"{where}.{field}"


def test_boolean_is_not_a_count() -> None:
    """Regression: 'lines = true' was silently taken as 1 line."""
    path, _ = _only(scenario_dict(factories={"f": factory(lines=True)}))
    assert path == "factories.f.lines"


def test_missing_required_keys() -> None:
    data = scenario_dict()
    del data["start"]
    del data["factories"]["f"]["takt_months"]
    assert sorted(_paths(problems_of(data))) == ["factories.f.takt_months", "start"]
    assert all("required key is missing" in line for line in problems_of(data))


def test_wrong_container_type() -> None:
    path, message = _only(scenario_dict(products=["p"]))
    assert path == "products"
    assert "dictionary" in message


# -- dates -------------------------------------------------------------------------------

@pytest.mark.parametrize(("value", "words"), [
    ("2025-13", "month must be 01-12"),
    ("2025/01", "YYYY-MM"),
    ("25-01", "YYYY-MM"),
    ("2025-02-30", "no such day"),
    (2025, "YYYY-MM"),
])
def test_malformed_dates(value: object, words: str) -> None:
    path, message = _only(scenario_dict(start=value, orders=[]))
    assert path == "start"
    assert words in message


def test_malformed_nested_date() -> None:
    path, message = _only(scenario_dict(orders=[order(1), order(2, placed="2026-00")]))
    assert path == "orders[1].placed"
    assert "month must be 01-12" in message


def test_toml_date_objects_are_accepted() -> None:
    import datetime as dt

    scenario = build(scenario_dict(start=dt.date(2025, 1, 1), orders=[order(1, placed="2025-01")]))
    assert scenario.start == "2025-01-01"


def test_end_before_start() -> None:
    path, message = _only(scenario_dict(end="2024-06", orders=[]))
    assert path == "end"
    assert "not after start" in message


def test_end_equal_to_start() -> None:
    path, _ = _only(scenario_dict(end=START, orders=[]))
    assert path == "end"


def test_required_points_must_increase() -> None:
    points = [{"date": "2026-01", "units": 5}, {"date": "2028-01", "units": 10},
              {"date": "2027-01", "units": 20}, {"date": "2027-01", "units": 30}]
    data = scenario_dict(requirements={"r": {"customer": "a", "product": "p", "required": points}})
    problems = problems_of(data)
    assert _paths(problems) == ["requirements.r.required[2].date", "requirements.r.required[3].date"]
    assert "2027-01 is not after 2028-01" in problems[0]


def test_stream_until_before_from() -> None:
    data = scenario_dict(order_streams=[{"customer": "a", "product": "p", "rate_per_year": 2,
                                         "from": "2027-01", "until": "2026-01"}])
    path, message = _only(data)
    assert path == "order_streams[0].until"
    assert "not after from" in message


def test_dates_outside_the_horizon() -> None:
    data = scenario_dict(orders=[order(1, placed="2031-01")], quote_dates=["2040-01"])
    assert sorted(_paths(problems_of(data))) == ["orders[0].placed", "quote_dates[0]"]


def test_orders_before_start_are_the_order_book() -> None:
    scenario = build(scenario_dict(orders=[order(1, placed="2019-05")]))
    assert scenario.orders[0].placed == "2019-05"


def test_multiple_needs_by_and_by_after_start() -> None:
    req = {"customer": "a", "product": "p", "initial_units": 10, "multiple": 5}
    path, message = _only(scenario_dict(requirements={"r": req}))
    assert path == "requirements.r"
    assert "'multiple' needs 'by'" in message
    path, _ = _only(scenario_dict(requirements={"r": {**req, "by": "2024-01"}}))
    assert path == "requirements.r.by"


# -- references ------------------------------------------------------------------------

def test_unknown_product_references() -> None:
    data = scenario_dict(
        factories={"f": factory("q")},
        orders=[order(1, product="zz")],
        requirements={"r": {"customer": "a", "product": "yy", "required": [{"date": "2027-01", "units": 1}]}},
    )
    problems = problems_of(data)
    paths = _paths(problems)
    assert "factories.f.product" in paths
    assert "orders[0].product" in paths
    assert "requirements.r.product" in paths
    assert any("unknown product 'zz' (known: p)" in line for line in problems)


def test_unknown_factory_reference() -> None:
    data = scenario_dict(investments={"grow": {"factory": "nope", "decided": START}})
    path, message = _only(data)
    assert path == "investments.grow.factory"
    assert "unknown factory 'nope' (known: f)" in message


def test_order_for_product_nobody_makes() -> None:
    data = scenario_dict(products={"p": {}, "q": {}}, orders=[order(1, product="q")])
    path, message = _only(data)
    assert path == "orders[0].product"
    assert "no factory makes product 'q'" in message


def test_unknown_bom_component() -> None:
    data = scenario_dict(products={"p": {"bom": {"ghost": 1}}})
    path, message = _only(data)
    assert path == "products.p.bom.ghost"
    assert "unknown product 'ghost'" in message


def _bom(products: dict) -> dict:
    return scenario_dict(products=products,
                         factories={f"f_{name}": factory(name) for name in products},
                         orders=[])


def test_bom_cycle() -> None:
    data = _bom({"a": {"bom": {"b": 1}}, "b": {"bom": {"c": 2}}, "c": {"bom": {"a": 1}}})
    problems = problems_of(data)
    cycles = [line for line in problems if "cycle in bills of materials" in line]
    assert len(cycles) == 1, problems
    rotations = ["a -> b -> c -> a", "b -> c -> a -> b", "c -> a -> b -> c"]
    assert any(r in cycles[0] for r in rotations), cycles[0]
    assert _paths(cycles)[0].startswith("products.")
    assert _paths(cycles)[0].endswith(".bom")


def test_two_product_bom_cycle() -> None:
    data = _bom({"a": {"bom": {"b": 1}}, "b": {"bom": {"a": 1}}})
    problems = problems_of(data)
    assert any("cycle in bills of materials" in line and "a -> b -> a" in line for line in problems)


def test_product_containing_itself() -> None:
    path, message = _only(_bom({"a": {"bom": {"a": 1}}}))
    assert path == "products.a.bom.a"
    assert "cannot contain itself" in message


def test_diamond_bom_is_not_a_cycle() -> None:
    data = _bom({"top": {"bom": {"l": 1, "r": 1}}, "l": {"bom": {"base": 1}},
                 "r": {"bom": {"base": 1}}, "base": {}})
    data["orders"] = [order(1, product="top")]
    assert build(data).products["top"].bom == {"l": 1, "r": 1}


def test_ordering_a_component_product() -> None:
    data = _bom({"missile": {"bom": {"seeker": 1}}, "seeker": {}})
    data["orders"] = [order(1, product="missile"), order(4, product="seeker")]
    data["requirements"] = {"r": {"customer": "a", "product": "seeker",
                                  "required": [{"date": "2027-01", "units": 1}]}}
    problems = problems_of(data)
    assert _paths(problems) == ["orders[1].product", "requirements.r.product"]
    assert "components are made to stock" in problems[0]


def test_unknown_allocation_policy() -> None:
    path, message = _only(scenario_dict(policy={"allocation": "lifo"}))
    assert path == "policy.allocation"
    assert "unknown allocation policy 'lifo'" in message
    assert "fifo" in message and "--plugin" in message


def test_plugin_policy_name_is_then_known() -> None:
    plugins = lts.Plugins(policies={"lifo": lts.AllocationPolicy})
    assert build(scenario_dict(policy={"allocation": "lifo"}), plugins).policy.allocation == "lifo"


def test_unknown_ordering_rule() -> None:
    req = {"customer": "a", "product": "p", "required": [{"date": "2027-01", "units": 1}],
           "ordering": {"rule": "guess"}}
    path, message = _only(scenario_dict(requirements={"r": req}))
    assert path == "requirements.r.ordering.rule"
    assert "unknown ordering rule 'guess'" in message


def test_duplicate_order_ids() -> None:
    data = scenario_dict(orders=[order(1, id="x"), order(2, id="x")])
    path, message = _only(data)
    assert path == "orders[1].id"
    assert "duplicate" in message


def test_min_lot_size_above_lot_size() -> None:
    path, _ = _only(scenario_dict(factories={"f": factory(lot_size=2, min_lot_size=3)}))
    assert path == "factories.f.min_lot_size"


# -- many problems at once -------------------------------------------------------------

def test_schema_problems_are_all_reported_at_once() -> None:
    data = scenario_dict(orders=[order(-3), order(1, placed="2025-13")])
    data["factories"]["f"]["lnies"] = 2
    data["factories"]["f"]["yield_fraction"] = 2
    data["strat"] = "x"
    paths = _paths(problems_of(data))
    assert sorted(paths) == sorted(["factories.f.lnies", "factories.f.yield_fraction",
                                    "orders[0].quantity", "orders[1].placed", "strat"])


def test_cross_check_problems_are_all_reported_at_once() -> None:
    data = scenario_dict(
        end="2024-01",
        factories={"f": factory("p"), "g": factory("ghost")},
        orders=[order(1, product="zz")],
        investments={"i": {"factory": "nope", "decided": START}},
        policy={"allocation": "lifo"},
    )
    paths = _paths(problems_of(data))
    for expected in ["end", "factories.g.product", "orders[0].product", "investments.i.factory",
                     "policy.allocation"]:
        assert expected in paths, paths


# -- overrides ---------------------------------------------------------------------------

def test_apply_overrides_values_and_list_indices() -> None:
    data = scenario_dict(orders=[order(10), order(4)])
    new = lts.apply_overrides(data, ["orders[0].quantity=3", "orders.1.priority=2",
                                     "factories.f.lines=4", 'policy.allocation="priority"',
                                     "factories.f.takt_months={dist = \"exponential\", mean = 1.5}",
                                     "name=plain words"])
    assert new["orders"][0]["quantity"] == 3
    assert new["orders"][1]["priority"] == 2
    assert new["factories"]["f"]["lines"] == 4
    assert new["policy"] == {"allocation": "priority"}
    assert new["factories"]["f"]["takt_months"] == {"dist": "exponential", "mean": 1.5}
    assert new["name"] == "plain words"
    assert data["orders"][0]["quantity"] == 10, "the input must not be changed"
    scenario = build(new)
    assert scenario.orders[0].quantity == 3
    assert scenario.factories["f"].takt_months.mean == 1.5


@pytest.mark.parametrize(("assignment", "words"), [
    ("orders[5].quantity=3", "orders[5]: no such"),
    ("orders[1]=3", "no such list item"),
    ("factories.f.lines.x=3", "factories.f.lines: is a value, not a table"),
    ("factories.f.lines", "expected PATH=VALUE"),
    ("factories..lines=3", "empty part"),
])
def test_bad_override_paths(assignment: str, words: str) -> None:
    with pytest.raises(lts.InputError) as info:
        lts.apply_overrides(scenario_dict(), [assignment])
    (line,) = info.value.problems
    assert line.startswith(f"--set {assignment}: ")
    assert words in line


def test_an_override_without_a_value_names_it_once() -> None:
    """It said "--set factories.f.lines: 'factories.f.lines': expected PATH=VALUE"."""
    with pytest.raises(lts.InputError) as info:
        lts.apply_overrides(scenario_dict(), ["factories.f.lines"])
    assert info.value.problems == ["--set factories.f.lines: expected PATH=VALUE (there is no '=')"]


def test_bad_overrides_are_all_reported() -> None:
    with pytest.raises(lts.InputError) as info:
        lts.apply_overrides(scenario_dict(), ["orders[5].quantity=3", "nonsense", "name=ok"])
    assert len(info.value.problems) == 2


def test_override_creating_an_unknown_key_is_judged_by_the_schema() -> None:
    data = lts.apply_overrides(scenario_dict(), ["factories.f.lnies=3"])
    path, message = _only(data)
    assert path == "factories.f.lnies"
    assert "did you mean 'lines'" in message


def _write(tmp_path: Path, text: str | bytes, name: str = "model.toml") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


MODEL = f"""
name = "file test"
start = "{START}"
end = "2030-01"
[products.p]
[factories.f]
product = "p"
takt_months = 2
flow_months = 3
[[orders]]
customer = "a"
product = "p"
quantity = 10
placed = "{START}"
"""


def test_load_scenario_with_overrides(tmp_path: Path) -> None:
    path = _write(tmp_path, MODEL)
    scenario = lts.load_scenario(path, overrides=["orders[0].quantity=3", "factories.f.lines=2"])
    assert scenario.orders[0].quantity == 3
    assert scenario.factories["f"].lines == 2
    assert lts.load_scenario(path).orders[0].quantity == 10


def test_load_scenario_override_error(tmp_path: Path) -> None:
    path = _write(tmp_path, MODEL)
    with pytest.raises(lts.InputError) as info:
        lts.load_scenario(path, overrides=["orders[3].quantity=3"])
    assert "orders[3]" in info.value.problems[0]


def test_load_scenario_validation_errors_name_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, MODEL.replace("takt_months = 2", "takt_monts = 2"))
    with pytest.raises(lts.InputError) as info:
        lts.load_scenario(path)
    expected = f"{path}: factories.f.takt_monts: unknown key"
    assert any(line.startswith(expected) for line in info.value.problems)


@pytest.mark.parametrize(("content", "words"), [
    ("name = \"x\"\nstart = \n", "not valid TOML"),
    ("[products.p]\n[products.p]\n", "not valid TOML"),
    (b"name = \"caf\xe9\"\n", "not UTF-8"),
])
def test_unreadable_files(tmp_path: Path, content: str | bytes, words: str) -> None:
    path = _write(tmp_path, content)
    with pytest.raises(lts.InputError) as info:
        lts.load_scenario(path)
    (line,) = info.value.problems
    assert line.startswith(f"{path}: ")
    assert words in line


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.toml"
    with pytest.raises(lts.InputError) as info:
        lts.load_scenario(path)
    assert info.value.problems == [f"{path}: no such file"]


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(lts.InputError) as info:
        lts.load_scenario(tmp_path)
    (line,) = info.value.problems
    assert line.startswith(f"{tmp_path}: ")
    assert "directory" in line


def test_simulate_accepts_a_path(tmp_path: Path) -> None:
    result = lts.simulate(_write(tmp_path, MODEL), seed=1)
    assert result.summary["products"]["p"]["delivered_units"] == 10


def test_input_error_message_is_all_lines() -> None:
    error = lts.InputError(["a: b: c", "d: e: f"])
    assert str(error) == "a: b: c\nd: e: f"


def test_json_schema() -> None:
    schema = lts.json_schema()
    assert isinstance(schema, dict)
    for key in ("start", "end", "products", "factories", "orders", "order_streams", "requirements"):
        assert key in schema["properties"], key
    import json

    json.dumps(schema)  # it is plain JSON


@pytest.mark.parametrize("model", ["single_line.toml", "mmc_check.toml", "nato_air_defence.toml"])
def test_json_schema_accepts_the_shipped_models(model: str) -> None:
    """A bare number for a distribution (``takt_months = 1.0``) is valid: so says the schema."""
    import tomllib

    jsonschema = pytest.importorskip("jsonschema")
    path = Path(__file__).resolve().parents[1] / "models" / model
    errors = jsonschema.Draft202012Validator(lts.json_schema()).iter_errors(tomllib.loads(path.read_text()))
    assert [f"{list(e.absolute_path)}: {e.message[:80]}" for e in errors] == []


def test_an_end_before_the_start_is_the_one_problem_named() -> None:
    """With no horizon, every dated entry would also be "after the end": noise that hides
    the one value to fix."""
    from leadtime_sim.errors import InputError
    from leadtime_sim.scenario.loading import load_scenario

    with pytest.raises(InputError) as caught:
        load_scenario(Path(__file__).parent / "data" / "charts_model.toml", overrides=['end="1999-01"'])
    assert len(caught.value.problems) == 1 and "end: 1999-01 is not after start 2025-01" in caught.value.problems[0]


def test_a_horizon_shorter_than_a_month_is_refused() -> None:
    """No month end to sample: the run and the fluid estimate used to crash (simpy's
    ``run(until=0)``, pandas' concat of no series)."""
    path, message = _only(scenario_dict(start="2025-01-15", end="2025-02-03",
                                        orders=[order(3, placed="2025-01-15")]))
    assert path == "end" and "less than a month after start 2025-01-15" in message
    scenario = build(scenario_dict(start="2025-01-15", end="2025-02-15", orders=[order(3, placed="2025-01-15")]))
    # one month end, and the last month the end cuts short (0.05 months): accepted and run
    assert [m.month for m in lts.simulate(scenario).records.products] == [0, 1]


def test_a_bad_value_in_a_union_of_a_number_and_a_word_names_the_field_only() -> None:
    """``lookahead_months`` is a number >= 0 or "lead_time": pydantic tags its number member
    'constrained-float', which is no field of the file (the fuzzer found it)."""
    from leadtime_sim.errors import InputError
    from leadtime_sim.scenario.loading import load_scenario

    model = Path(__file__).parents[1] / "models" / "nato_air_defence.toml"
    with pytest.raises(InputError) as caught:
        load_scenario(model, overrides=["requirements.us_army_pac3.ordering.lookahead_months=-1"])
    [line] = caught.value.problems
    assert "requirements.us_army_pac3.ordering.lookahead_months: " in line and "constrained" not in line


def test_an_order_id_that_an_unnamed_order_gets_is_refused() -> None:
    """Unnamed orders are ``order-<index>``: an explicit ``order-1`` made two orders of that id
    in the run (records, calibration targets and quotes pair orders by id)."""
    data = scenario_dict(orders=[order(2, id="order-1"), order(3)])
    assert _only(data) == ("orders[0].id", "'order-1' is the id the run gives the unnamed orders[1] "
                                           "(order-<index>)")
    build(scenario_dict(orders=[order(2, id="order-0"), order(3)]))  # orders[0] is named: no clash


def test_a_file_of_the_other_kind_is_one_line_saying_so(tmp_path: Path) -> None:
    """An experiment given to run, or a scenario to sweep, was a dozen 'unknown key' lines."""
    from click.testing import CliRunner

    from leadtime_sim.cli import main

    root = Path(__file__).resolve().parents[1]
    done = CliRunner().invoke(main, ["run", str(root / "experiments" / "budget.toml"), "--out", str(tmp_path / "r")])
    assert done.exit_code == 2 and done.output.count("error:") == 1, done.output
    assert "is an experiment (or calibration) file" in done.output
    done = CliRunner().invoke(main, ["sweep", str(root / "models" / "single_line.toml"), "--out", str(tmp_path / "s")])
    assert done.exit_code == 2 and done.output.count("error:") == 1, done.output
    assert "is a scenario file, not an experiment" in done.output
    assert not (tmp_path / "r").exists() and not (tmp_path / "s").exists()


def _ordering_until(until: str, first_review: str | None = "2026-01", end: str = "2030-01") -> dict:
    """One requirement whose rule reviews yearly from ``first_review`` until ``until``."""
    ordering: dict = {"review_every_months": 12, "lookahead_months": 12, "until": until}
    if first_review is not None:
        ordering["first_review"] = first_review
    return scenario_dict(end=end, requirements={"r": {
        "customer": "a", "product": "p", "initial_units": 0,
        "required": [{"date": "2025-01", "units": 0}, {"date": "2030-01", "units": 50}], "ordering": ordering}})


@pytest.mark.parametrize(("until", "first_review", "wrong"), [
    ("2024-06", "2026-01", "2024-06 is before the scenario start 2025-01"),
    ("2031-01", "2026-01", "2031-01 is after the scenario end 2030-01"),
    ("2025-06", "2026-01", "2025-06 is not after first_review 2026-01: the rule would never review"),
    ("2026-01", "2026-01", "2026-01 is not after first_review 2026-01: the rule would never review"),
    ("2025-01", None, "2025-01 is not after the scenario start 2025-01 (the first review): the rule would "
                      "never review"),
])
def test_ordering_until_outside_the_reviews(until: str, first_review: str | None, wrong: str) -> None:
    """``ordering.until`` was not checked: before the start, after the end or not after the
    first review, the file was accepted and the rule silently never (or always) reviewed."""
    path, message = _only(_ordering_until(until, first_review))
    assert path == "requirements.r.ordering.until"
    assert message == wrong


def test_ordering_until_is_one_line_from_the_cli(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from leadtime_sim.cli import main

    path = tmp_path / "s.toml"
    model = Path(__file__).parent.parent / "models" / "single_line.toml"
    path.write_text(model.read_text() + """
[requirements.army_stock.ordering]
first_review = "2026-01"
until = "2024-06"
""")
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"error: {path}: requirements.army_stock.ordering.until: 2024-06 is before the scenario start 2025-01"]


def test_ordering_until_is_honoured_alike_by_the_run_and_the_fluid() -> None:
    """Reviews happen while ``t < until``, in a run and in the fluid model: until mid-January
    2028 keeps the 2028-01 review, until 2028-01 itself does not."""
    for until, reviews in (("2028-01-15", [12.0, 24.0, 36.0]), ("2028-01", [12.0, 24.0])):
        scenario = build(_ordering_until(until))
        for result in (lts.simulate(scenario), lts.fluid(scenario)):
            placed = [o.placed_months for o in result.records.orders if o.source == "requirement"]
            assert placed == reviews, (until, result.summary.get("estimate"))


def test_a_first_review_at_the_end_is_a_warning() -> None:
    from leadtime_sim.scenario.checks import scenario_warnings

    data = _ordering_until("2030-01", first_review="2030-01")
    data["requirements"]["r"]["ordering"].pop("until")
    assert scenario_warnings(build(data)) == [
        ("requirements.r.ordering.first_review", "2030-01 is the end (2030-01): the rule never reviews")]


def test_initial_wip_beyond_the_order_book_is_a_warning(tmp_path: Path) -> None:
    """A final product's factory with more initial_wip_units than its order book: a run and the
    fluid model both commit the WIP to the book and drop the rest, silently (400 in progress
    for a book of 300: 100 units gone). Now ``validate`` and ``run`` say so in one warning
    line; the two models drop the same units (factory by factory, in file order)."""
    from click.testing import CliRunner

    from leadtime_sim.cli import main
    from leadtime_sim.scenario.checks import scenario_warnings

    model = str(Path(__file__).parent.parent / "models" / "single_line.toml")
    expected = ("warning: --set (on single_line.toml): factories.line.initial_wip_units: 400 units in progress at "
                "start, but the order book of 'interceptor' (orders placed by the start 2025-01) has 300 for "
                "them: the other 100 are dropped (work in progress at start is the book's)")
    for args in (["validate", model], ["run", model, "--out", str(tmp_path / "run")]):
        result = CliRunner().invoke(main, [*args, "--set", "factories.line.initial_wip_units=400"])
        assert result.exit_code == 0, result.output
        warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
        assert warnings == [expected]  # (the --set makes it: the file alone has none, below)
    result = CliRunner().invoke(main, ["validate", model])
    assert "warning" not in result.stderr

    data = scenario_dict(factories={"f": factory(takt_months=1, flow_months=6, initial_wip_units=6),
                                    "g": factory(takt_months=1, flow_months=2, initial_wip_units=8)},
                         orders=[order(10, placed="2024-06"), order(5, placed="2025-03")])
    scenario = build(data)
    assert scenario_warnings(scenario) == [("factories.g.initial_wip_units", (
        "8 units in progress at start, but the order book of 'p' (orders placed by the start 2025-01) has 4 for "
        "them (6 are in the factories listed before it): the other 4 are dropped (work in progress at start is "
        "the book's)"))]
    for result in (lts.simulate(scenario), lts.fluid(scenario)):  # 10 of the 14 in the flow, by 6 months
        assert result.summary["products"]["p"]["delivered_units"] == 15
        assert sum(d.units for d in result.records.deliveries if d.time_months <= 6 + 1e-9) == 12
        assert result.records.products[0].ordered_units == 10
