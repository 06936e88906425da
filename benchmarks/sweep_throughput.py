"""Sweep throughput: runs per second for serial, local processes and Dask, on one sweep.

    python benchmarks/sweep_throughput.py [--replications 8] [--workers 2]

Runs experiments/capacity_sweep.toml (with fewer replications) on each executor into a
temporary store, and prints runs per second, the parallel efficiency against serial
(target >= 85% at 2 workers) and the time a 10,000-run sweep would take.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from leadtime_sim.experiment import run_experiment
from leadtime_sim.experiment.runner import plan_experiment

EXPERIMENT = Path(__file__).resolve().parents[1] / "experiments" / "capacity_sweep.toml"


def throughput(executor: str, workers: int, replications: int) -> tuple[float, int]:
    """Runs per second of the whole sweep (store writes included), and the number of runs."""
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        store = run_experiment(EXPERIMENT, Path(tmp) / "store", executor=executor, workers=workers,
                               overrides=(), force=True, replications=replications)
        seconds = time.perf_counter() - began
    runs = store.counts["done"] + store.counts["failed"]
    return runs / seconds, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    points = len(plan_experiment(EXPERIMENT).points)
    print(f"{EXPERIMENT.name}: {points} points x {args.replications} replications")
    serial, runs = throughput("serial", 1, args.replications)
    rows = [("serial", 1, serial)]
    for executor in ("process", "dask"):
        rate, _ = throughput(executor, args.workers, args.replications)
        rows.append((executor, args.workers, rate))
    print(f"{'executor':10}{'workers':>8}{'runs/s':>9}{'efficiency':>12}{'10,000 runs':>13}")
    for executor, workers, rate in rows:
        efficiency = rate / (workers * serial)
        print(f"{executor:10}{workers:>8}{rate:>9.1f}{efficiency:>11.0%}{10_000 / rate / 60:>10.1f} min")
    print(f"({runs} runs each; target: efficiency >= 85% at 2 workers, 10,000 runs < 10 min)")


if __name__ == "__main__":
    main()
