"""What the fluid model's faster paths stand on: each gives, to the bit, what the plain NumPy
call it replaces gives (``benchmarks/fluid_speed.py`` measures the speed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import leadtime_sim as lts
from leadtime_sim.fluid_model.curves import sorted_unique
from leadtime_sim.fluid_model.model import FluidModel
from leadtime_sim.fluid_model.monthly import factory_columns
from leadtime_sim.survival import kaplan_meier

MODELS = Path(__file__).parent.parent / "models"
SCENARIOS = ["nato_air_defence.toml", "single_line.toml", "mmc_check.toml"]


def _solved(name: str) -> FluidModel:
    model = FluidModel(lts.load_scenario(MODELS / name))
    model.solve(model.quote_index)
    return model


def _reference_kaplan_meier(values: np.ndarray, censored: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The estimate as first written: np.unique and counts by binary search."""
    times = np.unique(values[~censored])
    exact = np.sort(values[~censored])
    deaths = np.searchsorted(exact, times, side="right") - np.searchsorted(exact, times, side="left")
    at_risk = len(values) - np.searchsorted(np.sort(values), times, side="left")
    return times, np.cumprod(1.0 - deaths / at_risk, dtype=np.float64)


def test_kaplan_meier_is_the_unique_and_searchsorted_estimate_to_the_bit() -> None:
    """Ties, signed zeros and NaN (which np.unique counts as one value) included."""
    rng = np.random.default_rng(7)
    pools = [np.array([0.0, -0.0, 1.0, 2.5, 3.0, 7.25, 100.0]),
             np.array([0.0, -0.0, 1.0, 2.5, np.nan, 7.25]), np.arange(10) / 4]
    for trial in range(3000):
        values = rng.choice(pools[trial % 3], rng.integers(0, 30))
        censored = rng.random(len(values)) < rng.random()
        times, survival = kaplan_meier(values, censored)
        want_times, want_survival = _reference_kaplan_meier(values, censored)
        assert times.tobytes() == want_times.tobytes() and times.dtype == want_times.dtype
        assert survival.tobytes() == want_survival.tobytes()


def test_sorted_unique_is_np_unique() -> None:
    rng = np.random.default_rng(3)
    for n in (0, 1, 2, 17, 300):
        x = rng.integers(0, max(n // 3, 1), n) / 8.0
        assert sorted_unique(x).tobytes() == np.unique(x).tobytes()


@pytest.mark.parametrize("name", SCENARIOS)
def test_kinked_output_times_are_the_grid_with_the_kinks_inserted(name: str) -> None:
    """Each product's output bends at the grid with its kinks inserted, each taking the
    output at its step's end (what np.insert gave per factory and update)."""
    model = _solved(name)
    kinked = 0
    for c in model.curves.values():
        at = c._kink_steps
        assert c._bend_times.tobytes() == np.insert(c.grid, at, c.kinks).tobytes()
        for m in c.makers:
            made = c.factory_output[m.name]
            values = made if c._bend_source is None else made[c._bend_source]
            assert values.tobytes() == np.insert(made, at, made[at]).tobytes()
        kinked += len(at) > 0
    if name == "nato_air_defence.toml":
        assert kinked  # (the default model's lines run out of work inside steps)


@pytest.mark.parametrize("name", SCENARIOS)
def test_delivery_times_are_the_union_of_the_shifted_grid_and_kinks(name: str) -> None:
    """The delivery curve's times, merged from the times without kinks, are np.unique of
    the grid and of the grid and kinks shifted by each maker's flow, as first written, and
    of each initial WIP lot's due time and the instant before it (its step)."""
    model = _solved(name)
    for c in model.curves.values():
        bends = np.concatenate([c.grid, c.kinks])
        parts = [c.grid, *(np.append(bends + m.flow_months, m.flow_months) for m in c.makers)]
        parts += [t for m in c.makers if m.wip_units and m.flow_months > 0
                  for t in (m.wip_dues(), np.nextafter(m.wip_dues(), -np.inf))]
        assert c.delivered_times.tobytes() == np.unique(np.concatenate(parts)).tobytes()


def test_the_summary_reads_the_lines_and_capacity_of_the_full_factory_columns() -> None:
    model = _solved("nato_air_defence.toml")
    full, rates = factory_columns(model), factory_columns(model, rates_only=True)
    assert list(full) == list(rates)
    for name, columns in rates.items():
        assert set(columns) == {"product", "lines", "capacity"}
        assert set(full[name]) == {"product", "lines", "capacity", "utilisation", "started"}
        assert columns["lines"].tobytes() == full[name]["lines"].tobytes()
        assert columns["capacity"].tobytes() == full[name]["capacity"].tobytes()
