"""Issue 15, part 2: corrupt or edited stores are detected, explained in one line naming the
file, and repaired by ``--resume`` where the runs can be run again (they are pure), else
the user is told to use ``--force``. ``plot`` and ``report`` on a damaged store: one line,
exit 2. Each test was written to fail before its fix."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from reliability_support import (
    TESTS_DATA,
    assert_clean_exit_2,
    assert_same_store,
    invoke,
    manifest_of,
    runs_of,
)

TINY = TESTS_DATA / "tiny_lines.toml"
RUNS = 9


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("reference") / "store"
    assert invoke("sweep", TINY, "--out", out, "--executor", "serial", "--no-charts").code == 0
    return out


@pytest.fixture()
def store(reference: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(reference, copy)
    return copy


def resume(store: Path) -> tuple[int, str]:
    outcome = invoke("sweep", TINY, "--out", store, "--executor", "serial", "--no-charts", "--resume")
    assert "Traceback" not in outcome.stderr
    return outcome.code, outcome.stderr


def truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])


def first_part(store: Path) -> Path:
    return sorted((store / "series_runs").rglob("*.parquet"))[0]


# -- damage that --resume repairs by running the runs again ------------------------------------

REPAIRABLE: dict[str, Callable[[Path], object]] = {
    "truncated runs.parquet": lambda s: truncate(s / "runs.parquet"),
    "0-byte runs.parquet": lambda s: (s / "runs.parquet").write_bytes(b""),
    "runs.parquet of another shape": lambda s: pd.DataFrame({"x": [1]}).to_parquet(s / "runs.parquet"),
    "truncated series part": lambda s: truncate(first_part(s)),
    "0-byte series part": lambda s: first_part(s).write_bytes(b""),
    "deleted series folder": lambda s: shutil.rmtree(first_part(s).parent),
    "duplicated run row": lambda s: pd.concat([runs_of(s), runs_of(s).iloc[:2]]).to_parquet(s / "runs.parquet"),
    "deleted series_quantiles": lambda s: (s / "series_quantiles.parquet").unlink(),
    "truncated points.csv": lambda s: truncate(s / "points.csv"),
}


@pytest.mark.parametrize("damage", REPAIRABLE)
def test_resume_repairs_what_can_be_run_again(damage: str, store: Path, reference: Path) -> None:
    REPAIRABLE[damage](store)
    code, stderr = resume(store)
    assert code == 0, stderr
    assert manifest_of(store)["status"] == "complete"
    assert manifest_of(store)["counts"] == {"done": RUNS, "failed": 0}
    assert_same_store(store, reference)


@pytest.mark.parametrize("damage", ["truncated runs.parquet", "truncated series part", "deleted series folder",
                                    "duplicated run row"])
def test_the_damage_is_named_in_one_line(damage: str, store: Path) -> None:
    REPAIRABLE[damage](store)
    _, stderr = resume(store)
    warnings = [line for line in stderr.splitlines() if line.startswith("warning:")]
    assert warnings, stderr
    assert any(str(store) in line and ("runs.parquet" in line or "series_runs" in line) for line in warnings)


def test_a_deleted_series_folder_is_not_complete_without_its_point(store: Path, reference: Path) -> None:
    """It said "complete" with the point silently missing from the quantiles."""
    folder = first_part(store).parent
    point = int(folder.name.split("=")[1])
    shutil.rmtree(folder)
    code, _ = resume(store)
    assert code == 0
    quantiles = pd.read_parquet(store / "series_quantiles.parquet")
    assert point in set(quantiles["point_id"])


# -- damage that needs --force --------------------------------------------------------------

BROKEN_MANIFESTS: dict[str, Callable[[Path], object]] = {
    "truncated": lambda s: truncate(s / "manifest.json"),
    "0-byte": lambda s: (s / "manifest.json").write_text(""),
    "a list": lambda s: (s / "manifest.json").write_text("[1, 2]"),
    "nested 100,000 deep": lambda s: (s / "manifest.json").write_text("[" * 100_000 + "]" * 100_000),
    "edited scenario": lambda s: (s / "manifest.json").write_text(json.dumps(
        {**manifest_of(s), "scenario": {**manifest_of(s)["scenario"], "end": "2099-01"}})),
}


@pytest.mark.parametrize("damage", BROKEN_MANIFESTS)
def test_a_broken_manifest_is_named_and_force_replaces_the_store(damage: str, store: Path,
                                                                reference: Path) -> None:
    BROKEN_MANIFESTS[damage](store)
    (line,) = assert_clean_exit_2(invoke("sweep", TINY, "--out", store, "--executor", "serial",
                                         "--no-charts", "--resume"))
    assert "manifest.json" in line and "--force" in line
    outcome = invoke("sweep", TINY, "--out", store, "--executor", "serial", "--no-charts", "--force")
    assert outcome.code == 0, outcome.stderr
    assert_same_store(store, reference)


# -- plot and report on damaged stores: one line, exit 2 ------------------------------------

EDITS: dict[str, Callable[[dict], dict]] = {
    "points is a string": lambda m: {**m, "points": "all of them"},
    "a point without axes": lambda m: {**m, "points": [{"point_id": 0}]},
    "no scenario": lambda m: {k: v for k, v in m.items() if k != "scenario"},
    "experiment is a number": lambda m: {**m, "experiment": 3},
    "baseline is text": lambda m: {**m, "baseline_point": "zero"},
    "counts is a list": lambda m: {**m, "counts": [1]},
}


@pytest.mark.parametrize("command", ["plot", "report"])
@pytest.mark.parametrize("edit", EDITS)
def test_plot_and_report_of_an_edited_manifest(command: str, edit: str, store: Path) -> None:
    (store / "manifest.json").write_text(json.dumps(EDITS[edit](manifest_of(store))))
    (line,) = assert_clean_exit_2(invoke(command, store))
    assert "manifest.json" in line


@pytest.mark.parametrize("command", ["plot", "report"])
@pytest.mark.parametrize("damage", ["truncated", "no metric column", "empty"])
def test_plot_and_report_of_a_damaged_points_table(command: str, damage: str, store: Path) -> None:
    points = store / "points.csv"
    if damage == "truncated":
        text = points.read_text()
        points.write_text(text[: len(text) // 3].rsplit(",", 3)[0])
    elif damage == "no metric column":
        pd.read_csv(points).drop(columns=["metric"]).to_csv(points, index=False)
    else:
        points.write_text("")
    (line,) = assert_clean_exit_2(invoke(command, store))
    assert "points.csv" in line


@pytest.mark.parametrize("command", ["plot", "report"])
@pytest.mark.parametrize("damage", ["truncated series_quantiles", "deep manifest"])
def test_plot_and_report_of_other_damage(command: str, damage: str, store: Path) -> None:
    if damage == "truncated series_quantiles":
        truncate(store / "series_quantiles.parquet")
        name = "series_quantiles.parquet"
    else:
        (store / "manifest.json").write_text("[" * 100_000 + "]" * 100_000)
        name = "manifest.json"
    (line,) = assert_clean_exit_2(invoke(command, store))
    assert name in line


@pytest.mark.parametrize("command", ["plot", "report", "export"])
def test_runs_without_points_table_are_not_called_no_runs(command: str, store: Path,
                                                          reference: Path) -> None:
    """A second Ctrl-C (or a kill) between writing the runs table and points.csv left 9 runs
    in runs.parquet and no points.csv: plot, report and export said the store "holds no
    finished runs"; they name the runs and the way on, and --resume restores the store."""
    (store / "points.csv").unlink()
    (line,) = assert_clean_exit_2(invoke(command, store))
    assert f"holds {RUNS} finished runs but no points.csv" in line and "--resume" in line, line
    assert resume(store)[0] == 0
    assert_same_store(store, reference)


def test_export_of_a_damaged_runs_table_is_one_line(store: Path) -> None:
    """export read runs.parquet with pandas directly: a truncated one gave a 40-line pyarrow
    traceback (plot and report, which read points.csv, were fine)."""
    truncate(store / "runs.parquet")
    (line,) = assert_clean_exit_2(invoke("export", store))
    assert "runs.parquet: cannot read" in line, line
    assert not (store / "results.xlsx").exists()


@pytest.mark.parametrize("name", ["series.parquet", "orders.parquet"])
def test_export_of_a_run_with_a_damaged_table_is_one_line(tmp_path: Path, name: str) -> None:
    run = tmp_path / "run"
    assert invoke("run", TESTS_DATA / "mmc_requirements.toml", "--set", 'end="2026-01"', "--out", run).code == 0
    truncate(run / name)
    for command in ("export", "report", "plot"):
        (line,) = assert_clean_exit_2(invoke(command, run))
        assert f"{name}: cannot read" in line, (command, line)


SENSITIVITY = """name = "damage"
model = "{model}"
replications = 2
[overrides]
end = "2027-01"
[[axes]]
path = "factories.server.lines"
range = [2, 4]
integer = true
[[axes]]
path = "order_streams[0].rate_per_year"
range = [20.0, 28.0]
"""


@pytest.fixture(scope="module")
def studies(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A sensitivity store and an optimize store, made once."""
    folder = tmp_path_factory.mktemp("studies")
    experiment = folder / "sens.toml"
    experiment.write_text(SENSITIVITY.format(model=TESTS_DATA / "mmc_requirements.toml"))
    assert invoke("sensitivity", experiment, "--method", "morris", "--samples", "2", "--out",
                  folder / "sensitivity", "--executor", "serial").code == 0
    assert invoke("optimize", TINY, "--requirement", "r", "--by", "2026-01", "--confidence", "0.8", "--out",
                  folder / "optimize", "--executor", "serial", "--batch", "3", "--cap", "3",
                  "--fresh", "3").code == 0
    return {"sensitivity": folder / "sensitivity", "optimize": folder / "optimize"}


@pytest.mark.parametrize(("kind", "name", "content"), [
    ("sensitivity", "sensitivity.json", "{"), ("sensitivity", "sensitivity.json", '{"method": "morris"}'),
    ("sensitivity", "sensitivity.csv", ""), ("sensitivity", "sensitivity.csv", "a,b\n1,2\n"),
    ("optimize", "optimize.json", "{"), ("optimize", "optimize.json", "{}"),
    ("optimize", "optimize.json", '{"requirement": "r", "by": "2026-01", "confidence": 0.8, "feasible": true, '
     '"best": null, "candidates": 3, "runs": 1}'),
], ids=["sens json truncated", "sens json keys", "sens csv empty", "sens csv columns", "opt truncated",
        "opt keys", "opt candidates"])
def test_report_and_export_of_a_damaged_answer_file_are_one_line(
        studies: dict[str, Path], tmp_path: Path, kind: str, name: str, content: str) -> None:
    """report (and export) of a sensitivity or optimize store whose sensitivity.json,
    sensitivity.csv or optimize.json was damaged or edited gave a traceback (JSONDecodeError,
    EmptyDataError, KeyError: 'requirement', KeyError: 'candidates'); now one line naming the
    file and how to write it again (the command with --resume, which runs nothing)."""
    store = Path(shutil.copytree(studies[kind], tmp_path / "store"))
    (store / name).write_text(content)
    commands = ["report", "export"] if name != "sensitivity.json" else ["report"]
    for command in commands:
        (line,) = assert_clean_exit_2(invoke(command, store))
        assert name in line and "--resume" in line, (command, line)


@pytest.mark.parametrize(("kind", "command", "said"), [
    ("optimize", ["sweep", TINY], "is the store of an optimize (r by 2026-01), not of a sweep"),
    ("optimize", ["sweep", TINY, "--resume"], "is the store of an optimize (r by 2026-01), not of a sweep"),
    ("sensitivity", ["optimize", TINY, "--requirement", "r", "--by", "2026-01", "--confidence", "0.8", "--resume"],
     "is the store of a sensitivity analysis (morris, 2 samples), not of an optimize"),
], ids=["sweep", "sweep --resume", "optimize --resume"])
def test_a_store_of_another_command_is_named_as_such(studies: dict[str, Path], tmp_path: Path, kind: str,
                                                     command: list, said: str) -> None:
    """A sweep into an optimize store said "already holds results (complete); use --resume to
    finish them", and with --resume "holds another experiment (or other settings): targets:
    ["2026-01"] in the store, none now; optimize: {...} in the store, none now"; it now says
    whose store it is."""
    store = Path(shutil.copytree(studies[kind], tmp_path / "store"))
    (line,) = assert_clean_exit_2(invoke(*command, "--out", store, "--executor", "serial"))
    assert said in line and "--force" in line, line


def test_plot_report_and_export_of_a_quote_say_it_is_a_quote(tmp_path: Path) -> None:
    """A quote's --out folder was "neither a sweep store (manifest.json, points.csv) nor a run's
    output", leaving the user to guess what it is."""
    out = tmp_path / "quote"
    assert invoke("quote", TESTS_DATA / "mmc_requirements.toml", "--product", "unit", "--replications", "2",
                  "--set", 'end="2026-01"', "--out", out).code == 0
    for command in ("plot", "report", "export"):
        (line,) = assert_clean_exit_2(invoke(command, out))
        assert "is a quote's output (quote.json)" in line, line


def test_the_workbook_of_an_unfinished_store_says_so_in_its_summary(studies: dict[str, Path], store: Path,
                                                                    tmp_path: Path) -> None:
    """The workbook of an interrupted optimize (no optimize.json yet) answered with the sweep's
    headline (the earliest median close: another question) and "replications per point" of the
    cap; an unfinished sweep's workbook said only its status (the warning went to stderr, not
    into the file). Its summary now says it has no answer yet, and gives the line that says
    how to finish it."""
    optimize = Path(shutil.copytree(studies["optimize"], tmp_path / "optimize"))
    (optimize / "optimize.json").unlink()
    for folder in (optimize, store):
        manifest = manifest_of(folder)
        (folder / "manifest.json").write_text(json.dumps({**manifest, "status": "interrupted"}))
        assert invoke("export", folder).code == 0
        summary = pd.read_excel(folder / "results.xlsx", sheet_name="summary").set_index("item")["value"]
        assert "did not finish (interrupted" in summary["note"] and "--resume" in summary["note"], summary
    assert summary["answer: r"].startswith("r: with lines = 4")  # (the sweep's answer, of its runs so far)
    summary = pd.read_excel(optimize / "results.xlsx", sheet_name="summary").set_index("item")["value"]
    assert summary["answer"] == "none yet: the optimize did not finish"
    assert summary["replications per point"] == "adaptive (runs sheet)"
    assert not any(item.startswith("answer: ") for item in summary.index)


def test_a_lost_series_quantiles_file_is_named_not_skipped(store: Path, reference: Path) -> None:
    """A finished store without series_quantiles.parquet (deleted, lost in a copy) drew its
    charts without the fan, backlog and utilisation charts and wrote a report without them, all
    without a word (exit 0); plot and report now name the file and --resume writes it again."""
    (store / "series_quantiles.parquet").unlink()
    for command in ("plot", "report"):
        (line,) = assert_clean_exit_2(invoke(command, store))
        assert "series_quantiles.parquet: missing" in line and "--resume" in line, line
    assert resume(store)[0] == 0
    assert_same_store(store, reference)
    assert invoke("plot", store).code == 0
