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


def test_a_stream_seeds_its_generator_at_its_first_draw(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thousands of idle lines cost no generators (seeding one is ~0.1 ms), and a stream's
    draws are those of its source's own generator, made early or late."""
    from leadtime_sim.distributions import Exponential
    from leadtime_sim.sim import streams as streams_module

    made: list[str] = []
    seed_sequence = streams_module.seed_sequence
    monkeypatch.setattr(streams_module, "seed_sequence",
                        lambda seed, rep, source: made.append(source) or seed_sequence(seed, rep, source))
    streams = streams_module.RandomStreams(7, 2)
    takt = streams.draws("line.1.takt", Exponential(dist="exponential", mean=2.0))
    uniforms = streams.uniforms("line.1.yield")
    assert made == []
    first = [next(takt) for _ in range(300)]  # past one block
    assert made == ["line.1.takt"]
    expected = streams_module.RandomStreams(7, 2).generator("line.1.takt").exponential(2.0, 256)
    assert first[:256] == expected.tolist()
    assert next(uniforms) == streams_module.RandomStreams(7, 2).generator("line.1.yield").random()
    with pytest.raises(ValueError, match="used twice"):
        streams.uniforms("line.1.takt")


def test_a_run_of_thousands_of_idle_lines_seeds_only_the_streams_it_draws(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from leadtime_sim.sim import streams as streams_module

    made: list[str] = []
    seed_sequence = streams_module.seed_sequence
    monkeypatch.setattr(streams_module, "seed_sequence",
                        lambda seed, rep, source: made.append(source) or seed_sequence(seed, rep, source))
    scenario = lts.load_scenario(Path(__file__).parent / "data" / "mmc_requirements.toml",
                                 overrides=["factories.server.lines=5000", 'end="2026-01"'])
    lts.simulate(scenario, seed=1)
    line_streams = [name for name in made if ".line." in name]
    assert 0 < len(line_streams) < 200, len(line_streams)
