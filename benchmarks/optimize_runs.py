"""``optimize`` on the shipped experiment: runs used against the full grid at the same cap,
and wall time.

    python benchmarks/optimize_runs.py [--requirement R] [--by YYYY-MM] [--confidence C]
"""

from __future__ import annotations

import argparse
import time

from leadtime_sim.experiment.optimize import Question, optimize
from leadtime_sim.experiment.runner import plan_experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="experiments/capacity_sweep.toml")
    parser.add_argument("--requirement", default="germany_patriot")
    parser.add_argument("--by", default="2036-01")
    parser.add_argument("--confidence", type=float, default=0.8)
    args = parser.parse_args()
    began = time.perf_counter()
    answer = optimize(plan_experiment(args.experiment), Question(args.requirement, args.by, args.confidence))
    seconds = time.perf_counter() - began
    best = answer["best"]
    print(f"{args.requirement} by {args.by} at {args.confidence:g}: {best['values']} "
          f"(${best['capex_musd']:,.0f}M, P = {best['p_closed']:.2f} on {best['replications']} fresh runs)")
    runs, grid = answer["runs"], answer["full_grid_runs"]
    print(f"runs {runs} (incl. the fresh ones) against {grid} for the full grid at the cap: "
          f"{runs / grid:.2f}; {seconds:.0f} s wall")


if __name__ == "__main__":
    main()
