"""Interruptions and crashes (issue 5): SIGINT and SIGTERM, SIGKILL at random moments,
worker processes that die (os._exit in a plugin policy, SIGKILL from outside, a Dask
worker killed mid-sweep). Finished runs are never lost, the store's files stay valid, and
``--resume`` ends with the bits of an uninterrupted sweep.

The sweeps use data/slow_sweep.toml: its plugin policy sleeps when a run starts (no CPU),
so that a sweep lasts long enough to be hit; the sleep does not change any result, so the
reference is the same experiment run without sleeping.
"""

from __future__ import annotations

import gc
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import psutil
import pytest
from reliability_support import (
    DATA,
    assert_no_half_written_files,
    assert_same_store,
    assert_valid_partial_store,
    cli_process,
    dask_workers,
    kill_group,
    manifest_of,
    plugin_dir,
    plugin_env,
    reap,  # noqa: F401 - a fixture
    rows_of,
    runs_of,
    start_sweep,
    wait_for_file,
)

from leadtime_sim.experiment import run_experiment

SLOW = DATA / "slow_sweep.toml"
KILLER = DATA / "killer_sweep.toml"
SLOW_RUNS = 4 * 16
SLEEP = "0.1"


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return plugin_dir(tmp_path_factory)


@pytest.fixture(scope="module")
def env(plugins: Path) -> dict[str, str]:
    """Subprocess environment: plugins on PYTHONPATH, runs that sleep."""
    return plugin_env(plugins, LTS_REL_SLOW_SECONDS=SLEEP)


@pytest.fixture(scope="module")
def reference(plugins: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The slow sweep, uninterrupted (and without sleeping: the same results)."""
    out = tmp_path_factory.mktemp("reference") / "store"
    os.environ.pop("LTS_REL_SLOW_SECONDS", None)
    run_experiment(SLOW, out, executor="process", workers=4)
    assert manifest_of(out)["counts"] == {"done": SLOW_RUNS, "failed": 0}
    return out


def resume(out: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = cli_process("sweep", SLOW, "--out", out, "--workers", "2", "--no-charts", "--resume", *args,
                       env=env, timeout=180)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


# -- SIGINT and SIGTERM ----------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize(("signum", "status", "word"), [(signal.SIGINT, 130, "interrupted"),
                                                        (signal.SIGTERM, 143, "terminated")],
                         ids=["SIGINT", "SIGTERM"])
def test_a_signal_keeps_finished_runs_and_resume_completes(
        signum: int, status: int, word: str, reference: Path, env: dict[str, str], tmp_path: Path,
        reap: list) -> None:  # noqa: F811
    out = tmp_path / "store"
    proc = start_sweep(SLOW, out, "--workers", "2", env=env)
    reap.append(proc)
    wait_for_file(proc, out / "runs.parquet")
    os.kill(proc.pid, signum)  # the main process only: its workers are not told
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == status, stderr
    assert "Traceback" not in stderr
    assert f"{word}: finished runs are in {out}; continue with --resume" in stderr
    manifest = manifest_of(out)
    assert manifest["status"] == "interrupted"
    assert manifest["finished"]
    # KNOWN BUG (test_a_signal_right_after_mkstemp_leaves_no_temporary_file): the signal
    # sent as runs.parquet appears often lands in the next file's mkstemp window
    runs = assert_valid_partial_store(out, reference, allow_tmp=True)
    assert 0 < len(runs) < SLOW_RUNS, "the signal must arrive mid-sweep"
    resume(out, env)
    assert manifest_of(out)["status"] == "complete"
    assert manifest_of(out)["counts"] == {"done": SLOW_RUNS, "failed": 0}
    assert_same_store(out, reference)


# -- SIGKILL at random moments ---------------------------------------------------------------

@pytest.mark.slow
def test_repeated_sigkill_then_resume_equals_an_uninterrupted_sweep(
        reference: Path, env: dict[str, str], tmp_path: Path, reap: list) -> None:  # noqa: F811
    seed = int(os.environ.get("LTS_REL_KILL_SEED", time.time_ns() % 2**32))
    rng = random.Random(seed)
    print(f"kill moments from seed {seed} (set LTS_REL_KILL_SEED to repeat)")
    out = tmp_path / "store"
    history = []
    slower = {**env, "LTS_REL_SLOW_SECONDS": "0.2"}  # about 7 s of runs: most kills land mid-sweep
    for k in range(4):
        proc = start_sweep(SLOW, out, "--workers", "2", "--resume", env=slower)
        reap.append(proc)
        if k == 1:  # at least once just after a flush, when the tables are being rewritten
            wait_for_file(proc, out / "runs.parquet")
            delay = rng.uniform(0.0, 2.5)
        else:
            delay = rng.uniform(0.5, 7.0)
        time.sleep(delay)
        whole_group = k % 2 == 0
        if whole_group:
            os.killpg(proc.pid, signal.SIGKILL)  # the sweep and its workers
        else:
            os.kill(proc.pid, signal.SIGKILL)  # the main process only; its workers are orphaned
        proc.wait(timeout=30)
        kill_group(proc)  # then no stray worker keeps a core busy
        done = len(runs_of(out)) if (out / "runs.parquet").exists() else 0
        history.append((round(delay, 2), "group" if whole_group else "main", proc.returncode, done))
        if (out / "manifest.json").exists():
            assert_valid_partial_store(out, reference, allow_tmp=True)  # SIGKILL cannot clean up
        if done == SLOW_RUNS:
            break
    print("kills (delay s, target, status, runs stored):", history)
    assert any(h[3] > 0 for h in history), history
    resume(out, env)
    assert manifest_of(out)["status"] == "complete", history
    assert_same_store(out, reference)
    assert_no_half_written_files(out, allow_tmp=True)  # a kill mid-write may leave a temporary file


def test_resume_after_a_kill_during_the_first_manifest_write(reference: Path, tmp_path: Path) -> None:
    """A SIGKILL between creating the first manifest's temporary file and renaming it leaves
    a folder holding only that file: --resume must still finish the sweep."""
    out = tmp_path / "store"
    out.mkdir()
    (out / ".manifest.json.k1ll3d.tmp").write_text('{"experiment_name": "slow sw')  # what the kill left
    store = run_experiment(SLOW, out, executor="process", workers=4, resume=True)
    assert store.counts == {"done": SLOW_RUNS, "failed": 0}
    assert_same_store(out, reference)


def _raise_system_exit(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)  # what `leadtime-sim sweep` does on SIGTERM


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_right_after_the_temporary_is_made_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, signum: int) -> None:
    """A real signal, sent to this process the moment the temporary file has been created."""
    from leadtime_sim import io as lts_io

    real = os.open

    def then_signalled(*args: object, **kwargs: object) -> int:
        made = real(*args, **kwargs)  # type: ignore[arg-type]
        os.kill(os.getpid(), signum)
        return made

    handler = signal.default_int_handler if signum == signal.SIGINT else _raise_system_exit
    previous = signal.signal(signum, handler)
    monkeypatch.setattr(lts_io.os, "open", then_signalled)
    gc.disable()  # (the handler's exception, raised inside a gc callback - Hypothesis adds one - is lost)
    try:
        with pytest.raises((KeyboardInterrupt, SystemExit)):
            lts_io.write_json(tmp_path / "manifest.json", {"status": "running"})
    finally:
        gc.enable()
        signal.signal(signum, previous)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# -- worker processes that die ---------------------------------------------------------------

@pytest.mark.slow
def test_a_plugin_that_kills_its_worker_fails_only_its_runs(env: dict[str, str], tmp_path: Path) -> None:
    out, without = tmp_path / "killer", tmp_path / "fifo"
    done = cli_process("sweep", KILLER, "--out", out, "--workers", "2", "--no-charts", env=env, timeout=180)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert "worker process died" in done.stderr
    runs = runs_of(out)
    assert len(runs) == 9
    failed, ok = runs[runs.point_id == 1], runs[runs.point_id != 1]
    assert (failed.status == "failed").all() and failed.error.str.contains("worker process died").all()
    assert (ok.status == "ok").all()
    manifest = manifest_of(out)
    assert manifest["status"] == "complete" and manifest["counts"] == {"done": 6, "failed": 3}
    assert_no_half_written_files(out)
    # the same runs in a sweep without the killer (FIFO is what the killer does otherwise)
    run_experiment(KILLER, without, executor="serial", overrides=['policy.allocation="fifo"'])
    # (metric columns are floats in the killer store: its failed runs have no values)
    pd.testing.assert_frame_equal(ok.reset_index(drop=True), rows_of(runs_of(without), ok), check_dtype=False)


def _forked_workers(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    """The pool's worker processes: forked children running the parent's command line."""
    parent = psutil.Process(proc.pid)
    command = parent.cmdline()
    return [c for c in parent.children(recursive=True) if c.cmdline() == command]


def _dask_workers(proc: subprocess.Popen[str]) -> list[psutil.Process]:
    return dask_workers(proc.pid)


def _kill_a_worker_mid_sweep(proc: subprocess.Popen[str], out: Path, find: object) -> int:
    wait_for_file(proc, out / "runs.parquet", timeout=90)
    deadline = time.monotonic() + 30
    while not (workers := find(proc)):  # type: ignore[operator]
        assert time.monotonic() < deadline and proc.poll() is None, "no worker process found"
        time.sleep(0.05)
    victim = workers[0]
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=30)
    assert proc.poll() is None, "the sweep ended before a worker could be killed"
    return victim.pid


@pytest.mark.slow
def test_a_worker_killed_from_outside_is_retried(reference: Path, env: dict[str, str], tmp_path: Path,
                                                 reap: list) -> None:  # noqa: F811
    out = tmp_path / "store"
    proc = start_sweep(SLOW, out, "--workers", "2", env=env)
    reap.append(proc)
    _kill_a_worker_mid_sweep(proc, out, _forked_workers)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    assert manifest_of(out)["counts"] == {"done": SLOW_RUNS, "failed": 0}
    assert_same_store(out, reference)


@pytest.mark.slow
def test_a_dask_worker_killed_mid_sweep_is_survived(reference: Path, env: dict[str, str], tmp_path: Path,
                                                    reap: list) -> None:  # noqa: F811
    pytest.importorskip("distributed")
    out = tmp_path / "store"
    proc = start_sweep(SLOW, out, "--workers", "2", "--executor", "dask", env=env)
    reap.append(proc)
    _kill_a_worker_mid_sweep(proc, out, _dask_workers)
    _, stderr = proc.communicate(timeout=150)
    assert proc.returncode == 0, stderr[-3000:]
    assert manifest_of(out)["counts"] == {"done": SLOW_RUNS, "failed": 0}
    assert (runs_of(out).status == "ok").all()
    assert_same_store(out, reference)
