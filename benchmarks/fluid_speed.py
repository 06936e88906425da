"""How much faster the fluid model is than one DES run of the default scenario.

    PYTHONPATH=. python benchmarks/fluid_speed.py [MODEL]

Times (best of several, warm) one DES run (``lts.simulate``) and the fluid estimate
(``lts.fluid``), each with its summary, and the kernels alone (``run_kernel`` against
``fluid_records``); prints the ratios measured in this run.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import leadtime_sim as lts
from leadtime_sim.fluid_model import fluid_records
from leadtime_sim.sim import run_kernel


def best(call: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        call()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 else "models/nato_air_defence.toml"
    scenario = lts.load_scenario(model)
    lts.fluid(scenario)  # warm
    des = best(lambda: lts.simulate(scenario, seed=1), 5)
    flu = best(lambda: lts.fluid(scenario), 20)
    des_kernel = best(lambda: run_kernel(scenario, 1), 5)
    flu_kernel = best(lambda: fluid_records(scenario), 20)
    print(f"{model}")
    print(f"DES run (simulate):    {des * 1e3:8.1f} ms")
    print(f"fluid (lts.fluid):     {flu * 1e3:8.1f} ms   ratio {des / flu:6.1f}x")
    print(f"DES kernel:            {des_kernel * 1e3:8.1f} ms")
    print(f"fluid records:         {flu_kernel * 1e3:8.1f} ms   ratio {des_kernel / flu_kernel:6.1f}x")


if __name__ == "__main__":
    main()
