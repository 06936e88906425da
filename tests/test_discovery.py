"""Scenario discovery (PRIM): boxes that recover a known rule, the trajectory's invariants,
pruning of limits that add nothing, and the ``discover`` command."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from leadtime_sim.cli import main
from leadtime_sim.discovery import chosen, limits, peel, pruned

DATA = Path(__file__).parent / "data"


def invoke(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_prim_recovers_a_known_box_and_drops_the_inert_inputs() -> None:
    """The outcome happens where x1 > 0.7 (95% of the time there, 5% elsewhere); x2 and x3
    do nothing. The widest box of density 0.8 keeps x1 above L, where (0.3 x 0.95 + (0.7 - L)
    x 0.05) / (1 - L) = 0.8, that is L = 0.64, and, once pruned, nothing else."""
    rng = np.random.default_rng(11)
    x = pd.DataFrame(rng.random((2000, 3)), columns=["x1", "x2", "x3"])
    y = (rng.random(2000) < np.where(x["x1"] > 0.7, 0.95, 0.05)).astype(float)
    boxes = peel(x, y)
    box, kept, dropped = pruned(x, y, chosen(boxes, 0.8))
    assert [lim.input for lim in kept] == ["x1"]
    low = (0.8 - 0.3 * 0.95 - 0.7 * 0.05) / (0.8 - 0.05)
    assert low == pytest.approx(0.64)
    assert kept[0].low == pytest.approx(low, abs=0.03) and kept[0].high == pytest.approx(1.0, abs=1e-3)
    assert kept[0].p_value < 1e-6
    # (density at the threshold; coverage: (0.285 + (0.7 - L) x 0.05) / (0.3 x 0.95 + 0.7 x 0.05) = 0.9)
    assert box.density == pytest.approx(0.8, abs=0.04) and box.coverage == pytest.approx(0.9, abs=0.04)
    assert set(dropped) <= {"x2", "x3"}


def test_a_text_input_is_peeled_by_category() -> None:
    rng = np.random.default_rng(5)
    policy = rng.choice(["fifo", "priority", "fair-share"], 900)
    x = pd.DataFrame({"policy": policy.astype(object), "noise": rng.random(900)})
    y = (rng.random(900) < np.where(policy == "fifo", 0.9, 0.1)).astype(float)
    box, kept, _ = pruned(x, y, chosen(peel(x, y), 0.8))
    assert [(lim.input, lim.kept) for lim in kept] == [("policy", ("fifo",))]
    assert box.density > 0.85


def test_no_box_is_claimed_without_a_signal() -> None:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.random((600, 2)), columns=["a", "b"])
    y = (rng.random(600) < 0.4).astype(float)
    found = chosen(peel(x, y), 0.8)
    _, kept, _ = pruned(x, y, found)
    assert kept == [] and limits(x, y, found)  # (PRIM peels noise; pruning drops all of it)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(20, 300), st.sampled_from([0.05, 0.1, 0.2]),
       st.sampled_from([0.05, 0.2]))
def test_the_trajectory_is_nested_and_keeps_its_support(seed: int, n: int, alpha: float, support: float) -> None:
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({"a": rng.integers(0, 4, n).astype(float), "b": rng.random(n)})
    y = (rng.random(n) < 0.5).astype(float)
    boxes = peel(x, y, alpha, support)
    assert boxes[0].support == 1.0 and boxes[0].mask.all()
    for before, after in itertools.pairwise(boxes):
        assert not (after.mask & ~before.mask).any() and after.runs < before.runs
        assert after.coverage <= before.coverage + 1e-12
        assert after.runs >= support * n
    assert all(b.density == pytest.approx(y[b.mask].mean()) for b in boxes)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("discover") / "store"
    code, output = invoke("sweep", DATA / "charts_sweep.toml", "--out", out, "--executor", "serial", "--no-charts")
    assert code == 0, output
    return out


def test_the_command_writes_its_answer_and_charts(store: Path) -> None:
    code, output = invoke("discover", store, "--requirement", "army_stock", "--by", "2028-01", "--json")
    assert code == 0, output
    answer = json.loads(output[output.index("{"):])
    assert {"requirement", "by", "outcome", "runs", "with_outcome", "trajectory", "found", "box"} <= set(answer)
    runs = pd.read_csv(store / "runs.csv")
    closed = runs["gap_closed_months.army_stock"]
    assert answer["runs"] == len(runs) and answer["with_outcome"] == int((~(closed <= 36)).sum())
    kept = json.loads((store / "discovery.json").read_text())
    assert list(kept) == ["army_stock@2028-01"] and kept["army_stock@2028-01"] == answer
    assert (store / "charts" / "discovery-trajectory-army_stock-2028-01.png").is_file()
    code, output = invoke("discover", store, "--requirement", "army_stock", "--by", "2029-01")
    assert code == 0 and "not closed by 2029-01" in output
    assert list(json.loads((store / "discovery.json").read_text())) == ["army_stock@2028-01", "army_stock@2029-01"]
    assert invoke("report", store)[0] == 0
    page = (store / "report.html").read_text()
    assert "Scenario discovery" in page and "army_stock@2029-01" in page


@pytest.mark.parametrize(("args", "said"), [
    (("--requirement", "nope", "--by", "2028-01"), "--requirement nope: no such requirement (known: army_stock)"),
    (("--requirement", "army_stock", "--by", "2028-13"), "--by '2028-13'"),
])
def test_bad_input_is_one_line_and_exit_2(store: Path, args: tuple[str, ...], said: str) -> None:
    code, output = invoke("discover", store, *args)
    assert code == 2 and said in output and "Traceback" not in output
