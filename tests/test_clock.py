"""The kernel's clock: bare calls are ordered among SimPy events exactly as Timeouts would be."""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import simpy
from simpy.core import EventPriority

from leadtime_sim.sim.clock import URGENT, Clock
from leadtime_sim.sim.collector import RUN_THRESHOLD, fewer_collections, settle


def _trace(env: simpy.Environment, bare: bool) -> list[tuple[float, str]]:
    """Schedule the same mix of timeouts, processes and calls; record who ran when."""
    seen: list[tuple[float, str]] = []

    def note(label: str) -> Callable[[Any], None]:
        return lambda _event: seen.append((env.now, label))

    def later(delay: float, label: str, priority: int = 1) -> None:
        if bare:
            assert isinstance(env, Clock)
            env.call_later(delay, note(label), priority)
        else:
            event = simpy.Event(env)
            event._ok, event._value = True, None
            event.callbacks.append(note(label))
            env.schedule(event, EventPriority(priority), delay)

    def process() -> simpy.events.ProcessGenerator:
        for k in range(3):
            yield env.timeout(1.0)
            seen.append((env.now, f"process {k}"))
            later(0, f"from process {k}")
            later(1.0, f"urgent from process {k}", URGENT)

    env.process(process())
    for k, delay in enumerate([2.0, 1.0, 1.0, 0.0, 2.5, 3.0]):
        later(delay, f"call {k}")
    later(2.0, "urgent", URGENT)
    env.run(until=3.0)  # stops before the NORMAL events at 3.0
    seen.append((env.now, "stopped"))
    env.run(until=5.0)
    return seen


def test_bare_calls_keep_simpy_order() -> None:
    assert _trace(Clock(), bare=True) == _trace(simpy.Environment(), bare=False)


def test_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError, match="negative delay"):
        Clock().call_later(-1e-9, lambda _event: None)


def test_failed_events_still_crash_the_run() -> None:
    env = Clock()
    env.call_later(1.0, lambda _event: None)
    def fail(_event: Any) -> None:
        env.event().fail(RuntimeError("boom"))

    env.timeout(2.0).callbacks.append(fail)
    with pytest.raises(RuntimeError, match="boom"):
        env.run(until=5)


def test_fewer_collections_restores_thresholds_also_nested_and_threaded() -> None:
    before = gc.get_threshold()
    frozen = gc.get_freeze_count()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], RUN_THRESHOLD)
        assert gc.get_freeze_count() > frozen
        with fewer_collections():
            assert gc.get_threshold()[0] == max(before[0], RUN_THRESHOLD)
        assert gc.get_threshold()[0] == max(before[0], RUN_THRESHOLD)
    assert gc.get_threshold() == before

    started, release = threading.Barrier(2), threading.Event()

    def hold() -> None:
        with fewer_collections():
            started.wait()
            release.wait()

    thread = threading.Thread(target=hold)
    thread.start()
    started.wait()
    with fewer_collections():
        pass
    assert gc.get_threshold()[0] == max(before[0], RUN_THRESHOLD)  # the other run still holds it
    release.set()
    thread.join()
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen


def test_fewer_collections_leaves_a_disabled_threshold_alone() -> None:
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


def test_settle_freezes_only_during_runs_and_all_is_unfrozen_after() -> None:
    assert gc.get_freeze_count() == 0
    settle()
    assert gc.get_freeze_count() == 0  # outside a run: nothing
    with fewer_collections():
        kept = [[k] for k in range(1000)]
        settle()
        assert gc.get_freeze_count() >= 1000
    assert gc.get_freeze_count() == 0
    assert len(kept) == 1000


def test_a_program_that_froze_objects_itself_is_left_alone() -> None:
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        with fewer_collections():
            made = [[k] for k in range(1000)]
            settle()
            assert gc.get_freeze_count() <= frozen  # nothing more frozen (some may have died)
        assert gc.get_freeze_count() > frozen - 1000  # and nothing unfrozen
        assert len(made) == 1000
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("fail", [False, True], ids=["run", "failed run"])
def test_a_finished_run_is_freed_without_a_full_collection(fail: bool) -> None:
    """Runs freeze what lives through each month; the run must still be freed at once
    (by reference counting, once ``Run.close`` broke its cycles), or a long sweep would
    hold every run."""
    import weakref

    import leadtime_sim as lts
    from leadtime_sim.sim import engine

    runs: list[weakref.ref[engine.Run]] = []
    lines: list[weakref.ref[object]] = []
    original = engine.Run.run

    def run(self: engine.Run) -> engine.KernelRecords:
        runs.append(weakref.ref(self))
        if fail:
            self.guard.max_lots = 10
        try:
            return original(self)
        finally:
            lines.extend(weakref.ref(line) for f in self.factories.values() for line in f.lines)

    scenario = lts.load_scenario(Path(__file__).parents[1] / "models" / "nato_air_defence.toml")
    engine.Run.run = run  # type: ignore[method-assign]
    try:
        try:
            lts.simulate(scenario, seed=1)
            failed = False
        except lts.RunLimitExceeded:  # (not pytest.raises: its traceback would hold the run)
            failed = True
        assert failed == fail
    finally:
        engine.Run.run = original  # type: ignore[method-assign]
    assert lines and all(line() is None for line in lines)
    closed = runs[0]()
    # A failed run's frames (in the exception's traceback) may still hold the run object
    # and the factory that raised, but not the run's bulk: its orders and lines are freed.
    assert closed is None or (fail and not closed.book.orders
                              and not any(f.lines for f in closed.factories.values()))
