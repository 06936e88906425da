"""Safety (issue 5): files are data, output stays where it is sent, stores are not overwritten.

* Scenario and experiment files are data: code in their strings does nothing; the package
  uses no eval, exec, pickle or yaml loading; a scenario cannot make the tool import a
  module (plugins come only from --plugin or an experiment's ``plugins`` list).
* Output goes only under the chosen directory; a model path in an experiment is resolved
  relative to the experiment file and must exist.
* An existing store of another experiment is never overwritten without --force.
"""

from __future__ import annotations

import ast
import copy
import io
import json
import shutil
import sys
import tokenize
import tomllib
from pathlib import Path
from typing import Any

import pytest
from reliability_support import (
    MODELS,
    ROOT,
    TESTS_DATA,
    assert_clean_exit_2,
    cli_process,
    invoke,
    manifest_of,
    plugin_dir,
    plugin_env,
    snapshot,
    toml_dumps,
    toml_value,
)

PACKAGE = ROOT / "leadtime_sim"
MMC = MODELS / "mmc_check.toml"
CHARTS_MODEL = TESTS_DATA / "charts_model.toml"
TINY = TESTS_DATA / "tiny_lines.toml"
TINY_OTHER = TESTS_DATA / "tiny_lines_other_seed.toml"


def _load(path: Path) -> dict[str, Any]:
    with path.open("rb") as f:
        return tomllib.load(f)


def payloads(folder: Path) -> list[str]:
    """Strings that would create a file in ``folder`` if anything ran them."""
    mark = folder / "pwned"
    return [
        f"__import__('os').system('touch {mark}-1')",
        f"exec(\"open('{mark}-2', 'w').close()\")",
        f"$(touch {mark}-3)",
        f"`touch {mark}-4`; touch {mark}-5",
        f"{{{{ self.__init__.__globals__['os'].system('touch {mark}-6') }}}}",
        f"!!python/object/apply:os.system ['touch {mark}-7']",
        f"cos\nsystem\n(S'touch {mark}-8'\ntR.",  # a pickle program
    ]


def assert_not_pwned(*folders: Path) -> None:
    for folder in folders:
        marks = sorted(p.name for p in folder.rglob("pwned*"))
        assert not marks, f"a string in a file was executed: {marks}"


# -- files are data --------------------------------------------------------------------------

def test_code_in_the_free_text_of_a_scenario_is_just_text(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = payloads(tmp_path)
    doc = copy.deepcopy(_load(CHARTS_MODEL))
    doc["name"] = code[0]
    doc["description"] = "\n".join(code)
    for i, table in enumerate([*doc["products"].values(), *doc["factories"].values(),
                               *doc["investments"].values(), *doc["requirements"].values()]):
        table["description"] = code[i % len(code)]
    path = tmp_path / "payload.toml"
    path.write_text(toml_dumps(doc))
    out = tmp_path / "out"
    done = invoke("run", path, "--set", f"description={toml_value(code[1])}", "--out", out, "--json")
    assert done.code == 0, done.stderr
    assert_not_pwned(tmp_path)
    assert json.loads((out / "summary.json").read_text())["scenario"] == code[0]  # verbatim, as text
    assert json.loads((out / "scenario_as_run.json").read_text())["description"] == code[1]


def test_code_in_names_and_references_is_refused_as_bad_input(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for k, code in enumerate(payloads(tmp_path)):
        doc = copy.deepcopy(_load(CHARTS_MODEL))
        doc["policy"]["allocation"] = code
        doc["orders"][0]["customer"] = code
        doc["requirements"]["army_stock"]["ordering"] = {"rule": code}
        doc["products"][code] = {}
        path = tmp_path / f"payload{k}.toml"
        path.write_text(toml_dumps(doc))
        lines = assert_clean_exit_2(invoke("run", path, "--out", tmp_path / "out"))
        assert all(line.startswith(f"error: {path}: ") for line in lines), lines
        assert not (tmp_path / "out").exists()
    assert_not_pwned(tmp_path)


def test_code_in_an_experiment_file_is_just_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = payloads(tmp_path)
    shutil.copy(TESTS_DATA / "mmc_requirements.toml", tmp_path / "model.toml")
    experiment = tmp_path / "experiment.toml"
    experiment.write_text(toml_dumps({
        "name": code[0], "description": code[1], "model": "model.toml", "replications": 1,
        "overrides": {"end": "2026-01", "description": code[2]},
        "axes": [{"path": "factories.server.lines", "label": code[4], "values": [2, 3]}]}))
    out = tmp_path / "out"
    done = invoke("sweep", experiment, "--out", out, "--executor", "serial", "--no-charts")
    assert done.code == 0, done.stderr
    assert manifest_of(out)["experiment_name"] == code[0]
    # the same strings where the tool expects names of things: refused, never run
    for field, value in [("plugins", [code[5]]), ("model", code[6]), ("baseline", {code[4]: code[0]}),
                         ("metrics", [code[3]])]:
        bad = tmp_path / f"bad_{field}.toml"
        bad.write_text(toml_dumps({"name": "x", "model": "model.toml", "replications": 1,
                                   "overrides": {"end": "2026-01"}, field: value}))
        assert_clean_exit_2(invoke("sweep", bad, "--out", tmp_path / f"out_{field}"))
        assert not (tmp_path / f"out_{field}").exists()
    assert_not_pwned(tmp_path)


BANNED_CALLS = {"eval", "exec", "compile", "__import__", "breakpoint"}
DESERIALISERS = {"pickle", "cPickle", "_pickle", "dill", "cloudpickle", "marshal", "shelve", "yaml", "ruamel"}
BANNED_MODULES = DESERIALISERS | {"subprocess", "runpy", "code", "codeop"}
BANNED_ATTRIBUTES = {"read_pickle", "to_pickle", "exec_module", "load_module", "unsafe_load"}
BANNED_OS = {"system", "popen", "execv", "execve", "execvp", "execl", "execlp", "spawnv", "spawnl", "posix_spawn"}


def banned_uses(path: Path, root: Path = ROOT) -> list[str]:
    """eval/exec/compile/__import__ calls, imports of pickle, yaml, subprocess and the like,
    pandas' pickle readers, os.system: in code (a grep that skips comments and docstrings and
    does not take re.compile for compile)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        what = None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in BANNED_CALLS:
            what = f"{node.func.id}()"
        elif isinstance(node, ast.Import):
            what = ", ".join(a.name for a in node.names if a.name.split(".")[0] in BANNED_MODULES) or None
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in BANNED_MODULES:
            what = f"from {node.module}"
        elif isinstance(node, ast.Attribute) and (node.attr in BANNED_ATTRIBUTES or (
                isinstance(node.value, ast.Name) and (node.value.id in DESERIALISERS
                                                      or (node.value.id == "os" and node.attr in BANNED_OS)))):
            what = ast.unparse(node)
        elif isinstance(node, ast.keyword) and node.arg == "allow_pickle":
            what = "allow_pickle="
        if what:
            found.append(f"{path.relative_to(root)}:{node.lineno}: {what}")
    return found


def _code_names(path: Path) -> list[str]:
    """Names used in the code of ``path`` (comments and strings, docstrings too, excluded)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return [t.string for t in tokens if t.type == tokenize.NAME]


def test_the_package_never_evaluates_unpickles_or_runs_text() -> None:
    sources = sorted(PACKAGE.rglob("*.py"))
    assert len(sources) > 20
    found = [use for path in sources for use in banned_uses(path)]
    assert not found, "the package must not use: " + "; ".join(found)
    for path in sources:  # nor the bare words, anywhere in code
        names = set(_code_names(path))
        assert not names & {"pickle", "yaml", "eval", "exec"}, f"{path.relative_to(ROOT)}: {names}"


SAMPLE = '''import pickle
import yaml as y
from subprocess import run
import os, re
x = eval("1")
exec("z = 2")
pickle.load(open("f", "rb"))
y.load("a")
os.system("true")
re.compile("a")
"""eval(1) in a docstring"""
# exec( in a comment
'''


def test_the_scan_sees_what_it_bans(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(SAMPLE)
    found = {use.split(": ", 1)[1] for use in banned_uses(sample, tmp_path)}
    assert found >= {"pickle", "yaml", "from subprocess", "eval()", "exec()", "pickle.load", "os.system"}, found
    assert not [use for use in found if "compile" in use]
    clean = tmp_path / "clean.py"
    clean.write_text('import re\n"""no eval, exec or pickle here"""\nre.compile("x")  # nor pickle.load\n')
    assert banned_uses(clean, tmp_path) == [] and not {"pickle", "eval", "exec"} & set(_code_names(clean))


def test_only_the_plugin_loader_imports_modules_by_name() -> None:
    importers = []
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr in ("import_module", "__import__", "find_spec",
                                                                 "spec_from_file_location", "load_module"):
                importers.append(f"{path.relative_to(PACKAGE)}:{node.lineno}")
    assert [i.split(":")[0] for i in importers] == ["plugins.py"], importers


def test_a_scenario_cannot_name_a_module_to_import(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    folder = plugin_dir(tmp_path_factory)
    marker = folder / "SPY_WAS_IMPORTED"
    marker.unlink(missing_ok=True)
    doc = copy.deepcopy(_load(TESTS_DATA / "mmc_requirements.toml"))
    doc["policy"] = {"allocation": "lts_rel_spy"}
    doc["requirements"]["r"]["ordering"] = {"rule": "lts_rel_spy"}
    path = tmp_path / "spy.toml"
    path.write_text(toml_dumps(doc))
    lines = assert_clean_exit_2(invoke("validate", path))
    assert len(lines) == 2, lines
    assert any("unknown allocation policy 'lts_rel_spy'" in line for line in lines), lines
    assert any("unknown ordering rule 'lts_rel_spy'" in line for line in lines), lines
    # nor can --set, nor an experiment's overrides without its plugins list
    assert_clean_exit_2(invoke("validate", MMC, "--set", 'policy.allocation="lts_rel_spy"'))
    experiment = tmp_path / "experiment.toml"
    experiment.write_text(toml_dumps({"name": "spy", "model": str(MMC), "replications": 1,
                                      "overrides": {"policy.allocation": "lts_rel_spy", "end": "2026-01"}}))
    assert_clean_exit_2(invoke("sweep", experiment, "--out", tmp_path / "out"))
    assert "lts_rel_spy" not in sys.modules and not marker.exists(), "a file made the tool import a module"
    # control: named with --plugin, the same module is imported (so the spy would have told)
    done = cli_process("validate", MMC, "--plugin", "lts_rel_spy", "--set", 'policy.allocation="lts_rel_spy"',
                       env=plugin_env(folder))
    assert done.returncode == 0, done.stderr
    assert marker.exists()
    marker.unlink()


# -- output goes only where it is sent -------------------------------------------------------

def test_output_goes_only_under_the_chosen_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    model = Path(shutil.copy(CHARTS_MODEL, inputs / "model.toml"))
    experiment = inputs / "experiment.toml"
    experiment.write_text(toml_dumps({**_load(TESTS_DATA / "charts_sweep.toml"), "model": "model.toml",
                                      "replications": 2}))
    before = snapshot(tmp_path)
    ran = invoke("run", model, "--out", tmp_path / "out_run", "--charts")
    assert ran.code == 0, ran.stderr
    swept = invoke("sweep", experiment, "--out", tmp_path / "out_sweep", "--executor", "serial")
    assert swept.code == 0, swept.stderr
    after = snapshot(tmp_path)
    new = sorted(set(after) - set(before))
    assert new and all(name.startswith(("out_run/", "out_sweep/")) for name in new), new
    assert {name: after[name] for name in before} == before, "an input file was changed"
    assert any(name.startswith("out_sweep/charts/") for name in new)


def test_a_model_path_is_resolved_relative_to_the_experiment_file(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "elsewhere" / "deeper").mkdir(parents=True)
    real = _load(TESTS_DATA / "mmc_requirements.toml")
    (tmp_path / "x.toml").write_text(toml_dumps({**real, "name": "the real model"}))
    # a decoy where '../x.toml' would point from the working directory
    (tmp_path / "elsewhere" / "x.toml").write_text(toml_dumps({**real, "name": "a decoy"}))
    experiment = tmp_path / "sub" / "exp.toml"
    experiment.write_text(toml_dumps({"name": "relative", "model": "../x.toml", "replications": 1,
                                      "overrides": {"end": "2026-01"}}))
    monkeypatch.chdir(tmp_path / "elsewhere" / "deeper")
    out = tmp_path / "out"
    done = invoke("sweep", "../../sub/exp.toml", "--out", out, "--executor", "serial", "--no-charts")
    assert done.code == 0, done.stderr
    manifest = manifest_of(out)
    assert Path(manifest["model_file"]) == (tmp_path / "x.toml").resolve()
    assert manifest["scenario"]["name"] == "the real model"
    # missing next to the experiment file: refused, even though the decoy exists from here
    (tmp_path / "x.toml").unlink()
    again = tmp_path / "out2"
    lines = assert_clean_exit_2(invoke("sweep", "../../sub/exp.toml", "--out", again, "--no-charts"))
    assert lines == [f"error: ../../sub/exp.toml: model: '../x.toml' is not a file (resolved relative to "
                     f"the experiment file: {(tmp_path / 'x.toml').resolve()})"]
    assert not again.exists()


# -- an existing store ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def finished_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("stores") / "tiny"
    done = invoke("sweep", TINY, "--out", out, "--executor", "serial")  # with its charts
    assert done.code == 0, done.stderr
    return out


@pytest.mark.parametrize("attempt", [
    ["sweep", TINY_OTHER], ["sweep", TINY_OTHER, "--resume"], ["sweep", TINY_OTHER, "--dry-run"],
    ["sweep", TINY], ["sweep", TINY, "--set", "factories.server.lot_size=2", "--resume"],
    ["sweep", TESTS_DATA / "charts_sweep.toml", "--resume"],
], ids=["other", "other --resume", "other --dry-run", "same without --resume", "other --set --resume",
        "another model --resume"])
def test_an_existing_store_is_never_overwritten_without_force(finished_store: Path, tmp_path: Path,
                                                              attempt: list) -> None:
    store = Path(shutil.copytree(finished_store, tmp_path / "store"))
    before = snapshot(store)
    outcome = invoke(*[str(a) for a in attempt], "--out", store, "--executor", "serial")
    if "--dry-run" in attempt:
        assert outcome.code == 0, outcome.stderr
    else:
        lines = assert_clean_exit_2(outcome)
        assert len(lines) == 1 and str(store) in lines[0] and "--force" in lines[0], lines
    assert snapshot(store) == before, "the store was changed"


def test_a_run_into_a_store_leaves_the_store_files_alone(finished_store: Path, tmp_path: Path) -> None:
    store = Path(shutil.copytree(finished_store, tmp_path / "store"))
    before = snapshot(store)
    invoke("run", TESTS_DATA / "mmc_requirements.toml", "--set", 'end="2026-01"', "--out", store)
    after = snapshot(store)
    assert {name: after.get(name) for name in before} == before, "a store file was overwritten"


def test_force_replaces_a_store_of_another_experiment(finished_store: Path, tmp_path: Path) -> None:
    store = Path(shutil.copytree(finished_store, tmp_path / "store"))
    done = invoke("sweep", TINY_OTHER, "--out", store, "--executor", "serial", "--no-charts", "--force")
    assert done.code == 0, done.stderr
    assert manifest_of(store)["seed"] == 8
    assert not (store / "charts").exists(), "the old store's charts must go with it"


def test_a_run_folder_is_not_taken_for_a_store(tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert invoke("run", MMC, "--set", 'end="2026-01"', "--out", out).code == 0
    before = snapshot(out)
    for flags in ([], ["--resume"]):
        lines = assert_clean_exit_2(invoke("sweep", TINY, "--out", out, "--executor", "serial", *flags))
        assert len(lines) == 1 and "--force" in lines[0], lines
    assert snapshot(out) == before
