"""The kernel's parts get their collaborators, not the run, and ``Run.close`` leaves no
cyclic garbage (sim/engine.py, sim/orders.py, sim/outlets.py)."""

from __future__ import annotations

import gc
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

import leadtime_sim as lts
from leadtime_sim.sim.engine import Run, run_kernel
from leadtime_sim.sim.orders import OrderBook
from leadtime_sim.sim.outlets import STOCK

MODEL = Path(__file__).parents[1] / "models" / "nato_air_defence.toml"


@pytest.fixture(scope="module")
def scenario() -> lts.Scenario:
    return lts.load_scenario(MODEL)


@pytest.fixture
def no_automatic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def test_no_part_refers_to_the_run(scenario: lts.Scenario, no_automatic_gc: None) -> None:
    """Dropping a run frees the ``Run`` object at once, even before ``close``: nothing
    it built (factories, order book, pending events, processes) holds it."""
    run = Run(scenario, seed=1)
    run.run()
    ref = weakref.ref(run)
    del run
    assert ref() is None


def test_factories_hand_lots_to_the_book_or_to_stock(scenario: lts.Scenario) -> None:
    run = Run(scenario, seed=1)
    try:
        for factory in run.factories.values():
            expected = STOCK if factory.product.is_component else run.book
            assert factory.outlet is expected
            assert factory.need_is_backlog == isinstance(expected, OrderBook)
        assert any(f.outlet is STOCK for f in run.factories.values())
    finally:
        run.close()


def test_a_closed_run_leaves_no_cyclic_garbage(scenario: lts.Scenario, no_automatic_gc: None) -> None:
    """Without ``close`` the same run leaves thousands of objects in cycles."""
    run_kernel(scenario, seed=2)
    assert gc.collect() < 50


def test_factory_usage_is_the_monitor_s_view(scenario: lts.Scenario) -> None:
    """``Factory.usage`` brings the areas up to now (what the monthly sample reads)."""
    run = Run(scenario, seed=1)
    try:
        records = run.run()
        for factory in run.factories.values():
            busy, line_area, started = factory.usage()
            assert 0 <= busy <= line_area
            assert factory.area_time == run.env.now
            assert started == sum(r.started_units for r in records.factories if r.factory == factory.name)
    finally:
        run.close()
