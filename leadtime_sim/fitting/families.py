"""The families ``fit`` fits: maximum likelihood (exact and right-censored values) and
log-CDFs, each in the scenario format's own parameterisation (``distributions.py``).

exponential (mean), gamma (mean, sd), lognormal (median, sigma), weibull (shape, scale),
normal (mean, sd of the normal truncated at zero), triangular (low, mode, high), uniform
(low, high). ``scipy.stats`` does the fits (``CensoredData`` when values are censored).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, special, stats

FloatArray = np.ndarray
Params = dict[str, float]


# -- the families ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """A distribution of the scenario format, as far as fitting needs it."""

    name: str
    parameters: int
    positive: bool
    """Takes only values > 0 (else >= 0): a zero makes its likelihood zero or unbounded."""
    fit: Callable[[FloatArray], Params]
    """Maximum likelihood on exact values -> parameters in the scenario's terms."""
    fit_censored: Callable[[FloatArray, FloatArray, Params], Params]
    """Maximum likelihood with right-censored values (values, flags, a starting point)."""
    frozen: Callable[[Params], Any]
    """The scenario's parameters -> the frozen ``scipy.stats`` distribution."""
    log_cdf_sf: Callable[[Params, FloatArray], tuple[FloatArray, FloatArray]]
    """log F(x) and log(1 - F(x)) from special functions: the goodness-of-fit statistics
    need them for every bootstrap sample, and a frozen SciPy distribution costs ~1 ms to make."""
    bounds: tuple[str, ...] = ()
    """Support ends (rounded outwards in the snippet, so every record stays inside)."""


def _censored_data(x: FloatArray, censored: FloatArray) -> Any:
    return stats.CensoredData.right_censored(x, censored)


def _quiet(fit: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """A SciPy fit without its optimiser's warnings (a failure shows in the likelihood)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fit(*args, **kwargs)


def _exponential(x: FloatArray) -> Params:
    return {"mean": float(np.mean(x))}


def _exponential_censored(x: FloatArray, censored: FloatArray, start: Params) -> Params:
    _, scale = _quiet(stats.expon.fit, _censored_data(x, censored), floc=0, scale=start["mean"])
    return {"mean": float(scale)}


def _gamma_params(shape: float, scale: float) -> Params:
    return {"mean": float(shape * scale), "sd": float(math.sqrt(shape) * scale)}


def _gamma(x: FloatArray) -> Params:
    shape, _, scale = _quiet(stats.gamma.fit, x, floc=0)
    return _gamma_params(shape, scale)


def _gamma_censored(x: FloatArray, censored: FloatArray, start: Params) -> Params:
    shape0 = (start["mean"] / start["sd"]) ** 2
    shape, _, scale = _quiet(stats.gamma.fit, _censored_data(x, censored), shape0, floc=0,
                             scale=start["mean"] / shape0)
    return _gamma_params(shape, scale)


def _gamma_frozen(p: Params) -> Any:
    shape = (p["mean"] / p["sd"]) ** 2
    return stats.gamma(shape, scale=p["mean"] / shape)


def _lognormal(x: FloatArray) -> Params:
    logs = np.log(x)
    return {"median": float(np.exp(np.mean(logs))), "sigma": float(np.std(logs))}


def _lognormal_censored(x: FloatArray, censored: FloatArray, start: Params) -> Params:
    sigma, _, median = _quiet(stats.lognorm.fit, _censored_data(x, censored), start["sigma"], floc=0,
                              scale=start["median"])
    return {"median": float(median), "sigma": float(sigma)}


def _weibull(x: FloatArray) -> Params:
    """Weibull MLE: the shape k solves sum(x^k ln x) / sum(x^k) - 1/k = mean(ln x)."""
    logs = np.log(x)
    top = logs.max()
    mean_log = logs.mean()

    def score(k: float) -> float:
        w = np.exp(k * (logs - top))  # x^k / max(x)^k: no overflow
        return float(np.dot(w, logs) / w.sum() - 1 / k - mean_log)

    low, high = 0.01, 100.0
    while score(high) < 0 and high < 1e6:
        high *= 10
    k = optimize.brentq(score, low, high, xtol=1e-12) if score(low) < 0 < score(high) else math.nan
    if not math.isfinite(k):
        shape, _, scale = _quiet(stats.weibull_min.fit, x, floc=0)
        return {"shape": float(shape), "scale": float(scale)}
    scale = math.exp(top) * float(np.mean(np.exp(k * (logs - top)))) ** (1 / k)
    return {"shape": float(k), "scale": scale}


def _weibull_censored(x: FloatArray, censored: FloatArray, start: Params) -> Params:
    shape, _, scale = _quiet(stats.weibull_min.fit, _censored_data(x, censored), start["shape"], floc=0,
                             scale=start["scale"])
    return {"shape": float(shape), "scale": float(scale)}


def _mills(t: FloatArray | float) -> Any:
    """phi(t) / Phi(t), without underflow far in the left tail."""
    return np.exp(-0.5 * np.square(t) - 0.5 * math.log(2 * math.pi) - special.log_ndtr(t))


def _normal_nll(theta: FloatArray, x: FloatArray, c: FloatArray) -> tuple[float, FloatArray]:
    """Minus the log-likelihood of the normal truncated at zero, and its gradient, in
    (mean, log sd); exact values x, lower bounds c."""
    mu, sigma = float(theta[0]), math.exp(theta[1])
    z, a, w = (x - mu) / sigma, mu / sigma, (mu - c) / sigma
    n = len(x) + len(c)
    value = (len(x) * (theta[1] + 0.5 * math.log(2 * math.pi)) + 0.5 * float(np.dot(z, z))
             + n * float(special.log_ndtr(a)) - float(np.sum(special.log_ndtr(w))))
    lam_a, lam_w = float(_mills(a)), _mills(w)
    d_mu = (-float(np.sum(z)) + n * lam_a - float(np.sum(lam_w))) / sigma
    d_log_sd = len(x) - float(np.dot(z, z)) - n * lam_a * a + float(np.dot(lam_w, w))
    return value, np.array([d_mu, d_log_sd])


def _normal_fit(x: FloatArray, c: FloatArray) -> Params:
    """The scenario's normal is truncated at zero (and its ``mean`` >= 0), which SciPy's
    ``truncnorm.fit`` cannot express (its bounds are in units of the scale that it fits):
    the likelihood is maximised directly, in units of the data's spread."""
    values = np.concatenate([x, c])
    top = float(np.max(np.abs(values))) or 1.0
    unit = float(np.std(values / top)) * top or 1.0  # (over top: the squares of 1e155 overflow)
    xs, cs = x / unit, c / unit
    spread = float(np.std(xs)) or 1.0  # (exact values all alike: the spread of all of them, 1 in units)
    start = np.array([max(float(np.mean(xs)), 0.0), math.log(max(spread, 1e-3))])
    with np.errstate(all="ignore"):
        best = optimize.minimize(_normal_nll, start, args=(xs, cs), method="SLSQP", jac=True,
                                 bounds=[(0.0, None), (-20.0, 20.0)])
    return {"mean": float(best.x[0] * unit), "sd": float(math.exp(best.x[1]) * unit)}


def _normal(x: FloatArray) -> Params:
    top = float(np.max(np.abs(x))) or 1.0
    mean, sd = float(np.mean(x)), float(np.std(x / top)) * top  # (over top: no overflow)
    if sd > 0 and mean > 8 * sd:  # the truncation at zero changes the likelihood by < 1e-15
        return {"mean": mean, "sd": sd}
    return _normal_fit(x, x[:0])


def _normal_censored(x: FloatArray, censored: FloatArray, start: Params) -> Params:
    return _normal_fit(x[~censored], x[censored])


def _normal_frozen(p: Params) -> Any:
    return stats.truncnorm(-p["mean"] / p["sd"], math.inf, loc=p["mean"], scale=p["sd"])


def _triangular_profile(x: FloatArray, low: float, high: float) -> tuple[float, float]:
    """For sorted values and given ends, the log-likelihood maximised over the mode, and that
    mode: the maximum is at one of the values (Oliver 1972). With the mode at value r, the
    values below it rise, ln 2(x - low) / ((high - low)(x_r - low)), those above fall."""
    n = len(x)
    with np.errstate(all="ignore"):
        up, down = np.log(x - low), np.log(high - x)
        before = np.cumsum(up) - up  # sum over i < r
        after = down.sum() - np.cumsum(down)  # sum over i > r
        r = np.arange(n)
        ll = n * math.log(2 / (high - low)) + before - r * up + after - (n - 1 - r) * down
    ll[0] = n * math.log(2 / (high - low)) + after[0] - (n - 1) * down[0]  # 0 * log(0) is 0 here
    ll[-1] = n * math.log(2 / (high - low)) + before[-1] - (n - 1) * up[-1]
    ll[np.isnan(ll)] = -np.inf
    k = int(np.argmax(ll))
    return float(ll[k]), float(x[k])


def _low_end(first: float, span: float, gap: float) -> float:
    """The lower end ``gap`` ranges below the smallest value, never below zero; at the search's
    bound (low = 0) the subtraction leaves rounding noise (4.4e-16), which is zero."""
    low = first - span * gap
    return low if low > 1e-12 * max(first, span) else 0.0


def _triangular(x: FloatArray) -> Params:
    """Maximum likelihood over the ends (low >= 0, as the scenario needs), the mode profiled.
    The ends are searched as distances beyond the extreme values, in units of their range;
    a distance of 0 (an end at a value, which is also the mode) is allowed."""
    xs = np.sort(x)
    first, last = float(xs[0]), float(xs[-1])
    span = last - first

    def nll(gaps: FloatArray) -> float:
        ll, _ = _triangular_profile(xs, _low_end(first, span, gaps[0]), last + span * gaps[1])
        return -ll if math.isfinite(ll) else 1e300

    room = first / span  # low = 0 at most
    best = optimize.minimize(nll, np.array([min(0.1, room / 2), 0.1]), method="Nelder-Mead",
                             bounds=[(0.0, room), (0.0, 10.0)],
                             options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
    low, high = _low_end(first, span, best.x[0]), last + span * best.x[1]
    _, mode = _triangular_profile(xs, low, high)
    return {"low": float(low), "mode": mode, "high": float(high)}


def _above_every_value(x: FloatArray, high: float, low: float) -> float:
    """A starting upper end beyond every value, censored ones included (where the fit of the
    exact values ends, a lower bound beyond it would have probability zero)."""
    top = float(np.max(x))
    return max(high, top + 0.05 * (top - low))


def _triangular_censored(x: FloatArray, censored: FloatArray, start: Params) -> Params:
    start = {**start, "high": _above_every_value(x, start["high"], start["low"])}
    width = start["high"] - start["low"]
    shape = (start["mode"] - start["low"]) / width
    data = _censored_data(x, censored)
    c, loc, scale = _quiet(stats.triang.fit, data, shape, loc=start["low"], scale=width)
    if loc < 0:  # the scenario's triangular starts at zero or later
        c, loc, scale = _quiet(stats.triang.fit, data, shape, floc=0.0, scale=start["high"])
    fitted = {"low": float(loc), "mode": float(loc + c * scale), "high": float(loc + scale)}
    if not math.isfinite(_triangular_censored_loglik(fitted, x, censored)):
        fitted = _triangular_censored_inside(x, censored, start)
    return _triangular_censored_polished(x, censored, fitted)


def _triangular_censored_polished(x: FloatArray, censored: FloatArray, start: Params) -> Params:
    """The censored likelihood maximised from ``start`` with the ends as distances beyond the
    extreme values (as ``_triangular``): SciPy's fit and the search inside the support stop
    short where the maximum has ``low`` at the smallest exact value (which is then the mode),
    a loss of up to 0.3 in log-likelihood on records of 30. Returns ``start`` if no better."""
    first, top = float(np.min(x[~censored])), float(np.max(x))
    span = top - first or 1.0

    def params(theta: FloatArray) -> Params:
        low, high = _low_end(first, span, float(theta[0])), top + span * float(theta[1])
        return {"low": low, "mode": low + (high - low) * float(theta[2]), "high": high}

    def nll(theta: FloatArray) -> float:
        ll = _triangular_censored_loglik(params(theta), x, censored)
        return -ll if math.isfinite(ll) else 1e300

    room = first / span  # low = 0 at most
    width = start["high"] - start["low"]
    theta0 = np.array([min(max((first - start["low"]) / span, 0.0), room),
                       min(max((start["high"] - top) / span, 1e-9), 10.0),
                       min(max((start["mode"] - start["low"]) / width, 0.0), 1.0)])
    best = start
    for guess in (theta0, np.array([0.0, theta0[1], 0.0])):  # (and low = mode = the smallest exact value)
        found = optimize.minimize(nll, guess, method="Nelder-Mead",
                                  bounds=[(0.0, room), (1e-12, 10.0), (0.0, 1.0)],
                                  options={"xatol": 1e-9, "fatol": 1e-10, "maxiter": 4000})
        candidate = params(found.x)
        if (_triangular_censored_loglik(candidate, x, censored)
                > _triangular_censored_loglik(best, x, censored)):
            best = candidate
    return best


def _triangular_censored_loglik(p: Params, x: FloatArray, censored: FloatArray) -> float:
    """The censored log-likelihood of a triangular (-inf when a value is outside its support)."""
    width = p["high"] - p["low"]
    if not width > 0:
        return -math.inf
    c = (p["mode"] - p["low"]) / width
    with np.errstate(all="ignore"):
        value = float(np.sum(stats.triang.logpdf(x[~censored], c, p["low"], width))
                      + np.sum(stats.triang.logsf(x[censored], c, p["low"], width)))
    return value if not math.isnan(value) else -math.inf


def _triangular_censored_inside(x: FloatArray, censored: FloatArray, start: Params) -> Params:
    """The censored likelihood maximised with every value inside the support (SciPy's fit can
    end with an exact value below ``low``, where the likelihood is zero): low between 0 and
    the smallest exact value, high beyond every value, the mode between them."""
    first, top = float(np.min(x[~censored])), float(np.max(x))
    span = top - first or 1.0

    def fraction(v: float) -> float:
        return min(max(v, 1e-6), 1 - 1e-6)

    def params(theta: FloatArray) -> Params:
        low = first * float(special.expit(theta[0]))
        high = top + span * math.exp(theta[1])
        return {"low": low, "mode": low + (high - low) * float(special.expit(theta[2])), "high": high}

    def nll(theta: FloatArray) -> float:
        ll = _triangular_censored_loglik(params(theta), x, censored)
        return -ll if math.isfinite(ll) else 1e300

    low = min(start["low"], first)
    theta0 = np.array([special.logit(fraction(low / first)) if first > 0 else 0.0,
                       math.log(max(start["high"] - top, 1e-6 * span) / span),
                       special.logit(fraction((start["mode"] - low) / (start["high"] - low)))])
    best = optimize.minimize(nll, theta0, method="Nelder-Mead",
                             options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})
    return params(best.x)


def _triangular_frozen(p: Params) -> Any:
    width = p["high"] - p["low"]
    return stats.triang((p["mode"] - p["low"]) / width, loc=p["low"], scale=width)


def _uniform(x: FloatArray) -> Params:
    return {"low": float(np.min(x)), "high": float(np.max(x))}


def _uniform_censored(x: FloatArray, censored: FloatArray, start: Params) -> Params:
    """low = the smallest exact value; high maximises the censored likelihood (a line search:
    SciPy's general censored fit steps outside the support, where the likelihood is zero)."""
    low = float(np.min(x[~censored]))
    bounds = x[censored & (x > low)]
    exact = int(np.count_nonzero(~censored))

    def nll(high: float) -> float:
        with np.errstate(divide="ignore"):
            return float((exact + len(bounds)) * math.log(high - low) - np.sum(np.log(high - bounds)))

    top = float(np.max(x))  # high = top: the largest value, if exact (else its probability is 0)
    best = optimize.minimize_scalar(nll, bounds=(top, low + 100 * (top - low)), method="bounded",
                                    options={"xatol": 1e-10 * (top - low)})
    return {"low": low, "high": float(best.x) if nll(float(best.x)) <= nll(top) else top}


def _uniform_frozen(p: Params) -> Any:
    return stats.uniform(loc=p["low"], scale=p["high"] - p["low"])


def _log1mexp(log_p: FloatArray) -> FloatArray:
    """log(1 - p) from log p, accurate at both ends."""
    with np.errstate(all="ignore"):
        return np.where(log_p > -0.693, np.log(-np.expm1(log_p)), np.log1p(-np.exp(log_p)))


def _exponential_cdf(p: Params, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    log_sf = -x / p["mean"]
    return _log1mexp(log_sf), log_sf


def _gamma_cdf(p: Params, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    shape = (p["mean"] / p["sd"]) ** 2
    z = x * shape / p["mean"]
    with np.errstate(all="ignore"):
        return np.log(special.gammainc(shape, z)), np.log(special.gammaincc(shape, z))


def _lognormal_cdf(p: Params, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    with np.errstate(all="ignore"):
        z = (np.log(x) - math.log(p["median"])) / p["sigma"]
    return special.log_ndtr(z), special.log_ndtr(-z)


def _weibull_cdf(p: Params, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    log_sf = -((x / p["scale"]) ** p["shape"])
    return _log1mexp(log_sf), log_sf


def _normal_cdf(p: Params, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    mu, sd = p["mean"], p["sd"]
    log_sf = special.log_ndtr((mu - x) / sd) - special.log_ndtr(mu / sd)
    return _log1mexp(np.minimum(log_sf, 0.0)), log_sf


def _triangular_cdf(p: Params, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    low, mode, high = p["low"], p["mode"], p["high"]
    # In units of the width: (y - low)^2 overflowed for values of 1e155 or more (KS = 1).
    u = np.clip((x - low) / (high - low), 0.0, 1.0)
    m = (mode - low) / (high - low)
    with np.errstate(all="ignore"):
        rising = u**2 / m if m > 0 else np.zeros_like(u)
        falling = (1 - u) ** 2 / (1 - m) if m < 1 else np.zeros_like(u)
        cdf = np.where(u <= m, rising, 1 - falling)
        return np.log(cdf), np.log1p(-cdf)


def _uniform_cdf(p: Params, x: FloatArray) -> tuple[FloatArray, FloatArray]:
    cdf = np.clip((x - p["low"]) / (p["high"] - p["low"]), 0.0, 1.0)
    with np.errstate(all="ignore"):
        return np.log(cdf), np.log1p(-cdf)


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("exponential", 1, False, _exponential, _exponential_censored,
           lambda p: stats.expon(scale=p["mean"]), _exponential_cdf),
    Family("gamma", 2, True, _gamma, _gamma_censored, _gamma_frozen, _gamma_cdf),
    Family("lognormal", 2, True, _lognormal, _lognormal_censored,
           lambda p: stats.lognorm(p["sigma"], scale=p["median"]), _lognormal_cdf),
    Family("weibull", 2, True, _weibull, _weibull_censored,
           lambda p: stats.weibull_min(p["shape"], scale=p["scale"]), _weibull_cdf),
    Family("normal", 2, False, _normal, _normal_censored, _normal_frozen, _normal_cdf),
    Family("triangular", 3, False, _triangular, _triangular_censored, _triangular_frozen, _triangular_cdf,
           ("low", "high")),
    Family("uniform", 2, False, _uniform, _uniform_censored, _uniform_frozen, _uniform_cdf, ("low", "high")),
)}
"""The fitted families, by their scenario name."""
FIT_NAMES = (*FAMILIES, "empirical")
"""What ``families`` may name: the fitted families and the empirical distribution."""
