"""The command line, through CliRunner and as a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from leadtime_sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
MMC = str(ROOT / "models" / "mmc_check.toml")
SHORT = ["--set", 'end="2030-01"']


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_run_writes_every_file(tmp_path: Path) -> None:
    code, out, _ = invoke("run", MMC, *SHORT, "--out", str(tmp_path / "o"))
    assert code == 0, out
    names = {p.name for p in (tmp_path / "o").iterdir()}
    assert {"summary.json", "series.csv", "series.parquet", "orders.csv", "orders.parquet",
            "scenario_as_run.json"} <= names
    assert not [n for n in names if n.endswith(".tmp")]
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    for key in ("scenario", "seed", "start", "end", "capex_musd"):
        assert key in summary
    unit = summary["products"]["unit"]
    orders = pd.read_csv(tmp_path / "o" / "orders.csv")
    assert unit["delivered_units"] == orders["delivered_units"].sum()
    series = pd.read_parquet(tmp_path / "o" / "series.parquet")
    products = series[series.entity == "product"]
    assert len(products) == 60  # five years of months
    assert products["delivered_units"].sum() == unit["delivered_units"]
    assert "Products" in out


def test_json_summary_is_valid_json_and_matches_file(tmp_path: Path) -> None:
    code, out, _ = invoke("run", MMC, *SHORT, "--seed", "7", "--json", "--out", str(tmp_path))
    assert code == 0
    printed = json.loads(out)
    assert printed["seed"] == 7
    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["products"] == printed["products"]


def test_set_changes_the_run(tmp_path: Path) -> None:
    _, out3, _ = invoke("run", MMC, *SHORT, "--json", "--out", str(tmp_path / "a"))
    _, out6, _ = invoke("run", MMC, *SHORT, "--set", "factories.server.lines=6", "--json",
                        "--out", str(tmp_path / "b"))
    mean = lambda text: json.loads(text)["products"]["unit"]["mean_lead_time_months"]  # noqa: E731
    assert mean(out6) < mean(out3)


@pytest.mark.parametrize(("args", "expected"), [
    (["run", "no/such/file.toml"], "no/such/file.toml: no such file"),
    (["run", MMC, "--set", "factories.server.lines=-1"], "factories.server.lines"),
    (["run", MMC, "--set", "factories.server.takt_months.mean=nan"], "takt_months.mean"),
    (["run", MMC, "--set", "nonsense"], "expected PATH=VALUE"),
    (["run", MMC, "--set", "policy.allocation=\"lottery\""], "unknown allocation policy"),
    (["run", MMC, "--seed", "-3"], "--seed"),
    (["validate", MMC, "--set", "order_streams[5].rate_per_year=1"], "no such list item"),
])
def test_bad_input_exits_2_with_one_line_per_problem(tmp_path: Path, args: list[str],
                                                      expected: str) -> None:
    out_dir = tmp_path / "out"
    code, out, err = invoke(*args, "--out", str(out_dir)) if args[0] == "run" else invoke(*args)
    assert code == 2
    assert expected in err + out
    assert "Traceback" not in err + out
    assert not out_dir.exists()


def test_bad_file_names_file_and_path(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(Path(MMC).read_text().replace("lines = 3", "lines = -3").replace(
        'product = "unit"\nlines', 'product = "nope"\nlines'))
    code, _, err = invoke("validate", str(bad))
    assert code == 2
    lines = err.strip().splitlines()
    assert f"error: {bad}: factories.server.lines: " in lines[0]
    assert len(lines) == 1  # structural errors first; references only once the shape is right


def test_validate_ok_and_schema() -> None:
    code, out, _ = invoke("validate", MMC)
    assert code == 0 and "ok" in out
    code, out, _ = invoke("schema")
    assert code == 0 and "factories" in json.loads(out)["properties"]


def test_plugin_policy_from_command_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "my_policies.py").write_text(NEWEST)
    monkeypatch.chdir(tmp_path)
    args = ["run", MMC, *SHORT, "--set", 'policy.allocation="newest"', "--json", "--out", "o"]
    code, _, err = invoke(*args)
    assert code == 2 and "unknown allocation policy 'newest'" in err
    code, _out, err = invoke(*args[:1], "--plugin", "my_policies", *args[1:])
    assert code == 0, err
    code, _, err = invoke("run", MMC, "--plugin", "no_such_module_xyz")
    assert code == 2 and "cannot import" in err


def test_python_dash_m_and_console_script(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "leadtime_sim", "run", MMC, *SHORT, "--json",
                           "--out", str(tmp_path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["scenario"] == "M/M/c check"
    bad = subprocess.run([sys.executable, "-m", "leadtime_sim", "validate", str(tmp_path)],
                         capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "is a directory" in bad.stderr and "Traceback" not in bad.stderr


def test_import_pulls_in_neither_matplotlib_nor_click() -> None:
    code = ("import sys, leadtime_sim; "
            "print(sorted(m for m in ('matplotlib', 'click') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_ci_runs_the_readme_quick_start() -> None:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start")[1].split("##")[0]
    commands = [block.strip() for block in quick.split("```bash")[1:]]
    commands = [c.split("```")[0].strip() for c in commands]
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text()
    for command in commands:
        assert command in ci.splitlines()


def test_the_readmes_experiment_example_validates_without_a_warning(tmp_path: Path) -> None:
    """The example set an override (first-pass yield 0.95) on the path its [[uncertain]] input
    samples, which validate refuses (exit 2: "set by uncertain[0].path at every design point"),
    and tied capex_musd = 500 a line to lines the default model already prices per line."""
    readme = (ROOT / "README.md").read_text()
    start = readme.index('```toml\nname = "Patriot capacity sweep"')
    example = readme[start:].split("```")[1].removeprefix("toml\n")
    (tmp_path / "experiments").mkdir()
    (tmp_path / "models").symlink_to(ROOT / "models")
    path = tmp_path / "experiments" / "example.toml"
    path.write_text(example)
    done = subprocess.run([sys.executable, "-m", "leadtime_sim", "validate", str(path)], capture_output=True,
                          text=True, cwd=tmp_path)
    assert done.returncode == 0 and done.stderr == "", done.stdout + done.stderr
    assert "every point valid" in done.stdout


def test_the_suite_runs_on_every_core_and_still_in_one_process() -> None:
    """setup.cfg's addopts run the plain ``pytest`` on every core (pytest-xdist); ``-p
    no:xdist`` (and ``-n 0``) still run it in one process, for debugging."""
    config = (ROOT / "setup.cfg").read_text()
    addopts = next(line for line in config.splitlines() if line.startswith("addopts"))
    assert "--numprocesses=auto" in addopts.split() and "pytest-xdist" in config.split("test =")[1].split("\n\n")[0]
    for flags in (["-p", "no:xdist"], ["-n", "0"]):
        done = subprocess.run([sys.executable, "-m", "pytest", *flags, "-q", "--collect-only", "-p", "no:cacheprovider",
                               str(ROOT / "tests" / "test_clock.py")], capture_output=True, text=True, cwd=ROOT,
                              check=False, timeout=120)
        assert done.returncode == 0, (flags, done.stdout[-2000:], done.stderr[-2000:])
        assert "tests collected" in done.stdout and "bringing up nodes" not in done.stdout + done.stderr


def test_a_mistyped_command_gets_a_did_you_mean() -> None:
    result = CliRunner().invoke(main, ["sweeep", "x.toml"])
    assert result.exit_code == 2 and "No such command 'sweeep'. Did you mean 'sweep'?" in result.output


def test_the_command_list_shows_whole_first_sentences() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    text = " ".join(result.output.split("Commands:")[1].split())
    assert "..." not in text
    assert ("Check scenario, experiment and calibration FILES, and fit's CSV records; print every problem "
            "with its field path (exit 2 if any).") in text
    assert "_LEADTIME_SIM_COMPLETE=bash_source" in text  # completion is documented


def test_quiet_prints_no_progress_and_help_shows_no_raw_ranges(tmp_path: Path) -> None:
    tiny = Path(__file__).with_name("data") / "tiny_lines.toml"
    loud = CliRunner().invoke(main, ["sweep", str(tiny), "--out", str(tmp_path / "a"), "--executor", "serial",
                                     "--no-charts"])
    quiet = CliRunner().invoke(main, ["-q", "sweep", str(tiny), "--out", str(tmp_path / "b"), "--executor",
                                      "serial", "--no-charts"])
    assert loud.exit_code == quiet.exit_code == 0
    assert "runs " in loud.stderr and "runs " not in quiet.stderr
    assert quiet.stdout == loud.stdout.replace(str(tmp_path / "a"), str(tmp_path / "b"))
    help_text = CliRunner().invoke(main, ["run", "--help"]).output
    assert "9223372036854775807" not in help_text and "FINITE FLOAT RANGE" not in help_text
    assert "factories.patriot_fire_units.lines=2" in help_text


def test_verbose_logs_what_the_library_does_and_only_verbose(tmp_path: Path) -> None:
    """``-v`` promised the library's info and debug lines, and the library logged none: it
    printed nothing more. Now it says what it read, planned and ran; without ``-v`` (the
    handler let every level through) none of it."""
    tiny = str(Path(__file__).with_name("data") / "tiny_lines.toml")
    args = ["sweep", tiny, "--executor", "serial", "--no-charts"]
    loud = CliRunner().invoke(main, ["-v", *args, "--out", str(tmp_path / "a")])
    plain = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "b")])
    assert loud.exit_code == plain.exit_code == 0
    info = [line for line in loud.stderr.splitlines() if line.startswith("info: ")]
    assert any("design point(s) x" in line for line in info)
    assert any("runs already in the store" in line and "serial executor" in line for line in info)
    assert not [line for line in plain.stderr.splitlines() if line.startswith("info: ")]
    code, _, err = invoke("-v", "run", MMC, *SHORT, "--out", str(tmp_path / "r"))
    assert code == 0 and "info: " in err and "scenario 'M/M/c check'" in err


def test_validate_knows_experiments_and_calibration_targets() -> None:
    """Each kind checked fully, nothing run; an experiment's bad axis is one line, exit 2,
    not ten scenario errors about its keys."""
    root = Path(__file__).resolve().parents[1]
    ok = CliRunner().invoke(main, ["validate", str(root / "experiments" / "capacity_sweep.toml"),
                                   str(root / "models" / "calibration.toml"),
                                   str(root / "models" / "single_line.toml")])
    assert ok.exit_code == 0, ok.output
    assert "experiment Patriot capacity sweep: 12 design points x 30 replications" in ok.output
    assert "calibration targets: 14 figures" in ok.output and "scenario Single line" in ok.output
    bad = CliRunner().invoke(main, ["validate", str(Path(__file__).with_name("data") / "bad_axis_path.toml")])
    assert bad.exit_code == 2
    assert bad.stderr.count("error:") == 1 and "factories.nope" in bad.stderr and "did you mean" not in bad.stderr


def test_validate_applies_set_to_a_calibration_model_and_refuses_it_for_records_only() -> None:
    """Both said ok, ignoring the --set: a bad path on the calibration's model, any on records."""
    calibration, records = str(ROOT / "models" / "calibration.toml"), str(ROOT / "models" / "delivery_records.csv")
    code, out, err = invoke("validate", calibration, "--set", "nosuch=1")
    assert code == 2 and out == ""
    assert err.startswith("error: --set (on nato_air_defence.toml): nosuch: unknown key 'nosuch'")
    code, out, err = invoke("validate", records, "--set", "nosuch=1")
    assert code == 2 and out == ""
    assert err == "error: --set: applies to scenario, experiment and calibration files, and none is given\n"
    code, _, _ = invoke("validate", calibration, "--set", "factories.patriot_fire_units.lines=3")
    assert code == 0


def test_schema_of_experiments() -> None:
    result = CliRunner().invoke(main, ["schema", "--experiment"])
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert {"model", "axes", "replications", "targets"} <= set(schema["properties"])


NEWEST = ("from leadtime_sim import AllocationPolicy\n"
          "class Newest(AllocationPolicy):\n"
          "    def take(self, units):\n"
          "        taken = []\n"
          "        while units and self.queue:\n"
          "            order = self.queue[-1]\n"
          "            n = min(units, order.uncommitted)\n"
          "            taken.append((order, n)); units -= n\n"
          "            if n == order.uncommitted:\n"
          "                self.queue.pop()\n"
          "        return taken\n"
          "POLICIES = {'newest': Newest}\n")


@pytest.mark.slow
def test_a_plugin_beside_its_experiment_imports_in_sweep_and_workers(tmp_path: Path) -> None:
    """The experiment names a plugin module in its own folder; the sweep runs from elsewhere,
    in worker processes (as a subprocess), and every run uses the plugin's policy."""
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "study_policies.py").write_text(NEWEST)
    (folder / "e.toml").write_text(f'''
name = "plugin sweep"
model = "{Path(MMC).resolve().as_posix()}"
replications = 2
plugins = ["study_policies"]
overrides = {{ end = "2027-01", "policy.allocation" = "newest" }}
[[axes]]
path = "factories.server.lines"
values = [2, 3]
''')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = subprocess.run([sys.executable, "-m", "leadtime_sim", "sweep", str(folder / "e.toml"), "--out",
                           str(tmp_path / "out"), "--workers", "2", "--no-charts"], cwd=elsewhere,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "4 runs done, 0 failed" in done.stdout


def test_simulate_without_the_plugins_says_what_to_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import leadtime_sim as lts

    (tmp_path / "py_policies.py").write_text(NEWEST)
    monkeypatch.chdir(tmp_path)
    plugins = lts.load_plugins(["py_policies"], search=[tmp_path])
    scenario = lts.load_scenario(MMC, overrides=['policy.allocation="newest"'], plugins=plugins)
    with pytest.raises(lts.InputError) as info:
        lts.simulate(scenario)
    (line,) = info.value.problems
    assert "allocation policy 'newest'" in line and "pass the plugins given to load_scenario" in line
    assert "--plugin" not in line
    assert lts.simulate(scenario, plugins=plugins, limits=lts.Limits(max_lots=1e7)).summary
    with pytest.raises(lts.InputError) as missing:
        lts.load_plugins(["no_such_xyz"])
    assert missing.value.problems[0].startswith("plugin no_such_xyz: cannot import")


@pytest.mark.slow
def test_export_writes_one_workbook_of_a_store_and_of_a_run(tmp_path: Path) -> None:
    tiny = Path(__file__).with_name("data") / "tiny_lines.toml"
    store = tmp_path / "store"
    assert CliRunner().invoke(main, ["sweep", str(tiny), "--out", str(store), "--executor", "serial",
                                     "--no-charts"]).exit_code == 0
    done = CliRunner().invoke(main, ["export", str(store)])
    assert done.exit_code == 0, done.output
    sheets = pd.read_excel(store / "results.xlsx", sheet_name=None)
    assert list(sheets) == ["summary", "points", "runs", "study"]
    assert sheets["study"]["item"].str.startswith("5.4 Hardware").sum() == 1
    assert len(sheets["runs"]) == len(pd.read_parquet(store / "runs.parquet"))
    assert len(sheets["points"]) == len(pd.read_csv(store / "points.csv"))
    assert sheets["summary"]["item"].str.startswith("answer: ").any()
    run = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", MMC, *SHORT, "--out", str(run)]).exit_code == 0
    assert CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "run.xlsx")]).exit_code == 0
    assert list(pd.read_excel(tmp_path / "run.xlsx", sheet_name=None)) == ["summary", "series", "orders"]
    bad = CliRunner().invoke(main, ["export", str(run), "--out", str(tmp_path / "run.csv")])
    assert bad.exit_code == 2 and "must end in .xlsx" in bad.output


def test_a_store_or_run_exported_to_its_default_workbook_can_be_written_again(tmp_path: Path) -> None:
    """``export DIR`` writes DIR/results.xlsx, which README lists among a store's files; then
    ``sweep --resume`` and ``--force`` refused the store ("is not a results store: it holds
    results.xlsx"), and ``run --out`` its own directory. --force removes the stale workbook."""
    tiny = Path(__file__).with_name("data") / "tiny_lines.toml"
    store = tmp_path / "store"
    sweep = ["sweep", str(tiny), "--out", str(store), "--executor", "serial", "--no-charts", "--replications", "1"]
    assert CliRunner().invoke(main, sweep).exit_code == 0
    assert CliRunner().invoke(main, ["export", str(store)]).exit_code == 0
    resumed = CliRunner().invoke(main, [*sweep, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    forced = CliRunner().invoke(main, [*sweep, "--force"])
    assert forced.exit_code == 0, forced.output
    assert not (store / "results.xlsx").exists()
    run = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", MMC, *SHORT, "--out", str(run)]).exit_code == 0
    assert CliRunner().invoke(main, ["export", str(run)]).exit_code == 0
    again = CliRunner().invoke(main, ["run", MMC, *SHORT, "--out", str(run)])
    assert again.exit_code == 0, again.output


def test_files_our_commands_wrote_into_a_store_or_run_do_not_block_writing_it_again(tmp_path: Path) -> None:
    """``export DIR --out DIR/other.xlsx`` (or ``fit --chart DIR/fit.png``) wrote a file into
    the store that ``sweep --resume`` and ``--force`` then refused ("is not a results store: it
    holds other.xlsx"), and ``run --out`` a run's directory likewise. A store (its manifest
    reads) or a run's output may hold other files: they are kept as they are, by --force
    too (with a warning that they may describe the results replaced)."""
    tiny = Path(__file__).with_name("data") / "tiny_lines.toml"
    store = tmp_path / "store é x"
    sweep = ["sweep", str(tiny), "--out", str(store), "--executor", "serial", "--no-charts", "--replications", "1"]
    assert CliRunner().invoke(main, sweep).exit_code == 0
    assert CliRunner().invoke(main, ["export", str(store), "--out", str(store / "other.xlsx")]).exit_code == 0
    fitted = CliRunner().invoke(main, ["fit", str(ROOT / "models" / "delivery_records.csv"), "--column",
                                       "flow_months", "--dist", "gamma", "--chart", str(store / "fit.png")])
    assert fitted.exit_code == 0, fitted.output
    workbook = (store / "other.xlsx").read_bytes()
    resumed = CliRunner().invoke(main, [*sweep, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    forced = CliRunner().invoke(main, [*sweep, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "keeps fit.png, other.xlsx" in forced.stderr, forced.stderr
    assert (store / "other.xlsx").read_bytes() == workbook and (store / "fit.png").is_file()
    run = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", MMC, *SHORT, "--out", str(run)]).exit_code == 0
    assert CliRunner().invoke(main, ["export", str(run), "--out", str(run / "mine.xlsx")]).exit_code == 0
    again = CliRunner().invoke(main, ["run", MMC, *SHORT, "--out", str(run)])
    assert again.exit_code == 0, again.output
    assert (run / "mine.xlsx").is_file()


def test_a_directory_of_other_files_is_still_not_a_store(tmp_path: Path) -> None:
    """Files besides a store's own are kept only in a store: a folder of the user's, even one
    with a manifest.json that is not a store's, is refused, and nothing in it is touched."""
    tiny = Path(__file__).with_name("data") / "tiny_lines.toml"
    folder = tmp_path / "papers"
    folder.mkdir()
    (folder / "manifest.json").write_text('{"mine": 1}')
    (folder / "thesis.txt").write_text("keep")
    for flag in ("--resume", "--force"):
        done = CliRunner().invoke(main, ["sweep", str(tiny), "--out", str(folder), "--executor", "serial",
                                         "--no-charts", flag])
        assert done.exit_code == 2, done.output
        assert "is not a results store: it holds thesis.txt" in done.output
    assert sorted(p.name for p in folder.iterdir()) == ["manifest.json", "thesis.txt"]
    assert (folder / "manifest.json").read_text() == '{"mine": 1}'


def test_a_ctrl_c_no_command_handles_exits_130_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    """Ctrl-C after a sweep's runs (its charts, its indices) gave Click's "Aborted!" and exit
    1, where every command's own Ctrl-C exits 130."""
    import leadtime_sim.cli.commands as commands

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, "load_scenario", interrupted)
    result = CliRunner().invoke(main, ["run", str(ROOT / "models" / "single_line.toml"),
                                       "--out", str(tmp_path / "r")])
    assert result.exit_code == 130, result.output
    assert "interrupted (Ctrl-C)" in result.output and "Aborted" not in result.output


def test_a_command_run_in_process_leaves_the_signal_handlers_as_it_found_them(tmp_path: Path) -> None:
    """A sweep takes SIGTERM and SIGHUP over, and one that stops ignores Ctrl-C while it
    exits; run in-process (a notebook, a test) it left the caller so for good, and the
    caller's later subprocesses inherited it (a Ctrl-C test of a sweep subprocess then saw its
    SIGINT ignored, now and then, in a parallel test run)."""
    import signal

    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    done = CliRunner().invoke(main, ["sweep", str(ROOT / "tests" / "data" / "tiny_lines.toml"), "--out",
                                     str(tmp_path / "s"), "--executor", "serial", "--no-charts"])
    assert done.exit_code == 0, done.output
    assert {s: signal.getsignal(s) for s in before} == before


def test_run_fluid_warns_of_what_the_fluid_model_leaves_out(tmp_path: Path) -> None:
    """``run --fluid`` on a scenario with a learning curve and fair shares printed its estimate
    as if it modelled both (quote_basis "policy"); only optimize's pre-screen said why it
    turned itself off. Now a warning line each; a scenario it models gets none."""
    model = str(ROOT / "models" / "single_line.toml")
    code, _, err = invoke("run", model, "--fluid", "--set", 'policy.allocation="fair-share"',
                          "--set", "factories.line.learning={progress_ratio=0.9}", "--out", str(tmp_path / "a"))
    assert code == 0, err
    warnings = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 2
    assert "factory line has a learning curve, which the fluid model does not model" in warnings[0]
    assert "allocation 'fair-share' is not modelled" in warnings[1] and "first come, first served" in warnings[1]
    code, _, err = invoke("run", model, "--fluid", "--out", str(tmp_path / "b"))
    assert code == 0 and "warning" not in err


RAISING_PLUGIN = '''
from leadtime_sim import AllocationPolicy


def _check(units):
    raise RuntimeError("boom: this policy refuses to allocate")


class Boom(AllocationPolicy):
    def take(self, units):
        return _check(units)


def broken(review):
    return 1 // 0


POLICIES = {"boom": Boom}
ORDERING_RULES = {"broken": broken}
'''


@pytest.mark.parametrize(("settings", "told"), [
    (["models/mmc_check.toml", "--set", 'policy.allocation="boom"', "--set", "end=2027-01"],
     "Boom.take raised RuntimeError: boom: this policy refuses to allocate (lts_raising_{n}.py:6)"),
    (["models/nato_air_defence.toml", "--set", 'requirements.germany_patriot.ordering.rule="broken"'],
     "broken raised ZeroDivisionError: integer division or modulo by zero (lts_raising_{n}.py:15)"),
    (["models/nato_air_defence.toml", "--fluid", "--set",
      'requirements.germany_patriot.ordering.rule="broken"'],
     "broken raised ZeroDivisionError: integer division or modulo by zero (lts_raising_{n}.py:15)"),
], ids=["policy", "ordering rule", "ordering rule, fluid"])
def test_a_plugin_that_raises_is_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    settings: list[str], told: str) -> None:
    """A plugin's policy or ordering rule that raised gave the kernel's traceback (40 lines,
    exit 1); now one line naming the plugin, its function (the one the simulator called),
    the error and where it was raised, exit 2."""
    n = len(list(tmp_path.parent.iterdir()))  # (a module name of its own: imports are cached)
    (tmp_path / f"lts_raising_{n}.py").write_text(RAISING_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    model, *rest = settings
    code, out, err = invoke("run", str(ROOT / model), "--plugin", f"lts_raising_{n}", *rest,
                            "--out", str(tmp_path / "out"))
    assert code == 2, (out, err)
    assert err == f"error: plugin lts_raising_{n}: {told.format(n=n)}\n"
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("given", [["--seed", "5"], ["--seed", "1"], ["--replication", "3"],
                                   ["--seed", "5", "--replication", "3", "--json"]],
                         ids=["seed", "the default seed", "replication", "both, --json"])
def test_run_fluid_refuses_a_seed_it_would_ignore(tmp_path: Path, given: list[str]) -> None:
    """``run --fluid --seed 5`` printed the estimate as if seeded, and its summary.json and
    --json said seed 0: the fluid model draws nothing. Now one line, exit 2, nothing written;
    without --seed the estimate runs and says seed 0, replication 0."""
    code, out, err = invoke("run", str(ROOT / "models" / "single_line.toml"), "--fluid", *given,
                            "--out", str(tmp_path / "out"))
    assert code == 2 and out == "", (out, err)
    shown = " and ".join(f"{a} {b}" for a, b in zip(given[::2], given[1::2], strict=False) if a != "--json")
    assert err.startswith(f"error: {shown}: --fluid draws nothing") and err.count("\n") == 1, err
    assert not (tmp_path / "out").exists()
    code, out, err = invoke("run", str(ROOT / "models" / "single_line.toml"), "--fluid", "--json",
                            "--out", str(tmp_path / "out"))
    assert code == 0, err
    assert (json.loads(out)["seed"], json.loads(out)["replication"]) == (0, 0)


def test_experiments_named_in_other_scripts_get_their_own_default_store(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """The default store, results/<file stem>, kept ASCII letters only: 試験.toml and 実験.toml
    both went to results/_ (the second sweep was refused: "already holds results"), Übung.toml
    to results/_bung. Letters of any script are now kept."""
    from leadtime_sim.io import safe_name

    assert [safe_name(s, "experiment") for s in ("試験", "実験", "Übung 2", "e\u0301tude", "..", "a/b")] == \
        ["試験", "実験", "Übung_2", "étude", "experiment", "a_b"]
    tiny = Path(__file__).with_name("data") / "tiny_lines.toml"
    text = tiny.read_text().replace('model = "mmc_requirements.toml"',
                                    f"model = {json.dumps(str(tiny.with_name('mmc_requirements.toml')))}")
    monkeypatch.chdir(tmp_path)
    for stem in ("試験", "実験"):
        (tmp_path / f"{stem}.toml").write_text(text, encoding="utf-8")
        done = CliRunner().invoke(main, ["sweep", f"{stem}.toml", "--executor", "serial", "--no-charts",
                                         "--replications", "1"])
        assert done.exit_code == 0, done.output
    assert sorted(p.name for p in (tmp_path / "results").iterdir()) == sorted(["試験", "実験"])


def test_export_writes_texts_a_worksheet_cannot_hold(tmp_path: Path) -> None:
    """An experiment named with a control character (a bell, a terminal colour code: TOML
    allows them as \\u0007) made export fail with openpyxl's IllegalCharacterError traceback;
    they are now shown as \\x07, and a text longer than a cell holds is cut."""
    from leadtime_sim.export import CELL_CHARACTERS, _cell

    tiny = Path(__file__).with_name("data") / "tiny_lines.toml"
    experiment = tmp_path / "bell.toml"
    experiment.write_text(tiny.read_text().replace('name = "tiny lines"', 'name = "bell \\u0007 red \\u001b[31m"')
                          .replace('model = "mmc_requirements.toml"',
                                   f"model = {json.dumps(str(tiny.with_name('mmc_requirements.toml')))}"))
    store = tmp_path / "store"
    assert CliRunner().invoke(main, ["sweep", str(experiment), "--out", str(store), "--executor", "serial",
                                     "--no-charts", "--replications", "1"]).exit_code == 0
    done = CliRunner().invoke(main, ["export", str(store)])
    assert done.exit_code == 0, done.output
    summary = pd.read_excel(store / "results.xlsx", sheet_name="summary")
    assert "bell \\x07 red \\x1b[31m" in summary["value"].tolist()
    long = _cell("x" * (CELL_CHARACTERS + 10))
    assert len(long) == CELL_CHARACTERS and long.endswith("\u2026")


def test_export_under_a_file_says_it_is_a_file(tmp_path: Path) -> None:
    """``export DIR --out FILE/x.xlsx`` said "FILE: cannot create the output directory: File
    exists"; it now says that FILE is a file."""
    run = tmp_path / "run"
    assert CliRunner().invoke(main, ["run", MMC, *SHORT, "--out", str(run)]).exit_code == 0
    regular = tmp_path / "notes.txt"
    regular.write_text("mine")
    done = CliRunner().invoke(main, ["export", str(run), "--out", str(regular / "x.xlsx")])
    assert done.exit_code == 2 and f"{regular}: is a file, not a directory" in done.output, done.output
    assert regular.read_text() == "mine"


def test_the_run_table_accounts_for_every_unit_ordered(tmp_path: Path) -> None:
    """The default model's run printed patriot_fire_unit "286 ordered, 248 delivered, backlog at
    end 0": the 38 on the lines or in integration and test at the end went unsaid. Ordered =
    delivered + in work + backlog, row by row."""
    code, out, err = invoke("run", str(ROOT / "models" / "nato_air_defence.toml"), "--out", str(tmp_path / "r"))
    assert code == 0, err
    lines = out[out.index("\nProducts"):].splitlines()
    header = lines[2].split("  ")
    assert [h.strip() for h in header if h.strip()][:5] == ["product", "ordered", "delivered", "in work at end",
                                                            "backlog at end"]
    body = lines[4:]
    rows = [line.split() for line in body[:body.index("")]]
    assert rows
    for name, ordered, delivered, wip, backlog, *_ in rows:
        assert int(ordered) == int(delivered) + int(wip) + int(backlog), name
    assert any(int(row[3]) > 0 for row in rows)
