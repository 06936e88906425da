"""Fitting the scenario's distributions to records: maximum likelihood, ranked by AIC.

``read_records`` reads one numeric column of a CSV file (and optionally a 0/1 column
marking right-censored values: orders not yet delivered, whose value is only a lower
bound); ``check_records`` checks the values as every fit needs them (``fit`` and
``validate --column`` both call it; ``summarise_records`` applies it to every numeric
column); ``fit_records`` fits each family of the scenario format by maximum likelihood
(``scipy.stats``; ``scipy.stats.CensoredData`` when values are censored), ranks the fits
by AIC, tests each with Kolmogorov-Smirnov and Anderson-Darling statistics, and gives the
best as a scenario table, e.g. ``{dist = "gamma", mean = 12.1, sd = 3.9}``. The empirical
distribution of the records is the fallback when every family is rejected.

Parameters are always in the scenario's own parameterisation (``distributions.py``):
exponential (mean), gamma (mean, sd), lognormal (median, sigma), weibull (shape, scale),
normal (mean, sd of the normal truncated at zero), triangular (low, mode, high), uniform
(low, high), empirical (values, weights).

The records are read in ``records.py``, the families fitted in ``families.py``; here the fits
are ranked, tested and written as TOML. Nothing here prints or reads the command line; bad
input raises ``InputError``.
"""

from __future__ import annotations

import difflib
import json
import math
import re
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError
from scipy import stats

from leadtime_sim.distributions import Distribution
from leadtime_sim.errors import InputError
from leadtime_sim.fitting.families import FAMILIES, FIT_NAMES, Family, FloatArray, Params
from leadtime_sim.fitting.records import (
    Records,
    check_records,
    count_text,
    read_records,
    summarise_records,
)
from leadtime_sim.survival import kaplan_meier

SIGNIFICANT = 4
"""Significant figures of the parameters in the TOML snippet."""
CLOSE_AIC = 2.0
"""Fits whose AIC is within this of the lowest are about as well supported (Burnham and
Anderson 2002, section 2.6): the report says so."""
REJECT_BELOW = 0.05
"""A family whose Anderson-Darling p-value is below this is not suggested."""
GRID_TOLERANCE = 1e-6
"""How near a whole multiple of a grid's step a recorded value must be (``resolution``):
tenths read from text are not exact multiples of 0.1 in binary."""
BEYOND_NOTED = 0.25
"""Under censoring, a best fit with this much probability past the largest value gets a note."""
DEFAULT_BOOTSTRAP = 199
"""Parametric bootstrap samples for the goodness-of-fit p-values (p resolution 0.005)."""
LOG_FLOOR = -30.0
"""log F and log(1 - F) are floored here in the Anderson-Darling sum, where a fitted support
ends at a value (uniform, triangular: F = 0 at the smallest)."""

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)


# -- goodness of fit -------------------------------------------------------------------------


def gof_statistics(family: Family, params: Params, sorted_x: FloatArray) -> tuple[float, float]:
    """Kolmogorov-Smirnov D and Anderson-Darling A^2 between sorted values and a fit."""
    n = len(sorted_x)
    log_cdf, log_sf = (np.maximum(np.nan_to_num(v, nan=LOG_FLOOR, neginf=LOG_FLOOR), LOG_FLOOR)
                       for v in family.log_cdf_sf(params, sorted_x))
    cdf = np.exp(log_cdf)
    i = np.arange(1, n + 1)
    ks = float(max(np.max(i / n - cdf), np.max(cdf - (i - 1) / n)))
    ad = float(-n - np.mean((2 * i - 1) * (log_cdf + log_sf[::-1])))
    return ks, ad


SCALE_FREE = frozenset({"shape", "sigma"})
"""Parameters without a unit; every other one scales with the values (each family is a scale
family): the fits are made in units of the records' order of magnitude (``_unit``)."""


def _unit(sorted_exact: FloatArray) -> float:
    """The power of two at or below the largest exact value: the values are fitted in this
    unit, which divides them exactly, so that the same values fit alike in any unit (months or
    seconds, 1e-300 or 1e300), the samplers' and fits' arithmetic (the triangular's square
    roots, a normal's sd) neither overflows nor underflows, and values near 1 fit as before."""
    return math.ldexp(1.0, math.frexp(float(sorted_exact[-1]))[1] - 1)


def resolution(sorted_exact: FloatArray) -> float | None:
    """The grid the values were recorded to when they hold ties (whole months, tenths), else
    None: the smallest step between distinct values, when every value is a whole multiple of
    it and the values take at least half the grid's points between the smallest and the
    largest (a grid the records fill, not a gap between a few values). Against a continuous
    fit, ties raise KS and AD: 300 gamma values (mean 6) in whole months had every family
    rejected (gamma's AD p = 0.005) when the bootstrap samples, unrounded, had none. Scaling
    the values scales the grid (the same records in any unit)."""
    distinct = np.unique(sorted_exact)
    if len(distinct) == len(sorted_exact) or len(distinct) < 2:
        return None
    step = float(np.min(np.diff(distinct)))
    steps = distinct / step
    if not np.all(np.abs(steps - np.round(steps)) <= GRID_TOLERANCE * np.maximum(1.0, steps)):
        return None
    points = round(steps[-1]) - round(steps[0]) + 1
    return step if 2 * len(distinct) >= points else None


def _in_unit(params: Params, unit: float) -> Params:
    """Parameters fitted to values / ``unit`` -> the same distribution of the values."""
    with np.errstate(over="ignore"):
        return {key: value if key in SCALE_FREE else float(np.float64(value) * unit)
                for key, value in params.items()}


def _bootstrap(family: Family, params: Params, n: int, ks: float, ad: float, samples: int,
               rng: np.random.Generator, grid: float | None = None,
               positive: bool = False) -> tuple[float | None, float | None, int]:
    """P-values of KS and AD by a parametric bootstrap: samples of n drawn by the scenario's
    own distribution, each refitted, p = (1 + #{T_b >= T}) / (1 + B) (Stute et al. 1993).
    With ``grid`` (the records are recorded to it: ``resolution``) each sample is rounded to
    it as the records were, so that its ties are theirs (``positive``: none below one step,
    as the records hold no 0)."""
    dist = _ADAPTER.validate_python({"dist": family.name, **params})
    ks_hits = ad_hits = used = 0
    for _ in range(samples):
        x = np.sort(dist.sample(rng, n))
        if grid is not None:  # (records with no 0 are taken to be recorded as one step at least)
            x = np.maximum(np.round(x / grid), 1.0 if positive else 0.0) * grid
        try:
            with np.errstate(all="ignore"):
                ks_b, ad_b = gof_statistics(family, family.fit(x), x)
        except (ValueError, ZeroDivisionError, FloatingPointError, RuntimeError, OverflowError):
            continue
        if not (math.isfinite(ks_b) and math.isfinite(ad_b)):
            continue
        used += 1
        ks_hits += ks_b >= ks
        ad_hits += ad_b >= ad
    if not used:
        return None, None, 0
    return (1 + ks_hits) / (1 + used), (1 + ad_hits) / (1 + used), used


# -- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fit:
    """One family fitted to the records."""

    dist: str
    params: Params
    """The maximum-likelihood estimate, in the scenario's parameterisation."""
    table: dict[str, Any]
    """The scenario table, parameters rounded to SIGNIFICANT figures."""
    loglik: float
    k: int
    aic: float
    bic: float
    ks: float | None = None
    ks_p: float | None = None
    ad: float | None = None
    ad_p: float | None = None

    @property
    def frozen(self) -> Any:
        """The fitted ``scipy.stats`` distribution (the unrounded estimate)."""
        return FAMILIES[self.dist].frozen(self.params)

    def as_json(self, best_aic: float) -> dict[str, Any]:
        return {"dist": self.dist, "params": self.params, "loglik": self.loglik, "k": self.k,
                "aic": self.aic, "bic": self.bic, "delta_aic": self.aic - best_aic, "ks": self.ks,
                "ks_p": self.ks_p, "ad": self.ad, "ad_p": self.ad_p, "table": self.table}


@dataclass(frozen=True)
class FitReport:
    """The fits ranked by AIC, the suggestion and how it was reached."""

    records: Records
    fits: tuple[Fit, ...]
    best: str
    """The suggested family: the lowest AIC not rejected by the AD test, or ``empirical``."""
    table: dict[str, Any]
    empirical: dict[str, Any]
    p_values: str
    """How the goodness-of-fit p-values were obtained."""
    notes: tuple[str, ...]

    @property
    def toml(self) -> str:
        return toml_line(self.records.column, self.table)

    def as_json(self) -> dict[str, Any]:
        best_aic = self.fits[0].aic if self.fits else math.nan
        return {"column": self.records.column, "source": self.records.source, "n": self.records.n,
                "n_censored": self.records.n_censored, "censored_column": self.records.censored_column,
                "fits": [fit.as_json(best_aic) for fit in self.fits], "best": self.best, "toml": self.toml,
                "empirical": self.empirical, "p_values": self.p_values, "notes": list(self.notes)}


def round_significant(value: float, direction: int = 0, digits: int = SIGNIFICANT) -> float:
    """``value`` to ``digits`` significant figures; direction -1 / +1: never above / below it."""
    if value == 0 or not math.isfinite(value):
        return value
    rounded = float(f"{value:.{digits}g}")
    if direction and (rounded - value) * direction < 0:
        step = 10.0 ** (math.floor(math.log10(abs(value))) - digits + 1)
        rounded = float(f"{rounded + direction * step:.{digits}g}")
    return rounded


def scenario_table(dist: str, params: Params) -> dict[str, Any]:
    """The scenario table for fitted parameters, rounded (support ends outwards)."""
    bounds = FAMILIES[dist].bounds
    table: dict[str, Any] = {"dist": dist}
    for key, value in params.items():
        direction = (-1 if key == "low" else 1) if key in bounds else 0
        table[key] = round_significant(value, direction)
    return table


def _toml_value(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return str(value) if isinstance(value, int) else repr(float(value))


def toml_line(key: str, table: dict[str, Any]) -> str:
    """``key = {dist = "...", ...}``: one line to paste into a scenario file."""
    # (JSON's escapes are TOML's, but for DEL, which TOML wants escaped and JSON writes as is)
    name = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False).replace(
        "\x7f", "\\u007f")
    return f"{name} = {{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in table.items()) + "}"


def empirical_table(records: Records) -> tuple[dict[str, Any], list[str]]:
    """The scenario's ``empirical`` of the records (Kaplan-Meier masses when some values are
    censored), values rounded to SIGNIFICANT figures and merged."""
    notes = []
    if records.n_censored:
        times, survival = kaplan_meier(records.values, records.censored)
        masses = -np.diff(np.concatenate([[1.0], survival]))
        if survival[-1] > 1e-12:
            # Mass beyond the last exact value: at the largest lower bound, which is too early.
            times = np.append(times, records.values.max())
            masses = np.append(masses, survival[-1])
            notes.append(f"empirical: {survival[-1]:.1%} of the probability is beyond the last exact "
                         f"value and is put at the largest lower bound, {records.values.max():g} (too early)")
    else:
        times, counts = np.unique(records.values, return_counts=True)
        masses = counts.astype(float)
    merged: dict[float, float] = {}
    for t, m in zip(times, masses, strict=True):
        key = round_significant(float(t))
        merged[key] = merged.get(key, 0.0) + float(m)
    table: dict[str, Any] = {"dist": "empirical", "values": list(merged)}
    weights = list(merged.values())
    if records.n_censored:
        table["weights"] = [round_significant(w) for w in weights]
    elif any(w != 1 for w in weights):
        table["weights"] = [round(w) for w in weights]
    return table, notes


def _valid(table: dict[str, Any]) -> bool:
    try:
        _ADAPTER.validate_python(table)
    except ValidationError:
        return False
    return True


def _families(names: Sequence[str] | None) -> list[str]:
    if names is None:
        return list(FIT_NAMES)
    unknown = [n for n in names if n not in FIT_NAMES]
    if unknown:
        close = [n for n in FIT_NAMES if n == unknown[0].strip().lower()] or difflib.get_close_matches(
            unknown[0].lower(), FIT_NAMES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError([f"--dist: unknown distribution {unknown[0]!r} to fit{hint}; known: "
                          f"{', '.join(FIT_NAMES)}"])
    if not names:
        raise InputError(["no distribution to fit"])
    return list(dict.fromkeys(names))


def _loglik(frozen: Any, records: Records) -> float:
    with np.errstate(all="ignore"):
        exact = np.sum(frozen.logpdf(records.values[~records.censored]))
        bounds = np.sum(frozen.logsf(records.values[records.censored]))
    value = float(exact + bounds)
    return value if not math.isnan(value) else -math.inf


def _fit_one(family: Family, records: Records) -> Params:
    exact = records.values[~records.censored]
    start = family.fit(exact)
    if not records.n_censored:
        return start
    return family.fit_censored(records.values, records.censored, start)


def _stream(seed: int, name: str) -> np.random.Generator:
    """One generator per family: adding a family never changes another's p-values."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


def fit_records(records: Records, families: Sequence[str] | None = None, *,
                bootstrap: int = DEFAULT_BOOTSTRAP, seed: int = 1) -> FitReport:
    """Fit ``families`` (default: all) to the records by maximum likelihood, ranked by AIC.

    ``bootstrap``: parametric bootstrap samples for the KS and AD p-values (0: the KS
    p-value from its asymptotic distribution, which is optimistic with fitted parameters,
    and no AD p-value). With censored values the likelihood is the censored one
    (``scipy.stats.CensoredData``), AIC and BIC use it, and KS and AD are not computed.
    """
    names = _families(families)
    check_records(records)
    notes = list(records.notes)
    exact = records.values[~records.censored]
    wanted = [FAMILIES[n] for n in names if n in FAMILIES]
    zeros = int(np.count_nonzero(exact == 0))
    if zeros:
        skipped = [f.name for f in wanted if f.positive]
        wanted = [f for f in wanted if not f.positive]
        if skipped and not wanted and "empirical" not in names:
            raise InputError([f"{records.source}: column {records.column!r}: {count_text(zeros, 'value')} 0, "
                              f"which {', '.join(skipped)} cannot take (only values > 0)"])
        if skipped:
            notes.append(f"{', '.join(skipped)} skipped: {count_text(zeros, 'value')} 0 and "
                         f"{'it takes' if len(skipped) == 1 else 'they take'} only values > 0")
    sorted_exact = np.sort(exact)
    unit = _unit(sorted_exact)
    sorted_scaled = sorted_exact / unit
    grid = resolution(sorted_scaled) if bootstrap and not records.n_censored else None  # (in the unit)
    scaled = replace(records, values=records.values / unit)
    fits = []
    for family in wanted:
        try:
            unit_params = _fit_one(family, scaled)
            # the density of value x is that of x / unit, divided by unit
            loglik = _loglik(family.frozen(unit_params), scaled) - len(exact) * math.log(unit)
        except (ValueError, ZeroDivisionError, FloatingPointError, RuntimeError, OverflowError):
            unit_params, loglik = {}, -math.inf
        params = _in_unit(unit_params, unit)
        table = scenario_table(family.name, params) if params else {}
        beyond = [k for k, v in params.items() if math.isinf(v) and math.isfinite(unit_params[k])]
        if beyond and math.isfinite(loglik):  # (fitted, but in the records' unit past 1.8e308)
            notes.append(f"{family.name} skipped: its fit's {', '.join(beyond)} is beyond the largest "
                         f"number ({sys.float_info.max:.3g})")
            continue
        if not math.isfinite(loglik) or not all(map(math.isfinite, params.values())):
            notes.append(f"{family.name} skipped: the fit did not converge")
            continue
        if not _valid(table):
            shown = ", ".join(f"{k} = {v:.4g}" for k, v in params.items())
            notes.append(f"{family.name} skipped: its fit ({shown}) is outside what a scenario accepts")
            continue
        n, k = records.n, family.parameters
        fit = Fit(family.name, params, table, loglik, k, 2 * k - 2 * loglik, k * math.log(n) - 2 * loglik)
        if not records.n_censored:
            ks, ad = gof_statistics(family, unit_params, sorted_scaled)  # the same in any unit
            if bootstrap:
                rng = _stream(seed, family.name)
                ks_p, ad_p, used = _bootstrap(family, unit_params, n, ks, ad, bootstrap, rng,
                                              grid,
                                              positive=bool(sorted_exact[0] > 0))
                if used < bootstrap:
                    notes.append(f"{family.name}: {bootstrap - used} of {bootstrap} bootstrap refits failed")
            else:
                ks_p, ad_p = float(stats.kstwo.sf(ks, n)), None  # as if the parameters were known
            fit = replace(fit, ks=ks, ks_p=ks_p, ad=ad, ad_p=ad_p)
        fits.append(fit)
    fits.sort(key=lambda f: f.aic)
    close = [f.dist for f in fits[1:] if f.aic - fits[0].aic < CLOSE_AIC]
    if close:
        notes.append(f"{', '.join(close)} within {CLOSE_AIC:g} of the lowest AIC ({fits[0].dist}): the "
                     "records hardly tell them apart")
    if records.n_censored and fits:
        largest = float(records.values.max())
        with np.errstate(all="ignore"):
            past = float(fits[0].frozen.sf(largest))
        if past >= BEYOND_NOTED:
            near = [f for f in fits if f.aic - fits[0].aic < CLOSE_AIC]
            means = ", ".join(f"{f.dist} {float(f.frozen.mean()):.4g}" for f in near)
            notes.append(f"{fits[0].dist} puts {past:.0%} of its probability past the largest value "
                         f"({largest:.6g}), where no record is ({records.n_censored} of {records.n} values "
                         "are only lower bounds): that part is the family's shape, not the records', and "
                         f"the fits within {CLOSE_AIC:g} of its AIC differ there (means: {means})")
    if records.n_censored:
        p_values = ("not tested: with censored values the exact ones are not a sample of the distribution "
                    "(the long ones are missing); AIC and BIC use the censored likelihood")
    elif bootstrap:
        p_values = (f"KS and AD p-values from a parametric bootstrap: {bootstrap} samples from each fit, "
                    "each refitted (the textbook KS p-value would be optimistic: the parameters come from "
                    "the same values)")
        if grid is not None:
            p_values += (f"; the values are recorded to {grid * unit:.6g} (with ties), and each sample is "
                         "rounded to it alike")
        if (1 + bootstrap) * REJECT_BELOW <= 1 and fits:
            notes.append(f"with {bootstrap} bootstrap samples no p-value is below 1/{bootstrap + 1}: the AD "
                         f"test cannot reject a family at {REJECT_BELOW}")
    else:
        p_values = ("KS p-value as if the parameters were known, which is optimistic (they come from the "
                    "same values); AD p-value not computed (no bootstrap)")
    empirical, empirical_notes = empirical_table(records)
    notes += empirical_notes
    accepted = [f for f in fits if f.ad_p is None or f.ad_p >= REJECT_BELOW]
    if names == ["empirical"]:
        best, table = "empirical", empirical
    elif accepted:
        best, table = accepted[0].dist, accepted[0].table
        if accepted[0] is not fits[0]:
            rejected = ", ".join(f.dist for f in fits[:fits.index(accepted[0])])
            notes.append(f"{rejected}: lower AIC but rejected by the AD test (p < {REJECT_BELOW}); {best} "
                         "suggested")
    else:
        best, table = "empirical", empirical
        if fits:
            notes.append(f"every family fitted is rejected by the AD test (p < {REJECT_BELOW}): the "
                         "empirical distribution of the values is suggested")
        else:
            notes.append("no family could be fitted: the empirical distribution of the values is suggested")
    return FitReport(records, tuple(fits), best, table, empirical, p_values, tuple(notes))


# -- chart data ------------------------------------------------------------------------------


TAIL_SHOWN = 0.99
"""Under censoring the densities are drawn up to this quantile of the lowest-AIC fit..."""
TAIL_REACH = 4.0
"""... but not beyond this many times the largest value (a long tail would squeeze the records)."""


def chart_data(report: FitReport, curves: int = 3, points: int = 400) -> dict[str, Any]:
    """What the fit chart draws (``plotting.fit``): the values, the densities of the best
    ``curves`` fits on a grid, and Q-Q points of the lowest-AIC fit (Kaplan-Meier plotting
    positions, which are (i - 0.5) / n without censoring). Under censoring the grid goes on
    past the largest value, to the lowest-AIC fit's ``TAIL_SHOWN`` quantile: a fit to lower
    bounds puts much of its probability beyond them (74% for 192 of 200 values censored),
    which a grid over the values alone would cut off."""
    records = report.records
    x = records.values
    low, high = float(x.min()), float(x.max())
    if records.n_censored and report.fits:  # the fit goes on past the lower bounds: draw it on
        with np.errstate(all="ignore"):
            tail = float(report.fits[0].frozen.ppf(TAIL_SHOWN))
        if np.isfinite(tail):
            high = max(high, min(tail, TAIL_REACH * high))
    pad = 0.05 * (high - low)
    grid = np.linspace(max(low - pad, 0.0), high + pad, points)
    shown = []
    for fit in report.fits[:curves]:
        with np.errstate(all="ignore"):
            pdf = fit.frozen.pdf(grid)
        shown.append({"label": f"{fit.dist} (AIC {fit.aic:.1f})", "x": grid.tolist(),
                      "pdf": np.where(np.isfinite(pdf), pdf, np.nan).tolist()})
    qq = None
    if report.fits:
        fit = report.fits[0]
        times, survival = kaplan_meier(records.values, records.censored)
        before = np.concatenate([[1.0], survival[:-1]])
        p = 1 - (before + survival) / 2
        qq = {"label": fit.dist, "theoretical": fit.frozen.ppf(p).tolist(), "observed": times.tolist()}
    censored = f", {records.n_censored} censored" if records.n_censored else ""
    title = f"{records.column}: {records.n} values{censored}"
    return {"title": title, "source": records.source, "column": records.column,
            "exact": x[~records.censored].tolist(), "censored": x[records.censored].tolist(),
            "curves": shown, "qq": qq, "best": report.best}


__all__ = ["DEFAULT_BOOTSTRAP", "FAMILIES", "FIT_NAMES", "Family", "Fit", "FitReport", "Records",
           "chart_data", "check_records", "fit_records", "kaplan_meier", "read_records", "summarise_records"]
