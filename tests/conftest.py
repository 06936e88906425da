"""Shared builders for the core tests: small scenario dicts and hand models of a line."""

from __future__ import annotations

import copy
import heapq
import os
import signal
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import settings

import leadtime_sim as lts

# Property tests draw new cases each run while developing (the default profile); CI
# (HYPOTHESIS_PROFILE=ci, set by .ci/run) draws the same ones every time, so that a red build
# is the change's and can be repeated. Loaded here, before any test module's @settings.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _signal_handlers_restored() -> Any:
    """Each test leaves the signal handlers as it found them. A command stopped in-process by
    a Ctrl-C (tests that raise KeyboardInterrupt inside a sweep) ignores SIGINT while it
    exits, as it must in its own process; left so, the test worker's later subprocesses
    inherited SIG_IGN and the sweep subprocesses of the Ctrl-C tests ignored their SIGINT."""
    saved = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    yield
    for signum, handler in saved.items():
        if handler is not None:
            signal.signal(signum, handler)

START = "2025-01"


def scenario_dict(**changes: Any) -> dict[str, Any]:
    """A small valid scenario: one product ``p``, one factory ``f`` (1 line, takt 2, flow 3),
    one order of 10 units placed at start. Keyword arguments replace top-level keys."""
    data: dict[str, Any] = {
        "name": "test",
        "start": START,
        "end": "2030-01",
        "products": {"p": {}},
        "factories": {"f": {"product": "p", "lines": 1, "lot_size": 1,
                            "takt_months": 2, "flow_months": 3}},
        "orders": [{"customer": "a", "product": "p", "quantity": 10, "placed": START}],
    }
    data.update(copy.deepcopy(changes))
    return data


def factory(product: str = "p", **fields: Any) -> dict[str, Any]:
    """A factory table with defaults (1 line, lot 1, takt 1, flow 0)."""
    table: dict[str, Any] = {"product": product, "lines": 1, "lot_size": 1,
                             "takt_months": 1, "flow_months": 0}
    table.update(fields)
    return table


def order(quantity: int, placed: str = START, customer: str = "a", product: str = "p",
          **fields: Any) -> dict[str, Any]:
    return {"customer": customer, "product": product, "quantity": quantity, "placed": placed,
            **fields}


def build(data: dict[str, Any], plugins: lts.Plugins | None = None) -> lts.Scenario:
    """Validate a scenario dict (as if read from ``test.toml``)."""
    if plugins is None:
        return lts.validate_scenario(data, source="test.toml")
    return lts.validate_scenario(data, source="test.toml", plugins=plugins)


def run(data: dict[str, Any], seed: int = 1, **kwargs: Any) -> lts.RunResult:
    return lts.simulate(build(data, kwargs.get("plugins")), seed=seed, **kwargs)


def problems_of(data: dict[str, Any], plugins: lts.Plugins | None = None) -> list[str]:
    """The problem lines validation reports; fails the test if the input is accepted."""
    with pytest.raises(lts.InputError) as info:
        build(data, plugins)
    assert info.value.problems, "an InputError must carry at least one problem line"
    return info.value.problems


def delivery_times(result: lts.RunResult, product: str | None = None,
                   customer: str | None = None) -> list[float]:
    """Delivery time of each unit (a delivery of n units counts n times), sorted."""
    times = []
    for d in result.records.deliveries:
        if (product is None or d.product == product) and (customer is None or d.customer == customer):
            times += [d.time_months] * d.units
    return sorted(times)


def list_schedule(units: int, line_free: Sequence[float], lot_size: int,
                  takt: Callable[[float, int], float], flow: float,
                  release: Callable[[int], float] = lambda k: 0.0) -> list[float]:
    """Hand model of make-to-order lines with deterministic takt.

    Lots of up to ``lot_size`` units start on whichever line is free first, as soon as the
    units are released; ``takt(start, line)`` is the time the lot holds line number ``line``. Returns the
    delivery time of each unit, in unit order.
    """
    free = [(t, i) for i, t in enumerate(line_free)]
    heapq.heapify(free)
    out: list[float] = []
    k = 0
    while k < units:
        t, i = heapq.heappop(free)
        start = max(t, release(k))
        size = 1
        while size < lot_size and k + size < units and release(k + size) <= start:
            size += 1
        end = start + takt(start, i)
        out += [end + flow] * size
        heapq.heappush(free, (end, i))
        k += size
    return out


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """setup.cfg's addopts run the suite on every core (``--numprocesses=auto``: pytest-xdist's
    ``-n auto``). With the plugin left out for debugging (``pytest -p no:xdist``) the option
    is accepted and does nothing, so the addopts still parse and the tests run in this one
    process (``pytest -n 0`` does the same with the plugin loaded)."""
    if not pluginmanager.has_plugin("xdist"):
        group = parser.getgroup("xdist (not loaded: the tests run in this process)")
        group.addoption("--numprocesses", dest="numprocesses", default=None, metavar="N",
                        help="Ignored: pytest-xdist is not loaded (-p no:xdist).")
        group.addoption("--dist", dest="dist", default="no",
                        help="Ignored: pytest-xdist is not loaded (-p no:xdist).")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The reliability suite (tests/reliability: fuzzing, kills, full disks, every option)
    is slow as a whole: ``pytest -m "not slow"`` leaves it out."""
    for item in items:
        if "reliability" in item.path.parts:
            item.add_marker(pytest.mark.slow)


def ctrl_c_after_runs(monkeypatch: pytest.MonkeyPatch, runs: int) -> Callable[[], None]:
    """Make a store raise KeyboardInterrupt (a Ctrl-C) as its run ``runs + 1`` is added; the
    returned call undoes it (so that the same test can resume or report the store)."""
    from leadtime_sim.experiment.store import ResultsStore

    add, added = ResultsStore.add, [0]

    def add_then_stop(self: ResultsStore, outcome: Any) -> None:
        if added[0] == runs:
            raise KeyboardInterrupt
        added[0] += 1
        add(self, outcome)

    monkeypatch.setattr(ResultsStore, "add", add_then_stop)
    return lambda: monkeypatch.setattr(ResultsStore, "add", add)
