"""Default scenario: time per run, events per simulated year, and how time grows.

    python benchmarks/scaling.py [--repeats 5]

Time must grow linearly with the horizon (10, 20, 40 years) and with volume (demand and
capacity x1, x4, x16): the script prints the exponent fitted on a log-log scale (1.0 =
linear).

More volume means more events waiting on the queue at once (a lot in flow, a busy line),
and any heap-based event queue costs O(log n) an event. As the baseline for that, the
script times a hand-written SimPy M/M/inf queue (a timeout per customer, nothing else)
with the same mean numbers of queued events, and prints its exponent beside ours.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import simpy
from kernel_vs_simpy import poisson_arrivals  # (this folder: the script's own)

import leadtime_sim as lts
from leadtime_sim.errors import read_toml
from leadtime_sim.metrics import summarize
from leadtime_sim.sim.clock import Clock
from leadtime_sim.sim.engine import Run

MODEL = Path(__file__).resolve().parents[1] / "models" / "nato_air_defence.toml"


def scaled(data: dict[str, Any], k: int) -> dict[str, Any]:
    """The scenario with demand and capacity both multiplied by ``k``."""
    data = {**data}
    data["factories"] = {n: {**f, "lines": f.get("lines", 1) * k,
                             "initial_wip_units": f.get("initial_wip_units", 0) * k}
                         for n, f in data["factories"].items()}
    data["investments"] = {n: {**i, "lines_added": i.get("lines_added", 1) * k}
                           for n, i in data.get("investments", {}).items()}
    data["products"] = {n: {**p, "initial_stock_units": p.get("initial_stock_units", 0) * k,
                            "stock_target_units": p.get("stock_target_units", 0) * k}
                        for n, p in data["products"].items()}
    data["orders"] = [{**o, "quantity": o["quantity"] * k} for o in data.get("orders", [])]
    data["order_streams"] = [{**s, "rate_per_year": s["rate_per_year"] * k}
                             for s in data.get("order_streams", [])]
    requirements = {}
    for name, r in data.get("requirements", {}).items():
        r = {**r, "initial_units": r.get("initial_units", 0) * k}
        if "required" in r:
            r["required"] = [{**p, "units": p["units"] * k} for p in r["required"]]
        requirements[name] = r
    data["requirements"] = requirements
    return data


def timed(scenario: lts.Scenario, repeats: int) -> tuple[float, int, int]:
    """Median seconds of a run, events scheduled and lots started (seed 1)."""
    seconds = []
    for _ in range(repeats):
        model = Run(scenario, seed=1)
        began = time.perf_counter()
        records = model.run()
        summarize(scenario, records, 1)
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds), next(model.env._eid), records.lots_started


def mean_queued(scenario: lts.Scenario) -> float:
    """Mean number of events on the queue when the next is taken (an untimed run, seed 1)."""
    sizes: list[int] = []
    model = Run(scenario, seed=1)
    env = model.env

    def counting() -> None:
        sizes.append(len(env._queue))
        Clock.step(env)

    env.step = counting  # type: ignore[method-assign]  # this model's clock only
    model.run()
    return statistics.fmean(sizes)


def simpy_infinite_servers(queued: float, customers: int = 100_000, seed: int = 1) -> float:
    """Seconds per customer of a hand-written SimPy M/M/inf with about ``queued`` events on
    the queue (service 12, arrival rate queued / 12), after a warm-up of three services."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    rate, service_mean = queued / 12.0, 12.0

    def customer(service: float) -> simpy.events.ProcessGenerator:
        yield env.timeout(service)

    env.process(poisson_arrivals(env, rng, rate, service_mean, customer))
    env.run(until=3 * service_mean)
    began = time.perf_counter()
    env.run(until=3 * service_mean + customers / rate)
    return (time.perf_counter() - began) / customers


def exponent(xs: Sequence[float], ys: Sequence[float]) -> float:
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    base = read_toml(MODEL)
    scenario = lts.validate_scenario(base, str(MODEL))
    seconds, events, lots = timed(scenario, args.repeats)
    years = lts.simulate(scenario, 1).records.months / 12
    print(f"default scenario ({scenario.start} to {scenario.end}): {seconds * 1000:.0f} ms per run "
          f"(median of {args.repeats}), {lots} lots, {events / years:,.0f} events per simulated year")

    print("\nhorizon   s/run    lots")
    horizons, times = [10, 20, 40], []
    for years in horizons:
        end = f"{int(scenario.start[:4]) + years}-01"
        s = lts.validate_scenario({**base, "end": end}, str(MODEL))
        t, _, n = timed(s, args.repeats)
        times.append(t)
        print(f"{years:>4} y  {t:7.3f}  {n:6d}")
    print(f"fitted exponent of time in horizon: {exponent(horizons, times):.2f} (1.0 = linear)")

    print("\nvolume    s/run    lots  us/lot  queued events  SimPy M/M/inf us/customer")
    volumes, times, baseline = [1, 4, 16], [], []
    for k in volumes:
        s = lts.validate_scenario(scaled(base, k), str(MODEL))
        t, _, n = timed(s, args.repeats)
        queued = mean_queued(s)
        simpy_seconds = statistics.median(simpy_infinite_servers(queued, seed=r) for r in range(3))
        times.append(t)
        baseline.append(simpy_seconds)
        print(f"x{k:<4}   {t:7.3f}  {n:6d}  {t / n * 1e6:6.1f}  {queued:13,.0f}  {simpy_seconds * 1e6:25.1f}")
    ours, theirs = exponent(volumes, times), exponent(volumes, baseline)
    print(f"fitted exponent of time in volume: {ours:.2f} (1.0 = linear); the hand-written SimPy "
          f"M/M/inf's, same queue lengths: {1 + theirs:.2f}; ours / SimPy's: {ours / (1 + theirs):.2f}")


if __name__ == "__main__":
    main()
