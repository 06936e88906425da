"""``leadtime-sim fit``: maximum-likelihood fits recover known parameters, AIC picks the
generating family, censoring is handled, the TOML line round-trips through the scenario,
and the command line refuses bad records in one line (exit 2)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from conftest import factory, scenario_dict
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter
from scipy import optimize, special, stats

import leadtime_sim as lts
from leadtime_sim.cli import main
from leadtime_sim.distributions import Distribution, Weibull
from leadtime_sim.fitting import FAMILIES, Records, fit_records, kaplan_meier
from leadtime_sim.survival import kaplan_meier_median, kaplan_meier_quantile

ROOT = Path(__file__).resolve().parents[1]
RECORDS = ROOT / "models" / "delivery_records.csv"
ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)
N = 1000
TOLERANCE_SE = 4
"""Estimates must lie within 4 standard errors of the truth: with some 20 such checks, 3
would fail by chance for ~5% of seeds (the first seed tried put a gamma mean 3.02 se off),
4 for ~0.1%."""


def draw(table: dict[str, Any], n: int = N, seed: int = 20250101) -> np.ndarray:
    """A sample of the scenario's own distribution, from a seeded numpy Generator."""
    return np.asarray(ADAPTER.validate_python(table).sample(np.random.default_rng(seed), n))


# -- standard errors: asymptotic formulas (inverse Fisher information / n) -------------------


def _gamma_se(mean: float, sd: float, n: int) -> dict[str, float]:
    """Delta method on the inverse Fisher information of (shape a, scale t):
    I = [[trigamma(a), 1/t], [1/t, a/t^2]] per value; mean = a t, sd = sqrt(a) t."""
    a, t = (mean / sd) ** 2, sd**2 / mean
    cov = np.linalg.inv(n * np.array([[special.polygamma(1, a), 1 / t], [1 / t, a / t**2]]))
    grads = {"mean": np.array([t, a]), "sd": np.array([t / (2 * math.sqrt(a)), math.sqrt(a)])}
    return {k: float(math.sqrt(g @ cov @ g)) for k, g in grads.items()}


def _observed_se(loglik: Any, theta: np.ndarray) -> np.ndarray:
    """Standard errors from the observed information: the inverse of minus the Hessian of
    the log-likelihood at the estimate (central differences)."""
    h = 1e-4 * np.abs(theta)
    steps = np.diag(h)
    hessian = np.array([[(loglik(theta + a + b) - loglik(theta + a - b) - loglik(theta - a + b)
                          + loglik(theta - a - b)) / (4 * h[i] * h[j]) for j, b in enumerate(steps)]
                        for i, a in enumerate(steps)])
    return np.sqrt(np.diag(np.linalg.inv(-hessian)))


def _monte_carlo_se(table: dict[str, Any], n: int, replicates: int = 40) -> dict[str, float]:
    """For the non-regular families (support ends that are parameters: uniform, triangular),
    whose MLE has no Fisher-information standard error: the sd over refitted samples."""
    fits = [FAMILIES[table["dist"]].fit(draw(table, n, seed)) for seed in range(replicates)]
    return {k: float(np.std([f[k] for f in fits], ddof=1)) for k in fits[0]}


REGULAR = [
    ({"dist": "exponential", "mean": 5.0}, lambda n: {"mean": 5.0 / math.sqrt(n)}),
    ({"dist": "gamma", "mean": 10.0, "sd": 4.0}, lambda n: _gamma_se(10.0, 4.0, n)),
    # log(median) has se sigma/sqrt(n), so median has ~ median sigma/sqrt(n); sigma: sigma/sqrt(2n).
    ({"dist": "lognormal", "median": 8.0, "sigma": 0.5},
     lambda n: {"median": 8.0 * 0.5 / math.sqrt(n), "sigma": 0.5 / math.sqrt(2 * n)}),
    # Weibull: var(k) = 6/pi^2 k^2/n, var(scale) = (1 + 6 (1 - gamma_E)^2 / pi^2) scale^2 / (k^2 n).
    ({"dist": "weibull", "shape": 1.8, "scale": 10.0},
     lambda n: {"shape": math.sqrt(6 / math.pi**2) * 1.8 / math.sqrt(n),
                "scale": math.sqrt(1 + 6 * (1 - np.euler_gamma) ** 2 / math.pi**2) * 10.0 / (1.8 * math.sqrt(n))}),
    # Far from zero the truncation does not matter: the normal's se, sd/sqrt(n) and sd/sqrt(2n).
    ({"dist": "normal", "mean": 20.0, "sd": 3.0}, lambda n: {"mean": 3.0 / math.sqrt(n), "sd": 3.0 / math.sqrt(2 * n)}),
]


@pytest.mark.parametrize(("table", "se_of"), REGULAR, ids=lambda v: v["dist"] if isinstance(v, dict) else "")
def test_fits_recover_known_parameters_within_their_standard_errors(table: dict[str, Any], se_of: Any) -> None:
    report = fit_records(Records.of(draw(table)), [table["dist"]], bootstrap=0)
    (fit,) = report.fits
    se = se_of(N)
    for key, standard_error in se.items():
        assert abs(fit.params[key] - table[key]) <= TOLERANCE_SE * standard_error, (key, fit.params[key], standard_error)


def test_the_truncated_normal_is_fitted_as_truncated() -> None:
    """Near zero the scenario's normal is truncated there; its fit must know it. The standard
    errors come from the observed information (a numerical Hessian of the log-likelihood)."""
    table = {"dist": "normal", "mean": 1.0, "sd": 2.0}
    x = draw(table)
    (fit,) = fit_records(Records.of(x), ["normal"], bootstrap=0).fits

    def loglik(theta: np.ndarray) -> float:
        mu, sd = theta
        return float(np.sum(stats.truncnorm.logpdf(x, -mu / sd, np.inf, loc=mu, scale=sd)))

    se = _observed_se(loglik, np.array([fit.params["mean"], fit.params["sd"]]))
    assert abs(fit.params["mean"] - 1.0) <= TOLERANCE_SE * se[0], (fit.params, se)
    assert abs(fit.params["sd"] - 2.0) <= TOLERANCE_SE * se[1], (fit.params, se)
    # An untruncated fit (the sample mean) would be far off: the truncated normal's mean is ~2.
    assert np.mean(x) - 1.0 > 5 * se[0]


@pytest.mark.parametrize("table", [{"dist": "uniform", "low": 2.0, "high": 7.0},
                                   {"dist": "triangular", "low": 2.0, "mode": 3.0, "high": 7.0}], ids=lambda t: t["dist"])
def test_bounded_fits_recover_their_ends(table: dict[str, Any]) -> None:
    n = 500
    report = fit_records(Records.of(draw(table, n)), [table["dist"]], bootstrap=0)
    (fit,) = report.fits
    se = _monte_carlo_se(table, n)
    for key, standard_error in se.items():
        assert abs(fit.params[key] - table[key]) <= TOLERANCE_SE * standard_error, (key, fit.params[key], standard_error)
    # The support holds every value, rounded outwards in the table too.
    assert fit.table["low"] <= fit.params["low"] and fit.table["high"] >= fit.params["high"]


# -- choosing the family ---------------------------------------------------------------------

SIGMA = math.sqrt(math.log(1.25))  # a lognormal with mean 10 and sd 5, like the gamma below
GENERATORS = [
    {"dist": "gamma", "mean": 10.0, "sd": 5.0},  # skewness 1.0
    {"dist": "lognormal", "mean": 10.0, "sigma": SIGMA},  # skewness 1.6
    {"dist": "normal", "mean": 10.0, "sd": 3.0},  # skewness ~0
]


@pytest.mark.parametrize("table", GENERATORS, ids=lambda t: t["dist"])
def test_aic_picks_the_generating_family(table: dict[str, Any]) -> None:
    report = fit_records(Records.of(draw(table, 2000)), ["gamma", "lognormal", "normal"], bootstrap=0)
    assert report.best == table["dist"] == report.fits[0].dist
    assert report.fits[1].aic - report.fits[0].aic > 10  # not a close call: ~ e^5 times the likelihood
    assert [f.aic for f in report.fits] == sorted(f.aic for f in report.fits)
    assert all(f.bic - f.aic == pytest.approx(f.k * (math.log(2000) - 2)) for f in report.fits)
    # With every family on offer the generator still wins.
    assert fit_records(Records.of(draw(table, 2000)), bootstrap=0).best == table["dist"]


def test_the_bootstrap_accepts_the_right_family_and_rejects_a_wrong_one() -> None:
    x = draw({"dist": "gamma", "mean": 10.0, "sd": 4.0}, 300)
    report = fit_records(Records.of(x), ["gamma", "exponential"], bootstrap=49, seed=3)
    fits = {f.dist: f for f in report.fits}
    assert fits["gamma"].ad_p is not None and fits["gamma"].ad_p > 0.05
    assert fits["exponential"].ad_p == fits["exponential"].ks_p == 1 / 50  # no bootstrap sample as far
    assert "parametric bootstrap: 49 samples" in report.p_values
    again = fit_records(Records.of(x), ["gamma", "exponential"], bootstrap=49, seed=3)
    assert again.as_json() == report.as_json()  # seeded
    without = fit_records(Records.of(x), ["gamma"], bootstrap=0)
    assert without.fits[0].ad_p is None and "optimistic" in without.p_values


def test_the_empirical_distribution_is_the_fallback_when_every_family_is_rejected() -> None:
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.gamma(30, 0.1, 400), rng.gamma(30, 0.4, 400)])  # two humps: 3 and 12
    report = fit_records(Records.of(x), ["gamma", "lognormal", "normal"], bootstrap=39)
    assert report.best == "empirical" and report.table["dist"] == "empirical"
    assert any("rejected by the AD test" in note for note in report.notes)
    empirical = ADAPTER.validate_python(report.table)
    assert empirical.mean == pytest.approx(np.mean(x), rel=1e-3)


# -- censoring -------------------------------------------------------------------------------


def test_censored_fitting_recovers_an_exponential_mean_where_the_naive_fit_is_biased() -> None:
    rng = np.random.default_rng(11)
    life, cut = rng.exponential(10.0, N), rng.uniform(0, 20, N)
    values, censored = np.minimum(life, cut), life > cut
    exact = int(np.count_nonzero(~censored))
    report = fit_records(Records.of(values, censored), ["exponential"])
    (fit,) = report.fits
    # The censored MLE is the total time observed over the deliveries; se = mean / sqrt(deliveries).
    assert fit.params["mean"] == pytest.approx(values.sum() / exact, rel=1e-4)
    se = 10.0 / math.sqrt(exact)
    assert abs(fit.params["mean"] - 10.0) <= TOLERANCE_SE * se
    # Dropping the undelivered orders (or taking their lower bounds as exact) is biased low.
    (naive,) = fit_records(Records.of(values[~censored]), ["exponential"], bootstrap=0).fits
    (as_exact,) = fit_records(Records.of(values), ["exponential"], bootstrap=0).fits
    assert naive.params["mean"] < 10.0 - 10 * se and as_exact.params["mean"] < 10.0 - 5 * se
    # The likelihood behind AIC is the censored one; KS and AD are not computed.
    exact_part = np.sum(stats.expon.logpdf(values[~censored], scale=fit.params["mean"]))
    bound_part = np.sum(stats.expon.logsf(values[censored], scale=fit.params["mean"]))
    assert fit.loglik == pytest.approx(exact_part + bound_part)
    assert fit.aic == pytest.approx(2 - 2 * fit.loglik)
    assert fit.ks is None and fit.ad_p is None and "censored" in report.p_values


def test_every_family_fits_censored_records() -> None:
    rng = np.random.default_rng(12)
    life, cut = rng.gamma(9, 12 / 9, 400), rng.uniform(0, 30, 400)
    values, censored = np.minimum(life, cut), life > cut
    report = fit_records(Records.of(values, censored))
    assert {f.dist for f in report.fits} == set(FAMILIES) and not [n for n in report.notes if "skipped" in n]
    gamma = next(f for f in report.fits if f.dist == "gamma")

    def loglik(theta: np.ndarray) -> float:  # the censored likelihood in (mean, sd)
        frozen = FAMILIES["gamma"].frozen({"mean": theta[0], "sd": theta[1]})
        return float(np.sum(frozen.logpdf(values[~censored])) + np.sum(frozen.logsf(values[censored])))

    se = _observed_se(loglik, np.array([gamma.params["mean"], gamma.params["sd"]]))
    assert abs(gamma.params["mean"] - 12.0) <= TOLERANCE_SE * se[0], se
    assert abs(gamma.params["sd"] - 4.0) <= TOLERANCE_SE * se[1], se
    assert gamma.loglik == pytest.approx(loglik(np.array([gamma.params["mean"], gamma.params["sd"]])))


@pytest.mark.parametrize("seed", [4, 8])
def test_the_censored_triangular_keeps_every_value_inside_its_support(seed: int) -> None:
    """SciPy's censored fit of these records ends with low above the smallest exact value,
    where the likelihood is zero (the family was skipped: "the fit did not converge")."""
    rng = np.random.default_rng(seed)
    life, cut = rng.gamma(9, 4 / 3, 30), rng.uniform(5, 25, 30)
    values, censored = np.minimum(life, cut), life > cut
    report = fit_records(Records.of(values, censored), ["triangular"], bootstrap=0)
    (fit,) = report.fits
    assert fit.params["low"] <= values[~censored].min() and fit.params["high"] > values.max()
    assert math.isfinite(fit.loglik) and not report.notes
    start = FAMILIES["triangular"].fit(values[~censored])  # the exact values' fit, widened to hold every value
    widened = FAMILIES["triangular"].frozen({**start, "high": values.max() + 0.05 * np.ptp(values)})
    assert fit.loglik >= np.sum(widened.logpdf(values[~censored])) + np.sum(widened.logsf(values[censored]))


@pytest.mark.parametrize("seed", [18, 25])
def test_the_censored_triangular_is_the_maximum_of_the_likelihood(seed: int) -> None:
    """SciPy's censored fit stopped short of the maximum (by 0.17 and 0.68 in log-likelihood
    on these 30 records, so AIC was 0.3 and 1.4 too high): an independent search over every
    parameter, from the fit and from low = mode = the smallest exact value, finds no better."""
    rng = np.random.default_rng(seed)
    life, cut = rng.triangular(2, 3, 20, 30), rng.uniform(3, 25, 30)
    values, censored = np.round(np.minimum(life, cut), 2), life > cut
    (fit,) = fit_records(Records.of(values, censored), ["triangular"], bootstrap=0).fits

    def loglik(p: dict[str, float]) -> float:  # (by hand: a frozen SciPy distribution is slow to make)
        a, c, b = p["low"], p["mode"], p["high"]
        if not 0 <= a <= c <= b or b <= a:
            return -math.inf
        x, y = values[~censored], values[censored]
        with np.errstate(all="ignore"):
            pdf = np.where(x < c, 2 * (x - a) / ((b - a) * (c - a)), 2 * (b - x) / ((b - a) * (b - c)))
            sf = np.where(y < c, 1 - (y - a) ** 2 / ((b - a) * (c - a)), (b - y) ** 2 / ((b - a) * (b - c)))
            value = float(np.sum(np.log(np.where((x >= a) & (x <= b), pdf, 0.0)))
                          + np.sum(np.log(np.clip(sf, 0.0, 1.0))))
        return value if math.isfinite(value) else -math.inf

    assert fit.loglik == pytest.approx(loglik(fit.params))
    first = float(values[~censored].min())
    for start in ([fit.params["low"], fit.params["mode"], fit.params["high"]],
                  [first, first, fit.params["high"]]):
        found = optimize.minimize(lambda t: -loglik(dict(zip(("low", "mode", "high"), t, strict=True))),
                                  np.array(start), method="Nelder-Mead",
                                  options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 8000})
        assert -found.fun <= fit.loglik + 1e-6, (found.x, -found.fun, fit.params, fit.loglik)


def test_a_triangular_starting_at_zero_says_zero() -> None:
    """Where the fit's lower end is at zero the line to paste said low = 2.22e-16 (the rounding
    noise of first - span * (first / span))."""
    x = np.round(np.random.default_rng(3).gamma(4, 3, 30), 3)
    report = fit_records(Records.of(x, column="flow_months"), ["triangular"], bootstrap=0)
    assert report.fits[0].params["low"] == 0.0 and report.fits[0].table["low"] == 0.0
    assert report.toml.startswith('flow_months = {dist = "triangular", low = 0.0, mode = ')


def test_the_triangular_test_and_the_normal_fit_do_not_depend_on_the_unit() -> None:
    """At 1e200 the triangular's CDF squared the distance to its end and overflowed (KS = 1,
    AD = 2950, p = 1.0), and the normal's fit overflowed computing the sd (skipped: "did not
    converge"); in units of the width they are the fit to the same values in months."""
    from leadtime_sim.fitting import gof_statistics

    x = np.sort(draw({"dist": "triangular", "low": 2.0, "mode": 3.0, "high": 9.0}, 50))
    for name in ("triangular", "normal"):
        family = FAMILIES[name]
        params = family.fit(x)
        scaled = family.fit(x * 1e200)
        assert {k: v / 1e200 for k, v in scaled.items()} == pytest.approx(params, rel=1e-6), name
        assert gof_statistics(family, scaled, x * 1e200) == pytest.approx(gof_statistics(family, params, x)), name


def test_a_fit_past_the_largest_number_says_so() -> None:
    """Values up to 1.75e308: the triangular's high end lies past the largest float; it was
    "skipped: the fit did not converge", though it had."""
    x = np.random.default_rng(2).uniform(0.5, 1.75, 30) * 1e308
    report = fit_records(Records.of(x), ["triangular", "uniform"], bootstrap=0)
    assert [f.dist for f in report.fits] == ["uniform"]
    assert "triangular skipped: its fit's high is beyond the largest number (1.8e+308)" in report.notes


@pytest.mark.parametrize("unit", [1e-300, 1e300])
def test_bootstrap_p_values_do_not_depend_on_the_unit(unit: float) -> None:
    """The triangular's bootstrap drew its samples with the scenario's sampler in the records'
    unit, where NumPy's square roots underflow (1e-300: every sample at low or high, p = 1.0)
    or overflow (1e300: every refit failed, no p-value); drawn in units of the largest value,
    each p-value is the one of the same records in months."""
    x = np.random.default_rng(1).gamma(4, 3, 40)
    names = ["triangular", "gamma", "uniform"]
    months = fit_records(Records.of(x), names, bootstrap=19, seed=2)
    scaled = fit_records(Records.of(x * unit), names, bootstrap=19, seed=2)
    assert [(f.dist, f.ks_p, f.ad_p) for f in scaled.fits] == [(f.dist, f.ks_p, f.ad_p) for f in months.fits]
    assert not any("refits failed" in note for note in scaled.notes)


def test_values_of_any_magnitude_fit_as_the_same_values_near_one() -> None:
    """Fits are made in a power of two near the largest value: 1 and 2 (ten each) and 2^-1074
    and 2^-1073 (subnormal numbers) are the same records in two units. The second printed
    NumPy's overflow warnings, skipped gamma and triangular ("did not converge"), and after
    the bootstrap drew in the records' unit it raised pydantic's ValidationError."""
    names = ["exponential", "normal", "triangular", "uniform", "weibull", "gamma"]
    ones = fit_records(Records.of([1.0] * 10 + [2.0] * 10), names, bootstrap=9, seed=1)
    tiny = fit_records(Records.of([5e-324] * 10 + [1e-323] * 10), names, bootstrap=9, seed=1)
    assert [f.dist for f in tiny.fits] == [f.dist for f in ones.fits] and len(ones.fits) >= 5
    for a, b in zip(ones.fits, tiny.fits, strict=True):
        assert {k: v if k in ("shape", "sigma") else v * 2.0 ** -1074 for k, v in a.params.items()} == b.params
        assert (b.ks, b.ks_p, b.ad_p) == (a.ks, a.ks_p, a.ad_p)
        assert b.loglik == pytest.approx(a.loglik + 20 * 1074 * math.log(2))


@pytest.mark.parametrize(("exact", "bounds"), [([0.0] * 135, [1.0] * 33), ([5.0] * 5, [7.0, 8.0, 9.0, 7.0, 6.0])],
                         ids=["zeros", "fives"])
def test_the_censored_normal_of_alike_exact_values_is_the_maximum(exact: list[float], bounds: list[float]) -> None:
    """Exact values all alike (their sd 0) started the search at sd = 0.001 of the spread, where
    the lower bounds have probability ~0: it stopped there (AIC 209,065,149 and 10,638,877
    against 80.0 and 34.3)."""
    values = np.array(exact + bounds)
    censored = np.array([False] * len(exact) + [True] * len(bounds))
    (fit,) = fit_records(Records.of(values, censored), ["normal"], bootstrap=0).fits

    def nll(theta: np.ndarray) -> float:
        mu, sd = theta[0], math.exp(theta[1])
        if mu < 0:
            return 1e300
        frozen = stats.truncnorm(-mu / sd, math.inf, loc=mu, scale=sd)
        return -float(np.sum(frozen.logpdf(values[~censored])) + np.sum(frozen.logsf(values[censored])))

    best = min((optimize.minimize(nll, np.array([mu, math.log(sd)]), method="Nelder-Mead") for mu in (0.0, 5.0)
                for sd in (0.5, 2.0)), key=lambda r: r.fun)
    assert -fit.loglik == pytest.approx(best.fun, abs=1e-3), (fit.params, best.x)


def test_kaplan_meier_without_censoring_is_the_empirical_survival() -> None:
    x = np.array([3.0, 1.0, 2.0, 2.0, 5.0])
    times, survival = kaplan_meier(x, np.zeros(5, dtype=bool))
    assert times.tolist() == [1, 2, 3, 5] and survival.tolist() == pytest.approx([0.8, 0.4, 0.2, 0.0])
    # The 3 censored: at 5 one value is at risk, so the last step still reaches 0.
    times, survival = kaplan_meier(x, np.array([True, False, False, False, False]))
    assert times.tolist() == [1, 2, 5] and survival.tolist() == pytest.approx([0.8, 0.4, 0.0])
    # A 2 censored: 4 at risk at 2 (a tie counts as at risk), 1 of them delivered.
    times, survival = kaplan_meier(x, np.array([False, False, True, False, False]))
    assert times.tolist() == [1, 2, 3, 5] and survival.tolist() == pytest.approx([0.8, 0.6, 0.3, 0.0])


def test_kaplan_meier_median_by_hand_and_not_by_end() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    # 2 censored: S = 0.8 after 1, 0.8 x 2/3 after 3, x 1/2 = 0.27 after 4: the median is 4.
    assert kaplan_meier_median(x, np.array([False, True, False, False, False])) == 4.0
    # Three of five censored at 2 before anything past 1 is seen: S never falls to 1/2.
    assert kaplan_meier_median(x, np.array([False, True, True, True, True])) is None
    assert kaplan_meier_median(np.zeros(0), np.zeros(0, dtype=bool)) is None


def test_kaplan_meier_quantiles_by_hand() -> None:
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0])
    exact = np.zeros(8, dtype=bool)
    # S = 0.75 exactly after 2: the midpoint to the next value, as for the median.
    assert [kaplan_meier_quantile(x, exact, q) for q in (0.25, 0.5, 0.75)] == [2.5, 4.5, 6.5]
    # The last four censored: S stays at 1/2 from 4 on; the upper quartile is never reached.
    late = np.array([False] * 4 + [True] * 4)
    assert kaplan_meier_quantile(x, late, 0.25) == 2.5
    assert kaplan_meier_quantile(x, late, 0.5) == 4.0 == kaplan_meier_median(x, late)
    assert kaplan_meier_quantile(x, late, 0.75) is None


@given(st.lists(st.integers(0, 40), min_size=1, max_size=30))
def test_kaplan_meier_median_without_censoring_is_the_median(values: list[int]) -> None:
    x = np.array(values, dtype=float)
    assert kaplan_meier_median(x, np.zeros(len(x), dtype=bool)) == pytest.approx(float(np.median(x)))


# -- the TOML line ---------------------------------------------------------------------------

ROUND_TRIP = [
    {"dist": "exponential", "mean": 5.0},
    {"dist": "gamma", "mean": 10.0, "sd": 4.0},
    {"dist": "lognormal", "median": 8.0, "sigma": 0.5},
    {"dist": "weibull", "shape": 1.8, "scale": 10.0},
    {"dist": "normal", "mean": 1.0, "sd": 2.0},
    {"dist": "triangular", "low": 2.0, "mode": 3.0, "high": 7.0},
    {"dist": "uniform", "low": 2.0, "high": 7.0},
]


@pytest.mark.parametrize("table", ROUND_TRIP, ids=lambda t: t["dist"])
def test_the_toml_line_round_trips_through_the_scenario(table: dict[str, Any]) -> None:
    report = fit_records(Records.of(draw(table, 500), column="takt_months"), [table["dist"]], bootstrap=0)
    parsed = tomllib.loads(report.toml)
    scenario = lts.validate_scenario(scenario_dict(factories={"f": factory(**parsed)}), source="test.toml")
    dist = scenario.factories["f"].takt_months
    assert type(dist).__name__.lower() == table["dist"]
    fitted = report.fits[0].frozen
    # Rounding to 4 significant figures moves the mean by well under 0.2%.
    assert dist.mean == pytest.approx(float(fitted.mean()), rel=2e-3)
    draws = 200_000
    x = dist.sample(np.random.default_rng(1), draws)
    kurtosis = float(fitted.stats(moments="k"))
    se_sd = float(fitted.std()) * math.sqrt((kurtosis + 2) / (4 * draws))  # sd of a sample sd
    assert abs(x.std() - float(fitted.std())) <= 4 * se_sd + 2e-3 * float(fitted.std())


def test_the_key_is_the_column_name_and_is_quoted_when_it_must_be() -> None:
    x = draw({"dist": "exponential", "mean": 2.0}, 50)
    line = fit_records(Records.of(x, column="lead time (months)"), ["exponential"], bootstrap=0).toml
    assert line.startswith('"lead time (months)" = {dist = "exponential", mean = ')
    assert set(tomllib.loads(line)) == {"lead time (months)"}


def test_weibull_samples_with_its_mean_and_sd() -> None:
    for dist in (Weibull(dist="weibull", shape=1.8, scale=10.0), Weibull(dist="weibull", shape=0.8, mean=6.0)):
        x = dist.sample(np.random.default_rng(9), 200_000)
        frozen = stats.weibull_min(dist.shape, scale=dist.scale_parameter)
        se = float(frozen.std()) / math.sqrt(len(x))
        assert abs(x.mean() - dist.mean) <= 4 * se and dist.mean == pytest.approx(float(frozen.mean()))
        assert x.std() == pytest.approx(float(frozen.std()), rel=0.03)


# -- the command line ------------------------------------------------------------------------


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["fit", *args])
    return result.exit_code, result.stdout, result.stderr


def test_json_has_the_contract_keys_ranked_best_first() -> None:
    code, out, err = invoke(str(RECORDS), "--column", "flow_months", "--censored-column", "undelivered", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert {"column", "n", "fits", "best", "toml", "n_censored", "notes"} <= set(answer)
    assert answer["column"] == "flow_months" and answer["n"] == 168 and answer["n_censored"] == 33
    for fit in answer["fits"]:
        assert {"dist", "params", "aic", "bic", "ks", "ks_p", "ad", "ad_p"} <= set(fit)
        assert isinstance(fit["params"], dict)
    aics = [f["aic"] for f in answer["fits"]]
    assert aics == sorted(aics) and answer["best"] == answer["fits"][0]["dist"]
    assert set(tomllib.loads(answer["toml"])) == {"flow_months"}


def test_dist_takes_a_comma_list_and_repeats() -> None:
    code, out, err = invoke(str(RECORDS), "--column", "flow_months", "--dist", "gamma,lognormal", "--dist", "normal",
                            "--bootstrap", "9", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert {f["dist"] for f in answer["fits"]} == {"gamma", "lognormal", "normal"}
    assert all(f["ks_p"] is not None and f["ad_p"] is not None for f in answer["fits"])


def test_the_table_and_the_line_to_paste() -> None:
    code, out, _ = invoke(str(RECORDS), "--column", "flow_months", "--censored-column", "undelivered")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "flow_months in " + str(RECORDS) + ": 168 values, 33 censored (undelivered = 1: lower bounds)"
    assert lines[2].split()[:3] == ["rank", "dist", "AIC"]
    assert lines[-1].startswith("flow_months = {dist = ") and "paste into the scenario" in lines[-2]


def _csv(tmp_path: Path, text: str) -> str:
    path = tmp_path / "r.csv"
    path.write_text(text)
    return str(path)


def _column(values: list[Any], flags: list[Any] | None = None) -> str:
    if flags is None:
        return "x\n" + "".join(f"{v}\n" for v in values)
    return "x,open\n" + "".join(f"{v},{f}\n" for v, f in zip(values, flags, strict=True))


GOOD = [round(v, 3) for v in draw({"dist": "gamma", "mean": 5.0, "sd": 2.0}, 30).tolist()]

BAD_INPUTS = [
    pytest.param(None, ["--column", "x"], "no such file", id="missing file"),
    pytest.param(_column(GOOD), ["--column", "y"], "no column 'y'", id="missing column"),
    pytest.param(_column([*GOOD[:5], "soon", *GOOD[5:]]), ["--column", "x"], "line 7: 'soon'", id="non-numeric"),
    pytest.param(_column([*GOOD, "nan"]), ["--column", "x"], "not a finite number", id="nan"),
    pytest.param(_column([*GOOD[:3], -2.5, *GOOD[3:]]), ["--column", "x"], "negative (the first: line 5: -2.5)",
                 id="negative"),
    pytest.param(_column(GOOD[:9]), ["--column", "x"], "9 values; fitting needs at least 10", id="fewer than 10"),
    pytest.param(_column(GOOD[:1]), ["--column", "x"], "'x': 1 value; fitting needs at least 10", id="one value"),
    pytest.param(_column([0, *GOOD]), ["--column", "x", "--dist", "lognormal,gamma"], "cannot take (only values > 0)",
                 id="zeros for positive families"),
    pytest.param(_column(GOOD), ["--column", "x", "--dist", "pareto"], "--dist: unknown distribution 'pareto'",
                 id="unknown dist"),
    pytest.param(_column(GOOD), ["--column", "x", "--dist", "Gamma"], "'Gamma' to fit (did you mean 'gamma'?)",
                 id="dist in capitals"),
    pytest.param("x\n", ["--column", "x"], "'x': no values (there are no rows below the header)", id="header only"),
    pytest.param("x,open\n,0\n,1\n", ["--column", "x"], "'x': no values (every cell of it is empty)",
                 id="every cell empty"),
    pytest.param(_column(GOOD, ["maybe", *[0] * 29]), ["--column", "x", "--censored-column", "open"], "'maybe'",
                 id="bad flag"),
    pytest.param(_column(GOOD, [1] * 27 + [0] * 3), ["--column", "x", "--censored-column", "open"],
                 "3 values are not censored", id="too few exact"),
    pytest.param(_column(GOOD, [1] * 29 + [0]), ["--column", "x", "--censored-column", "open"],
                 "1 value is not censored", id="one exact"),
    pytest.param(_column([4] * 20), ["--column", "x"], "every value is 4", id="constant"),
    pytest.param(_column(GOOD), ["--column", "x", "--chart", "fit.jpg"], "must end in .png", id="chart format"),
    pytest.param("", ["--column", "x"], "is empty", id="empty file"),
    pytest.param(_column([0, 1] * 15, [0] * 30), ["--column", "open", "--censored-column", "open"],
                 "--censored-column 'open' is the column of values itself", id="censored_column_itself"),
    pytest.param(_column(GOOD, [0] * 30).replace(",", ";"), ["--column", "x"],
                 "'x;open': it looks separated by semicolons, but records are read as comma-separated", id="semicolons"),
    pytest.param(_column(GOOD, [0] * 30).replace(",", "\t"), ["--column", "x"], "it looks separated by tabs",
                 id="tabs"),
]


@pytest.mark.parametrize(("text", "args", "message"), BAD_INPUTS)
def test_bad_records_get_one_line_and_exit_2(tmp_path: Path, text: str | None, args: list[str], message: str) -> None:
    path = _csv(tmp_path, text) if text is not None else str(tmp_path / "nowhere.csv")
    code, out, err = invoke(path, *args)
    assert code == 2, (out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err
    assert "Traceback" not in err and not out


def test_a_unicode_column_is_pasted_as_written(tmp_path: Path) -> None:
    """The TOML key of a column named in another script was escaped ("\\u5ef6\\u8fdf"): valid
    TOML, but not the name a planner typed; it is now the name, quoted, and reads back as it."""
    import tomllib

    path = tmp_path / "records.csv"
    path.write_text(_column(GOOD).replace("x", "延迟 月", 1), encoding="utf-8")
    code, out, err = invoke(str(path), "--column", "延迟 月", "--dist", "gamma", "--bootstrap", "0")
    assert code == 0, err
    line = out.strip().splitlines()[-1]
    assert line.startswith('"延迟 月" = {dist = "gamma", ') and list(tomllib.loads(line)) == ["延迟 月"]


@pytest.mark.parametrize("name", ["a\x7fb", 'say "x"', "back\\slash", "tab\there", "延迟 月", "plain_name"])
def test_the_line_to_paste_reads_back_as_the_column(name: str) -> None:
    """A column name with DEL gave a line TOML refuses ("Illegal character '\\x7f'")."""
    import tomllib

    from leadtime_sim.fitting import toml_line

    line = toml_line(name, {"dist": "exponential", "mean": 1.0})
    assert tomllib.loads(line) == {name: {"dist": "exponential", "mean": 1.0}}


def test_a_header_in_decomposed_unicode_is_the_name_typed(tmp_path: Path) -> None:
    """A header saved as "e" + a combining accent (NFD: macOS, some exports) was not the "é"
    typed: "no column 'durée' (did you mean 'durée'?)"; names are now compared composed (NFC)."""
    import unicodedata

    path = tmp_path / "records.csv"
    path.write_text(_column(GOOD).replace("x", unicodedata.normalize("NFD", "durée"), 1), encoding="utf-8")
    code, out, err = invoke(str(path), "--column", "durée", "--dist", "gamma", "--bootstrap", "0")
    assert code == 0, err
    assert out.strip().splitlines()[-1].startswith('"durée" = {dist = "gamma", ')


def test_a_column_name_the_font_lacks_is_one_warning_line(tmp_path: Path) -> None:
    """--chart of a column named in Chinese printed Matplotlib's UserWarning twice per
    character, each with its source line; now one line names the characters."""
    path = tmp_path / "records.csv"
    path.write_text(_column(GOOD).replace("x", "延迟", 1), encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "leadtime_sim", "fit", str(path), "--column", "延迟", "--bootstrap",
                           "0", "--dist", "gamma", "--chart", str(tmp_path / "fit.png")],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stderr.strip().splitlines()  # (none where the machine's font has them)
    assert lines in ([], ["warning: 2 character(s) not in the charts' font, drawn as boxes: 延迟"]), lines


def test_only_the_empirical_says_nothing_of_the_tests(tmp_path: Path) -> None:
    code, out, err = invoke(_csv(tmp_path, _column(GOOD)), "--column", "x", "--dist", "empirical", "--bootstrap", "19",
                            "--json")
    assert code == 0, err
    assert json.loads(out)["notes"] == []  # (no "the AD test cannot reject": no family was tested)


def test_zeros_skip_the_families_that_cannot_take_them(tmp_path: Path) -> None:
    code, out, err = invoke(_csv(tmp_path, _column([0, 0, *GOOD])), "--column", "x", "--bootstrap", "0", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert {f["dist"] for f in answer["fits"]} == {"exponential", "normal", "triangular", "uniform"}
    assert any("gamma, lognormal, weibull skipped: 2 values are 0" in note for note in answer["notes"])


def test_empty_cells_and_blank_lines_are_skipped(tmp_path: Path) -> None:
    text = _column([*GOOD[:4], "", *GOOD[4:]], [0] * 31).replace("\n", "\n\n", 1)
    code, out, err = invoke(_csv(tmp_path, text), "--column", "x", "--censored-column", "open", "--bootstrap", "0", "--json")
    assert code == 0, err
    answer = json.loads(out)
    assert answer["n"] == 30 and answer["n_censored"] == 0 and "1 row with an empty 'x' skipped" in answer["notes"]


def test_flags_written_as_numbers_are_read_as_the_column_list_suggests(tmp_path: Path) -> None:
    """A spreadsheet (or pandas) writes 0/1 as 0.0/1.0: validate lists such a column as a
    --censored-column, and fit takes it as one (it refused every flag)."""
    path = _csv(tmp_path, _column(GOOD, ["1.0", *["0.0"] * 29]))
    code, out, _ = validate(path)
    assert code == 0 and "open: 30 values (only 0 and 1: a --censored-column?)" in out
    code, out, err = invoke(path, "--column", "x", "--censored-column", "open", "--json")
    assert code == 0, err
    assert json.loads(out)["n_censored"] == 1
    code, _, err = invoke(_csv(tmp_path, _column(GOOD, ["0.5", *["0"] * 29])), "--column", "x",
                          "--censored-column", "open")
    assert code == 2 and "1 flag is not 0/1" in err


def test_the_chart_is_a_png(tmp_path: Path) -> None:
    chart = tmp_path / "charts" / "fit.png"
    code, _, err = invoke(str(RECORDS), "--column", "flow_months", "--censored-column", "undelivered",
                          "--chart", str(chart))
    assert code == 0, err
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not [p for p in chart.parent.iterdir() if p.name != "fit.png"]  # no temporaries left


@pytest.mark.parametrize("unit", [1e-300, 1e300])
def test_the_chart_of_values_far_from_one_draws_them(unit: float) -> None:
    """Matplotlib takes a span below ~1e-287 for zero: values of 1e-300 (and the densities of
    values of 1e300) drew empty axes at 0 +- 0.05; drawn in a power of ten of the largest
    value, the chart is the chart of the same values in months, its unit in the labels."""
    from matplotlib.figure import Figure

    from leadtime_sim import plotting
    from leadtime_sim.fitting import chart_data

    x = np.random.default_rng(1).gamma(4, 3, 40)
    drawn = []
    for values in (x, x * unit):
        fig = plotting.fit_figure(chart_data(fit_records(Records.of(values), ["gamma"], bootstrap=0)))
        assert isinstance(fig, Figure)
        density, qq = fig.axes
        drawn.append((max(p.get_height() for p in density.patches), density.get_ylim()[1],
                      density.lines[0].get_ydata().max(), qq.get_xlim()[1], density.get_xlabel()))
    assert drawn[1][0] == pytest.approx(drawn[0][0] * 10, rel=1e-9)  # values of up to 27: in units of 10
    assert 0.9 < drawn[1][0] / drawn[1][1] < 1.0 and drawn[1][2] / drawn[1][1] > 0.5  # bars and curve fill the axes
    assert drawn[0][4] == "value" and drawn[1][4] == f"value (in units of {unit * 10:.0e})"


def test_a_chart_under_a_file_names_the_file(tmp_path: Path) -> None:
    """--chart records.csv/fit.png said "cannot create the output directory: File exists"."""
    records = _csv(tmp_path, _column(GOOD))
    code, out, err = invoke(records, "--column", "x", "--bootstrap", "0", "--chart", f"{records}/charts/fit.png")
    assert code == 2 and not out
    assert err.strip() == (f"error: {records}/charts: cannot create the output directory: {records} is a file, "
                           "not a directory")


def test_a_chart_that_cannot_be_written_is_refused_before_the_fit(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """The fit and its bootstrap ran first (seconds of work), then the chart path failed."""
    import leadtime_sim.cli.fit as fit_cli

    def no_fit(*args: object, **kwargs: object) -> None:
        raise AssertionError("the fit ran")

    monkeypatch.setattr(fit_cli, "fit_records", no_fit)
    records = _csv(tmp_path, _column(GOOD))
    code, out, err = invoke(records, "--column", "x", "--chart", f"{records}/fit.png")
    assert code == 2 and not out
    assert err.strip() == f"error: {records}: is a file, not a directory; cannot write into it"


def test_python_dash_m_fit() -> None:
    done = subprocess.run([sys.executable, "-m", "leadtime_sim", "fit", str(RECORDS), "--column", "flow_months",
                           "--censored-column", "undelivered"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1].startswith('flow_months = {dist = "')


def test_a_misspelt_column_gets_a_hint(tmp_path: Path) -> None:
    code, _, err = invoke(str(RECORDS), "--column", "flow_month")
    assert code == 2 and "no column 'flow_month' (did you mean 'flow_months'?)" in err


# -- the example records and the README ------------------------------------------------------


def example_records() -> str:
    """models/delivery_records.csv: lots leaving a line (1 a month in 2018, rising to 3 in
    2024), each spending gamma(mean 12, sd 4) months in integration and test; at the data cut
    (2025-01) the lots still in test are censored (undelivered = 1, months so far)."""
    rng = np.random.default_rng(14)
    shape, scale = 9.0, 12.0 / 9.0
    rows = ["lot,left_line,flow_months,undelivered"]
    k = 0
    for month in range(84):
        for _ in range(round(1 + 2 * month / 83)):
            k += 1
            left = month + rng.random()
            flow = rng.gamma(shape, scale)
            elapsed = 84 - left
            if flow > elapsed:
                value, flag = math.floor(elapsed * 10) / 10, 1  # a lower bound stays one
            else:
                value, flag = round(flow, 1), 0
            rows.append(f"L{k:03d},{2018 + month // 12}-{month % 12 + 1:02d},{value:.1f},{flag}")
    return "\n".join(rows) + "\n"


def test_the_example_records_are_what_the_readme_says() -> None:
    assert RECORDS.read_text() == example_records()


def test_the_readme_shows_what_the_command_prints(monkeypatch: pytest.MonkeyPatch) -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Fitting input distributions: `leadtime-sim fit`")[1].split("\n## ")[0]
    block = section.split("```\n$ ")[1].split("```")[0]
    command, _, shown = block.partition("\n")
    monkeypatch.chdir(ROOT)
    args = command.split()
    assert args[:2] == ["leadtime-sim", "fit"]
    result = CliRunner().invoke(main, args[1:])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == shown.strip()


# -- validate RECORDS.csv: fit's checks, nothing fitted ----------------------------------------


def validate(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["validate", *args])
    return result.exit_code, result.stdout, result.stderr


FIT_CHECKS = [case for case in BAD_INPUTS if "--dist" not in case.values[1] and "--chart" not in case.values[1]]
"""The bad records that fail whatever is fitted: validate --column must refuse them too."""


@pytest.mark.parametrize(("text", "args", "message"), FIT_CHECKS)
def test_validate_column_refuses_what_fit_refuses_with_the_same_line(tmp_path: Path, text: str | None,
                                                                     args: list[str], message: str) -> None:
    path = _csv(tmp_path, text) if text is not None else str(tmp_path / "nowhere.csv")
    code, out, err = validate(path, *args)
    assert code == 2, (out, err)
    assert len(err.strip().splitlines()) == 1 and message in err and "Traceback" not in err and not out
    assert err == invoke(path, *args, "--bootstrap", "0")[2]  # fit's own message, word for word


def test_validate_says_a_file_of_semicolons_is_not_read_as_comma_separated(tmp_path: Path) -> None:
    """A spreadsheet's export in a European locale: the header was shown as one column, 'x;open'."""
    code, out, err = validate(_csv(tmp_path, _column(GOOD, [0] * 30).replace(",", ";")))
    assert code == 2 and not out
    assert err.strip().endswith("(the header has 'x;open': it looks separated by semicolons, but records are read "
                                "as comma-separated values (a point as the decimal mark): save it as CSV with commas)")


def test_validate_column_accepts_what_fit_takes_and_fits_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    import leadtime_sim.fitting as fitting

    monkeypatch.setattr(fitting, "fit_records", lambda *a, **k: pytest.fail("validate fitted"))
    code, out, err = validate(str(RECORDS), "--column", "flow_months", "--censored-column", "undelivered")
    assert code == 0, err
    assert out == (f"{RECORDS}: ok (CSV records, column 'flow_months': 168 values, 33 censored "
                   "(undelivered = 1), ready to fit)\n")


def test_validate_without_column_lists_the_numeric_columns_and_their_values() -> None:
    code, out, err = validate(str(RECORDS))
    assert code == 0, err
    assert out.splitlines() == [
        f"{RECORDS}: ok (CSV records: 168 rows, 2 of 4 columns numeric; validate --column NAME checks one "
        "as fit would)",
        "  flow_months: 168 values",
        "  undelivered: 168 values (only 0 and 1: a --censored-column?)",
        "  not numeric: lot, left_line",
    ]


def test_the_column_list_says_which_columns_fit_would_refuse_and_why(tmp_path: Path) -> None:
    rows = [f"{v},{-1 if k == 2 else k},{'soon' if k == 4 else k + 1},L{k}," for k, v in enumerate(GOOD)]
    path = _csv(tmp_path, "good,signed,typo,lot,blank\n" + "\n".join(rows) + "\n1.5,,,,\n")
    code, out, err = validate(path)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{path}: ok (CSV records: 31 rows, 3 of 5 columns numeric")
    assert lines[1] == "  good: 31 values"
    assert lines[2].startswith("  signed: 30 values, 1 empty; fit refuses it: 1 value is negative (the first: line 4")
    assert lines[3] == "  typo: 29 values, 1 empty; fit refuses it: 1 value is not a finite number (the first: line 6: 'soon')"
    assert lines[4] == "  not numeric: lot, blank"


@pytest.mark.parametrize(("text", "args", "message"), [
    pytest.param("lot,line\nL1,a\nL2,b\n", [], "r.csv: no numeric column (the header has 'lot', 'line')", id="no numbers"),
    pytest.param("x,open\n", [], "r.csv: no numeric column (no rows below the header)", id="header only"),
    pytest.param(_column(GOOD), ["--censored-column", "open"], "--censored-column: needs --column", id="flags alone"),
    pytest.param(None, ["--column", "x"], "--column: checks CSV records files (.csv), and none is given",
                 id="column without csv"),
])
def test_validate_refuses_records_with_nothing_to_fit(tmp_path: Path, text: str | None, args: list[str],
                                                      message: str) -> None:
    path = _csv(tmp_path, text) if text is not None else str(ROOT / "models" / "mmc_check.toml")
    code, out, err = validate(path, *args)
    assert code == 2 and not out and "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], err


def test_python_dash_m_validate_records(tmp_path: Path) -> None:
    bad = _csv(tmp_path, _column([*GOOD[:3], -2.5, *GOOD[3:]]))
    done = subprocess.run([sys.executable, "-m", "leadtime_sim", "validate", str(RECORDS), bad, "--column", "x"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.splitlines() == [f"error: {RECORDS}: no column 'x'; the header has 'lot', 'left_line', "
                                        "'flow_months', 'undelivered'",
                                        f"error: {bad}: column 'x': 1 value is negative (the first: line 5: -2.5); "
                                        "no distribution of the scenario format takes negative values"]
    good = subprocess.run([sys.executable, "-m", "leadtime_sim", "validate", str(RECORDS)],
                          capture_output=True, text=True, check=False)
    assert good.returncode == 0 and "flow_months: 168 values" in good.stdout, good.stderr


def test_the_readme_shows_what_validate_prints_for_records(monkeypatch: pytest.MonkeyPatch) -> None:
    section = (ROOT / "README.md").read_text().split("* **Checking records first**")[1].split("\n* ")[0]
    command, _, shown = section.split("```\n  $ ")[1].split("  ```")[0].partition("\n")
    monkeypatch.chdir(ROOT)
    code, out, err = validate(*command.split()[2:])
    assert code == 0, err
    assert out.strip() == "\n".join(line.removeprefix("  ") for line in shown.strip().splitlines())


def test_validate_takes_records_beside_scenarios() -> None:
    code, out, err = validate(str(ROOT / "models" / "mmc_check.toml"), str(RECORDS), "--column", "flow_months")
    assert code == 0, err
    assert [line.split(": ok (")[1].split(",")[0] for line in out.splitlines()] == [
        "scenario M/M/c check)", "CSV records"]


def test_the_chart_of_censored_records_draws_the_fit_past_the_lower_bounds() -> None:
    """200 lognormal values (median 10) censored at uniform(0, 8) times: 192 are lower bounds
    and the fits put most of their probability beyond the largest record (weibull: 74%), but
    the densities were drawn over the records' range alone, up to 8, cutting off the fitted
    distribution's peak. They now go on to its 99% quantile (at most 4 times the largest);
    without censoring the grid is the records' as before."""
    from leadtime_sim.fitting import chart_data

    rng = np.random.default_rng(3)
    durations, cut = rng.lognormal(np.log(10), 0.5, 200), rng.uniform(0, 8, 200)
    records = Records.of(np.minimum(durations, cut), cut < durations)
    report = fit_records(records, ["weibull"], bootstrap=0)
    largest = float(records.values.max())
    grid_end = chart_data(report)["curves"][0]["x"][-1]
    assert report.fits[0].frozen.sf(largest) > 0.5
    assert grid_end > largest * 1.3 and grid_end >= report.fits[0].frozen.ppf(0.99)
    exact = Records.of(durations)
    span = float(durations.max() - durations.min())
    assert chart_data(fit_records(exact, ["weibull"], bootstrap=0))["curves"][0]["x"][-1] == pytest.approx(
        durations.max() + 0.05 * span)


def test_a_fit_to_mostly_lower_bounds_says_its_tail_is_the_familys() -> None:
    """183 of 200 values censored (lognormal, median 10, censored at uniform(0, 8)): most
    families within 2 AIC, and the lowest (lognormal) puts 69% of its probability past the
    largest value, where no record is; the fits agree on the records and differ past them
    (means 8.9 to 13.8). The notes said only that the records hardly tell them apart; now also
    how much of the suggestion is extrapolated, and the means. Records mostly delivered (the
    README's, 33 of 168 censored) get no such note."""
    from leadtime_sim.fitting import read_records

    rng = np.random.default_rng(3)
    durations, cut = rng.lognormal(np.log(10), 0.5, 200), rng.uniform(0, 8, 200)
    report = fit_records(Records.of(np.minimum(durations, cut), cut < durations), bootstrap=0)
    [note] = [n for n in report.notes if "past the largest value" in n]
    best, largest = report.fits[0], np.minimum(durations, cut).max()
    assert best.frozen.sf(largest) > 0.5
    assert note.startswith(f"{best.dist} puts {best.frozen.sf(largest):.0%} of its probability past the "
                           f"largest value ({largest:.6g}), where no record is (183 of 200 values are only")
    near = [f for f in report.fits if f.aic - best.aic < 2]
    assert len(near) > 2 and note.endswith(
        "(means: " + ", ".join(f"{f.dist} {f.frozen.mean():.4g}" for f in near) + ")")
    readme = read_records(RECORDS, "flow_months", "undelivered")
    assert not [n for n in fit_records(readme, bootstrap=0).notes if "past the largest" in n]


def test_records_in_whole_months_are_not_rejected_for_their_ties() -> None:
    """300 gamma values (mean 6, sd 2.4) recorded in whole months: ties, which raise KS and AD
    against any continuous fit, while the bootstrap samples, unrounded, had none; every family
    was rejected (gamma's AD p = 0.005) and the empirical distribution suggested. The samples
    are now rounded to the records' grid, and gamma, the family they came from, is suggested."""
    from leadtime_sim.fitting import resolution

    values = np.round(np.random.default_rng(5).gamma(6, 1, 300))
    report = fit_records(Records.of(values), ["gamma", "lognormal", "normal"])
    gamma = next(f for f in report.fits if f.dist == "gamma")
    assert report.best == "gamma" and gamma.ad_p > 0.05 and gamma.ks_p > 0.05
    assert "the values are recorded to 1 (with ties), and each sample is rounded to it alike" in report.p_values
    assert resolution(np.array([0.1, 0.2, 0.2, 0.3, 0.5])) == pytest.approx(0.1)
    assert resolution(np.array([10.0, 20.0, 20.0])) == 10
    assert resolution(np.array([1.0, 2.0, 3.0])) is None  # (no ties: no grid to mimic)
    assert resolution(np.array([1.25, 1.25, 3.1])) is None  # (1.25 is no multiple of the step, 1.85)
    assert resolution(np.array([1.0, 1.0, 9.0, 10.0])) is None  # (3 of the 10 points 1-10: a gap, not a grid)
    assert resolution(np.sort(np.random.default_rng(1).gamma(4, 3, 50))) is None
