"""A full disk or an unwritable output directory (issue 5, "Interruptions and crashes").

Small tmpfs mounts (root only; skipped where mounting is impossible, unless CI is set) fill
up at different files of a run's output and of a sweep store: the command exits 2 with one
line naming the file, no traceback, no temporary file left and every file that exists
parses; with room again, ``--resume`` finishes the sweep with the uninterrupted bits.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest
from reliability_support import (
    MODELS,
    STORE_NAMES,
    TESTS_DATA,
    assert_clean_exit_2,
    assert_no_half_written_files,
    assert_same_store,
    cli_process,
    invoke,
    manifest_of,
)

from leadtime_sim.experiment import run_experiment

MMC = MODELS / "mmc_check.toml"
TINY = TESTS_DATA / "tiny_lines.toml"
SHORT = ["--set", 'end="2026-01"']

Mount = Callable[..., Path]


def _mount(target: Path, options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(target)],
                          capture_output=True, text=True, check=False)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Mount]:
    """``tmpfs(size="16k", ro=False)``: a fresh small tmpfs under tmp_path, unmounted after."""
    mounted: list[Path] = []

    def mount(size: str = "64k", ro: bool = False) -> Path:
        target = tmp_path / f"disk{len(mounted)}"
        target.mkdir()
        done = _mount(target, f"size={size}" + (",ro" if ro else ""))
        if done.returncode != 0:
            if os.environ.get("CI"):
                pytest.fail(f"cannot mount a tmpfs in CI: {done.stderr}")
            pytest.skip(f"cannot mount a tmpfs here (needs root): {done.stderr.strip()}")
        mounted.append(target)
        return target

    yield mount
    for target in reversed(mounted):
        done = subprocess.run(["umount", str(target)], capture_output=True, check=False)
        if done.returncode != 0:
            subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def remount(target: Path, size: str) -> None:
    done = subprocess.run(["mount", "-o", f"remount,size={size}", str(target)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def tiny_reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "store"
    run_experiment(TINY, out, executor="serial")
    return out


def _one_disk_full_line(lines: list[str], folder: Path) -> None:
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"error: {folder}/"), lines
    assert "No space left on device" in lines[0], lines


# Where each size fills up (mmc_check over a year, today): 4k series.parquet, 12k series.csv,
# 20k orders.parquet, 28k orders.csv, 36k scenario_as_run.json, 40k summary.json.
@pytest.mark.parametrize("size", ["4k", "12k", "20k", "28k", "36k", "40k"])
def test_a_run_onto_a_full_disk_fails_in_one_line_leaving_no_half_file(tmpfs: Mount, size: str) -> None:
    disk = tmpfs(size)
    out = disk / "run"
    outcome = invoke("run", MMC, *SHORT, "--out", out)
    _one_disk_full_line(assert_clean_exit_2(outcome), out)
    assert_no_half_written_files(disk)


def test_a_run_that_fits_writes_every_file(tmpfs: Mount) -> None:
    disk = tmpfs("1m")
    outcome = invoke("run", MMC, *SHORT, "--out", disk / "run")
    assert outcome.code == 0, outcome.stderr
    assert_no_half_written_files(disk)


# Where each size fills up (tiny_lines, today): 4k a series part, 32k runs.parquet, 40k
# runs.csv, 48k points.csv, 64k series_quantiles.parquet, 400k (with charts) a chart.
@pytest.mark.parametrize(("size", "charts"), [("4k", False), ("32k", False), ("40k", False), ("48k", False),
                                              ("64k", False), ("400k", True)])
def test_a_sweep_onto_a_full_disk_fails_in_one_line_and_resumes(
        tmpfs: Mount, tiny_reference: Path, size: str, charts: bool) -> None:
    disk = tmpfs(size)
    out = disk / "store"
    args = ["--executor", "serial"] + ([] if charts else ["--no-charts"])
    outcome = invoke("sweep", TINY, "--out", out, *args)
    _one_disk_full_line(assert_clean_exit_2(outcome), out)
    assert_no_half_written_files(disk)
    if (out / "manifest.json").exists():
        assert manifest_of(out)["status"] in ("running", "interrupted", "complete")
    remount(disk, "16m")
    done = invoke("sweep", TINY, "--out", out, "--executor", "serial", "--no-charts", "--resume")
    assert done.code == 0, done.stderr
    assert manifest_of(out)["status"] == "complete"
    assert_same_store(out, tiny_reference)
    assert_no_half_written_files(disk)


def test_a_sweep_process_onto_a_full_disk_stops_its_workers_and_says_so(tmp_path: Path, tmpfs: Mount) -> None:
    """The real command with worker processes: exit 2, one line, no traceback, no stray process."""
    out = tmpfs("32k") / "store"
    done = cli_process("sweep", TINY, "--out", out, "--workers", "2", "--no-charts", timeout=120)
    lines = assert_clean_exit_2(done)
    _one_disk_full_line(lines, out)
    assert_no_half_written_files(out.parent)
    deadline = time.monotonic() + 10
    while stray := [p.pid for p in psutil.process_iter(["cmdline"]) if str(out) in " ".join(p.info["cmdline"] or [])]:
        assert time.monotonic() < deadline, f"worker processes left running: {stray}"
        time.sleep(0.1)


def test_a_store_marked_complete_has_all_its_files(tmpfs: Mount) -> None:
    bad = []
    for size in ("48k", "56k", "64k", "72k", "80k", "88k"):  # fills up at the end of the sweep
        out = tmpfs(size) / "store"
        outcome = invoke("sweep", TINY, "--out", out, "--executor", "serial", "--no-charts")
        if (out / "manifest.json").exists() and manifest_of(out)["status"] == "complete":
            missing = [name for name in STORE_NAMES if not (out / name).exists()]
            if missing:
                bad.append((size, outcome.code, missing))
    assert not bad, f"(disk size, exit status, files missing) of stores marked complete: {bad}"


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_a_read_only_output_directory_fails_in_one_line(tmpfs: Mount, command: str) -> None:
    disk = tmpfs("64k", ro=True)
    out = disk / "out"
    source = MMC if command == "run" else TINY
    outcome = invoke(command, source, *(SHORT if command == "run" else ["--executor", "serial"]), "--out", out)
    lines = assert_clean_exit_2(outcome)
    assert lines == [f"error: {out}: cannot create the output directory: Read-only file system"]


@pytest.mark.parametrize("command", ["run", "sweep"])
def test_an_output_path_under_a_regular_file_fails_in_one_line(tmp_path: Path, command: str) -> None:
    regular = tmp_path / "file"
    regular.write_text("not a directory")
    source = MMC if command == "run" else TINY
    extra = SHORT if command == "run" else ["--executor", "serial"]
    for out in (regular / "out", regular / "deeper" / "out"):
        lines = assert_clean_exit_2(invoke(command, source, *extra, "--out", out))
        assert lines == [f"error: {out}: cannot create the output directory: {regular} is a file, not a directory"]
    lines = assert_clean_exit_2(invoke(command, source, *extra, "--out", regular))
    assert len(lines) == 1 and str(regular) in lines[0], lines
    assert regular.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]
