"""Where runs execute: this process, local processes, or a Dask distributed cluster.

Every executor yields outcomes as runs finish (in any order); runs are pure, so the
results do not depend on the executor or the number of workers. No home-made
distribution: local processes use ``concurrent.futures``, clusters use Dask.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from leadtime_sim.errors import InputError
from leadtime_sim.experiment.task import RunOutcome, RunTask, SweepContext, execute

EXECUTORS = ("serial", "process", "dask")

_WORKER_CONTEXT: SweepContext | None = None


def _init_worker(context: SweepContext) -> None:
    """Receive the shared context once per worker process; Ctrl-C is the parent's to handle."""
    global _WORKER_CONTEXT
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_CONTEXT = context


def _execute_in_worker(task: RunTask) -> RunOutcome:
    assert _WORKER_CONTEXT is not None
    return execute(_WORKER_CONTEXT, task)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def run_serial(context: SweepContext, tasks: Iterable[RunTask]) -> Iterator[RunOutcome]:
    for task in tasks:
        yield execute(context, task)


def run_processes(context: SweepContext, tasks: Iterable[RunTask], workers: int) -> Iterator[RunOutcome]:
    """Local worker processes. When a worker dies, the runs it may have been running are
    retried one at a time, so the run that kills its worker again is found and recorded
    as failed, and the others complete."""
    queue = list(tasks)
    queue.reverse()
    suspects: list[RunTask] = []
    while queue or suspects:
        pool = ProcessPoolExecutor(max_workers=workers, initializer=_init_worker, initargs=(context,))
        in_flight: dict[Future[RunOutcome], RunTask] = {}
        isolating = False
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
        except BrokenProcessPool:
            if isolating:
                task = suspects.pop()
                yield RunOutcome(task.point_id, task.replication, "failed",
                                 "the worker process died running this run (twice)", 0.0, 0, {}, {})
            else:
                suspects.extend(in_flight.values())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)


def run_dask(context: SweepContext, tasks: Iterable[RunTask], workers: int,
             scheduler: str | None) -> Iterator[RunOutcome]:
    """A Dask distributed cluster at ``scheduler``, or a LocalCluster of ``workers``."""
    try:
        from dask.distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise InputError(["--executor dask: dask is not installed (pip install 'leadtime-sim[dask]')"]) \
            from None
    cluster: Any = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            client = Client(cluster)
    except OSError as exc:
        raise InputError([f"--scheduler {scheduler}: cannot connect: {exc}"]) from None
    try:
        shared = client.scatter(context, broadcast=True)
        futures = [client.submit(execute, shared, task, pure=False, retries=1) for task in tasks]
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def run_tasks(context: SweepContext, tasks: Iterable[RunTask], executor: str = "process",
              workers: int | None = None, scheduler: str | None = None) -> Iterator[RunOutcome]:
    """Run tasks on the chosen executor, yielding outcomes as they finish."""
    count = workers or default_workers()
    if executor == "serial":
        return run_serial(context, tasks)
    if executor == "process":
        return run_processes(context, tasks, count)
    if executor == "dask":
        return run_dask(context, tasks, count, scheduler)
    raise InputError([f"--executor {executor}: expected one of {', '.join(EXECUTORS)}"])
