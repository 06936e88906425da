"""Sweep throughput: runs per second for serial, local processes and Dask, on one sweep.

    python benchmarks/sweep_throughput.py [--replications 30] [--workers 2] [--repeat 1]

Runs experiments/capacity_sweep.toml (by default with its own 30 replications: 360 runs)
on each executor into a temporary store, and prints runs per second, the parallel
efficiency against serial (target >= 85% at 2 workers) and the time a 10,000-run sweep
would take at that rate. Fewer replications measure start-up more than throughput:
starting a Dask LocalCluster costs about 2 s (new interpreters that import the package).

It also prints the machinery overhead: the serial sweep against a bare loop of
``simulate`` calls on the same runs (the ratio should be close to 1). With ``--repeat N``
every measurement is taken N times, interleaved, and the best kept (timings wander on a
shared machine).

Module-level imports are the standard library only: Dask's workers re-import the program
that started them, as they do the CLI (whose commands are imported when used).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "capacity_sweep.toml"


def throughput(executor: str, workers: int, replications: int | None) -> tuple[float, int]:
    """Runs per second of the whole sweep (store writes included), and the number of runs."""
    from leadtime_sim.experiment import run_experiment

    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        store = run_experiment(EXPERIMENT, Path(tmp) / "store", executor=executor, workers=workers,
                               overrides=(), force=True, replications=replications)
        seconds = time.perf_counter() - began
    runs = store.counts["done"] + store.counts["failed"]
    return runs / seconds, runs


def bare_throughput(replications: int | None) -> float:
    """Runs per second of a plain loop of ``simulate`` calls on the sweep's runs (scenarios
    validated beforehand, as sweep workers cache them): no outcome, no store."""
    from leadtime_sim import simulate
    from leadtime_sim.experiment.runner import plan_experiment
    from leadtime_sim.plugins import NO_PLUGINS, load_plugins

    plan = plan_experiment(EXPERIMENT, replications=replications)
    context, tasks = plan.context, plan.tasks()
    scenarios = {point.point_id: plan.point_scenario(point.point_id) for point in plan.points}
    plugins = load_plugins(context.plugins) if context.plugins else NO_PLUGINS
    began = time.perf_counter()
    for task in tasks:
        simulate(scenarios[task.point_id], context.seed, task.replication, plugins, context.limits)
    return len(tasks) / (time.perf_counter() - began)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=None, help="default: the experiment's")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="measure N times, keep the best")
    args = parser.parse_args()
    from leadtime_sim.experiment.executors import EXECUTORS
    from leadtime_sim.experiment.runner import plan_experiment

    plan = plan_experiment(EXPERIMENT, replications=args.replications)
    print(f"{EXPERIMENT.name}: {len(plan.points)} points x {plan.experiment.replications} replications")
    workers = {"serial": 1, "process": args.workers, "dask": args.workers}
    best = dict.fromkeys(("bare", *EXECUTORS), 0.0)
    for _ in range(args.repeat):
        best["bare"] = max(best["bare"], bare_throughput(args.replications))
        for executor in EXECUTORS:
            rate, runs = throughput(executor, workers[executor], args.replications)
            best[executor] = max(best[executor], rate)
    serial = best["serial"]
    print(f"{'executor':10}{'workers':>8}{'runs/s':>9}{'efficiency':>12}{'10,000 runs':>13}")
    for executor in EXECUTORS:
        rate = best[executor]
        efficiency = rate / (workers[executor] * serial)
        print(f"{executor:10}{workers[executor]:>8}{rate:>9.1f}{efficiency:>11.0%}"
              f"{10_000 / rate / 60:>10.1f} min")
    print(f"machinery: serial sweep {serial:.1f} runs/s vs bare simulate loop {best['bare']:.1f} runs/s: "
          f"ratio {serial / best['bare']:.2f} (target: close to 1)")
    print(f"({runs} runs each; target: efficiency >= 85% at 2 workers, 10,000 runs < 10 min)")


if __name__ == "__main__":
    main()
