"""Fewer and shorter garbage-collector passes while a run is simulated.

A run keeps every order and record alive until it ends, so each pass of Python's cyclic
garbage collector (by default every 700 net allocations) walks a heap that keeps growing:
on a 20,000-order run that is a quarter of the time, and a full pass also walks every
object of the libraries loaded (pandas, SciPy), which made one run in five twice as slow.
The kernel makes almost no cyclic garbage (events are freed by reference counting), so
while it runs the first-generation threshold is raised and the objects that existed
before the run are frozen (``gc.freeze``: left out of passes). Both are undone afterwards,
also when runs nest or run in several threads at once.
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


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the first-generation threshold and freeze older objects for the block."""
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = gc.get_threshold()
            first, *others = _saved
            if first:  # 0 means the user disabled automatic collection: leave it so
                gc.set_threshold(max(first, RUN_THRESHOLD), *others)
            gc.freeze()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.unfreeze()
                gc.set_threshold(*_saved)
