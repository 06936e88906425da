"""The fluid estimate against DES replications of a scenario: the README's agreement table.

    PYTHONPATH=. python benchmarks/fluid_agreement.py [MODEL] [--replications N] [--seed S]

Prints, as a Markdown table, each requirement's gap-close month and each product's units
delivered by the end: the fluid value, the median of the DES replications and their range
("not by end" where the gap is open at the end; a median is "not by end" when half the runs
are). ``tests/test_fluid.py`` holds the fluid value inside the band.
"""

from __future__ import annotations

import argparse
import math

import numpy as np

import leadtime_sim as lts


def months(value: float) -> str:
    return "not by end" if math.isinf(value) else f"{value:.1f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("model", nargs="?", default="models/nato_air_defence.toml")
    parser.add_argument("--replications", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    scenario = lts.load_scenario(args.model)
    runs = [lts.simulate(scenario, seed=args.seed, replication=r) for r in range(args.replications)]
    fluid = lts.fluid(scenario).summary
    n = args.replications
    print(f"| quantity | fluid | DES median | DES min-max ({n} runs) |\n|---|---|---|---|")
    for name in scenario.requirements:
        des = np.array([r.summary["requirements"][name]["gap_closed_months"] or math.inf for r in runs])
        value = fluid["requirements"][name]["gap_closed_months"] or math.inf
        print(f"| gap closes, {name} (months) | {months(value)} | {months(float(np.median(des)))} | "
              f"{months(des.min())}-{months(des.max())} |")
    last_year = int(scenario.end[:4]) - 1
    for name, entry in fluid["products"].items():
        des = np.array([r.summary["products"][name]["delivered_units"] for r in runs], float)
        if des.max():
            label = f"delivered {scenario.start[:4]}-{last_year}, {name} (units)"
            print(f"| {label} | {entry['delivered_units']} | "
                  f"{np.median(des):.0f} | {des.min():.0f}-{des.max():.0f} |")


if __name__ == "__main__":
    main()
