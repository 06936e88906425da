"""Speed never changes results: runs of the shipped models match stored fingerprints.

Each fingerprint is a SHA-256 of the run's records and summary (their ``repr``), taken
before the kernel was optimised (lines and order streams as bare calls on SimPy's queue,
named-tuple records, vectorised metrics). A change that is *meant* to change results
(a new model feature, a fixed bug) updates them on purpose:

    python tests/test_golden.py --update

and says why in its commit message.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import pytest

import leadtime_sim as lts

ROOT = Path(__file__).resolve().parents[1]
STORED = Path(__file__).with_name("data") / "golden_runs.json"
NATO = "models/nato_air_defence.toml"
CASES = {
    "mmc": ("models/mmc_check.toml", []),
    "single": ("models/single_line.toml", []),
    "nato": (NATO, []),
    "nato3": (NATO, ["investments.patriot_new_lines.lines_added=3"]),
    "natofifo": (NATO, ['policy.allocation="fifo"']),
    "natofair": (NATO, ['policy.allocation="fair-share"']),
    "natonore": (NATO, ["policy.reassign_at_delivery=false"]),
    "natobudget": (NATO, ["budget.per_year_musd=3000"]),
}
SEEDS = (1, 2)


def fingerprint(case: str, seed: int) -> str:
    path, overrides = CASES[case]
    result = lts.simulate(lts.load_scenario(ROOT / path, overrides=overrides), seed=seed,
                          replication=seed)
    return hashlib.sha256(repr(result.records).encode() + repr(result.summary).encode()).hexdigest()


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("seed", SEEDS)
def test_results_match_the_stored_fingerprints(case: str, seed: int) -> None:
    stored = json.loads(STORED.read_text())
    assert fingerprint(case, seed) == stored[f"{case}/{seed}"], (
        f"{case}, seed {seed}: results changed; if on purpose, run python tests/test_golden.py --update")


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    STORED.write_text(json.dumps({f"{c}/{s}": fingerprint(c, s) for c in CASES for s in SEEDS},
                                 indent=1) + "\n")
    print(f"wrote {STORED}")
