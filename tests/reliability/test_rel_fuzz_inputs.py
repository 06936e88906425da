"""Bad input, fuzzed: scenario and experiment files (issue 5, "Bad input", first point).

Hypothesis mutates the shipped scenarios and experiments structurally (drops keys, adds
unknown ones, swaps types, puts negative, zero, NaN, infinite and absurdly large numbers,
empties tables, breaks and reorders dates, points references at missing products,
factories and customers, makes bills of materials cycle, gives distributions impossible
parameters, bends axis paths) and also writes random TOML trees and random bytes. Every
case must end valid, or in an InputError whose every line starts with the file name and
names a field path that exists in the file (or a missing key of an existing table) -
never another exception, never a hang. Through the CLI, the same file gives exit status
2, ``error: FILE: ...`` lines, no traceback and no output directory.

The problem lines of the library (``InputError.problems``) may hold a key's control
characters as written; the CLI must print each problem on one line all the same.
"""

from __future__ import annotations

import copy
import datetime as dt
import math
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_support import (
    MODELS,
    ROOT,
    TESTS_DATA,
    TookTooLong,
    assert_clean_exit_2,
    assert_shows,
    invoke,
    shows,
    time_limit,
    toml_dumps,
)

import leadtime_sim as lts
from leadtime_sim.experiment import plan_experiment

FUZZ = settings(max_examples=250, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.function_scoped_fixture])
"""250 examples for each of the two structural fuzz tests: 500 in all on every run (CI too)."""

PER_EXAMPLE_SECONDS = 10.0


def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def _parseable(paths: list[Path]) -> dict[str, dict[str, Any]]:
    found = {}
    for path in paths:
        try:
            found[path.name] = _load(path)
        except tomllib.TOMLDecodeError:
            continue
    return found


_ALL = [*sorted(MODELS.glob("*.toml")), *sorted(TESTS_DATA.glob("*.toml"))]
SCENARIOS = {k: v for k, v in _parseable(_ALL).items() if "factories" in v}
EXPERIMENT_FILES = [p for p in [*sorted((ROOT / "experiments").glob("*.toml")), *sorted(TESTS_DATA.glob("*.toml"))]
                    if p.name in _parseable([p]) and "model" in _load(p)]
EXPERIMENTS = {}
for _path in EXPERIMENT_FILES:
    _exp = _load(_path)
    if _exp.get("plugins"):
        continue  # needs a plugin module the fuzz does not provide
    _model = (_path.parent / str(_exp["model"])).resolve()
    if _model.is_file():
        EXPERIMENTS[_path.name] = (_exp, _load(_model))

DIST_KEYS = ("takt_months", "flow_months", "quantity", "between_months", "repair_months", "slip_months")
REFERENCE_KEYS = ("product", "factory", "customer", "model", "path", "rule", "allocation")

IMPOSSIBLE_DISTS = st.sampled_from([
    {"dist": "normal", "mean": 1.0, "sd": -1.0},
    {"dist": "normal", "mean": -5.0, "sd": 0.0},
    {"dist": "exponential", "mean": 0.0},
    {"dist": "exponential", "mean": -1.0},
    {"dist": "exponential"},
    {"dist": "triangular", "low": 3.0, "mode": 1.0, "high": 2.0},
    {"dist": "triangular", "low": 1.0, "mode": 1.0, "high": 1.0},
    {"dist": "uniform", "low": 5.0, "high": 1.0},
    {"dist": "uniform", "low": -1.0, "high": 1.0},
    {"dist": "gamma", "mean": 0.0, "sd": 0.0},
    {"dist": "gamma", "mean": 1.0, "sd": -1.0},
    {"dist": "lognormal", "median": 1.0, "mean": 2.0, "sigma": 1.0},
    {"dist": "lognormal", "median": -1.0, "sigma": 1.0},
    {"dist": "lognormal", "sigma": 1.0},
    {"dist": "empirical", "values": [], "weights": []},
    {"dist": "empirical", "values": [1.0, 2.0], "weights": [1.0]},
    {"dist": "empirical", "values": [1.0], "weights": [0.0]},
    {"dist": "empirical", "values": [-1.0], "weights": [1.0]},
    {"dist": "constant", "value": -1.0},
    {"dist": "constant", "value": math.nan},
    {"dist": "nope", "value": 1.0},
    {"dist": 5},
    {"mean": 1.0},
]).map(copy.deepcopy)  # mutations must never change the strategy's own constants

WEIRD = st.one_of(
    st.sampled_from([
        -1, 0, -0.0, 0.5, 2.5, 1e308, -1e308, math.nan, math.inf, -math.inf, 2**63 - 1, -(2**63),
        1_000_000_001, "", " ", "x", "fifo", "2025-13", "2025-02-30", "25-01", "2025/01", "2025-1",
        "0000-00", "9999-12", "2025-01-01T00:00", "2025-01-32", True, False, [], {}, [1, "a"],
        {"dist": "nope"}, dt.date(2025, 1, 1), dt.date(1, 1, 1), dt.datetime(2025, 1, 1, 12, 0),
        dt.time(12, 0), [[]], [{}], {"": 1}, "__import__('os').system('touch pwned')",
    ]).map(copy.deepcopy),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    IMPOSSIBLE_DISTS,
)

BAD_DATES = st.sampled_from(["2025-13", "2025-00", "2025-02-30", "1/2/2025", "2025", "25-01", "",
                             "2025-01-01T00:00:00", "9999-12", "0001-01", "1900-01", "2100-01",
                             "2024-12", dt.date(2025, 2, 28), dt.time(1, 2)])

KEY_TEXT = st.text(min_size=1, max_size=10)
"""Any key a TOML file can quote: line breaks and control characters too (the CLI must still
print one line per problem)."""


# -- walking and mutating a TOML tree ---------------------------------------------------------

Path_ = tuple[Any, ...]


def node_paths(tree: Any, prefix: Path_ = ()) -> list[Path_]:
    """Every position in the tree (the root is ``()``)."""
    found = [prefix]
    if isinstance(tree, dict):
        for key, value in tree.items():
            found += node_paths(value, (*prefix, key))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            found += node_paths(value, (*prefix, i))
    return found


def get_node(tree: Any, path: Path_) -> Any:
    for part in path:
        tree = tree[part]
    return tree


def set_node(tree: Any, path: Path_, value: Any) -> None:
    get_node(tree, path[:-1])[path[-1]] = value


def drop_node(tree: Any, path: Path_) -> None:
    del get_node(tree, path[:-1])[path[-1]]


def mutate(draw: st.DrawFn, doc: dict[str, Any], experiment: bool) -> None:
    """One structural mutation of ``doc``, in place."""
    paths = node_paths(doc)
    inner = [p for p in paths if p]
    tables = [p for p in paths if isinstance(get_node(doc, p), dict)]
    ops = ["drop", "unknown", "replace", "replace", "empty", "reference", "dates", "dist", "misspell"]
    ops += ["axis_path", "axis_path"] if experiment else ["bom_cycle", "order"]
    op = draw(st.sampled_from(ops))
    if op == "drop" and inner:
        drop_node(doc, draw(st.sampled_from(inner)))
    elif op == "unknown":
        table = get_node(doc, draw(st.sampled_from(tables)))
        table[draw(KEY_TEXT)] = draw(WEIRD)
    elif op == "misspell" and any(get_node(doc, p) for p in tables):
        path = draw(st.sampled_from([p for p in tables if get_node(doc, p)]))
        table = get_node(doc, path)
        key = draw(st.sampled_from(sorted(table)))
        new = draw(st.sampled_from([key + "s", key[:-1] or "x", key.upper(), key.replace("_", "-"), "_" + key]))
        if new not in table:
            table[new] = table.pop(key)
    elif op == "replace" and inner:
        set_node(doc, draw(st.sampled_from(inner)), draw(WEIRD))
    elif op == "empty" and inner:
        set_node(doc, draw(st.sampled_from(inner)), copy.deepcopy(draw(st.sampled_from([{}, [], ""]))))
    elif op == "reference":
        refs = [p for p in inner if isinstance(p[-1], str) and p[-1] in REFERENCE_KEYS]
        if refs:
            path = draw(st.sampled_from(refs))
            set_node(doc, path, draw(st.sampled_from(["ghost", "no_such_product", "no-factory", "zz",
                                                       "../outside.toml", "", "fifo"])))
        elif isinstance(doc.get("products"), dict) and doc["products"]:
            product = draw(st.sampled_from(sorted(doc["products"])))
            if isinstance(doc["products"][product], dict):
                doc["products"][product]["bom"] = {"ghost_component": 1}
    elif op == "dates":
        dated = [p for p in inner if isinstance(get_node(doc, p), str)
                 and re.match(r"^\d{4}-\d{2}", get_node(doc, p))]
        choice = draw(st.integers(0, 2))
        if choice == 0 and dated:
            set_node(doc, draw(st.sampled_from(dated)), draw(BAD_DATES))
        elif choice == 1 and "start" in doc and "end" in doc:
            doc["start"], doc["end"] = doc["end"], doc["start"]
        else:
            lists = [p for p in paths if isinstance(get_node(doc, p), list) and len(get_node(doc, p)) > 1]
            if lists:
                get_node(doc, draw(st.sampled_from(lists))).reverse()
    elif op == "dist":
        dists = [p for p in inner if isinstance(p[-1], str) and p[-1] in DIST_KEYS]
        target = draw(st.sampled_from(dists)) if dists else (draw(st.sampled_from(inner)) if inner else None)
        if target is not None:
            set_node(doc, target, draw(IMPOSSIBLE_DISTS))
    elif op == "bom_cycle" and isinstance(doc.get("products"), dict) and doc["products"]:
        names = sorted(doc["products"])
        chain = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        for a, b in zip(chain, [*chain[1:], chain[0]], strict=True):
            if isinstance(doc["products"][a], dict):
                bom = doc["products"][a].setdefault("bom", {})
                if isinstance(bom, dict):
                    bom[b] = 1
    elif op == "order" and isinstance(doc.get("orders"), list):
        doc["orders"].append({"customer": draw(st.sampled_from(["c", "ghost", ""])),
                              "product": draw(st.sampled_from(["unit", "ghost", "interceptor"])),
                              "quantity": draw(WEIRD), "placed": draw(BAD_DATES)})
    elif op == "axis_path":
        axes = doc.get("axes")
        bent = draw(st.one_of(st.sampled_from([
            "factories.nope.lines", "factories..lines", "orders[99].quantity", "orders[-1].quantity",
            "products.ghost.unit_cost_musd", "end.year", "policy", "[0]", ".", "a b", "factories.server",
            "order_streams[0].rate_per_year.x", "requirements.r.required[5].units", "investments.x.lines_added",
        ]), KEY_TEXT))
        where = draw(st.integers(0, 2))
        if where == 0 and isinstance(axes, list) and axes and isinstance(axes[0], dict):
            axes[draw(st.integers(0, len(axes) - 1))]["path"] = bent
        elif where == 1:
            overrides = doc.setdefault("overrides", {})
            if isinstance(overrides, dict):
                overrides[bent] = draw(WEIRD)
        else:
            doc.setdefault("axes", [])
            if isinstance(doc["axes"], list):
                doc["axes"].append({"path": bent, "values": draw(st.lists(WEIRD, max_size=3))})


# -- random TOML trees -------------------------------------------------------------------------

SCENARIO_KEYS = ["name", "description", "start", "end", "products", "factories", "investments", "orders",
                 "order_streams", "requirements", "policy", "budget", "quote_dates"]
FIELD_KEYS = ["product", "lines", "lot_size", "takt_months", "flow_months", "quantity", "placed", "customer",
              "rate_per_year", "bom", "dist", "mean", "value", "required", "date", "units", "allocation"]
LEAVES = st.one_of(st.integers(-(2**63), 2**63 - 1), st.floats(), st.text(max_size=8), st.booleans(),
                   st.dates(), BAD_DATES)
TREES = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=3),
    st.dictionaries(st.one_of(st.sampled_from(FIELD_KEYS), KEY_TEXT), inner, max_size=4)), max_leaves=20)
RANDOM_DOCS = st.dictionaries(st.one_of(st.sampled_from(SCENARIO_KEYS), KEY_TEXT), TREES, max_size=8)


# -- what every outcome must look like ---------------------------------------------------------

def format_path(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


MISSING_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*: |^\[key\]: ")


def names_a_field(rest: str, data: dict[str, Any]) -> bool:
    """``rest`` (the line after ``FILE: ``) starts with a field path of ``data``, or with a
    missing key under one of its tables."""
    paths = node_paths(data)
    if rest.startswith("(top level): "):
        return True
    for path in sorted(paths, key=len, reverse=True):
        shown = format_path(path)
        if not path:
            if MISSING_KEY.match(rest):
                return True
            continue
        if rest.startswith(shown + ": ") or rest.startswith(shown + ".[key]: "):
            return True
        if isinstance(get_node(data, path), dict) and rest.startswith(shown + ".") \
                and MISSING_KEY.match(rest[len(shown) + 1:]):
            return True
    return False


def check_problems(problems: list[str], source: str, data: dict[str, Any] | None) -> None:
    assert problems, "an InputError with no problem line"
    for line in problems:
        assert "Traceback" not in line, line
        assert line.startswith(f"{source}: "), f"does not start with the file name: {line!r}"
        if data is not None:
            assert names_a_field(line[len(source) + 2:], data), f"names no field path of the file: {line!r}"


def load_bounded(call: Any) -> list[str] | None:
    """Run a loader under the time bound: None if valid, else its problem lines."""
    try:
        with time_limit(PER_EXAMPLE_SECONDS):
            call()
    except lts.InputError as exc:
        return exc.problems
    except TookTooLong:
        pytest.fail(f"the loader did not finish within {PER_EXAMPLE_SECONDS} s")
    return None


def check_cli_refuses(args: list[str], problems: list[str], out: Path) -> None:
    """The command exits 2 printing exactly these problems, one line each, and writes nothing."""
    with time_limit(PER_EXAMPLE_SECONDS):
        outcome = invoke(*args)
    assert_shows(assert_clean_exit_2(outcome), problems)
    assert not out.exists(), "an output directory was created for bad input"


def check_scenario_file(path: Path, data: dict[str, Any] | None, cwd: Path) -> bool:
    """Loader and CLI agree on ``path``; returns whether it is valid."""
    problems = load_bounded(lambda: lts.load_scenario(path))
    if problems is None:
        with time_limit(PER_EXAMPLE_SECONDS):
            outcome = invoke("validate", path)
        assert outcome.code == 0, outcome.stderr
        return True
    check_problems(problems, str(path), data)
    with time_limit(PER_EXAMPLE_SECONDS):
        outcome = invoke("validate", path)
    assert_shows(assert_clean_exit_2(outcome), problems)
    out = cwd / "out"
    check_cli_refuses(["run", str(path), "--out", str(out)], problems, out)
    assert not (cwd / "results").exists()
    return False


@pytest.fixture
def workdir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """One folder for all examples of a test (emptied before each example), also the cwd."""
    folder = tmp_path_factory.mktemp("fuzz")
    monkeypatch.chdir(folder)
    return folder


def fresh(folder: Path) -> Path:
    for child in folder.iterdir():
        shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    return folder


def roundtrip(doc: dict[str, Any]) -> str:
    """The document as TOML; checks that the writer wrote what tomllib reads back."""
    text = toml_dumps(doc)
    back = tomllib.loads(text)
    assert toml_dumps(back) == text, "the test's TOML writer is wrong"
    return text


# -- the fuzz tests ----------------------------------------------------------------------------

seen_scenarios = {"valid": 0, "invalid": 0}


def mutations(data: st.DataObject) -> int:
    """How many mutations to apply: 1-4, or none for about one example in eight. Mutants are
    valid only 2-5% of the time, so 250 of them now and then held no valid one and the
    guards below failed by chance (CI, 2026-11-28). With the examples left as they were,
    6-17% are valid: 250 without one has odds below one in a million."""
    if data.draw(st.integers(0, 7), label="leave it as it is?") == 0:
        return 0
    return data.draw(st.integers(1, 4), label="mutations")


@FUZZ
@given(data=st.data())
def test_fuzzed_scenario_files_are_valid_or_refused_with_field_paths(data: st.DataObject,
                                                                      workdir: Path) -> None:
    folder = fresh(workdir)
    if data.draw(st.integers(0, 9), label="random tree?") == 0:
        doc = data.draw(RANDOM_DOCS, label="random tree")
    else:
        doc = copy.deepcopy(SCENARIOS[data.draw(st.sampled_from(sorted(SCENARIOS)), label="base")])
        for _ in range(mutations(data)):
            mutate(data.draw, doc, experiment=False)
    path = folder / "scenario.toml"
    path.write_text(roundtrip(doc), encoding="utf-8")
    valid = check_scenario_file(path, doc, folder)
    seen_scenarios["valid" if valid else "invalid"] += 1


def test_the_scenario_fuzz_saw_both_outcomes() -> None:
    """Guards the generator: most mutants are refused, but not all (runs after the fuzz)."""
    if sum(seen_scenarios.values()) < 100:
        pytest.skip("the fuzz test did not run in this session")
    assert seen_scenarios["invalid"] > seen_scenarios["valid"] > 0, seen_scenarios


EXPERIMENT_LINE = re.compile(r"^(point \d+ \{.*?\}: |overrides \S|axes \S|\d+ points x \d+ replications)")
"""Lines about the design: a point's scenario, the overrides applied to the model, the size."""


def _check_experiment_problems(problems: list[str], source: str, model: Path, doc: dict[str, Any],
                               model_doc: dict[str, Any] | None) -> None:
    """Lines name the experiment file and a field of it, or (if the model was mutated) the
    model file and a field of the model."""
    assert problems
    for line in problems:
        if model_doc is not None and line.startswith(f"{model}: ") \
                and names_a_field(line[len(str(model)) + 2:], model_doc):
            continue
        assert line.startswith(f"{source}: "), f"does not start with the file name: {line!r}"
        rest = line[len(source) + 2:]
        assert EXPERIMENT_LINE.match(rest) or names_a_field(rest, doc), \
            f"names no field path of the experiment: {line!r}"


def _holds_toml_datetime(value: Any) -> bool:
    if isinstance(value, dt.date | dt.time):
        return True
    if isinstance(value, dict):
        return any(_holds_toml_datetime(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_toml_datetime(v) for v in value)
    return False


seen_experiments = {"valid": 0, "invalid": 0}


@FUZZ
@given(data=st.data())
def test_fuzzed_experiment_files_are_valid_or_refused_with_field_paths(data: st.DataObject,
                                                                        workdir: Path) -> None:
    folder = fresh(workdir)
    name = data.draw(st.sampled_from(sorted(EXPERIMENTS)), label="base")
    doc, model = (copy.deepcopy(part) for part in EXPERIMENTS[name])
    doc["model"] = "model.toml"
    for _ in range(mutations(data)):
        mutate(data.draw, doc, experiment=True)
    model_mutated = data.draw(st.integers(0, 7), label="mutate the model too?") == 0
    if model_mutated:
        mutate(data.draw, model, experiment=False)
    if data.draw(st.integers(0, 9), label="random tree?") == 0:
        doc = {**data.draw(RANDOM_DOCS, label="random tree"), "model": "model.toml"}
    (folder / "model.toml").write_text(roundtrip(model), encoding="utf-8")
    path = folder / "experiment.toml"
    path.write_text(roundtrip(doc), encoding="utf-8")
    problems = load_bounded(lambda: plan_experiment(path))
    if problems is None:
        seen_experiments["valid"] += 1
        return  # valid: running it is the sweep tests' business
    seen_experiments["invalid"] += 1
    _check_experiment_problems(problems, str(path), (folder / "model.toml").resolve(), doc,
                               model if model_mutated else None)
    out = folder / "out"
    with time_limit(PER_EXAMPLE_SECONDS):
        outcome = invoke("sweep", path, "--out", out, "--executor", "serial")
    lines = assert_clean_exit_2(outcome)
    for line in lines:
        assert any(shows(line, p) for p in problems) or line.startswith(f"error: {path}: charts["), line
    assert not out.exists(), "an output directory was created for a bad experiment"
    assert not (folder / "results").exists()


def test_the_experiment_fuzz_saw_both_outcomes() -> None:
    if sum(seen_experiments.values()) < 100:
        pytest.skip("the fuzz test did not run in this session")
    assert seen_experiments["invalid"] > seen_experiments["valid"] > 0, seen_experiments


# -- bytes, empty files, directories, unreadable files ----------------------------------------

@settings(max_examples=100, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.one_of(st.binary(max_size=200),
                     st.text(max_size=200).map(lambda t: t.encode("utf-8")),
                     st.text(max_size=100).map(lambda t: t.encode("utf-16")),
                     st.sampled_from([b"", b"\xef\xbb\xbfname = 'x'\n", b"name = \"\xff\"\n", b"\x00" * 10,
                                      b"[products\n", b"a = 1\na = 2\n", b"= 1", b"[[orders]]\n[orders]\n"])))
def test_random_bytes_are_refused_with_one_line_naming_the_file(raw: bytes, workdir: Path) -> None:
    folder = fresh(workdir)
    path = folder / "bytes.toml"
    path.write_bytes(raw)
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError):
        data = None
    problems = load_bounded(lambda: lts.load_scenario(path))
    if problems is None:
        return
    check_problems(problems, str(path), data)
    if data is None:
        assert len(problems) == 1
        assert re.search(r"not UTF-8|not valid TOML", problems[0]), problems
    check_cli_refuses(["run", str(path), "--out", str(folder / "out")], problems, folder / "out")
    exp_problems = load_bounded(lambda: plan_experiment(path))
    assert exp_problems is not None, "random bytes made a valid experiment"
    check_problems(exp_problems, str(path), data)
    if data is None:
        assert exp_problems == problems  # the same file, the same words


def _file_cases(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    regular = tmp_path / "regular.toml"
    regular.write_text('name = "x"\n')
    folder = tmp_path / "folder.toml"
    folder.mkdir()
    empty = tmp_path / "empty.toml"
    empty.write_bytes(b"")
    locked = tmp_path / "locked.toml"
    locked.write_text('name = "x"\n')
    locked.chmod(0)
    return {
        "empty file": (empty, "the file holds no settings"),
        "directory": (folder, "is a directory"),
        "missing": (tmp_path / "nope.toml", "no such file"),
        "path through a regular file": (regular / "inside.toml", "cannot read"),
        "dangling symlink": (_symlink(tmp_path / "dangling.toml", tmp_path / "gone.toml"), "no such file"),
        "no read permission": (locked, "cannot read"),
    }


def _symlink(link: Path, target: Path) -> Path:
    link.symlink_to(target)
    return link


@pytest.mark.parametrize("case", ["empty file", "directory", "missing", "path through a regular file",
                                  "dangling symlink", "no read permission"])
@pytest.mark.parametrize("command", ["validate", "run", "sweep"])
def test_unreadable_paths_exit_2_naming_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  case: str, command: str) -> None:
    if case == "no read permission" and os.geteuid() == 0:
        pytest.skip("root reads files whatever their mode (the FIFO and path cases stand in)")
    monkeypatch.chdir(tmp_path)
    path, words = _file_cases(tmp_path)[case]
    out = tmp_path / "out"
    args = [command, str(path)] + ([] if command == "validate" else ["--out", str(out)])
    with time_limit(PER_EXAMPLE_SECONDS):
        outcome = invoke(*args)
    lines = assert_clean_exit_2(outcome)
    assert all(line.startswith(f"error: {path}: ") for line in lines), lines
    if command != "sweep":  # an experiment's missing keys are other keys
        assert any(words in line for line in lines), lines
    assert not out.exists() and not (tmp_path / "results").exists()


def test_a_model_that_is_a_directory_or_missing_is_refused(tmp_path: Path) -> None:
    (tmp_path / "dir.toml").mkdir()
    for model in ("dir.toml", "missing.toml", "."):
        exp = tmp_path / "exp.toml"
        exp.write_text(toml_dumps({"name": "e", "model": model, "replications": 1}))
        with time_limit(PER_EXAMPLE_SECONDS):
            lines = assert_clean_exit_2(invoke("sweep", exp, "--out", tmp_path / "out"))
        assert lines == [f"error: {exp}: model: {model!r} is not a file (resolved relative to the "
                         f"experiment file: {(tmp_path / model).resolve()})"]
        assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["validate", "sweep"])
def test_a_fifo_instead_of_a_file_is_refused_not_waited_on(tmp_path: Path, command: str) -> None:
    """Reading a named pipe blocks until someone writes to it: it must be refused, not read."""
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    args = [sys.executable, "-m", "leadtime_sim", command, str(fifo)]
    if command == "sweep":
        args += ["--out", str(tmp_path / "out")]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        _, stderr = proc.communicate(timeout=8)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)
        proc.communicate()
        pytest.fail(f"leadtime-sim {command} on a FIFO still waits after 8 s")
    assert proc.returncode == 2 and "Traceback" not in stderr and str(fifo) in stderr


# -- regressions the fuzz found (each a bug once) ----------------------------------------------

def _experiment(folder: Path, **fields: Any) -> Path:
    shutil.copy(TESTS_DATA / "mmc_requirements.toml", folder / "model.toml")
    path = folder / "experiment.toml"
    path.write_text(toml_dumps({"name": "e", "model": "model.toml", "replications": 1, **fields}))
    return path


def test_bad_override_value_in_an_experiment_names_the_experiment_file(tmp_path: Path) -> None:
    """The bad value is in the experiment file, not in the model (whose value is fine)."""
    path = _experiment(tmp_path, overrides={"factories.server.lines": -1})
    lines = assert_clean_exit_2(invoke("sweep", path, "--out", tmp_path / "out"))
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}: ") and "factories.server.lines" in lines[0], lines


def test_unimportable_plugin_of_an_experiment_names_the_experiment_file(tmp_path: Path) -> None:
    """Not '--plugin NAME: ...': the user passed no --plugin; the file's `plugins` list did."""
    path = _experiment(tmp_path, plugins=["no_such_plugin_module_xyz"])
    lines = assert_clean_exit_2(invoke("sweep", path, "--out", tmp_path / "out"))
    assert lines and all(line.startswith(f"error: {path}: plugins") for line in lines), lines


def test_sweep_with_a_model_whose_tables_are_not_tables_reports_them(tmp_path: Path) -> None:
    """The charts check before a sweep read the raw model (once a TypeError traceback)."""
    path = _experiment(tmp_path)
    (tmp_path / "model.toml").write_text(toml_dumps({"name": "m", "start": "2025-01", "end": "2026-01",
                                                     "products": {"p": {}}, "requirements": 5}))
    outcome = invoke("sweep", path, "--out", tmp_path / "out")
    lines = assert_clean_exit_2(outcome)
    assert any("requirements" in line for line in lines), lines
    assert not (tmp_path / "out").exists()


def test_a_bad_value_of_a_union_field_is_one_line_naming_the_field(tmp_path: Path) -> None:
    """Not one line per member of the union, with pydantic's tags (.int, .float, ...) in the path."""
    path = _experiment(tmp_path, baseline={"lines": [1]},
                       axes=[{"path": "factories.server.lines", "label": "lines", "values": [2, 3]}])
    lines = assert_clean_exit_2(invoke("sweep", path, "--out", tmp_path / "out"))
    assert lines == [line for line in lines if line.startswith(f"error: {path}: baseline.lines: ")]
    assert len(lines) == 1, lines


def test_a_key_with_a_line_break_still_gives_one_line_per_problem(tmp_path: Path) -> None:
    """A quoted TOML key may hold a line break; the error line must not."""
    path = tmp_path / "scenario.toml"
    doc = copy.deepcopy(SCENARIOS["mmc_check.toml"])
    doc["factories"]["server"]["line\ncount"] = 3
    path.write_text(toml_dumps(doc))
    outcome = invoke("validate", path)
    assert outcome.code == 2
    assert len(outcome.stderr.splitlines()) == 1, outcome.stderr


@pytest.mark.parametrize("value", [dt.date(2030, 1, 1), dt.datetime(2030, 1, 1, 0, 0), dt.time(12, 0)],
                         ids=["date", "datetime", "time"])
def test_a_toml_date_in_the_overrides_of_an_experiment(tmp_path: Path, value: Any) -> None:
    path = _experiment(tmp_path, overrides={"end": value})
    outcome = invoke("sweep", path, "--out", tmp_path / "out", "--executor", "serial", "--no-charts")
    assert outcome.exception is None or isinstance(outcome.exception, SystemExit), repr(outcome.exception)
    if outcome.code == 2:  # refused: one line naming the file and the override
        lines = assert_clean_exit_2(outcome)
        assert len(lines) == 1 and lines[0].startswith(f"error: {path}: overrides"), lines
    else:  # or accepted like a date in a scenario file
        assert outcome.code == 0, outcome.stderr
