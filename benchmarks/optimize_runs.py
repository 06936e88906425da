"""``optimize`` on the shipped experiment: runs used against the full grid at the same cap,
with the fluid pre-screen and without it (``--prescreen-months 0``), and wall time.

    python benchmarks/optimize_runs.py [--requirement R] [--by YYYY-MM] [--confidence C]
"""

from __future__ import annotations

import argparse
import time

from leadtime_sim.experiment.optimize import Question, optimize
from leadtime_sim.experiment.prescreen import DEFAULT_MARGIN_MONTHS
from leadtime_sim.experiment.runner import plan_experiment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--experiment", default="experiments/capacity_sweep.toml")
    parser.add_argument("--requirement", default="germany_patriot")
    parser.add_argument("--by", default="2036-01")
    parser.add_argument("--confidence", type=float, default=0.8)
    args = parser.parse_args()
    plan = plan_experiment(args.experiment)
    answers = {}
    for margin in (0.0, DEFAULT_MARGIN_MONTHS):
        began = time.perf_counter()
        answer = optimize(plan, Question(args.requirement, args.by, args.confidence, prescreen_months=margin))
        seconds = time.perf_counter() - began
        answers[margin] = answer
        best = answer["best"]
        name = "without the pre-screen" if margin == 0 else f"with the fluid pre-screen ({margin:g} months)"
        print(f"{name}: {best['values']} (${best['capex_musd']:,.0f}M, P = {best['p_closed']:.2f} on "
              f"{best['replications']} fresh runs)")
        runs, grid = answer["runs"], answer["full_grid_runs"]
        skipped = answer["prescreen"]["skipped"]
        print(f"  runs {runs} (incl. the fresh ones) against {grid} for the full grid at the cap: "
              f"{runs / grid:.2f}; {seconds:.0f} s wall; designs left out unrun: {skipped}")
    off, on = answers[0.0], answers[DEFAULT_MARGIN_MONTHS]
    print(f"pre-screen: {on['runs']} runs against {off['runs']} ({on['runs'] / off['runs']:.2f}); "
          f"the same answer: {on['best'] == off['best']}")

if __name__ == "__main__":
    main()
