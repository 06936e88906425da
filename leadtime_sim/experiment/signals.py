"""Signals while runs execute: held while a Dask cluster starts, and delivered again where
something swallowed them. Both only in the main thread, where Python handles signals."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Generator, Iterator
from typing import Any, TypeVar

T = TypeVar("T")

HELD_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP noted, not acted on, within the block, then delivered.

    A signal while a LocalCluster starts (a few seconds) interrupted its start half-way:
    the cluster object never reached us to be closed, and Dask's exit hook printed its
    traceback over the sweep's one line. Held, the signal stops the sweep once the cluster
    exists (and can be closed). Only in the main thread, where Python handles signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    noted: list[int] = []
    previous: dict[int, Any] = {signum: signal.signal(signum, lambda signum, _frame: noted.append(signum))
                                for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        _restore(previous)
        if noted:
            signal.raise_signal(noted[0])  # its own handler runs now (Ctrl-C: KeyboardInterrupt)


def signals_kept(outcomes: Generator[T, None, None]) -> Generator[T, None, None]:
    """``outcomes``, with a Ctrl-C, SIGTERM or SIGHUP that something swallowed delivered again
    after the next outcome (which is kept).

    A signal's handler raises in whatever Python code the main thread runs, and where that
    is a garbage-collector callback (Dask's scheduler registers one in this process) or a
    finaliser, the exception is only printed ('Exception ignored in ... KeyboardInterrupt')
    and the sweep ran on to its end, exit 0. Only in the main thread, where Python handles
    signals; a signal whose handler is to ignore it is not noted."""
    if threading.current_thread() is not threading.main_thread():
        yield from outcomes
        return
    noted: list[int] = []
    previous: dict[int, Any] = {signum: signal.getsignal(signum) for signum in HELD_SIGNALS}

    def deliver(signum: int, frame: Any) -> None:
        handler = previous[signum]
        if callable(handler):
            handler(signum, frame)  # (Python's default for Ctrl-C raises KeyboardInterrupt)
        elif handler == signal.SIG_DFL:  # (the default action: SIGTERM and SIGHUP end the process)
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)

    def noting(signum: int, frame: Any) -> None:
        noted.append(signum)
        deliver(signum, frame)

    for signum, handler in previous.items():
        if handler != signal.SIG_IGN:
            signal.signal(signum, noting)
    try:
        with contextlib.closing(outcomes):
            for outcome in outcomes:
                yield outcome
                if noted:  # (had its exception come through, the loop would have ended)
                    deliver(noted[0], None)
    finally:
        _restore(previous)


def _restore(previous: dict[int, Any]) -> None:
    """The handlers as they were (None: one set outside Python, taken as the default)."""
    for signum, handler in previous.items():
        signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
