"""Peak memory: sweeps of 200 and 2,000 runs (must be the same within 10%), and one run of
the default scenario at x16 volume.

    python benchmarks/memory.py [--small 200] [--large 2000]

Each measurement runs in a fresh subprocess; psutil samples the resident memory of the
process and its workers every 50 ms.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
EXPERIMENT = ROOT / "experiments" / "capacity_sweep.toml"

SWEEP = """
from leadtime_sim.experiment import run_experiment
run_experiment({experiment!r}, {out!r}, executor="process", workers=2, force=True,
               replications={replications})
"""
BIG_RUN = """
import sys
sys.path.insert(0, {benchmarks!r})
from scaling import MODEL, scaled
import leadtime_sim as lts
from leadtime_sim.errors import read_toml
lts.simulate(lts.validate_scenario(scaled(read_toml(MODEL), 16)), seed=1)
"""


def peak_rss(code: str) -> tuple[float, float, float]:
    """(peak MiB of the main process, peak MiB of main + workers, seconds)."""
    began = time.perf_counter()
    process = psutil.Popen([sys.executable, "-c", code], cwd=ROOT)
    main_peak = tree_peak = 0
    while process.poll() is None:
        try:
            main = process.memory_info().rss
            tree = main + sum(c.memory_info().rss for c in process.children(recursive=True))
        except psutil.Error:
            continue
        main_peak, tree_peak = max(main_peak, main), max(tree_peak, tree)
        time.sleep(0.05)
    if process.returncode:
        raise SystemExit(f"measurement failed with exit status {process.returncode}")
    return main_peak / 2**20, tree_peak / 2**20, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=2000)
    args = parser.parse_args()
    points = 12  # capacity_sweep.toml: 4 x 3 design points
    print(f"{'measurement':34}{'main MiB':>10}{'all MiB':>10}{'seconds':>9}")
    peaks = []
    for runs in (args.small, args.large):
        replications = max(1, round(runs / points))
        with tempfile.TemporaryDirectory() as tmp:
            code = SWEEP.format(experiment=str(EXPERIMENT), out=str(Path(tmp) / "store"),
                                replications=replications)
            main_mib, all_mib, seconds = peak_rss(code)
        peaks.append(main_mib)
        label = f"sweep of {points * replications:,} runs"
        print(f"{label:34}{main_mib:>10.0f}{all_mib:>10.0f}{seconds:>9.0f}")
    main_mib, all_mib, seconds = peak_rss(BIG_RUN.format(benchmarks=str(ROOT / "benchmarks")))
    print(f"{'one run, default scenario x16':34}{main_mib:>10.0f}{all_mib:>10.0f}{seconds:>9.0f}")
    print(f"main process, large / small sweep: {peaks[1] / peaks[0]:.2f} (target: within 1.10)")


if __name__ == "__main__":
    main()
