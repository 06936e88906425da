"""Helpers of the reliability suite (tests/reliability/).

There is no conftest.py in this folder on purpose: a second module named ``conftest``
would replace tests/conftest.py in ``sys.modules``, and the core tests import their
builders from it by name. Test modules import what they need from here instead
(fixtures included).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from click.testing import CliRunner

from leadtime_sim.cli import main

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
ROOT = HERE.parents[1]
MODELS = ROOT / "models"
TESTS_DATA = ROOT / "tests" / "data"

STORE_NAMES = ("manifest.json", "runs.parquet", "runs.csv", "points.csv", "series_quantiles.parquet")
RUN_NAMES = ("summary.json", "series.csv", "series.parquet", "orders.csv", "orders.parquet",
             "scenario_as_run.json")


# -- a tiny TOML writer (tomllib only reads) ---------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+\Z")


def _toml_string(text: str) -> str:
    out = ['"']
    for ch in text:
        code = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _toml_string(key)


def toml_value(value: Any) -> str:
    """One TOML value on one line (tables as inline tables)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, Mapping):
        if not value:
            return "{}"
        return "{ " + ", ".join(f"{_toml_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def toml_dumps(data: Mapping[str, Any]) -> str:
    """A TOML document: one ``key = value`` line per top-level key."""
    return "".join(f"{_toml_key(str(k))} = {toml_value(v)}\n" for k, v in data.items())


# -- the command line --------------------------------------------------------------------------

@dataclass
class Outcome:
    code: int
    stdout: str
    stderr: str
    exception: BaseException | None


def invoke(*args: str) -> Outcome:
    """``leadtime-sim ARGS`` in this process (CliRunner keeps stdout and stderr apart)."""
    result = CliRunner().invoke(main, [str(a) for a in args])
    return Outcome(result.exit_code, result.stdout, result.stderr, result.exception)


def cli_process(*args: str, env: Mapping[str, str] | None = None, cwd: Path | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m leadtime_sim ARGS`` as a separate process."""
    return subprocess.run([sys.executable, "-m", "leadtime_sim", *map(str, args)], capture_output=True,
                          text=True, env=dict(env) if env is not None else None, cwd=cwd,
                          timeout=timeout, check=False)


def error_lines(stderr: str) -> list[str]:
    """The problem lines of a failed command (the CLI's ``error:`` lines, click's ``Error:``)."""
    return [line for line in stderr.splitlines() if line.lower().startswith("error:")]


PROGRESS = re.compile(r"^\r?(runs \d+/\d+ \(\d+ failed\)|(drawing the charts|writing the report)( of .*)? \.\.\.$)")
"""The sweep's progress lines (not problem lines)."""


def assert_clean_exit_2(outcome: Outcome | subprocess.CompletedProcess[str]) -> list[str]:
    """Exit status 2, no traceback, every non-blank stderr line an ``error:`` line (click's
    usage hint aside); returns the problem lines."""
    if isinstance(outcome, Outcome):
        code, stdout, stderr = outcome.code, outcome.stdout, outcome.stderr
        assert outcome.exception is None or isinstance(outcome.exception, SystemExit), \
            f"raised {outcome.exception!r}\n{stderr}"
    else:
        code, stdout, stderr = outcome.returncode, outcome.stdout, outcome.stderr
    assert code == 2, f"exit status {code}\nstdout: {stdout}\nstderr: {stderr}"
    assert "Traceback" not in stderr + stdout, stderr
    problems = error_lines(stderr)
    assert problems, f"no error line in {stderr!r}"
    for line in stderr.splitlines():
        if line.strip() and not line.lower().startswith("error:"):
            assert line.startswith(("Usage:", "Try ")) or PROGRESS.match(line), f"not a one-line problem: {line!r}"
    return problems


def shows(line: str, problem: str) -> bool:
    """Whether the CLI line ``line`` shows ``problem``: ``error: PROBLEM``, where characters
    that are not printable (a line break in a quoted key, a CR) may be shown escaped."""
    if problem.isprintable():
        return line == f"error: {problem}"
    prefix = problem[:next(i for i, c in enumerate(problem) if not c.isprintable())]
    return line.isprintable() and line.startswith(f"error: {prefix}")


def assert_shows(lines: list[str], problems: list[str]) -> None:
    """The CLI printed exactly these problems, one line each, in order."""
    assert len(lines) == len(problems), (lines, problems)
    for line, problem in zip(lines, problems, strict=True):
        assert shows(line, problem), (line, problem)


# -- time bounds -------------------------------------------------------------------------------

class TookTooLong(BaseException):
    """A bounded call did not finish in time (it hangs, or nearly). A BaseException, so
    that code catching Exception (a sweep records failing runs) cannot swallow it."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise TookTooLong in this (main) thread if the block runs longer than ``seconds``.

    The alarm repeats every 0.2 s until the block ends: an exception raised while Python
    runs a finaliser (a generator closed by the garbage collector, a ``__del__``) is only
    printed, and a one-shot alarm lost that way would leave a hanging run to eat memory.
    """
    def expired(signum: int, frame: object) -> None:
        raise TookTooLong(f"did not finish within {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.2)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- plugin modules (written once per session, put on PYTHONPATH) -------------------------------

PLUGINS = {
    # Sleeps when a run builds its policy, so that a sweep lasts long enough to be
    # interrupted, without burning CPU; otherwise plain FIFO (the results do not change).
    "lts_rel_slow": '''
import os
import time

from leadtime_sim import AllocationPolicy


class SlowFifo(AllocationPolicy):
    name = "slow-fifo"

    def __init__(self):
        super().__init__()
        time.sleep(float(os.environ.get("LTS_REL_SLOW_SECONDS", "0")))


POLICIES = {"slow-fifo": SlowFifo}
''',
    # FIFO, except that an order of priority class 2 kills the worker process at once.
    "lts_rel_killer": '''
import os

from leadtime_sim import AllocationPolicy


class KillerFifo(AllocationPolicy):
    name = "killer"

    def add(self, order):
        if order.priority == 2:
            os._exit(3)
        super().add(order)


POLICIES = {"killer": KillerFifo}
''',
    # Importing it leaves a mark: proves that a scenario file cannot load a module.
    "lts_rel_spy": '''
import pathlib

(pathlib.Path(__file__).with_name("SPY_WAS_IMPORTED")).write_text("imported")

from leadtime_sim import AllocationPolicy

POLICIES = {"lts_rel_spy": AllocationPolicy}
''',
    # POLICIES is not a mapping of names to classes.
    "lts_rel_not_a_mapping": "POLICIES = 42\n",
}

_session: dict[str, Any] = {}


def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding the plugin modules; also put on this process's ``sys.path``."""
    if "plugins" not in _session:
        folder = tmp_path_factory.mktemp("plugins")
        for name, source in PLUGINS.items():
            (folder / f"{name}.py").write_text(source)
        sys.path.insert(0, str(folder))
        _session["plugins"] = folder
    return _session["plugins"]


def plugin_env(folder: Path, **extra: str) -> dict[str, str]:
    """This environment with ``folder`` on PYTHONPATH (and the extra variables)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))
    env.update(extra)
    return env


# -- sweeps as processes -----------------------------------------------------------------------

def start_sweep(experiment: Path, out: Path, *args: str, env: Mapping[str, str] | None = None) \
        -> subprocess.Popen[str]:
    """``leadtime-sim sweep`` in its own process group (so that the test can signal it and
    its workers apart or together)."""
    return subprocess.Popen([sys.executable, "-m", "leadtime_sim", "sweep", str(experiment), "--out", str(out),
                             "--no-charts", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(env) if env is not None else None, start_new_session=True)


def wait_for_file(proc: subprocess.Popen[str], path: Path, timeout: float = 60) -> None:
    """Until ``path`` exists (e.g. the first flush of runs.parquet) while ``proc`` runs."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the sweep ended (status {proc.returncode}) before {path.name} appeared: {err}")
        if time.monotonic() > deadline:
            kill_group(proc)
            pytest.fail(f"{path.name} did not appear within {timeout} s")
        time.sleep(0.02)


def dask_workers(pid: int) -> list[Any]:
    """The Dask worker processes (spawned by a LocalCluster's nannies) below process ``pid``."""
    import psutil

    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:  # the sweep has ended
        return []
    found = []
    for child in children:
        try:
            line = " ".join(child.cmdline())
        except psutil.Error:
            continue
        if "spawn_main" in line or "multiprocessing-fork" in line or "forkserver" in line:
            found.append(child)
    return found


def kill_group(proc: subprocess.Popen[str]) -> None:
    """SIGKILL a process started by ``start_sweep`` and everything in its group."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=30)


@pytest.fixture
def reap() -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test started; any group still alive at the end is killed."""
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(Exception):
            proc.communicate(timeout=30)


# -- reading a store or a run's output ---------------------------------------------------------

def parse_file(path: Path) -> Any:
    """Parse a result file by its suffix (raises if it is half-written); the store's lock file
    holds nothing to parse."""
    if path.name == ".lock":
        return None
    if path.suffix == ".json" or path.name == ".writer.json":
        return json.loads(path.read_text())
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix in (".png", ".svg", ".pdf", ".html"):
        assert path.stat().st_size > 0, path
        return None
    raise AssertionError(f"unexpected file {path}")


def assert_no_half_written_files(folder: Path, allow_tmp: bool = False) -> None:
    """No temporary file left behind (unless ``allow_tmp``: after a SIGKILL), and every
    result file there parses."""
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert allow_tmp or not leftovers, f"temporary files left: {leftovers}"
    for path in folder.rglob("*"):
        if path.is_file() and not path.name.endswith(".tmp"):
            try:
                parse_file(path)
            except Exception as exc:
                pytest.fail(f"{path} does not parse: {type(exc).__name__}: {exc}")


def manifest_of(store: Path) -> dict[str, Any]:
    return json.loads((store / "manifest.json").read_text())


def runs_of(store: Path) -> pd.DataFrame:
    return pd.read_parquet(store / "runs.parquet")


def points_of(store: Path) -> pd.DataFrame:
    return pd.read_csv(store / "points.csv")


def rows_of(frame: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``frame`` for the (point_id, replication) pairs of ``keys``, in order."""
    return frame.merge(keys[["point_id", "replication"]], on=["point_id", "replication"]) \
        .sort_values(["point_id", "replication"]).reset_index(drop=True)


def assert_valid_partial_store(store: Path, reference: Path, allow_tmp: bool = False) -> pd.DataFrame:
    """Every store file parses; the finished runs equal the reference's same runs and each
    has its monthly series stored. Returns the runs table (possibly empty)."""
    assert_no_half_written_files(store, allow_tmp)
    manifest = manifest_of(store)
    if not (store / "runs.parquet").exists():
        assert manifest["counts"] == {"done": 0, "failed": 0}
        return pd.DataFrame()
    runs = runs_of(store)
    assert not runs.duplicated(["point_id", "replication"]).any()
    assert (runs.status == "ok").all()
    counted = manifest["counts"]["done"] + manifest["counts"]["failed"]
    if allow_tmp:  # a SIGKILL between the runs table and the manifest: the table is the record
        assert counted <= len(runs)
    else:
        assert counted == len(runs)
    pd.testing.assert_frame_equal(runs.reset_index(drop=True), rows_of(runs_of(reference), runs))
    points_of(store)  # parses
    stored = set()
    for part in (store / "series_runs").rglob("*.parquet"):
        point = int(part.parent.name.split("=")[1])
        stored |= {(point, int(r)) for r in pd.read_parquet(part, columns=["replication"]).replication}
    missing = set(zip(runs.point_id, runs.replication, strict=True)) - stored
    assert not missing, f"runs in the table without their series: {sorted(missing)}"
    return runs


def assert_same_store(store: Path, reference: Path) -> None:
    """runs.parquet row for row, points.csv as frames, series quantiles."""
    pd.testing.assert_frame_equal(runs_of(store), runs_of(reference))
    pd.testing.assert_frame_equal(points_of(store), points_of(reference))
    pd.testing.assert_frame_equal(pd.read_parquet(store / "series_quantiles.parquet"),
                                  pd.read_parquet(reference / "series_quantiles.parquet"))


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative path -> bytes)."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}
