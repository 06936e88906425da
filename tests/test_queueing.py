"""Statistical validation against queueing theory (docs/design.md: ground truth).

With Poisson orders of single units, lot size 1 and no flow, a factory with c lines is a
M/G/c queue: the lead time of an order is its wait in the backlog plus its takt. The
estimates come from one long run per case; their 95% confidence intervals from batch
means (orders and months are autocorrelated), after a warm-up is dropped. The tolerances
are those intervals, not tuned numbers; each test also checks the interval is narrow
enough to catch a 10% error in the quantity tested.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import build, factory, scenario_dict
from scipy import stats

import leadtime_sim as lts

pytestmark = pytest.mark.validation

MODELS = Path(__file__).resolve().parents[1] / "models"
BATCHES = 30
WARM_UP_MONTHS = 240.0
END = "5025-01"  # 3000 years: about 86,000 orders at 2.4 a month


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean wait in queue Wq of M/M/c (Erlang C)."""
    a = lam / mu
    rho = a / c
    top = a**c / math.factorial(c) / (1 - rho)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def test_erlang_c_formula() -> None:
    """The reference itself: M/M/1 has Wq = rho / (mu - lam); M/M/3 at 0.8 a known value."""
    assert erlang_c_wait(0.5, 1.0, 1) == pytest.approx(0.5 / 0.5)
    assert erlang_c_wait(2.4, 1.0, 3) == pytest.approx(1.0786516853932584)


def batch_ci(values: np.ndarray, batches: int = BATCHES) -> tuple[float, float]:
    """Mean and 95% half-width from ``batches`` consecutive batch means."""
    means = np.array([b.mean() for b in np.array_split(values, batches)])
    half = stats.t.ppf(0.975, batches - 1) * means.std(ddof=1) / math.sqrt(batches)
    return float(means.mean()), float(half)


def _steady_orders(result: lts.RunResult) -> list:
    horizon = result.records.months
    return sorted((o for o in result.records.orders
                   if WARM_UP_MONTHS <= o.entered_months < horizon - 120),
                  key=lambda o: o.entered_months)


def _lead_times(orders: list) -> np.ndarray:
    assert all(o.last_delivery_months is not None for o in orders)
    return np.array([o.last_delivery_months - o.entered_months for o in orders])


@pytest.fixture(scope="module")
def mmc() -> lts.RunResult:
    scenario = lts.load_scenario(MODELS / "mmc_check.toml", overrides=[f'end="{END}"'])
    factory_spec = scenario.factories["server"]
    assert factory_spec.lines == 3 and factory_spec.lot_size == 1
    assert factory_spec.takt_months.mean == 1.0 and factory_spec.flow_months.mean == 0
    return lts.simulate(scenario, seed=2025)


LAM, MU, C = 28.8 / 12, 1.0, 3


def test_mmc_mean_lead_time_is_erlang_c(mmc: lts.RunResult) -> None:
    w = erlang_c_wait(LAM, MU, C) + 1 / MU
    mean, half = batch_ci(_lead_times(_steady_orders(mmc)))
    assert half < 0.1 * w, f"CI too wide to detect a 10% error: {half}"
    assert abs(mean - w) <= half, f"W = {mean:.4f} +- {half:.4f}, Erlang C gives {w:.4f}"


def test_mmc_mean_wait_in_backlog_is_erlang_c(mmc: lts.RunResult) -> None:
    """Wq = W - 1/mu: the service part of the lead time has mean 1/mu."""
    wq = erlang_c_wait(LAM, MU, C)
    mean, half = batch_ci(_lead_times(_steady_orders(mmc)) - 1 / MU)
    assert half < 0.15 * wq
    assert abs(mean - wq) <= half, f"Wq = {mean:.4f} +- {half:.4f}, Erlang C gives {wq:.4f}"


def test_mmc_arrival_rate_and_utilisation(mmc: lts.RunResult) -> None:
    orders = mmc.records.orders
    months = mmc.records.months
    # Poisson count: sd = sqrt(n); 4 sd.
    assert abs(len(orders) - LAM * months) <= 4 * math.sqrt(LAM * months)
    util = np.array([r.utilisation for r in mmc.records.factories if r.month >= WARM_UP_MONTHS])
    mean, half = batch_ci(util)
    assert half < 0.02
    assert abs(mean - LAM / (C * MU)) <= half, (mean, half)


def _number_in_system(result: lts.RunResult, product: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [r for r in result.records.products if r.product == product and r.month >= WARM_UP_MONTHS]
    return (np.array([r.month + 1.0 for r in rows]),
            np.array([r.backlog_units + r.wip_units for r in rows], dtype=float))


def test_mmc_littles_law(mmc: lts.RunResult) -> None:
    """Time-average number in system (month-end backlog + WIP, sampled at fixed times) equals
    lambda x W: against theory, and against the run's own orders batch by batch."""
    times, number = _number_in_system(mmc, "unit")
    mean, half = batch_ci(number)
    l_theory = LAM * (erlang_c_wait(LAM, MU, C) + 1 / MU)
    assert half < 0.1 * l_theory
    assert abs(mean - l_theory) <= half, f"L = {mean:.3f} +- {half:.3f}, lambda W = {l_theory:.3f}"

    # Sample-path version: in each batch of months, L_b against the sojourn time per month
    # of the orders that entered in it (lambda_b x W_b); the differences have mean 0.
    edges = np.linspace(times[0] - 1, times[-1] - 120, BATCHES + 1)
    orders = [o for o in mmc.records.orders if o.last_delivery_months is not None]
    entered = np.array([o.entered_months for o in orders])
    sojourn = np.array([o.last_delivery_months - o.entered_months for o in orders])
    diffs = []
    for lo, hi in itertools.pairwise(edges):
        in_batch = (times > lo) & (times <= hi)
        arrivals = (entered >= lo) & (entered < hi)
        diffs.append(number[in_batch].mean() - sojourn[arrivals].sum() / (hi - lo))
    diffs_arr = np.array(diffs)
    half_d = stats.t.ppf(0.975, BATCHES - 1) * diffs_arr.std(ddof=1) / math.sqrt(BATCHES)
    assert abs(diffs_arr.mean()) <= half_d, (diffs_arr.mean(), half_d)
    assert half_d < 0.1 * l_theory


@pytest.mark.slow
def test_md1_wait_is_pollaczek_khinchine() -> None:
    """One line, constant takt 1 month, Poisson orders at 0.8 a month: an M/D/1 queue with
    Wq = rho / (2 mu (1 - rho)) = 2 months. Every lead time is exactly wait + 1."""
    lam, mu = 0.8, 1.0
    rho = lam / mu
    wq = rho / (2 * mu * (1 - rho))
    data = scenario_dict(
        end="9025-01",  # 8000 years, about 77,000 orders
        factories={"f": factory(lines=1, lot_size=1, takt_months=1.0, flow_months=0)},
        orders=[],
        order_streams=[{"customer": "c", "product": "p", "rate_per_year": lam * 12, "quantity": 1}],
    )
    result = lts.simulate(build(data), seed=7)
    lead = _lead_times(_steady_orders(result))
    assert lead.min() >= 1 / mu - 1e-9  # nobody is served faster than the takt
    mean, half = batch_ci(lead - 1 / mu)
    assert half < 0.1 * wq, f"CI too wide to detect a 10% error: {half}"
    assert abs(mean - wq) <= half, f"Wq = {mean:.4f} +- {half:.4f}, P-K gives {wq:.4f}"
    # Little's law for the queue alone: mean backlog = lambda x Wq.
    _, number = _number_in_system(result, "p")
    wip = np.array([r.wip_units for r in result.records.products if r.month >= WARM_UP_MONTHS], dtype=float)
    l_mean, l_half = batch_ci(number - wip)
    assert abs(l_mean - lam * wq) <= l_half, (l_mean, l_half, lam * wq)


def test_mg1_with_lots_and_flow_adds_flow_to_lead_time() -> None:
    """Flow is an infinite-server delay: mean lead time = M/D/1 W + mean flow (P-K with a
    gamma takt of mean 0.6 and sd 0.3, plus exponential flow of mean 4)."""
    lam, mean_s, sd_s, flow = 1.0, 0.6, 0.3, 4.0
    rho = lam * mean_s
    wq = lam * (sd_s**2 + mean_s**2) / (2 * (1 - rho))  # Pollaczek-Khinchine
    data = scenario_dict(
        end="2825-01",
        factories={"f": factory(takt_months={"dist": "gamma", "mean": mean_s, "sd": sd_s},
                                flow_months={"dist": "exponential", "mean": flow})},
        orders=[],
        order_streams=[{"customer": "c", "product": "p", "rate_per_year": lam * 12}],
    )
    lead = _lead_times(_steady_orders(lts.simulate(build(data), seed=11)))
    w = wq + mean_s + flow
    mean, half = batch_ci(lead)
    assert half < 0.1 * w
    assert abs(mean - w) <= half, f"W = {mean:.4f} +- {half:.4f}, theory {w:.4f}"


def test_yield_divides_throughput_of_a_saturated_line() -> None:
    """Lots pass acceptance with probability 0.5 (failed lots are rebuilt): a line that is
    never idle makes one good unit per 2 takts. Renewal count over T months with takt 1:
    mean T p, variance about T p (1 - p); 4 standard deviations."""
    p, months = 0.5, 1200
    data = scenario_dict(end="2125-01", factories={"f": factory(takt_months=1, yield_fraction=p)},
                         orders=[{"customer": "c", "product": "p", "quantity": 10_000, "placed": "2024-01"}])
    result = lts.simulate(build(data), seed=3)
    made = result.records.products[-1].cumulative_delivered_units
    assert abs(made - months * p) <= 4 * math.sqrt(months * p * (1 - p)), made
    assert result.records.products[0].capacity_units_per_year == pytest.approx(12 * p)
