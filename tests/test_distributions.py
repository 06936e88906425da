"""Distributions: sample means against the analytic means, and rejected parameters."""

from __future__ import annotations

import math
from typing import get_args

import numpy as np
import pytest
from conftest import factory, problems_of, scenario_dict
from pydantic import TypeAdapter, ValidationError

from leadtime_sim.distributions import (
    DIST_NAMES,
    Constant,
    Distribution,
    Empirical,
    Exponential,
    Gamma,
    LogNormal,
    Normal,
    Triangular,
    Uniform,
    Weibull,
    number_as_constant,
)

ADAPTER = TypeAdapter(Distribution)
DRAWS = 200_000

CASES = [
    {"dist": "constant", "value": 2.5},
    {"dist": "exponential", "mean": 1.7},
    {"dist": "normal", "mean": 5.0, "sd": 1.5},
    {"dist": "normal", "mean": 0.5, "sd": 2.0},  # heavily truncated: mean well above 0.5
    {"dist": "normal", "mean": 0.0, "sd": 1.0},  # half-normal
    {"dist": "lognormal", "median": 24.0, "sigma": 0.3},
    {"dist": "lognormal", "mean": 24.0, "sigma": 0.8},
    {"dist": "lognormal", "median": 3.0, "sigma": 0.0},
    {"dist": "gamma", "mean": 6.0, "sd": 2.0},
    {"dist": "gamma", "mean": 1.0, "sd": 3.0},  # shape < 1
    {"dist": "weibull", "shape": 1.5, "scale": 10.0},
    {"dist": "weibull", "shape": 0.7, "mean": 4.0},  # falling hazard: a long tail
    {"dist": "weibull", "shape": 8.0, "scale": 2.0},  # rising hazard: tight around the scale
    {"dist": "triangular", "low": 1.0, "mode": 2.0, "high": 6.0},
    {"dist": "triangular", "low": 0.0, "mode": 0.0, "high": 3.0},
    {"dist": "uniform", "low": 2.0, "high": 5.0},
    {"dist": "empirical", "values": [1, 2, 10]},
    {"dist": "empirical", "values": [1, 2, 10], "weights": [5, 3, 0]},
]


def _id(case: dict) -> str:
    return f"{case['dist']}(" + ",".join(f"{k}={v}" for k, v in case.items() if k != "dist") + ")"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_sample_mean_matches_analytic_mean(case: dict) -> None:
    dist = ADAPTER.validate_python(case)
    rng = np.random.default_rng(20250101)
    x = dist.sample(rng, DRAWS)
    assert x.shape == (DRAWS,)
    assert np.all(np.isfinite(x))
    se = x.std(ddof=1) / math.sqrt(DRAWS)
    # 4 standard errors: a correct sampler fails this with probability ~6e-5.
    assert abs(x.mean() - dist.mean) <= 4 * se + 1e-12, (x.mean(), dist.mean, se)


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_samples_are_never_negative(case: dict) -> None:
    dist = ADAPTER.validate_python(case)
    x = dist.sample(np.random.default_rng(7), 50_000)
    assert x.min() >= 0


def test_known_analytic_means() -> None:
    """The analytic means themselves, against textbook formulas."""
    assert Exponential(dist="exponential", mean=3).mean == 3
    assert LogNormal(dist="lognormal", median=10, sigma=0.5).mean == pytest.approx(10 * math.exp(0.125))
    assert LogNormal(dist="lognormal", mean=10, sigma=0.5).mean == pytest.approx(10)
    assert Triangular(dist="triangular", low=0, mode=3, high=6).mean == pytest.approx(3)
    assert Uniform(dist="uniform", low=1, high=2).mean == pytest.approx(1.5)
    assert Empirical(dist="empirical", values=[0, 10], weights=[3, 1]).mean == pytest.approx(2.5)
    assert Gamma(dist="gamma", mean=4, sd=1).mean == 4
    # Weibull: scale * Gamma(1 + 1/k); k = 1 is the exponential, k = 2 the Rayleigh.
    assert Weibull(dist="weibull", shape=1, scale=3).mean == pytest.approx(3)
    assert Weibull(dist="weibull", shape=2, scale=2).mean == pytest.approx(math.sqrt(math.pi))
    assert Weibull(dist="weibull", shape=2, mean=5).scale_parameter == pytest.approx(10 / math.sqrt(math.pi))
    # Half-normal: sd * sqrt(2/pi).
    assert Normal(dist="normal", mean=0, sd=2).mean == pytest.approx(2 * math.sqrt(2 / math.pi))
    # Far from zero the truncation does not matter.
    assert Normal(dist="normal", mean=50, sd=1).mean == pytest.approx(50)


def test_truncated_normal_is_never_negative_even_when_mostly_below_zero() -> None:
    dist = Normal(dist="normal", mean=0.1, sd=5.0)
    x = dist.sample(np.random.default_rng(3), 100_000)
    assert x.min() >= 0
    # Truncated (resampled), not clipped: no mass piled up at exactly zero.
    assert np.count_nonzero(x == 0) == 0


def test_gamma_sample_sd_matches_parameter() -> None:
    dist = Gamma(dist="gamma", mean=6.0, sd=2.0)
    x = dist.sample(np.random.default_rng(11), DRAWS)
    # The sd of the sample sd is about sd * sqrt((kurtosis - 1) / (4 n)); 0.02 is > 10 of them.
    assert x.std() == pytest.approx(2.0, rel=0.02)


def test_constant_sample_is_exact() -> None:
    assert np.array_equal(Constant(value=4.0).sample(np.random.default_rng(0), 5), np.full(5, 4.0))


def test_same_generator_seed_gives_same_draws() -> None:
    dist = LogNormal(dist="lognormal", median=2, sigma=0.5)
    a = dist.sample(np.random.default_rng(42), 100)
    b = dist.sample(np.random.default_rng(42), 100)
    assert np.array_equal(a, b)


def test_bare_number_means_constant() -> None:
    assert number_as_constant(3) == {"dist": "constant", "value": 3}
    assert number_as_constant(2.5) == {"dist": "constant", "value": 2.5}
    with pytest.raises(ValueError, match="a number"):  # booleans are not numbers
        number_as_constant(True)


# -- impossible parameters -------------------------------------------------------------

BAD = [
    ({"dist": "uniform", "low": 5, "high": 1}, "low < high"),
    ({"dist": "uniform", "low": 2, "high": 2}, "low < high"),
    ({"dist": "triangular", "low": 5, "mode": 3, "high": 1}, "low <= mode <= high"),
    ({"dist": "triangular", "low": 1, "mode": 4, "high": 3}, "low <= mode <= high"),
    ({"dist": "triangular", "low": 2, "mode": 2, "high": 2}, "low < high"),
    ({"dist": "normal", "mean": 1, "sd": 0}, "greater than 0"),
    ({"dist": "normal", "mean": 1, "sd": -1}, "greater than 0"),
    ({"dist": "gamma", "mean": 1, "sd": 0}, "greater than 0"),
    ({"dist": "exponential", "mean": 0}, "greater than 0"),
    ({"dist": "empirical", "values": [1, 2], "weights": [1]}, "as many entries"),
    ({"dist": "empirical", "values": [1, 2], "weights": [0, 0]}, "all be zero"),
    ({"dist": "empirical", "values": []}, "at least 1"),
    ({"dist": "lognormal", "median": 1, "mean": 2, "sigma": 0.3}, "exactly one of 'median' or 'mean'"),
    ({"dist": "lognormal", "sigma": 0.3}, "exactly one of 'median' or 'mean'"),
    ({"dist": "lognormal", "median": 1, "sigma": -0.1}, "greater than or equal to 0"),
    ({"dist": "weibull", "shape": 0.05, "scale": 1}, "greater than or equal to 0.1"),
    ({"dist": "weibull", "shape": 101, "scale": 1}, "less than or equal to 100"),
    ({"dist": "weibull", "shape": 2, "scale": 0}, "greater than 0"),
    ({"dist": "weibull", "shape": 2}, "exactly one of 'scale' or 'mean'"),
    ({"dist": "weibull", "shape": 2, "scale": 1, "mean": 1}, "exactly one of 'scale' or 'mean'"),
    ({"dist": "weibull", "shape": 0.1, "scale": 1e305}, "too large for a float"),
    ({"dist": "pareto", "scale": 1}, "unknown distribution 'pareto'"),
    ({"mean": 1}, "needs a 'dist' key"),
]

FIELDS: dict[str, set[str]] = {
    get_args(model.model_fields["dist"].annotation)[0]: {f.alias or n for n, f in model.model_fields.items()}
    for model in (Constant, Exponential, Normal, LogNormal, Gamma, Weibull, Triangular, Uniform, Empirical)
}


def test_field_table_covers_every_distribution() -> None:
    assert set(FIELDS) == set(DIST_NAMES)
    assert FIELDS["uniform"] == {"dist", "low", "high"}


@pytest.mark.parametrize(("table", "message"), [b for b in BAD if b[0].get("dist") in DIST_NAMES])
def test_impossible_parameters_rejected_directly(table: dict, message: str) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(table)


def _real_paths(table: dict) -> set[str]:
    """The paths a message may name: the distribution field, or one of its own keys."""
    base = "factories.f.takt_months"
    keys = FIELDS.get(table.get("dist"), set()) | set(table)
    return {base} | {f"{base}.{k}" for k in keys}


def _check_named(table: dict, message: str) -> None:
    data = scenario_dict(factories={"f": factory(takt_months=table)})
    problems = problems_of(data)
    assert len(problems) == 1, problems
    source, path, text = problems[0].split(": ", 2)
    assert source == "test.toml"
    assert message in text, problems[0]
    assert path in _real_paths(table), f"{path!r} is not a field path of the file: {problems[0]}"


# The model-level checks (uniform/triangular order, empirical weights, lognormal location)
# once reported a path ending in the distribution's *name* ("takt_months.uniform"), which is
# not a key of the file; these cases guard against that coming back.
@pytest.mark.parametrize(("table", "message"), BAD)
def test_impossible_parameters_named_by_field_path(table: dict, message: str) -> None:
    _check_named(table, message)


@pytest.mark.parametrize("field", ["takt_months", "flow_months"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_non_finite_or_negative_constant_rejected(field: str, value: float) -> None:
    data = scenario_dict(factories={"f": factory(**{field: value})})
    (line,) = problems_of(data)
    assert line.startswith(f"test.toml: factories.f.{field}"), line


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-320, 1e200, 1e300])
def test_triangular_samples_its_shape_at_any_scale(scale: float) -> None:
    """NumPy's triangular multiplies two widths: at 1e-300 that underflowed and every draw
    fell at an end (mean right, spread wrong); at 1e300 it overflowed to inf and nan."""
    dist = Triangular(dist="triangular", low=scale, mode=2 * scale, high=4 * scale)
    unit = Triangular(dist="triangular", low=1.0, mode=2.0, high=4.0)
    x = dist.sample(np.random.default_rng(3), 50_000) / scale
    assert np.all((x >= 1) & (x <= 4))
    assert abs(x.mean() - unit.mean) < 4 * x.std() / math.sqrt(len(x))
    assert np.mean(x < 2) == pytest.approx(1 / 3, abs=0.01)  # (P(X < mode) = 1/3)
    assert np.mean((x > 1.01) & (x < 3.99)) > 0.99  # not piled at the ends
    u = np.array([0.0, 0.2, 1 / 3, 0.5, 0.9, 0.999])
    rel = 1e-4 if scale < 1e-307 else 1e-12  # (a subnormal scale keeps few digits)
    np.testing.assert_allclose(dist.ppf(u) / scale, unit.ppf(u), rtol=rel)
    assert dist.mean / scale == pytest.approx(unit.mean, rel=rel)


def test_triangular_mean_near_the_largest_float_is_finite() -> None:
    dist = Triangular(dist="triangular", low=1e308, mode=1.5e308, high=1.7e308)
    assert dist.mean == pytest.approx(1.4e308)
    assert np.all(np.isfinite(dist.sample(np.random.default_rng(1), 1000)))
