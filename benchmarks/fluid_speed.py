"""How much faster the fluid model is than one DES run of the default scenario.

    PYTHONPATH=. python benchmarks/fluid_speed.py [MODEL] [--rounds N]

Times (best of several, warm, in rounds that alternate the calls so that a busy machine
slows them alike) one DES run with its summary (``lts.simulate``) against the fluid
estimate with its records and summary (``lts.fluid``) and against the fluid summary alone
(``fluid_summary``, the pre-screen's path); and the kernels alone (``run_kernel`` against
``fluid_records``). Prints the ratios measured in this run.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import leadtime_sim as lts
from leadtime_sim.fluid_model import fluid_records, fluid_summary
from leadtime_sim.sim import run_kernel


def best(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default="models/nato_air_defence.toml")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    scenario = lts.load_scenario(args.model)
    calls: dict[str, tuple[Callable[[], object], int]] = {
        "des": (lambda: lts.simulate(scenario, seed=1), 2),
        "fluid": (lambda: lts.fluid(scenario), 20),
        "summary": (lambda: fluid_summary(scenario), 20),
        "des_kernel": (lambda: run_kernel(scenario, 1), 2),
        "fluid_records": (lambda: fluid_records(scenario), 20),
    }
    for call, _ in calls.values():  # warm
        call()
    times = {name: float("inf") for name in calls}
    for _ in range(args.rounds):
        for name, (call, repeat) in calls.items():
            times[name] = min(times[name], best(call, repeat))
    ms = {name: t * 1e3 for name, t in times.items()}
    print(f"{args.model} (best of {args.rounds} rounds)")
    print(f"DES run (simulate):       {ms['des']:8.2f} ms")
    print(f"fluid (lts.fluid):        {ms['fluid']:8.2f} ms   ratio {ms['des'] / ms['fluid']:6.1f}x")
    print(f"fluid summary only:       {ms['summary']:8.2f} ms   ratio {ms['des'] / ms['summary']:6.1f}x")
    reps = 30  # (the main experiment's replications: what one design point's DES estimate costs)
    print(f"a design point's DES estimate ({reps} runs) against its fluid summary: "
          f"ratio {reps * ms['des'] / ms['summary']:6.0f}x (what the optimize pre-screen saves per design)")
    print(f"DES kernel (run_kernel):  {ms['des_kernel']:8.2f} ms")
    print(f"fluid records:            {ms['fluid_records']:8.2f} ms   "
          f"ratio {ms['des_kernel'] / ms['fluid_records']:6.1f}x")


if __name__ == "__main__":
    main()
