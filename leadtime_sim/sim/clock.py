"""SimPy's environment, with a cheaper lane for the kernel's own callbacks.

The kernel drives lines and order streams by callbacks rather than processes: one event
per lot or order, no generator to resume. ``Clock.call_later(delay, f)`` puts ``f`` itself
on SimPy's event queue, ordered among all other events by (time, priority, insertion)
exactly as a ``Timeout`` carrying ``f`` as its one callback would be, and ``step`` calls it.
That halves the cost of an event (no event object, no callback list); everything else
(processes, timeouts, ``run(until=...)``) is plain SimPy.

It relies on three private attributes of ``simpy.Environment`` (``_queue``, ``_eid`` and
``_now``), unchanged since SimPy 3; setup.cfg pins SimPy below 5. No other module of
the kernel touches them.

``Calendar`` turns the scenario's dates into the clock's unit, months from start.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from heapq import heappop, heappush
from typing import Any

import simpy
from simpy.core import NORMAL, URGENT
from simpy.events import Event

from leadtime_sim.dates import months_between

Callback = Callable[[Any], object]
"""Called with ``None`` (where a SimPy callback would get its event)."""

__all__ = ["NORMAL", "URGENT", "Calendar", "Callback", "Clock"]


class Clock(simpy.Environment):
    """A ``simpy.Environment`` that can also schedule bare function calls."""

    def call_later(self, delay: float, callback: Callback, priority: int = NORMAL) -> None:
        """Call ``callback(None)`` ``delay`` time units from now (``URGENT``: before the
        NORMAL events of that instant), as ``schedule`` would fire an event."""
        if delay < 0:
            raise ValueError(f"negative delay {delay}")
        entry: Any = (self._now + delay, priority, next(self._eid), callback)  # SimPy types an Event
        heappush(self._queue, entry)

    def step(self) -> None:
        """Process the next event, or make the next call."""
        queue = self._queue
        if queue and not isinstance(queue[0][3], Event):
            self._now, _, _, call = heappop(queue)
            call(None)
        else:
            super().step()

    def close(self) -> None:
        """Drop every pending event and call: their callbacks refer to the run's parts,
        which refer back to the clock (see ``Run.close``)."""
        self._queue.clear()


@dataclass(frozen=True)
class Calendar:
    """A run's dates as months from its start (the clock's unit)."""

    start: str
    horizon: float
    """Months from start to end."""

    @classmethod
    def of(cls, start: str, end: str) -> Calendar:
        """The calendar of a run from ``start`` to ``end``."""
        return cls(start, months_between(start, end))

    def months(self, date: str) -> float:
        """Months from start to ``date`` (YYYY-MM or YYYY-MM-DD)."""
        return months_between(self.start, date)
