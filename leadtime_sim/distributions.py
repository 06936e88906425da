"""Probability distributions for durations and quantities.

Each distribution is a small frozen pydantic model, written in a scenario file as a table
such as ``{dist = "lognormal", median = 24, sigma = 0.3}`` (a bare number means a
constant). Every one has ``sample(rng, size)`` taking a ``numpy.random.Generator`` (never
the global state) and an analytic ``mean``, so validation tests can compare the
simulator against theory.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

FloatArray = np.ndarray

NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Positive = Annotated[float, Field(gt=0, allow_inf_nan=False)]


def _truncnorm() -> Any:
    """SciPy's truncated normal, imported on first use: ``scipy.stats`` takes ~0.6 s to
    import, which every sweep worker would otherwise pay at start."""
    from scipy.stats import truncnorm

    return truncnorm


class _Dist(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    @property
    def mean(self) -> float:
        raise NotImplementedError

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        raise NotImplementedError

    def ppf(self, u: FloatArray) -> FloatArray:
        """The quantile function (inverse CDF) at each ``u`` in [0, 1): how designs sample
        a distribution (an experiment's uncertain inputs) from unit points."""
        raise NotImplementedError


class Constant(_Dist):
    """Always ``value``."""

    dist: Literal["constant"] = "constant"
    value: NonNegative

    @property
    def mean(self) -> float:
        return self.value

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return np.full(size, self.value)

    def ppf(self, u: FloatArray) -> FloatArray:
        return np.full(np.shape(u), self.value)


class Exponential(_Dist):
    """Memoryless, with the given ``mean``."""

    dist: Literal["exponential"]
    mean_: Positive = Field(alias="mean")

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.exponential(self.mean_, size)

    def ppf(self, u: FloatArray) -> FloatArray:
        return -self.mean_ * np.log1p(-np.asarray(u, dtype=float))


class Normal(_Dist):
    """Normal(``mean``, ``sd``) truncated at zero (resampled, not clipped)."""

    dist: Literal["normal"]
    mean_: NonNegative = Field(alias="mean")
    sd: Positive

    @property
    def mean(self) -> float:
        a = -self.mean_ / self.sd
        return float(_truncnorm().mean(a, math.inf, loc=self.mean_, scale=self.sd))

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        # Inverse CDF of the truncated normal: one uniform per variate, no rejection loop.
        return self.ppf(rng.random(size))

    def ppf(self, u: FloatArray) -> FloatArray:
        a = -self.mean_ / self.sd
        return np.asarray(_truncnorm().ppf(u, a, math.inf, loc=self.mean_, scale=self.sd), dtype=float)


class LogNormal(_Dist):
    """Log-normal given by ``median`` (or ``mean``) and the log-scale ``sigma``."""

    dist: Literal["lognormal"]
    median: Positive | None = None
    mean_: Positive | None = Field(default=None, alias="mean")
    sigma: Annotated[float, Field(ge=0, le=10, allow_inf_nan=False)]

    @model_validator(mode="after")
    def _one_location(self) -> LogNormal:
        if (self.median is None) == (self.mean_ is None):
            raise ValueError("give exactly one of 'median' or 'mean'")
        return self

    @property
    def mu(self) -> float:
        if self.median is not None:
            return math.log(self.median)
        assert self.mean_ is not None
        return math.log(self.mean_) - self.sigma**2 / 2

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.lognormal(self.mu, self.sigma, size)

    def ppf(self, u: FloatArray) -> FloatArray:
        from scipy.special import ndtri

        return np.exp(self.mu + self.sigma * ndtri(np.asarray(u, dtype=float)))


class Gamma(_Dist):
    """Gamma given by ``mean`` and ``sd`` (shape = (mean/sd)^2)."""

    dist: Literal["gamma"]
    mean_: Positive = Field(alias="mean")
    sd: Positive

    @property
    def mean(self) -> float:
        return self.mean_

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        shape = (self.mean_ / self.sd) ** 2
        return rng.gamma(shape, self.mean_ / shape, size)

    def ppf(self, u: FloatArray) -> FloatArray:
        from scipy.special import gammaincinv

        shape = (self.mean_ / self.sd) ** 2
        return np.asarray(gammaincinv(shape, np.asarray(u, dtype=float)) * self.mean_ / shape, dtype=float)


class Weibull(_Dist):
    """Weibull with ``shape`` k and ``scale`` (or ``mean``): P(X > x) = exp(-(x / scale)^k).

    k < 1: falling hazard (early failures), k = 1: exponential, k > 1: rising hazard (wear);
    the mean is scale * Gamma(1 + 1/k). ``shape`` is limited to [0.1, 100]: below, the mean
    is millions of times the scale; above, the sd is about 1% of the mean."""

    dist: Literal["weibull"]
    shape: Annotated[float, Field(ge=0.1, le=100, allow_inf_nan=False)]
    scale: Positive | None = None
    mean_: Positive | None = Field(default=None, alias="mean")

    @model_validator(mode="after")
    def _one_size(self) -> Weibull:
        if (self.scale is None) == (self.mean_ is None):
            raise ValueError("give exactly one of 'scale' or 'mean'")
        if not math.isfinite(self.mean):
            raise ValueError("the mean, scale * Gamma(1 + 1/shape), is too large for a float")
        return self

    @property
    def scale_parameter(self) -> float:
        """The scale, given or from the mean."""
        if self.scale is not None:
            return self.scale
        assert self.mean_ is not None
        return self.mean_ / math.gamma(1 + 1 / self.shape)

    @property
    def mean(self) -> float:
        if self.mean_ is not None:
            return self.mean_
        return self.scale_parameter * math.gamma(1 + 1 / self.shape)

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return self.scale_parameter * rng.weibull(self.shape, size)

    def ppf(self, u: FloatArray) -> FloatArray:
        return self.scale_parameter * (-np.log1p(-np.asarray(u, dtype=float))) ** (1 / self.shape)


class Triangular(_Dist):
    """Triangular on [``low``, ``high``] peaking at ``mode``.

    NumPy's sampler (and the textbook inverse CDF) multiply two widths, which underflows to
    zero for widths below ~1e-154 (every draw at an end) and overflows above ~1e154; at such
    scales the draws are made on [0, 1] and scaled (elsewhere NumPy's, for the same bits)."""

    dist: Literal["triangular"]
    low: NonNegative
    mode: NonNegative
    high: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high) or self.low == self.high:
            raise ValueError("need low <= mode <= high and low < high")
        return self

    @property
    def mean(self) -> float:
        total = self.low + self.mode + self.high
        return total / 3 if math.isfinite(total) else self.low / 3 + self.mode / 3 + self.high / 3

    @property
    def _unit_scaled(self) -> bool:
        """Whether the width squared leaves the normal floats: draw on [0, 1], then scale."""
        return not _SAFE_WIDTH[0] <= self.high - self.low <= _SAFE_WIDTH[1]

    def _scaled(self, unit: FloatArray) -> FloatArray:
        return np.minimum(self.low + (self.high - self.low) * unit, self.high)

    @property
    def _peak(self) -> float:
        return min(1.0, (self.mode - self.low) / (self.high - self.low))

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        if self._unit_scaled:
            return self._scaled(rng.triangular(0.0, self._peak, 1.0, size))
        return rng.triangular(self.low, self.mode, self.high, size)

    def ppf(self, u: FloatArray) -> FloatArray:
        u = np.asarray(u, dtype=float)
        if self._unit_scaled:
            peak = self._peak
            unit = np.where(u < peak, np.sqrt(u * peak), 1 - np.sqrt((1 - u) * (1 - peak)))
            return self._scaled(unit)
        lo, mode, hi = self.low, self.mode, self.high
        split = (mode - lo) / (hi - lo)
        rising = lo + np.sqrt(u * (hi - lo) * (mode - lo))
        falling = hi - np.sqrt((1 - u) * (hi - lo) * (hi - mode))
        return np.where(u < split, rising, falling)


_SAFE_WIDTH = (1e-150, 1e150)
"""Widths whose square (and products of two widths) are normal floats."""


class Uniform(_Dist):
    """Uniform on [``low``, ``high``)."""

    dist: Literal["uniform"]
    low: NonNegative
    high: NonNegative

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.low >= self.high:
            raise ValueError("need low < high")
        return self

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.uniform(self.low, self.high, size)

    def ppf(self, u: FloatArray) -> FloatArray:
        return self.low + np.asarray(u, dtype=float) * (self.high - self.low)


class Empirical(_Dist):
    """Discrete: ``values`` drawn with ``weights`` (equal weights if omitted)."""

    dist: Literal["empirical"]
    values: Annotated[list[NonNegative], Field(min_length=1)]
    weights: list[NonNegative] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Empirical:
        if self.weights is not None:
            if len(self.weights) != len(self.values):
                raise ValueError("'weights' must have as many entries as 'values'")
            if sum(self.weights) <= 0:
                raise ValueError("'weights' must not all be zero")
        return self

    @property
    def probabilities(self) -> FloatArray:
        w = np.ones(len(self.values)) if self.weights is None else np.asarray(self.weights)
        return w / w.sum()

    @property
    def mean(self) -> float:
        return float(np.dot(self.values, self.probabilities))

    def sample(self, rng: np.random.Generator, size: int) -> FloatArray:
        return rng.choice(np.asarray(self.values, dtype=float), size, p=self.probabilities)

    def ppf(self, u: FloatArray) -> FloatArray:
        order = np.argsort(self.values, kind="stable")
        values = np.asarray(self.values, dtype=float)[order]
        cumulative = np.cumsum(self.probabilities[order])
        index = np.searchsorted(cumulative, np.asarray(u, dtype=float), side="left")
        return values[np.minimum(index, len(values) - 1)]


Distribution = Annotated[
    Constant | Exponential | Normal | LogNormal | Gamma | Weibull | Triangular | Uniform | Empirical,
    Field(discriminator="dist"),
]
"""Any distribution, chosen by its ``dist`` key."""

DIST_NAMES = ("constant", "exponential", "normal", "lognormal", "gamma", "weibull", "triangular",
              "uniform", "empirical")


def number_as_constant(value: Any) -> Any:
    """Let a bare number stand for a constant distribution in scenario files.

    A bare number is checked here, so that its problem is told at the path written (not at
    the constant's ``value``); anything but a number or a table is told what would fit."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            finite = math.isfinite(value)
        except OverflowError:  # (an integer beyond any float)
            finite = False
        if not finite:
            raise ValueError("Input should be a finite number")
        if value < 0:
            raise ValueError("Input should be greater than or equal to 0")
        return {"dist": "constant", "value": value}
    if value is not None and not isinstance(value, dict | BaseModel):
        raise ValueError("should be a number (a constant) or a distribution table such as "
                         '{dist = "gamma", mean = 3, sd = 1}')
    if isinstance(value, dict) and "dist" not in value:
        raise ValueError(f"a distribution table needs a 'dist' key, one of {', '.join(DIST_NAMES)}")
    if isinstance(value, dict) and value.get("dist") not in DIST_NAMES:
        raise ValueError(
            f"unknown distribution {value.get('dist')!r}; expected one of {', '.join(DIST_NAMES)}"
        )
    return value
