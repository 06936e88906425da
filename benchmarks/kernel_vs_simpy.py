"""Kernel vs a minimal hand-written SimPy M/M/c of the same parameters.

    python benchmarks/kernel_vs_simpy.py [--repeats 7] [--years 720]

Runs ``models/mmc_check.toml`` through ``leadtime_sim.simulate`` and a bare SimPy M/M/c
(a Resource with c servers, one process per customer, variates drawn in blocks of 256 as
leadtime-sim draws them), interleaved in this one process so that machine load hits both
alike. Prints customers per second for both, the ratio
(median and range) and both mean waits beside Erlang C. Target: ratio >= 1.0.
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import simpy

import leadtime_sim as lts

MODEL = Path(__file__).resolve().parents[1] / "models" / "mmc_check.toml"


def erlang_c_wait(arrival_rate: float, service_rate: float, servers: int) -> float:
    """Mean wait in queue of an M/M/c queue (Erlang C)."""
    a = arrival_rate / service_rate
    rho = a / servers
    top = a**servers / math.factorial(servers) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(servers)) + top)
    return p_wait / (servers * service_rate - arrival_rate)


def poisson_arrivals(env: simpy.Environment, rng: np.random.Generator, arrival_rate: float,
                     service_mean: float, customer: Callable[[float], simpy.events.ProcessGenerator]
                     ) -> simpy.events.ProcessGenerator:
    """Customers at ``arrival_rate``, each a ``customer(service)`` process with an exponential
    service; variates drawn in blocks of 256, as leadtime-sim draws them."""
    while True:
        gaps = rng.exponential(1 / arrival_rate, 256).tolist()
        services = rng.exponential(service_mean, 256).tolist()
        for gap, service in zip(gaps, services, strict=True):
            yield env.timeout(gap)
            env.process(customer(service))


def bare_simpy(arrival_rate: float, service_mean: float, servers: int, horizon: float,
               seed: int) -> tuple[int, float, float]:
    """(customers served, seconds, mean wait) of a textbook SimPy M/M/c."""
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    counter = simpy.Resource(env, capacity=servers)
    waits: list[float] = []

    def customer(service: float) -> simpy.events.ProcessGenerator:
        arrived = env.now
        with counter.request() as request:
            yield request
            waits.append(env.now - arrived)
            yield env.timeout(service)

    began = time.perf_counter()
    env.process(poisson_arrivals(env, rng, arrival_rate, service_mean, customer))
    env.run(until=horizon)
    return len(waits), time.perf_counter() - began, float(np.mean(waits))


def ours(scenario: lts.Scenario, seed: int) -> tuple[int, float, float]:
    """(customers served, seconds, mean wait) of leadtime-sim on the same queue."""
    began = time.perf_counter()
    result = lts.simulate(scenario, seed=seed)
    seconds = time.perf_counter() - began
    leads = [o.last_delivery_months - o.placed_months for o in result.records.orders
             if o.last_delivery_months is not None]
    # The wait in backlog is the lead time less the service (takt) of the order's lot;
    # with lot size 1 and no flow, mean wait = mean lead time - mean takt.
    takt = scenario.factories["server"].takt_months.mean
    return len(leads), seconds, float(np.mean(leads)) - takt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--years", type=int, default=720,
                        help="horizon (the model's 180 years, x4 by default: ~20,000 customers a run)")
    args = parser.parse_args()
    start = lts.load_scenario(MODEL).start
    scenario = lts.load_scenario(MODEL, overrides=[f'end="{int(start[:4]) + args.years}{start[4:]}"'])
    factory = scenario.factories["server"]
    rate = scenario.order_streams[0].rate_per_year / 12
    servers = factory.lines
    horizon = lts.simulate(scenario, seed=0).records.months  # also warms imports and caches
    mine, bare = [], []
    for repeat in range(args.repeats):
        mine.append(ours(scenario, seed=repeat + 1))
        bare.append(bare_simpy(rate, factory.takt_months.mean, servers, horizon, seed=repeat + 1))
    rate_mine = [n / s for n, s, _ in mine]
    rate_bare = [n / s for n, s, _ in bare]
    ratios = [a / b for a, b in zip(rate_mine, rate_bare, strict=True)]
    print(f"M/M/{servers}, rho = {rate / servers / (1 / factory.takt_months.mean):.2f}, "
          f"{horizon} months, {args.repeats} interleaved repeats")
    print(f"{'':26}{'customers/s (median)':>22}{'mean wait (months)':>20}")
    print(f"{'leadtime-sim simulate()':26}{statistics.median(rate_mine):>22,.0f}"
          f"{statistics.mean(w for *_, w in mine):>20.3f}")
    print(f"{'hand-written SimPy':26}{statistics.median(rate_bare):>22,.0f}"
          f"{statistics.mean(w for *_, w in bare):>20.3f}")
    print(f"{'Erlang C':26}{'':>22}{erlang_c_wait(rate, 1 / factory.takt_months.mean, servers):>20.3f}")
    print(f"ratio (ours / SimPy, customers per second): median {statistics.median(ratios):.2f}, "
          f"range {min(ratios):.2f}-{max(ratios):.2f}  (target >= 1.0)")


if __name__ == "__main__":
    main()
