"""Bad input, second point: ``--set`` values and every CLI option (issue 5).

``--set`` strings are fuzzed (bad paths, bad TOML values, list indices out of range, new
entities); every option gets its bad values. Each ends with exit status 2, one line per
problem, no traceback and no output directory.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import (
    MODELS,
    TESTS_DATA,
    assert_clean_exit_2,
    invoke,
    plugin_dir,
    snapshot,
    time_limit,
)

CHARTS_MODEL = TESTS_DATA / "charts_model.toml"
MMC = MODELS / "mmc_check.toml"
TINY = TESTS_DATA / "tiny_lines.toml"

GOOD_PATHS = [
    "end", "name", "policy.allocation", "policy.reassign_at_delivery", "factories.assembly.lines",
    "factories.assembly.takt_months", "factories.assembly.takt_months.mode", "factories.motors.lot_size",
    "products.missile.bom.motor", "products.motor.stock_target_units", "orders[0].quantity", "orders.0.placed",
    "order_streams[1].rate_per_year", "order_streams[0].quantity.values[1]", "investments.new_line.decided",
    "investments.new_line.lines_added", "requirements.army_stock.required[1].units",
    "requirements.army_stock.required[0].date",
]
BAD_PATHS = [
    "", ".", "..", "a..b", "[", "]", "[0]", "orders[", "orders[]", "orders[99].quantity", "orders[-1].quantity",
    "orders.x.quantity", "order_streams[2].rate_per_year", "factories.nope.lines", "products.new_product",
    "products.new_product.unit_cost_musd", "requirements.brand_new.product", "investments.other.factory",
    "factories.assembly.lines.x", "end.year", "name[0]", "factories.assembly.linez", "policy.allocation.x",
    "budget.per_year_musd", "quote_dates[0]", "requirements.army_stock.required[7].units", " end ",
]
VALUES = [
    "3", "-1", "0", "2.5", "nan", "inf", "-inf", "1e308", "-1e308", "9223372036854775807", "99999999999999999999",
    '"x"', '"2025-13"', '"2031-01"', '"1999-01"', "2025-01-01", "true", "false", "[]", "[1, 2]", "{}",
    '{dist = "normal", mean = 1, sd = -1}', '{dist = "uniform", low = 2, high = 1}', '{ghost = 1}', "",
    "'unterminated", "[1,", "{a = }", '"""', "nonsense words", "__import__('os').system('touch pwned')",
]

SET_TEXT = st.one_of(
    st.tuples(st.sampled_from(GOOD_PATHS + BAD_PATHS), st.sampled_from(VALUES)).map(lambda pv: f"{pv[0]}={pv[1]}"),
    st.tuples(st.sampled_from(GOOD_PATHS + BAD_PATHS), st.text(max_size=12)).map(lambda pv: f"{pv[0]}={pv[1]}"),
    st.text(max_size=20),  # control characters too: a CR from a CRLF script, a newline
)


def _set_args(assignments: list[str]) -> list[str]:
    return [arg for text in assignments for arg in ("--set", text)]


@settings(max_examples=150, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(assignments=st.lists(SET_TEXT, min_size=1, max_size=3))
def test_fuzzed_set_values_are_applied_or_refused_in_one_line_each(assignments: list[str],
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    with time_limit(10):
        checked = invoke("validate", CHARTS_MODEL, *_set_args(assignments))
    if checked.code == 0:  # (a valid value may still earn a warning, e.g. a budget over free units)
        # (one the override itself caused is told against --set: "warning: --set (on model.toml): ...")
        assert all(line.startswith((f"warning: {CHARTS_MODEL}: ", f"warning: --set (on {CHARTS_MODEL.name}): "))
                   for line in checked.stderr.splitlines()), checked.stderr
        assert "ok" in checked.stdout
        return
    lines = assert_clean_exit_2(checked)
    for line in lines:
        # an override that cannot be applied names itself; one that makes the model invalid
        # names the model file and the field path
        assert line.startswith(("error: --set ", f"error: {CHARTS_MODEL}: ")), line
    set_lines = [line for line in lines if line.startswith("error: --set ")]
    assert len(set_lines) <= len(assignments)
    for line in set_lines:
        assert any(line.startswith(f"error: --set {text}: ") for text in assignments if text.isprintable()) \
            or line.isprintable(), line
    with time_limit(10):
        ran = invoke("run", CHARTS_MODEL, *_set_args(assignments), "--out", out)
    assert assert_clean_exit_2(ran) == lines
    assert not out.exists()


def test_every_bad_set_is_reported_once() -> None:
    bad = ["orders[99].quantity=1", "factories.nope.lines=2", "products.new_product.unit_cost_musd=1",
           "nonsense", "a..b=1"]
    lines = assert_clean_exit_2(invoke("validate", CHARTS_MODEL, *_set_args(bad)))
    assert len(lines) == len(bad), lines
    for text, line in zip(bad, lines, strict=True):
        assert line.startswith(f"error: --set {text}: "), (text, line)


@pytest.mark.parametrize(("assignment", "words"), [
    ("products.new_product.unit_cost_musd=1", "no such entry in products"),
    ("factories.new_factory.lines=1", "no such entry in factories"),
    ("requirements.brand_new.product=\"missile\"", "no such entry in requirements"),
    ("investments.other.factory=\"assembly\"", "no such entry in investments"),
    ("orders[1].quantity=1", "no such list item"),
    ("order_streams[2].rate_per_year=1", "no such list item"),
    ("requirements.army_stock.required[2].units=1", "no such list item"),
    ("factories.assembly.lines.x=1", "is a value, not a table"),
])
def test_set_cannot_invent_entities_or_list_items(assignment: str, words: str) -> None:
    lines = assert_clean_exit_2(invoke("validate", CHARTS_MODEL, "--set", assignment))
    assert len(lines) == 1 and words in lines[0], lines


def test_set_values_are_validated_like_the_file() -> None:
    lines = assert_clean_exit_2(invoke("validate", CHARTS_MODEL, "--set", "factories.assembly.lines=nan",
                                       "--set", "orders[0].placed=\"2025-13\""))
    assert len(lines) == 2, lines
    name = Path(CHARTS_MODEL).name  # the file is valid: the problems are --set's (issue 17)
    assert lines[0].startswith(f"error: --set (on {name}): factories.assembly.lines: ")
    assert lines[1].startswith(f"error: --set (on {name}): orders[0].placed: ")


# -- every option -----------------------------------------------------------------------------

OUT = "__OUT__"
OPTION_CASES = [
    # (arguments, the option the message must name)
    (["run", MMC, "--seed", "-1", "--out", OUT], "--seed"),
    (["run", MMC, "--seed", "abc", "--out", OUT], "--seed"),
    (["run", MMC, "--seed", str(2**63), "--out", OUT], "--seed"),
    (["run", MMC, "--seed", "1.5", "--out", OUT], "--seed"),
    (["run", MMC, "--replication", "-1", "--out", OUT], "--replication"),
    (["run", MMC, "--max-lots", "-1", "--out", OUT], "--max-lots"),
    (["run", MMC, "--max-lots", "0", "--out", OUT], "--max-lots"),
    (["run", MMC, "--max-lots", "many", "--out", OUT], "--max-lots"),
    (["run", MMC, "--plugin", "no_such_plugin_module_xyz", "--out", OUT], "--plugin"),
    (["run", MMC, "--plugin", "", "--out", OUT], "--plugin"),
    (["run", MMC, "--set", "nonsense", "--out", OUT], "--set"),
    (["run", MMC, "--bogus-option", "--out", OUT], "--bogus-option"),
    (["run", "--out", OUT], "MODEL"),
    (["validate"], "FILES"),
    (["sweep", TINY, "--workers", "0", "--out", OUT], "--workers"),
    (["sweep", TINY, "--workers", "-2", "--out", OUT], "--workers"),
    (["sweep", TINY, "--workers", "2000", "--out", OUT], "--workers"),
    (["sweep", TINY, "--workers", "two", "--out", OUT], "--workers"),
    (["sweep", TINY, "--executor", "foo", "--out", OUT], "--executor"),
    (["sweep", TINY, "--run-timeout", "0", "--out", OUT], "--run-timeout"),
    (["sweep", TINY, "--run-timeout", "-5", "--out", OUT], "--run-timeout"),
    (["sweep", TINY, "--run-timeout", "soon", "--out", OUT], "--run-timeout"),
    (["sweep", TINY, "--max-lots", "-1", "--out", OUT], "--max-lots"),
    (["sweep", TINY, "--scheduler", "tcp://127.0.0.1:1", "--out", OUT], "--executor dask"),
    (["sweep", TINY, "--set", "factories.server.lines=-1", "--out", OUT], "factories.server.lines"),
    (["sweep", TINY, "--set", "=", "--out", OUT], "--set"),
    (["plot", OUT], OUT),
    (["report", OUT], OUT),
]


@pytest.mark.parametrize(("args", "names"), OPTION_CASES,
                         ids=[" ".join(str(a) for a in args[:1] + args[2:4]) for args, _ in OPTION_CASES])
def test_bad_option_exits_2_in_one_line(args: list, names: str, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    args = [str(out) if a == OUT else str(a) for a in args]
    names = names.replace(OUT, str(out))
    with time_limit(20):
        outcome = invoke(*args)
    lines = assert_clean_exit_2(outcome)
    assert len(lines) == 1, lines
    assert names in lines[0], lines
    assert not out.exists(), "an output directory was created for bad input"
    assert list(tmp_path.iterdir()) == [], "nothing may be written for bad input"


@pytest.fixture(scope="module")
def run_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("plot") / "run"
    done = invoke("run", CHARTS_MODEL, "--set", 'end="2026-01"', "--out", out)
    assert done.code == 0, done.stderr
    return out


@pytest.mark.parametrize(("args", "names"), [
    (["--format", "bad"], "format"), (["--format", ""], "format"), (["--chart", "nope"], "chart"),
    (["--chart", "heatmap"], "needs a sweep store"),
])
def test_bad_plot_options_exit_2_and_change_nothing(run_output: Path, args: list[str], names: str) -> None:
    before = snapshot(run_output)
    lines = assert_clean_exit_2(invoke("plot", run_output, *args))
    assert len(lines) == 1 and names in lines[0], lines
    assert snapshot(run_output) == before


@pytest.mark.parametrize("args", [["plot", "{out}", "--chart", "nope"], ["plot", "{out}"],
                                  ["run", MMC, "--set", 'end="2026-01"', "--out", "{out}2", "--charts"]],
                         ids=["plot --chart nope", "plot", "run --charts"])
def test_charts_of_a_run_without_requirements(args: list, tmp_path: Path) -> None:
    """Charts of a run whose scenario has no requirements (once a KeyError traceback)."""
    out = tmp_path / "run"
    assert invoke("run", MMC, "--set", 'end="2026-01"', "--out", out).code == 0
    outcome = invoke(*[str(a).format(out=out) for a in args])
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), repr(outcome.exception)
    assert "Traceback" not in outcome.stderr
    if "nope" in args:
        assert outcome.code == 2 and "unknown chart 'nope'" in outcome.stderr


@pytest.mark.parametrize("args", [["run", MMC, "--max-lots", "nan"],
                                  ["sweep", TINY, "--max-lots", "nan", "--dry-run"],
                                  ["sweep", TINY, "--run-timeout", "nan", "--dry-run"]],
                         ids=["run --max-lots nan", "sweep --max-lots nan", "sweep --run-timeout nan"])
def test_nan_is_not_a_limit(args: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """NaN passes a plain range check (it compares false with every bound) and would switch
    the lot guard or the wall-time limit off: it must be refused."""
    monkeypatch.chdir(tmp_path)
    outcome = invoke(*[str(a) for a in args], "--out", str(tmp_path / "out"))
    lines = assert_clean_exit_2(outcome)
    assert re.search(r"--max-lots|--run-timeout", lines[0]), lines


def test_a_plugin_whose_policies_are_not_a_mapping_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    """``POLICIES = 42`` in a --plugin module (once a TypeError traceback)."""
    plugin_dir(tmp_path_factory)
    outcome = invoke("validate", MMC, "--plugin", "lts_rel_not_a_mapping")
    lines = assert_clean_exit_2(outcome)
    assert lines == [line for line in lines if "lts_rel_not_a_mapping" in line and "POLICIES" in line]


def test_a_set_text_with_a_carriage_return_is_one_line() -> None:
    """A script saved with CRLF line ends passes a CR in its last argument."""
    outcome = invoke("validate", MMC, "--set", "factories.nope.lines=2\r")
    assert outcome.code == 2
    assert len(outcome.stderr.splitlines()) == 1, outcome.stderr
