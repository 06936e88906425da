"""The command line's handling of unusual and bad input: one line naming the file (or
option), the field path and what is wrong, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from leadtime_sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
SINGLE = str(ROOT / "models" / "single_line.toml")


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("command", [["run"], ["run", "--fluid"], ["quote", "--product", "interceptor"],
                                     ["validate"]])
def test_a_negative_list_index_is_refused_in_the_users_own_spelling(tmp_path: Path,
                                                                    command: list[str]) -> None:
    out = tmp_path / "out"
    args = [command[0], SINGLE, *command[1:], "--set", "orders[-1].quantity=3"]
    code, stdout, err = invoke(*args, *(["--out", str(out)] if command[0] != "validate" else []))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line == ("error: --set orders[-1].quantity=3: orders[-1]: list items are numbered from 0 "
                    "(a negative index is not taken): the list has 2; the last is orders[1]")
    assert "orders.-1" not in stdout + err
    assert not out.exists()


def test_a_list_item_that_is_not_there_names_the_items_that_are() -> None:
    code, _, err = invoke("validate", SINGLE, "--set", "orders[2].quantity=3")
    assert code == 2
    assert err.strip() == ("error: --set orders[2].quantity=3: orders[2]: no such list item "
                           "(the list has 2: orders[0] to orders[1])")
    code, _, err = invoke("validate", SINGLE, "--set", "orders.last.quantity=3")
    assert code == 2
    assert err.strip() == ("error: --set orders.last.quantity=3: orders: is a list, so 'last' names no "
                           "item: give a number (the list has 2: orders[0] to orders[1])")


def test_an_experiment_axis_at_a_negative_index_is_refused(tmp_path: Path) -> None:
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'name = "e"\nmodel = "{SINGLE}"\nreplications = 1\n'
                          '[[axes]]\npath = "orders[-1].quantity"\nvalues = [1, 2]\n')
    out = tmp_path / "out"
    code, _, err = invoke("sweep", str(experiment), "--out", str(out))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {experiment}: axes[0].path: orders[-1].quantity: orders[-1]: ")
    assert "the last is orders[1]" in line
    assert not out.exists()


def test_quote_echoes_a_date_on_the_first_as_its_month(tmp_path: Path) -> None:
    code, out, err = invoke("quote", SINGLE, "--product", "interceptor", "--date", "2025-01-01",
                            "--replications", "2", "--workers", "1")
    assert code == 0, err
    assert out.splitlines()[0].startswith("What-if: 1 x interceptor ordered 2025-01 by what-if")
    code, out, err = invoke("quote", SINGLE, "--product", "interceptor", "--date", "2026-03-01",
                            "--replications", "2", "--workers", "1", "--json")
    assert code == 0, err
    assert '"date": "2026-03"' in out
    code, out, err = invoke("quote", SINGLE, "--product", "interceptor", "--date", "2026-03-15",
                            "--replications", "1", "--workers", "1")
    assert code == 0, err
    assert "ordered 2026-03-15 by" in out  # (a day within the month is a later instant: shown)


def test_a_horizon_written_with_days_is_shown_in_months(tmp_path: Path) -> None:
    model = tmp_path / "days.toml"
    model.write_text(Path(SINGLE).read_text().replace('start = "2025-01"', 'start = "2025-01-01"')
                     .replace('end = "2035-01"', "end = 2035-01-01"))
    code, out, err = invoke("run", str(model), "--out", str(tmp_path / "o"))
    assert code == 0, err
    assert out.splitlines()[0] == "Single line  (2025-01 to 2035-01, seed 1)"
    code, out, err = invoke("quote", str(model), "--product", "interceptor", "--date", "2024-12-15")
    assert code == 2
    assert err.strip() == "error: --date 2024-12-15: outside the horizon 2025-01 to 2035-01"
    code, out, err = invoke("quote", str(model), "--product", "interceptor", "--replications", "1",
                            "--workers", "1", "--target", "2025-01")
    assert code == 0, err
    assert "outside the horizon" not in err  # (2025-01 is the start, 2025-01-01)


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n\n   \n"])
@pytest.mark.parametrize("command", [["run"], ["run", "--fluid"], ["quote", "--product", "p"], ["validate"],
                                     ["sweep"]])
def test_an_empty_file_is_one_line_not_one_per_missing_key(tmp_path: Path, text: str,
                                                           command: list[str]) -> None:
    model = tmp_path / "empty.toml"
    model.write_text(text)
    out = tmp_path / "out"
    args = [command[0], str(model), *command[1:], *(["--out", str(out)] if command[0] != "validate" else [])]
    code, _, err = invoke(*args)
    assert code == 2
    (line,) = err.strip().splitlines()
    needs = "an experiment needs name and model" if command == ["sweep"] else \
        "a scenario needs name, start, end, products and factories"
    assert line.startswith(f"error: {model}: (top level): the file holds no settings: {needs}")
    assert not out.exists()


def test_quote_of_a_directory_is_one_line_as_run_says_it(tmp_path: Path) -> None:
    for command in (["run"], ["quote", "--product", "p"]):
        code, out, err = invoke(command[0], str(tmp_path), *command[1:])
        assert code == 2
        assert err.strip() == f"error: {tmp_path}: is a directory, not a file"
        assert "Usage" not in out + err


@pytest.mark.parametrize(("start", "words"), [
    ("2025-01-01T10:00:00", "start: a date with a time (got 2025-01-01T10:00:00): dates are months"),
    ("2025-01-01T00:00:00Z", "start: a date with a time (got 2025-01-01T00:00:00+00:00)"),
    ("10:00:00", "start: a time of day (got 10:00:00), not a date"),
])
def test_a_date_with_a_time_is_refused_not_cut(tmp_path: Path, start: str, words: str) -> None:
    model = tmp_path / "m.toml"
    model.write_text(Path(SINGLE).read_text().replace('start = "2025-01"', f"start = {start}"))
    code, _, err = invoke("validate", str(model))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {model}: {words}")
    assert "datetime." not in line
    model.write_text(Path(SINGLE).read_text().replace('start = "2025-01"', "start = 2025-01-01T00:00:00"))
    assert invoke("validate", str(model))[0] == 0  # (midnight is the day itself)


@pytest.mark.parametrize(("value", "words"), [
    ("-1", "factories.line.takt_months: Input should be greater than or equal to 0 (got -1)"),
    ("nan", "factories.line.takt_months: Input should be a finite number (got nan)"),
    ('"1.0"', "factories.line.takt_months: should be a number (a constant) or a distribution table"),
])
def test_a_bare_number_is_told_at_the_path_written(value: str, words: str) -> None:
    code, _, err = invoke("validate", SINGLE, "--set", f"factories.line.takt_months={value}")
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: --set (on single_line.toml): {words}")
    assert ".value" not in line


@pytest.mark.parametrize(("args", "line"), [
    (["quote", SINGLE, "--product", "interceptor", "--quantity", "0"],
     "error: Invalid value for '--quantity': 0 is not in the range 1<=x<=1000000000 (see main quote --help)"),
    (["run", SINGLE, "--seed", "abc"], "error: Invalid value for '--seed': 'abc' is not a valid seed "
                                       "(see main run --help)"),
    (["run"], "error: Missing argument 'MODEL' (see main run --help)"),
    (["quote", SINGLE], "error: Missing option '--product' (see main quote --help)"),
    (["run", SINGLE, "--chrats"], "error: No such option '--chrats'. Did you mean '--charts'? (see main run --help)"),
    (["--bogus", "run"], "error: No such option '--bogus'. Did you mean '--verbose'? (see main --help)"),
])
def test_a_bad_option_is_one_line_not_a_usage_block(tmp_path: Path, args: list[str], line: str) -> None:
    code, out, err = invoke(*args)
    assert code == 2
    assert err.strip().splitlines() == [line]
    assert "Usage:" not in out + err


def test_the_program_alone_still_shows_its_help() -> None:
    result = CliRunner().invoke(main, [])
    assert "Usage:" in result.output and "Commands:" in result.output


@pytest.mark.parametrize("start", ["2025-01\\n", "２０２５-01", "2025-01 ", "2025-1"])
def test_a_date_is_ascii_digits_and_nothing_more(tmp_path: Path, start: str) -> None:
    """A trailing newline (which ``$`` lets through) or full-width digits (which ``\\d`` and
    ``int`` read) made a valid start, written into summary.json as it was."""
    model = tmp_path / "m.toml"
    model.write_text(Path(SINGLE).read_text().replace('start = "2025-01"', f'start = "{start}"'),
                     encoding="utf-8")
    out = tmp_path / "out"
    code, _, err = invoke("run", str(model), "--out", str(out))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {model}: start: ")
    assert "is not a date of the form YYYY-MM or YYYY-MM-DD" in line
    assert "(got " not in line  # (the value is quoted once, at the start of the message)
    assert not out.exists()


@pytest.mark.parametrize(("args", "line"), [
    (["--date", "2025-13"], "error: --date '2025-13': month must be 01-12"),
    (["--date", "2025/1"], "error: --date '2025/1': is not a date of the form YYYY-MM or YYYY-MM-DD"),
    (["--target", "2026-02-30"], "error: --target '2026-02-30': no such day"),
])
def test_a_bad_quote_date_quotes_the_value_once(args: list[str], line: str) -> None:
    code, _, err = invoke("quote", SINGLE, "--product", "interceptor", *args)
    assert code == 2
    assert err.strip().splitlines() == [line]


def _numbers(node: object) -> list[dict]:
    found = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") in ("integer", "number"):
                found.append(item)
            stack += item.values()
        elif isinstance(item, list):
            stack += item
    return found


@pytest.mark.parametrize("flag", [[], ["--experiment"]])
def test_the_schema_states_its_bounds_as_json_schema_does(flag: list[str]) -> None:
    """Counts (lines, quantities, lot sizes, ...) had their bounds as pydantic's 'ge' / 'le',
    which JSON Schema does not know: an editor took lines = -1 and quantity = 0 as valid."""
    import json

    code, out, _ = invoke("schema", *flag)
    assert code == 0
    schema = json.loads(out)
    assert not [n for n in _numbers(schema) if {"ge", "le", "gt", "lt"} & set(n)]
    if flag:
        return
    factory = schema["$defs"]["Factory"]["properties"]
    assert (factory["lines"]["minimum"], factory["lines"]["maximum"]) == (0, 10_000)
    assert schema["$defs"]["Order"]["properties"]["quantity"]["minimum"] == 1
    assert {"type": "number", "minimum": 0} in factory["takt_months"]["anyOf"]  # (a bare constant)
    assert schema["properties"]["start"]["pattern"] == "^[0-9]{4}-[0-9]{2}(-[0-9]{2})?$"
    jsonschema = pytest.importorskip("jsonschema")
    import tomllib

    model = tomllib.loads(Path(SINGLE).read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(model))
    model["factories"]["line"]["lines"] = -1
    model["orders"][0]["quantity"] = 0
    model["start"] = "2025/01"
    assert len(list(validator.iter_errors(model))) == 3


NO_ORDERS = '''name = "quiet"
start = "2025-01"
end = "2027-01"
[products.p]
bom = {c = 1}
[products.c]
[factories.f]
product = "p"
takt_months = 1
flow_months = 2
[factories.g]
product = "c"
takt_months = 0.5
'''


@pytest.mark.parametrize("fluid", [[], ["--fluid"]])
def test_a_product_nobody_ordered_is_shown_with_its_quote(tmp_path: Path, fluid: list[str]) -> None:
    """The run's table left out every product without orders, so a scenario with none printed a
    header alone, and the quote for a first order (in summary.json) was not shown; components,
    made to stock, are still left out unless ordered."""
    model = tmp_path / "m.toml"
    model.write_text(NO_ORDERS)
    code, out, err = invoke("run", str(model), *fluid, "--out", str(tmp_path / "o"))
    assert code == 0, err
    rows = [line.split() for line in out.splitlines()]
    (row,) = [r for r in rows if r[:1] == ["p"]]
    assert row[1:4] == ["0", "0", "0"]
    assert row[-4:] == ["no", "orders", "no", "orders"]
    assert not [r for r in rows if r[:1] == ["c"]]


@pytest.mark.parametrize(("extra", "words"), [
    ('[baseline]\nlinez = 1\n', "baseline: 'linez': no axis has this label or path (axes: lines)"),
    ('[baseline]\nlines = 5\n', "baseline: lines = 5 is none of the values the design gives it (1, 2)"),
    ('[baseline]\n"factories.line.lines" = 7\n',
     "baseline: factories.line.lines = 7 is none of the values the design gives it (1, 2)"),
])
def test_a_baseline_no_point_has_says_which_key_or_value(tmp_path: Path, extra: str, words: str) -> None:
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'name = "e"\nmodel = "{SINGLE}"\nreplications = 1\n[[axes]]\n'
                          f'path = "factories.line.lines"\nlabel = "lines"\nvalues = [1, 2]\n{extra}')
    code, _, err = invoke("validate", str(experiment))
    assert code == 2
    assert err.strip().splitlines() == [f"error: {experiment}: {words}"]


def test_experiment_overrides_written_as_set_texts_are_told_the_table_form(tmp_path: Path) -> None:
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'name = "e"\nmodel = "{SINGLE}"\noverrides = ["factories.line.lines=2"]\n')
    code, _, err = invoke("validate", str(experiment))
    assert code == 2
    (line,) = err.strip().splitlines()
    assert line.startswith(f"error: {experiment}: overrides: should be a table of scenario paths and values")


def test_validate_counts_one_point_and_one_replication_in_the_singular(tmp_path: Path) -> None:
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'name = "e"\nmodel = "{SINGLE}"\nreplications = 1\n')
    code, out, _ = invoke("validate", str(experiment))
    assert code == 0
    assert out.strip() == f"{experiment}: ok (experiment e: 1 design point x 1 replication, every point valid)"


def test_a_warning_that_set_causes_is_told_against_set_not_the_file(tmp_path: Path) -> None:
    code, _, err = invoke("validate", SINGLE, "--set", "orders=[]")
    assert code == 0
    (line,) = [x for x in err.splitlines() if x.startswith("warning:")]
    assert line.startswith("warning: --set (on single_line.toml): factories.line.initial_wip_units: 60 units")
    model = tmp_path / "m.toml"
    model.write_text(Path(SINGLE).read_text().replace("quantity = 300", "quantity = 10"))
    code, _, err = invoke("validate", str(model), "--set", "factories.line.lines=2")
    assert code == 0
    (line,) = [x for x in err.splitlines() if x.startswith("warning:")]
    assert line.startswith(f"warning: {model}: factories.line.initial_wip_units: ")  # (the file's own)


def test_quote_refuses_what_run_refuses_as_too_many_lots(tmp_path: Path) -> None:
    """run refused a scenario of 180 billion lots at once; quote ran its paired runs on it,
    for good (no end in minutes). quote now has run's --max-lots and refuses it alike."""
    mmc = str(ROOT / "models" / "mmc_check.toml")
    out = tmp_path / "out"
    expected = (f"error: {mmc}: this run would start about 180,002,552,064 lots, more than --max-lots "
                "10,000,000; raise --max-lots to run it anyway")
    for command in (["run"], ["quote", "--product", "unit"]):
        code, _, err = invoke(command[0], mmc, *command[1:], "--set", "order_streams[0].rate_per_year=1e9",
                              "--out", str(out))
        assert code == 2
        assert err.strip().splitlines() == [expected]
        assert not out.exists()
    code, _, err = invoke("run", mmc, "--set", "order_streams[0].rate_per_year=1e300")
    assert code == 2
    assert "would start about 1.8e+302 lots" in err  # (not 303 digits)


def test_a_name_holding_a_dot_can_be_set_quoted(tmp_path: Path) -> None:
    """Names may hold '.', but a path was split at every dot: factories.f.1.lines, and even
    factories."f.1".lines, found no factory 'f.1'. A quoted part is now one name, as in TOML."""
    import json

    model = tmp_path / "m.toml"
    model.write_text(Path(SINGLE).read_text().replace("[factories.line]", '[factories."line.1"]')
                     .replace('factory = "line"', 'factory = "line.1"'))
    for text in ('factories."line.1".lines=3', "factories['line.1'].lines=3"):
        out = tmp_path / "o"
        code, _, err = invoke("run", str(model), "--set", text, "--out", str(out))
        assert code == 0, err
        assert json.loads((out / "scenario_as_run.json").read_text())["factories"]["line.1"]["lines"] == 3
    code, _, err = invoke("validate", str(model), "--set", 'factories."line.1.lines=3')
    assert code == 2
    assert err.strip() == "error: --set factories.\"line.1.lines=3: 'factories.\"line.1.lines': a quote is not closed"


def test_an_experiment_path_with_a_space_is_told_in_words_not_a_regular_expression(tmp_path: Path) -> None:
    experiment = tmp_path / "e.toml"
    experiment.write_text(f'name = "e"\nmodel = "{SINGLE}"\n[[axes]]\npath = "factories.line lines"\n'
                          "values = [1]\n")
    code, _, err = invoke("validate", str(experiment))
    assert code == 2
    assert err.strip() == (f"error: {experiment}: axes[0].path: a scenario path such as factories.NAME.lines "
                           "or orders[0].quantity may hold only the letters A-Z and a-z, digits, '_', '.', '-', "
                           "[ ] and quotes (no spaces) (got 'factories.line lines')")


def test_an_output_directory_under_a_file_is_refused_before_any_run(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """quote ran all its paired runs, then failed to create --out under a file; it (and run)
    now refuse it first."""
    import leadtime_sim.cli.quote as quote_cli

    def no_runs(*args: object, **kwargs: object) -> None:
        raise AssertionError("the runs started")

    monkeypatch.setattr(quote_cli, "what_if", no_runs)
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    out = blocker / "out"
    for command in (["quote", "--product", "interceptor"], ["run"]):
        code, _, err = invoke(command[0], SINGLE, *command[1:], "--out", str(out))
        assert code == 2, err
        assert err.strip() == f"error: {out}: cannot create the output directory: {blocker} is a file, not a directory"
