"""Fewer and shorter garbage-collector passes while a run is simulated.

A run keeps every order and record alive until it ends, so each pass of Python's cyclic
garbage collector (by default every 700 net allocations) walks a heap that keeps growing:
on a 20,000-order run that was a third of the time, and a full pass also walks every
object of the libraries loaded (pandas, SciPy). Yet the kernel makes almost no cyclic
garbage: lots, events and allocations are freed by reference counting. So while a run
goes on, the first-generation threshold is raised, the objects that existed before it
are frozen (``gc.freeze``: left out of passes), and ``settle()``, called at each month's
end, freezes what has lived through the month (mostly records). The kernel then breaks
its own cycles when the run ends (``Run.close``), so reference counting frees the
run at once. All is undone when the last run in progress ends, also when runs nest or
run in several threads at once; if the program had frozen objects itself (say, before
forking workers), nothing is frozen or unfrozen here.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

RUN_THRESHOLD = 50_000
"""Net allocations between first-generation passes during a run (Python's default: 700)."""

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, int, int] = gc.get_threshold()
_freezing = False


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the first-generation threshold and freeze older objects for the block."""
    global _depth, _saved, _freezing
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            first, *others = _saved
            if first:  # 0 means the user disabled automatic collection: leave it so
                gc.set_threshold(max(first, RUN_THRESHOLD), *others)
            _freezing = gc.get_freeze_count() == 0  # else the program froze objects itself
            if _freezing:
                gc.freeze()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                if _freezing:
                    gc.unfreeze()
                    _freezing = False
                gc.set_threshold(*_saved)


def settle() -> None:
    """Leave the objects alive now out of the collector's passes until the runs end (a
    no-op outside ``fewer_collections``). Whoever calls it must free its own cycles when
    done: frozen garbage waits for a full pass, which may not come for a long time."""
    if _freezing:
        gc.freeze()
