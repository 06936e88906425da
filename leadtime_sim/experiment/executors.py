"""Where runs execute: this process, local processes, or a Dask distributed cluster.

Every executor yields outcomes as runs finish (in any order); runs are pure, so the
results do not depend on the executor or the number of workers. No home-made
distribution: local processes use ``concurrent.futures``, clusters use Dask.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import math
import os
import signal
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from leadtime_sim.errors import InputError
from leadtime_sim.experiment.signals import signals_held, signals_kept
from leadtime_sim.experiment.task import RunOutcome, RunTask, SweepContext, execute
from leadtime_sim.registry import Registry

Outcomes = Generator[RunOutcome, None, None]
"""Each run's outcome as it finishes; closing it early stops the runs still going."""
Executor = Callable[[SweepContext, Iterable[RunTask], int, "str | None"], Outcomes]
"""``executor(context, tasks, workers, scheduler)``: yields each run's outcome as it finishes."""
EXECUTORS: Registry[Executor] = Registry("executor")
"""Where a sweep's runs execute (``--executor NAME``); each is declared by its function below."""

_WORKER_CONTEXT: SweepContext | None = None


def _init_worker(context: SweepContext) -> None:
    """Receive the shared context once per worker process; Ctrl-C is the parent's to handle,
    and a worker never outlives its parent.

    SIGTERM kills a worker outright: a broken pool stops its surviving workers with it. A
    handler inherited at the fork (the sweep's, which raises SystemExit) made a worker end
    its run with an error result and go on to the next run, whose result it then could not
    send (nobody reads a broken pool's results): the pool, joined at exit, waited forever."""
    global _WORKER_CONTEXT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # a closed terminal: the parent stops us
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _die_with_parent(os.getppid())
    _WORKER_CONTEXT = context


PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux's PR_SET_PDEATHSIG),
    else watch the parent from a thread. A parent killed with SIGKILL cannot stop its
    workers itself, and they would go on computing runs nobody records."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL) == 0:
            if os.getppid() != parent:  # the parent died before the call
                os._exit(1)
            return
    except (OSError, AttributeError):
        pass
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def _execute_in_worker(task: RunTask) -> RunOutcome:
    assert _WORKER_CONTEXT is not None
    return execute(_WORKER_CONTEXT, task)


def execute_batch(context: SweepContext, tasks: Sequence[RunTask]) -> list[RunOutcome]:
    """Several runs in one task (fewer scheduler round trips); like ``execute``, never raises."""
    return [execute(context, task) for task in tasks]


BATCH_RUNS = 16
"""Most runs in one Dask task (about 1-2 s of work at the typical 0.1 s a run)."""


def batches(tasks: Sequence[RunTask], workers: int) -> list[Sequence[RunTask]]:
    """Tasks in consecutive batches, each a quarter of a worker's share of the runs left (at
    most BATCH_RUNS): few round trips early, small batches at the end so workers finish together."""
    result: list[Sequence[RunTask]] = []
    start = 0
    while start < len(tasks):
        size = max(1, min(BATCH_RUNS, math.ceil((len(tasks) - start) / (4 * workers))))
        result.append(tasks[start:start + size])
        start += size
    return result


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@EXECUTORS.register("serial")
def run_serial(context: SweepContext, tasks: Iterable[RunTask], workers: int = 1,
               scheduler: str | None = None) -> Outcomes:
    """In this process, one run after another (for debugging)."""
    for task in tasks:
        yield execute(context, task)


@EXECUTORS.register("process")
def run_processes(context: SweepContext, tasks: Iterable[RunTask], workers: int,
                  scheduler: str | None = None) -> Outcomes:
    """Local worker processes, one per core by default. When a worker dies, the runs it
    may have been running are retried one at a time, so the run that kills its worker
    again is found and recorded as failed, and the others complete."""
    queue = list(tasks)
    queue.reverse()
    suspects: list[RunTask] = []
    while queue or suspects:
        pool = _pool(context, workers)
        in_flight: dict[Future[RunOutcome], RunTask] = {}
        isolating = done = False
        try:
            while suspects:  # one at a time: a crash now convicts the run
                isolating = True
                task = suspects[-1]
                in_flight = {pool.submit(_execute_in_worker, task): task}
                outcome = next(iter(in_flight)).result()
                suspects.pop()
                in_flight.clear()
                yield outcome
            isolating = False
            while queue or in_flight:
                while queue and len(in_flight) < 2 * workers:
                    future = pool.submit(_execute_in_worker, queue[-1])
                    in_flight[future] = queue.pop()
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    outcome = future.result()  # raises if the pool broke: the run stays in flight
                    del in_flight[future]
                    yield outcome
            done = True
        except BaseException as exc:  # interrupted, or the pool broke
            _KEPT.pop(_key(context, workers), None)  # (never reused after a failure)
            _kill_workers(pool)  # a Ctrl-C, SIGTERM or close(): stop now, not after their runs;
            # a broken pool: its other workers too (no worker of it can send a result now)
            if not isinstance(exc, BrokenProcessPool):
                raise
            if isolating:
                task = suspects.pop()
                yield RunOutcome(task.point_id, task.replication, "failed",
                                 "the worker process died running this run (twice)", 0.0, 0, {}, {})
            else:
                suspects.extend(in_flight.values())
        finally:  # (all done: wait for the idle workers, else the interpreter's exit may trip on
            # the pool's wake-up pipe, "Exception ignored ... Bad file descriptor")
            if _KEPT.get(_key(context, workers)) is not pool:
                pool.shutdown(wait=done, cancel_futures=True)


_KEPT: dict[tuple[int, int], ProcessPoolExecutor] = {}
"""Pools kept for reuse inside ``kept_pools`` (by context and worker count)."""
_KEEPING = [0]


def _key(context: SweepContext, workers: int) -> tuple[int, int]:
    return id(context), workers


def _pool(context: SweepContext, workers: int) -> ProcessPoolExecutor:
    """A new pool of workers holding ``context``, or, inside ``kept_pools``, the one kept
    for it."""
    key = _key(context, workers)
    if _KEEPING[0] and key in _KEPT:
        return _KEPT[key]
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(context,))
    if _KEEPING[0]:
        _KEPT[key] = pool
    return pool


@contextlib.contextmanager
def kept_pools() -> Iterator[None]:
    """Within the block, the process executor keeps its worker pool from one call to the
    next for the same context and worker count (``optimize`` runs a batch per call: a new
    pool each time costs about 0.1 s of start-up). A pool that broke or was interrupted is
    never reused; the block's end shuts the kept ones down."""
    _KEEPING[0] += 1
    try:
        yield
    finally:
        _KEEPING[0] -= 1
        if not _KEEPING[0]:
            for pool in list(_KEPT.values()):
                pool.shutdown(wait=True, cancel_futures=True)
            _KEPT.clear()


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's processes at once (``shutdown`` would let each finish its run, and
    the interpreter's exit would wait for them). ``_processes`` is the pool's own table of
    them: Python 3.11 has no public way to stop a worker.

    A worker killed while it sends a result leaves half a message in the result pipe, and
    the pool's manager thread, which the interpreter's exit joins, would wait for the rest
    forever (a Ctrl-C that printed its message and never exited): this process holds the
    pipe's last write end, so once the workers are gone it is closed, the read ends with
    EOF and the manager thread ends as for a broken pool."""
    processes = list((pool._processes or {}).values())
    for process in processes:
        with contextlib.suppress(Exception):
            process.kill()
    for process in processes:
        with contextlib.suppress(Exception):
            process.join(timeout=5)
    writer = getattr(getattr(pool, "_result_queue", None), "_writer", None)
    if writer is not None:
        with contextlib.suppress(Exception):
            writer.close()


LOCAL_CLUSTER_CONFIG = {
    "distributed.worker.profile.enabled": False,  # samples the running task every 10 ms
    "distributed.admin.tick.interval": "1s",  # event loop watchdog, every 20 ms
    "distributed.admin.system-monitor.interval": "5s",  # every 500 ms
    "distributed.worker.memory.monitor-interval": "1s",  # every 100 ms
}
"""Less background work in the LocalCluster's processes (it has no dashboard to feed): each
wake-up takes the GIL from the run in progress; about 6% of a run's time with the defaults."""


QUIET_WORKERS = {"DASK_LOGGING__DISTRIBUTED": "critical"}
"""The local cluster's processes (which read it when they start) log nothing short of
critical: a Ctrl-C cancels their batches (a warning each), and a worker whose scheduler
closed first logs a failed heartbeat (an error with its traceback), over the sweep's one
line. What matters reaches the sweep anyway: a run's error is in its outcome, a worker's
death is ``KilledWorker``."""

QUIET_SCHEDULER = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}
"""No dashboard, and the scheduler's HTTP routes (health, metrics) on a free loopback port:
by default they take port 8787, and a second sweep at the same time warned that it was in use."""


@contextlib.contextmanager
def _environment(variables: dict[str, str]) -> Iterator[None]:
    """``variables`` set in this process's environment within the block (child processes
    started meanwhile inherit them), then restored."""
    saved = {name: os.environ.get(name) for name in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@EXECUTORS.register("dask")
def run_dask(context: SweepContext, tasks: Iterable[RunTask], workers: int,
             scheduler: str | None) -> Outcomes:
    """A Dask cluster (at --scheduler, else a local one of --workers processes).

    Runs go in batches (``batches``), each retried once if its worker dies."""
    try:
        import dask
        from dask.distributed import Client, KilledWorker, LocalCluster, as_completed
    except ImportError:
        raise InputError(["--executor dask: dask is not installed (pip install 'leadtime-sim[dask]')"]) \
            from None
    cluster: Any = None
    client: Any = None
    try:
        if scheduler:
            try:
                client = Client(scheduler, timeout="20s")
            except OSError as exc:
                raise InputError([f"--scheduler {scheduler}: cannot connect: {exc}"]) from None
        else:
            with signals_held(), dask.config.set(LOCAL_CLUSTER_CONFIG), _environment(QUIET_WORKERS):
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=None, scheduler_kwargs=QUIET_SCHEDULER)
                client = Client(cluster)
            _no_gc_diagnosis()
        client.run(_import_run_code)  # on every worker at once, else in turn as the context arrives
        shared = client.scatter(context, broadcast=True)
        threads = workers if cluster is not None else sum(client.nthreads().values())
        pending = {client.submit(execute_batch, shared, batch, pure=False, retries=1): batch
                   for batch in batches(list(tasks), max(1, threads))}
        for future in as_completed(list(pending)):
            batch = pending.pop(future)  # each future dropped once read: workers let go of it
            yield from _batch_outcomes(future, batch, KilledWorker)
    finally:  # closing takes ~0.4 s: the store writes its last files meanwhile
        if client is not None:
            try:
                threading.Thread(target=_close, args=(client, cluster), name="close-dask").start()
            except RuntimeError:  # no new threads at interpreter shutdown
                _close(client, cluster)


def _no_gc_diagnosis() -> None:
    """Remove the garbage-collector callback the local cluster's scheduler adds to this process
    (it times collections for its logs): a Ctrl-C handled inside it was lost, and with the
    callback on every collection that happened often (``signals_kept`` then stops the sweep a
    batch later; without the callback, at once)."""
    with contextlib.suppress(ImportError, AttributeError):
        from distributed.gc import disable_gc_diagnosis

        disable_gc_diagnosis(force=True)


class ExecutorError(RuntimeError):
    """The executor cannot go on (a Dask cluster lost its scheduler or every worker)."""


def _batch_outcomes(future: Any, batch: Sequence[RunTask], killed: type[Exception]) -> list[RunOutcome]:
    """A Dask batch's outcomes; runs whose worker died twice are recorded as failed."""
    try:
        return list(future.result())
    except killed:
        return [RunOutcome(t.point_id, t.replication, "failed", "its Dask worker died running it (twice)",
                           0.0, 0, {}, {}) for t in batch]
    except (CancelledError, asyncio.CancelledError):
        raise ExecutorError("the Dask cluster cancelled the runs: it lost its scheduler or every "
                            "worker") from None


def _import_run_code() -> str:
    """Import what runs need (on a Dask worker)."""
    from leadtime_sim.experiment import task

    return task.__name__


def _close(client: Any, cluster: Any) -> None:
    client.close()
    if cluster is not None:
        cluster.close()


def check_executor(executor: str, workers: int | None = None, scheduler: str | None = None) -> None:
    """An InputError for an unknown executor, a number of workers that is not a whole number
    of at least 1 (None: one per core), or a scheduler for an executor other than Dask (as
    the CLI refuses them), before any store is opened."""
    if executor not in EXECUTORS:
        raise InputError([f"--executor {executor}: expected one of {', '.join(EXECUTORS)}"])
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InputError([f"--workers {workers!r}: must be a whole number, at least 1 (None: one per core)"])
    if scheduler is not None and executor != "dask":
        raise InputError([f"--scheduler {scheduler}: needs --executor dask (not {executor})"])


def run_tasks(context: SweepContext, tasks: Iterable[RunTask], executor: str = "process",
              workers: int | None = None, scheduler: str | None = None) -> Outcomes:
    """Run tasks on the chosen executor, yielding outcomes as they finish."""
    check_executor(executor, workers, scheduler)
    tasks = list(tasks)
    # (at most one worker a run: a process pool or a local cluster starts every worker asked
    # for, and --workers 200 for 9 runs took three times as long as 9 workers)
    workers = max(1, min(workers or default_workers(), len(tasks)))
    return signals_kept(EXECUTORS[executor](context, tasks, workers, scheduler))
