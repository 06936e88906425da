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

Nothing here prints or reads the command line; bad input raises ``InputError``.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
import warnings
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError
from scipy import optimize, special, stats

from leadtime_sim.distributions import Distribution
from leadtime_sim.errors import InputError, read_input

FloatArray = np.ndarray
Params = dict[str, float]

MIN_VALUES = 10
"""Fewer values than this are refused: a ranking of fits to them would mean nothing."""
MIN_UNCENSORED = 5
"""With censoring, at least this many values must be exact (censored ones are lower bounds)."""
SIGNIFICANT = 4
"""Significant figures of the parameters in the TOML snippet."""
CLOSE_AIC = 2.0
"""Fits whose AIC is within this of the lowest are about as well supported (Burnham and
Anderson 2002, section 2.6): the report says so."""
REJECT_BELOW = 0.05
"""A family whose Anderson-Darling p-value is below this is not suggested."""
DEFAULT_BOOTSTRAP = 199
"""Parametric bootstrap samples for the goodness-of-fit p-values (p resolution 0.005)."""
LOG_FLOOR = -30.0
"""log F and log(1 - F) are floored here in the Anderson-Darling sum, where a fitted support
ends at a value (uniform, triangular: F = 0 at the smallest)."""
TRUE_FLAGS = frozenset({"1", "true", "yes", "y", "t"})
FALSE_FLAGS = frozenset({"0", "false", "no", "n", "f"})

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Distribution)


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Records:
    """One column of values, with a flag per value: True = right-censored (a lower bound)."""

    values: FloatArray
    censored: FloatArray
    column: str = "value"
    source: str = "records"
    censored_column: str | None = None
    lines: tuple[int, ...] | None = None
    """The file's line number of each value (header = line 1), for messages."""
    notes: tuple[str, ...] = ()

    @staticmethod
    def of(values: Sequence[float] | FloatArray, censored: Sequence[bool] | FloatArray | None = None,
           column: str = "value") -> Records:
        """Records from arrays (censored: None = none is)."""
        x = np.asarray(values, dtype=float)
        flags = np.zeros(len(x), dtype=bool) if censored is None else np.asarray(censored, dtype=bool)
        if flags.shape != x.shape:
            raise ValueError("values and censored flags differ in length")
        return Records(x, flags, column)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def n_censored(self) -> int:
        return int(np.count_nonzero(self.censored))

    def where(self, k: int) -> str:
        """Where value ``k`` is: ``line 7`` of the file, or ``value 7`` of an array."""
        return f"line {self.lines[k]}" if self.lines is not None else f"value {k + 1}"


def _read_text(path: str | Path) -> str:
    source = str(path)
    raw = read_input(path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([f"{source}: not UTF-8 text (byte {exc.start})"]) from None


def _column_index(header: list[str], name: str, source: str) -> int:
    if header.count(name) > 1:
        raise InputError([f"{source}: column {name!r} appears {header.count(name)} times in the header"])
    if name not in header:
        close = difflib.get_close_matches(name, header, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        shown = ", ".join(repr(h) for h in header[:12]) + (", ..." if len(header) > 12 else "")
        raise InputError([f"{source}: no column {name!r}{hint}; the header has {shown or 'nothing'}"])
    return header.index(name)


def _read_rows(path: str | Path) -> tuple[str, list[str], list[list[str]]]:
    """The source name, the header (cells stripped) and the rows below it of a CSV file."""
    source = str(path)
    text = _read_text(path)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError([f"{source}: not a CSV file: {exc}"]) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InputError([f"{source}: is empty (a CSV file with a header row is needed)"])
    return source, [cell.strip() for cell in rows[0]], rows[1:]


@dataclass(frozen=True)
class _Scan:
    """One column's cells sorted out: the finite numbers (with their flags and line numbers),
    the cells that are not, the flags that are not 0/1, and the empty cells."""

    values: list[float]
    flags: list[bool]
    lines: list[int]
    bad: list[tuple[int, str]]
    bad_flags: list[tuple[int, str]]
    empty: int


def _scan(rows: list[list[str]], at: int, flag_at: int | None) -> _Scan:
    values: list[float] = []
    flags: list[bool] = []
    lines: list[int] = []
    bad: list[tuple[int, str]] = []
    bad_flags: list[tuple[int, str]] = []
    empty = 0
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        cell = row[at].strip() if at < len(row) else ""
        if not cell:
            empty += 1
            continue
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            bad.append((line, cell))
            continue
        flag = False
        if flag_at is not None:
            mark = row[flag_at].strip().lower() if flag_at < len(row) else ""
            if mark not in TRUE_FLAGS | FALSE_FLAGS:
                bad_flags.append((line, mark))
                continue
            flag = mark in TRUE_FLAGS
        values.append(value)
        flags.append(flag)
        lines.append(line)
    return _Scan(values, flags, lines, bad, bad_flags, empty)


def _records_of(scan: _Scan, source: str, column: str, censored_column: str | None) -> Records:
    """The scanned column as Records; an InputError if a cell is not a number or a flag not 0/1."""
    if scan.bad:
        line, cell = scan.bad[0]
        raise InputError([f"{source}: column {column!r}: {_count(len(scan.bad), 'value')} not a finite "
                          f"number (the first: line {line}: {cell!r})"])
    if scan.bad_flags:
        line, mark = scan.bad_flags[0]
        raise InputError([f"{source}: column {censored_column!r}: {_count(len(scan.bad_flags), 'flag')} not "
                          f"0/1, true/false or yes/no (the first: line {line}: {mark!r})"])
    notes = (f"{_count(scan.empty, 'row')} with an empty {column!r} skipped",) if scan.empty else ()
    return Records(np.asarray(scan.values, dtype=float), np.asarray(scan.flags, dtype=bool), column, source,
                   censored_column, tuple(scan.lines), notes)


def read_records(path: str | Path, column: str, censored_column: str | None = None) -> Records:
    """The numbers of ``column`` in a CSV file with a header row (empty cells are skipped,
    with a note); with ``censored_column``, a 0/1 (or true/false, yes/no) flag per row,
    1 = right-censored: the value is a lower bound (an order not yet delivered).

    Only the file is checked here; ``check_records`` checks the values as ``fit`` needs them."""
    source, header, rows = _read_rows(path)
    at = _column_index(header, column, source)
    flag_at = _column_index(header, censored_column, source) if censored_column is not None else None
    return _records_of(_scan(rows, at, flag_at), source, column, censored_column)


@dataclass(frozen=True)
class ColumnSummary:
    """A numeric column of a records file: how many numbers it has, and why ``fit`` would
    refuse it (``problem``, fit's own message without the file and column; None: it would not)."""

    name: str
    values: int
    empty: int
    flags_only: bool
    """Every number is 0 or 1: perhaps a censoring flag (``--censored-column``)."""
    problem: str | None


@dataclass(frozen=True)
class RecordsSummary:
    """What a CSV records file holds, column by column (``validate`` without ``--column``)."""

    source: str
    rows: int
    columns: int
    numeric: tuple[ColumnSummary, ...]
    other: tuple[str, ...]
    """The columns that are not numeric (most cells are not numbers, or none is)."""


def summarise_records(path: str | Path) -> RecordsSummary:
    """Each column of a CSV file with a header row: numeric (at least as many numbers as
    other cells) or not, and for a numeric one the checks ``fit --column`` would make
    (``read_records``, ``check_records``). An InputError if the file cannot be read as CSV
    or has no numeric column."""
    source, header, rows = _read_rows(path)
    numeric: list[ColumnSummary] = []
    other: list[str] = []
    for name in dict.fromkeys(h for h in header if h):
        scan = _scan(rows, header.index(name), None)
        if not scan.values or len(scan.values) < len(scan.bad):
            other.append(name)
            continue
        prefix = f"{source}: column {name!r}: "
        problem: str | None = None
        try:
            _column_index(header, name, source)
            check_records(_records_of(scan, source, name, None))
        except InputError as exc:
            problem = exc.problems[0].removeprefix(prefix).removeprefix(f"{source}: ")
        numeric.append(ColumnSummary(name, len(scan.values), scan.empty, set(scan.values) <= {0.0, 1.0},
                                     problem))
    data_rows = sum(1 for row in rows if any(cell.strip() for cell in row))
    if not numeric:
        shown = ", ".join(repr(h) for h in header[:12]) + (", ..." if len(header) > 12 else "")
        why = "no rows below the header" if not data_rows else f"the header has {shown}"
        raise InputError([f"{source}: no numeric column ({why})"])
    return RecordsSummary(source, data_rows, len(header), tuple(numeric), tuple(other))


def _count(k: int, what: str) -> str:
    return f"{k} {what}{'' if k == 1 else 's'}" + ("" if what == "row" else (" is" if k == 1 else " are"))


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
    unit = float(np.std(np.concatenate([x, c]))) or 1.0
    xs, cs = x / unit, c / unit
    start = np.array([max(float(np.mean(xs)), 0.0), math.log(max(float(np.std(xs)), 1e-3))])
    with np.errstate(all="ignore"):
        best = optimize.minimize(_normal_nll, start, args=(xs, cs), method="SLSQP", jac=True,
                                 bounds=[(0.0, None), (-20.0, 20.0)])
    return {"mean": float(best.x[0] * unit), "sd": float(math.exp(best.x[1]) * unit)}


def _normal(x: FloatArray) -> Params:
    mean, sd = float(np.mean(x)), float(np.std(x))
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


def _triangular(x: FloatArray) -> Params:
    """Maximum likelihood over the ends (low >= 0, as the scenario needs), the mode profiled.
    The ends are searched as distances beyond the extreme values, in units of their range;
    a distance of 0 (an end at a value, which is also the mode) is allowed."""
    xs = np.sort(x)
    first, last = float(xs[0]), float(xs[-1])
    span = last - first

    def nll(gaps: FloatArray) -> float:
        ll, _ = _triangular_profile(xs, max(first - span * gaps[0], 0.0), last + span * gaps[1])
        return -ll if math.isfinite(ll) else 1e300

    room = first / span  # low = 0 at most
    best = optimize.minimize(nll, np.array([min(0.1, room / 2), 0.1]), method="Nelder-Mead",
                             bounds=[(0.0, room), (0.0, 10.0)],
                             options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
    low, high = max(first - span * best.x[0], 0.0), last + span * best.x[1]
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
    return {"low": float(loc), "mode": float(loc + c * scale), "high": float(loc + scale)}


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
    y = np.clip(x, low, high)
    with np.errstate(all="ignore"):
        rising = np.where(mode > low, (y - low) ** 2 / ((high - low) * (mode - low)), 0.0)
        falling = np.where(high > mode, (high - y) ** 2 / ((high - low) * (high - mode)), 0.0)
        cdf = np.where(y <= mode, rising, 1 - falling)
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


def _bootstrap(family: Family, params: Params, n: int, ks: float, ad: float, samples: int,
               rng: np.random.Generator) -> tuple[float | None, float | None, int]:
    """P-values of KS and AD by a parametric bootstrap: samples of n drawn by the scenario's
    own distribution, each refitted, p = (1 + #{T_b >= T}) / (1 + B) (Stute et al. 1993)."""
    dist = _ADAPTER.validate_python({"dist": family.name, **params})
    ks_hits = ad_hits = used = 0
    for _ in range(samples):
        x = np.sort(dist.sample(rng, n))
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
    name = key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)
    return f"{name} = {{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in table.items()) + "}"


def kaplan_meier(values: FloatArray, censored: FloatArray) -> tuple[FloatArray, FloatArray]:
    """The Kaplan-Meier survival function: the distinct exact values t and S just after each
    (without censoring, 1 - the empirical distribution function)."""
    times = np.unique(values[~censored])
    exact = np.sort(values[~censored])
    everything = np.sort(values)
    deaths = np.searchsorted(exact, times, side="right") - np.searchsorted(exact, times, side="left")
    at_risk = len(values) - np.searchsorted(everything, times, side="left")
    return times, np.cumprod(1 - deaths / at_risk)


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
        raise InputError([f"unknown distribution {unknown[0]!r} to fit (known: {', '.join(FIT_NAMES)})"])
    if not names:
        raise InputError(["no distribution to fit"])
    return list(dict.fromkeys(names))


def check_records(records: Records) -> None:
    """The checks of the values every fit needs (InputError, one line, if one fails): none
    negative, at least MIN_VALUES, MIN_UNCENSORED of them exact, not all the same."""
    what = f"{records.source}: column {records.column!r}"
    negative = np.flatnonzero(records.values < 0)
    if len(negative):
        k = int(negative[0])
        raise InputError([f"{what}: {_count(len(negative), 'value')} negative (the first: "
                          f"{records.where(k)}: {records.values[k]:g}); no distribution of the scenario "
                          "format takes negative values"])
    if records.n < MIN_VALUES:
        raise InputError([f"{what}: {records.n} values; fitting needs at least {MIN_VALUES}"])
    exact = records.values[~records.censored]
    if len(exact) < MIN_UNCENSORED:
        raise InputError([f"{what}: {len(exact)} values are not censored; fitting needs at least "
                          f"{MIN_UNCENSORED} (a censored value is only a lower bound)"])
    if np.all(exact == exact[0]) and np.all(records.values[records.censored] <= exact[0]):
        raise InputError([f"{what}: every value is {exact[0]:g}: a constant "
                          f"({records.column} = {exact[0]:g}), nothing to fit"])


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
            raise InputError([f"{records.source}: column {records.column!r}: {_count(zeros, 'value')} 0, "
                              f"which {', '.join(skipped)} cannot take (only values > 0)"])
        if skipped:
            notes.append(f"{', '.join(skipped)} skipped: {_count(zeros, 'value')} 0 and "
                         f"{'it takes' if len(skipped) == 1 else 'they take'} only values > 0")
    sorted_exact = np.sort(exact)
    fits = []
    for family in wanted:
        try:
            params = _fit_one(family, records)
            loglik = _loglik(family.frozen(params), records)
        except (ValueError, ZeroDivisionError, FloatingPointError, RuntimeError, OverflowError):
            params, loglik = {}, -math.inf
        table = scenario_table(family.name, params) if params else {}
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
            ks, ad = gof_statistics(family, params, sorted_exact)
            if bootstrap:
                rng = _stream(seed, family.name)
                ks_p, ad_p, used = _bootstrap(family, params, n, ks, ad, bootstrap, rng)
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
    if records.n_censored:
        p_values = ("not tested: with censored values the exact ones are not a sample of the distribution "
                    "(the long ones are missing); AIC and BIC use the censored likelihood")
    elif bootstrap:
        p_values = (f"KS and AD p-values from a parametric bootstrap: {bootstrap} samples from each fit, "
                    "each refitted (the textbook KS p-value would be optimistic: the parameters come from "
                    "the same values)")
        if (1 + bootstrap) * REJECT_BELOW <= 1:
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


def chart_data(report: FitReport, curves: int = 3, points: int = 400) -> dict[str, Any]:
    """What the fit chart draws (``plotting.fit``): the values, the densities of the best
    ``curves`` fits on a grid, and Q-Q points of the lowest-AIC fit (Kaplan-Meier plotting
    positions, which are (i - 0.5) / n without censoring)."""
    records = report.records
    x = records.values
    low, high = float(x.min()), float(x.max())
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
