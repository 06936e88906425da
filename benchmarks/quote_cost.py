"""What the run's own quotes cost: one run of a scenario with and without them.

    python benchmarks/quote_cost.py [MODEL] [--repeats N]

The run quotes every end product at every month end (and at start, each January and the
scenario's quote dates, ``sim/promise.py``). This times ``simulate`` as shipped and with
the quotes answered by a stub, interleaved in one process, and prints the median time of
each and their ratio (the issue's budget: at most 1.20).
"""

from __future__ import annotations

import argparse
import statistics
import time

import leadtime_sim as lts
from leadtime_sim.sim import promise


def seconds(scenario: lts.Scenario, replication: int) -> float:
    began = time.perf_counter()
    lts.simulate(scenario, replication=replication)
    return time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="models/nato_air_defence.toml")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    scenario = lts.load_scenario(args.model)
    quoting = promise.Quoter.lead_time
    lts.simulate(scenario)  # warm up
    with_quotes, without = [], []
    for k in range(args.repeats):
        promise.Quoter.lead_time = quoting  # type: ignore[method-assign]
        with_quotes.append(seconds(scenario, k))
        promise.Quoter.lead_time = lambda *_args, **_kwargs: None  # type: ignore[method-assign]
        without.append(seconds(scenario, k))
    promise.Quoter.lead_time = quoting  # type: ignore[method-assign]
    a, b = statistics.median(with_quotes), statistics.median(without)
    print(f"{args.model}: {a * 1000:.1f} ms a run with quotes, {b * 1000:.1f} ms without "
          f"(median of {args.repeats}); ratio {a / b:.2f}")


if __name__ == "__main__":
    main()
