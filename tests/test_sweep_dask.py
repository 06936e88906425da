"""Sweeps on Dask: a LocalCluster, and a real scheduler and worker started as processes.

Both must give the bits of a serial sweep (same seed, same runs.parquet).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from leadtime_sim.experiment import run_experiment

pytestmark = pytest.mark.slow  # a real Dask cluster per test

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / "tests" / "data" / "tiny_lines.toml"


@pytest.fixture(scope="module")
def serial_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dask") / "serial"
    run_experiment(TINY, out, executor="serial")
    return out


def assert_same_as_serial(store: Path, serial: Path) -> None:
    assert json.loads((store / "manifest.json").read_text())["status"] == "complete"
    assert_frame_equal(pd.read_parquet(store / "runs.parquet"), pd.read_parquet(serial / "runs.parquet"))
    assert (store / "points.csv").read_text() == (serial / "points.csv").read_text()
    assert_frame_equal(pd.read_parquet(store / "series_quantiles.parquet"),
                       pd.read_parquet(serial / "series_quantiles.parquet"))


def test_dask_local_cluster_gives_the_serial_bits(serial_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "dask"
    store = run_experiment(TINY, out, executor="dask", workers=2)
    assert store.counts == {"done": 9, "failed": 0}
    assert_same_as_serial(out, serial_store)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """End a process this module started, with its own process group (nanny and worker)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=15)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``dask scheduler`` and one ``dask worker`` (1 process, 1 thread) on 127.0.0.1.

    The scheduler takes a free port itself (``--port 0``) and writes its address to a
    scheduler file the worker and the test read: a port picked by the test and then bound
    by the scheduler could be taken in between by another test's cluster (the suite runs
    in parallel), and this test would then sweep on that one."""
    home = tmp_path_factory.mktemp("cluster")
    scheduler_file = home / "scheduler.json"
    beside = Path(sys.executable).with_name("dask")  # the dask CLI of this interpreter
    dask = [str(beside)] if beside.exists() else [shutil.which("dask") or "dask"]
    logs = {name: open(home / f"{name}.log", "wb") for name in ("scheduler", "worker")}  # noqa: SIM115
    started: list[subprocess.Popen[bytes]] = []
    try:
        started.append(subprocess.Popen(
            [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file)],
            cwd=home, stdout=logs["scheduler"], stderr=subprocess.STDOUT, start_new_session=True))
        deadline = time.monotonic() + 60
        address = ""
        while not address:
            with contextlib.suppress(FileNotFoundError, json.JSONDecodeError):
                address = json.loads(scheduler_file.read_text())["address"]
            if not address:
                if time.monotonic() > deadline or started[0].poll() is not None:
                    raise RuntimeError("the dask scheduler did not start: " + (home / "scheduler.log").read_text())
                time.sleep(0.2)
        started.append(subprocess.Popen(
            [*dask, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "1", "--nthreads", "1",
             "--no-dashboard", "--host", "127.0.0.1", "--local-directory", str(home)],
            cwd=home, stdout=logs["worker"], stderr=subprocess.STDOUT, start_new_session=True))
        client = None
        while client is None:
            try:
                client = distributed.Client(address, timeout="2s")
            except OSError:
                if time.monotonic() > deadline or any(p.poll() is not None for p in started):
                    raise RuntimeError("the dask scheduler did not start: "
                                       + (home / "scheduler.log").read_text()) from None
                time.sleep(0.2)
        try:
            client.wait_for_workers(1, timeout=60)
        finally:
            client.close()
        yield address
    finally:
        for proc in reversed(started):
            stop(proc)
        for log in logs.values():
            log.close()


def test_sweep_through_a_real_dask_scheduler(dask_scheduler: str, serial_store: Path,
                                             tmp_path: Path) -> None:
    out = tmp_path / "cluster"
    result = subprocess.run(
        [sys.executable, "-m", "leadtime_sim", "sweep", str(TINY), "--out", str(out),
         "--executor", "dask", "--scheduler", dask_scheduler],
        capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert "9 runs done, 0 failed" in result.stdout
    assert_same_as_serial(out, serial_store)


def test_scheduler_needs_the_dask_executor(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "leadtime_sim", "sweep", str(TINY), "--out", str(tmp_path / "x"),
         "--scheduler", "tcp://127.0.0.1:1"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "--executor dask" in result.stderr
    assert not (tmp_path / "x").exists()
