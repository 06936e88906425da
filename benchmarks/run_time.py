"""Time one run of a scenario and compare with a minimal hand-written SimPy line.

    python benchmarks/run_time.py [MODEL] [--repeats N]

Lots, not units, are the simulated entities, so a run should cost about what a bare SimPy
model of one line processing the same number of lots costs. Prints the median time per
run, lots per second for both, and their ratio (measured in this one run of the script).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import simpy

import leadtime_sim as lts


def bare_simpy_line(lots: int, seed: int = 1) -> float:
    """Seconds to push ``lots`` Poisson-arriving jobs through one SimPy Resource."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0, lots).tolist()
    takts = rng.exponential(0.8, lots).tolist()
    env = simpy.Environment()
    line = simpy.Resource(env, capacity=1)

    def job(takt: float) -> simpy.events.ProcessGenerator:
        with line.request() as request:
            yield request
            yield env.timeout(takt)

    def source() -> simpy.events.ProcessGenerator:
        for gap, takt in zip(gaps, takts, strict=True):
            yield env.timeout(gap)
            env.process(job(takt))

    began = time.perf_counter()
    env.process(source())
    env.run()
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="models/nato_air_defence.toml")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    scenario = lts.load_scenario(args.model)
    ours, bare, lots = [], [], 0
    for repeat in range(args.repeats):  # interleaved, so drift hits both alike
        began = time.perf_counter()
        result = lts.simulate(scenario, seed=repeat + 1)
        ours.append(time.perf_counter() - began)
        lots = result.records.lots_started
        bare.append(bare_simpy_line(lots, seed=repeat + 1))
    t_ours, t_bare = statistics.median(ours), statistics.median(bare)
    print(f"model: {args.model} ({scenario.start} to {scenario.end}), {args.repeats} repeats")
    print(f"{'':28}{'s/run':>10}{'lots/s':>12}")
    print(f"{'leadtime-sim simulate()':28}{t_ours:>10.4f}{lots / t_ours:>12,.0f}")
    print(f"{'bare SimPy, one line':28}{t_bare:>10.4f}{lots / t_bare:>12,.0f}")
    print(f"lots per run: {lots}; ratio (ours / bare, time per lot): {t_ours / t_bare:.2f} "
          f"(range {min(ours) / max(bare):.2f}-{max(ours) / min(bare):.2f})")


if __name__ == "__main__":
    main()
