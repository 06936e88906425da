"""Issue 15, part 1: what could lose or corrupt finished results - output paths that are not
what they seem, two writers on one store, a second Ctrl-C, a closed terminal, a killed main
process. Each test was written to fail before its fix."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from reliability_support import (
    DATA,
    MODELS,
    TESTS_DATA,
    assert_clean_exit_2,
    assert_no_half_written_files,
    cli_process,
    dask_workers,
    invoke,
    kill_group,
    manifest_of,
    plugin_dir,
    plugin_env,
    reap,  # noqa: F401 - a fixture
    runs_of,
    snapshot,
    start_sweep,
    wait_for_file,
)

TINY = TESTS_DATA / "tiny_lines.toml"
TINY_OTHER = TESTS_DATA / "tiny_lines_other_seed.toml"
SLOW = DATA / "slow_sweep.toml"


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return plugin_env(plugin_dir(tmp_path_factory), LTS_REL_SLOW_SECONDS="0.3")


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("tiny") / "store"
    assert invoke("sweep", TINY, "--out", out, "--executor", "serial", "--no-charts").code == 0
    return out


# -- 1. output paths are resolved and checked before anything is written ---------------------

def test_a_dotdot_out_cannot_replace_another_experiments_store(tiny_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(tiny_store, store)
    before = snapshot(store)
    outcome = invoke("sweep", TINY_OTHER, "--out", f"{store}/missing/..", "--executor", "serial",
                     "--no-charts")
    (line,) = assert_clean_exit_2(outcome)
    assert "already holds results" in line or "another experiment" in line
    assert snapshot(store) == before and not (store / "missing").exists()


def test_a_model_named_dotdot_writes_under_results_not_the_working_directory(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(MODELS / "single_line.toml", work / "...toml")
    (work / "points.csv").write_text("mine\n")
    (work / "charts").mkdir()
    (work / "charts" / "mine.png").write_bytes(b"x")
    done = cli_process("run", "...toml", cwd=work)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in work.iterdir()) == ["...toml", "charts", "points.csv", "results"]
    (out,) = (work / "results").iterdir()
    assert (out / "summary.json").is_file() and out.name not in ("", ".", "..")
    experiment = work / "...toml"
    experiment.write_text((TINY.read_text()).replace('model = "mmc_requirements.toml"',
                                                    f'model = "{TESTS_DATA / "mmc_requirements.toml"}"'))
    for extra in ([], ["--force"]):
        done = cli_process("sweep", "...toml", "--executor", "serial", "--no-charts", *extra, cwd=work)
        assert done.returncode in (0, 2), done.stderr
        assert (work / "points.csv").read_text() == "mine\n" and (work / "charts" / "mine.png").exists()


@pytest.mark.parametrize("command", ["sweep", "run"])
def test_a_folder_holding_other_files_is_never_written_even_with_force(command: str, tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    (out / "points.csv").write_text("mine\n")
    target = TINY if command == "sweep" else MODELS / "single_line.toml"
    extra = ["--executor", "serial", "--no-charts"] if command == "sweep" else []
    for force in ([], ["--force"]) if command == "sweep" else ([],):
        (line,) = assert_clean_exit_2(invoke(command, target, "--out", out, *extra, *force))
        assert "not a results" in line and "notes.txt" in line
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "points.csv"]
    assert (out / "points.csv").read_text() == "mine\n"


def test_a_sweep_store_is_not_taken_for_a_runs_output(tiny_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(tiny_store, store)
    before = snapshot(store)
    (line,) = assert_clean_exit_2(invoke("run", MODELS / "single_line.toml", "--out", store))
    assert "results store" in line
    assert snapshot(store) == before


# -- 2. one writer per store ------------------------------------------------------------------

@pytest.mark.slow
def test_a_second_writer_is_refused_naming_the_first(env: dict[str, str], tmp_path: Path,
                                                    reap: list) -> None:  # noqa: F811
    out = tmp_path / "store"
    proc = start_sweep(SLOW, out, "--workers", "2", env=env)
    reap.append(proc)
    wait_for_file(proc, out / "runs.parquet")
    os.kill(proc.pid, signal.SIGSTOP)  # (held as a writer: on a busy machine it could finish first)
    try:
        for extra in (["--resume"], ["--force"], []):
            second = cli_process("sweep", SLOW, "--out", out, "--no-charts", *extra, env=env, timeout=60)
            (line,) = assert_clean_exit_2(second)
            assert f"pid {proc.pid}" in line and "is writing" in line
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    os.kill(proc.pid, signal.SIGINT)
    proc.communicate(timeout=60)
    done = cli_process("sweep", SLOW, "--out", out, "--no-charts", "--resume", "--workers", "2",
                       env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert len(runs_of(out)) == 4 * 16


# -- 3. signals: a second Ctrl-C, a closed terminal, a killed main process --------------------

def _running_sweep(env: dict[str, str], out: Path, started: list, first: str = "runs.parquet"
                   ) -> tuple[subprocess.Popen[str], list[psutil.Process]]:
    """The slow sweep started into ``out`` (and added to ``started``), once ``first`` is
    written, and its workers."""
    proc = start_sweep(SLOW, out, "--workers", "2", env=env)
    started.append(proc)
    wait_for_file(proc, out / first)
    workers = psutil.Process(proc.pid).children(recursive=True)
    assert workers
    return proc, workers


def _gone_within(processes: list[psutil.Process], seconds: float) -> bool:
    _, alive = psutil.wait_procs(processes, timeout=seconds)
    return not alive


@pytest.mark.slow
def test_ctrl_c_twice_ends_promptly_with_no_worker_left(env: dict[str, str], tmp_path: Path,
                                                       reap: list) -> None:  # noqa: F811
    out = tmp_path / "store"
    proc, workers = _running_sweep(env, out, reap)
    os.kill(proc.pid, signal.SIGINT)
    time.sleep(0.15)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=20)  # hung forever before
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert _gone_within(workers, 10)
    assert manifest_of(out)["status"] in ("interrupted", "running")
    assert_no_half_written_files(out, allow_tmp=True)


@pytest.mark.slow
def test_a_closed_terminal_stops_the_sweep_and_its_workers(env: dict[str, str], tmp_path: Path,
                                                          reap: list) -> None:  # noqa: F811
    out = tmp_path / "store"
    proc, workers = _running_sweep(env, out, reap)
    os.kill(proc.pid, signal.SIGHUP)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 128 + signal.SIGHUP, stderr
    assert "Traceback" not in stderr
    assert _gone_within(workers, 10)
    assert manifest_of(out)["status"] == "interrupted"


@pytest.mark.slow
def test_workers_die_with_a_killed_main_process_and_the_store_says_so(
        env: dict[str, str], tmp_path: Path, reap: list) -> None:  # noqa: F811
    out = tmp_path / "store"
    proc, workers = _running_sweep(env, out, reap, first="points.csv")
    os.kill(proc.pid, signal.SIGKILL)  # the main process only
    proc.communicate(timeout=30)
    assert _gone_within(workers, 10), "workers outlived their parent"
    assert manifest_of(out)["status"] == "running"  # it could not say otherwise ...
    report = invoke("report", out)
    assert report.code == 0, report.stderr
    text = (out / "report.html").read_text()
    assert "its writer stopped" in text  # ... but readers recognise a dead writer
    done = cli_process("sweep", SLOW, "--out", out, "--no-charts", "--resume", "--workers", "2",
                       env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert manifest_of(out)["status"] == "complete"
    kill_group(proc)



# -- 13. every Dask worker killed at once ------------------------------------------------------

@pytest.mark.slow
def test_every_dask_worker_killed_at_once_is_one_line_not_a_traceback(
        env: dict[str, str], tmp_path: Path, reap: list) -> None:  # noqa: F811
    pytest.importorskip("distributed")
    out = tmp_path / "store"
    proc = start_sweep(SLOW, out, "--workers", "2", "--executor", "dask", env=env)
    reap.append(proc)
    wait_for_file(proc, out / "runs.parquet", timeout=90)
    for _ in range(3):  # all at once, then their replacements
        deadline = time.monotonic() + 30
        while not (workers := dask_workers(proc.pid)) and proc.poll() is None:
            assert time.monotonic() < deadline, "no Dask worker found"
            time.sleep(0.05)
        for worker in workers:
            with contextlib.suppress(psutil.Error):
                worker.kill()
        psutil.wait_procs(workers, timeout=10)
        time.sleep(1.0)
    _, stderr = proc.communicate(timeout=240)
    assert "Traceback" not in stderr, stderr[-3000:]
    assert proc.returncode in (0, 1), stderr[-3000:]
    manifest = manifest_of(out)
    assert manifest["status"] in ("complete", "interrupted")
    runs = runs_of(out)
    assert not runs.duplicated(["point_id", "replication"]).any()
    failed = runs[runs.status == "failed"]
    assert failed.error.str.contains("Dask worker died").all()
    assert_no_half_written_files(out)


@pytest.mark.slow
def test_ctrl_c_to_a_dask_sweep_says_one_thing(env: dict[str, str], tmp_path: Path,
                                               reap: list) -> None:  # noqa: F811
    pytest.importorskip("distributed")
    out = tmp_path / "store"
    proc = start_sweep(SLOW, out, "--workers", "2", "--executor", "dask", env=env)
    reap.append(proc)
    wait_for_file(proc, out / "runs.parquet", timeout=90)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("runs ")]
    assert lines == [f"interrupted: finished runs are in {out}; continue with --resume"], stderr[-3000:]


@pytest.mark.slow
@pytest.mark.parametrize("after_seconds", [0.5, 1.5, 2.5])
def test_ctrl_c_while_the_dask_cluster_starts_says_one_thing(env: dict[str, str], tmp_path: Path,
                                                             reap: list, after_seconds: float) -> None:  # noqa: F811
    """The store is open and the LocalCluster is starting (a few seconds): the signal used to
    break its start half-way, and Dask's exit hook printed a traceback (the cluster it could
    not close) over the one line. Each delay lands at a different stage of the start."""
    pytest.importorskip("distributed")
    out = tmp_path / "store"
    proc = start_sweep(SLOW, out, "--workers", "2", "--executor", "dask", env=env)
    reap.append(proc)
    wait_for_file(proc, out / "manifest.json", timeout=90)
    time.sleep(after_seconds)
    os.kill(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=90)
    assert proc.returncode == 130, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.strip() and not line.startswith("runs ")]
    assert lines == [f"interrupted: finished runs are in {out}; continue with --resume"], stderr[-3000:]
    assert manifest_of(out)["status"] == "interrupted"
