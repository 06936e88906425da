"""One writer per results store: an operating-system lock on ``DIR/.lock`` (``filelock``),
and ``DIR/.writer.json`` saying who holds it.

The lock is the kernel's: it is released when the writer ends, however it ends (even
SIGKILL or a power cut), so a reader can tell a sweep that is running from a store whose
writer died with its manifest still saying "running".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from leadtime_sim.errors import InputError
from leadtime_sim.io import write_json

LOCK_NAME = ".lock"
WRITER_NAME = ".writer.json"


class StoreLock:
    """The lock of one store directory, held from ``acquire`` to ``release``."""

    def __init__(self, directory: Path):
        self.directory = directory
        self._lock = FileLock(directory / LOCK_NAME, timeout=0)

    def acquire(self) -> None:
        """Take the lock now, or raise InputError naming the process that holds it."""
        try:
            self._lock.acquire()
        except Timeout:
            raise InputError([f"{self.directory}: {describe(writer_record(self.directory))} is writing "
                              "this store; wait for it to end, or stop it first"]) from None
        except OSError as exc:
            raise InputError([f"{self.directory / LOCK_NAME}: cannot lock the store: "
                              f"{exc.strerror or exc}"]) from None
        write_json(self.directory / WRITER_NAME, {
            "pid": os.getpid(), "host": socket.gethostname(), "command": " ".join(sys.argv),
            "since": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")})

    def release(self) -> None:
        if self._lock.is_locked:
            with contextlib.suppress(OSError):
                (self.directory / WRITER_NAME).unlink(missing_ok=True)
            self._lock.release()


def writer_record(directory: Path) -> dict[str, Any]:
    """What ``.writer.json`` says of the writer (empty if unreadable)."""
    try:
        record = json.loads((directory / WRITER_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def describe(record: dict[str, Any]) -> str:
    """``another leadtime-sim process (pid 123 on host, since ...: leadtime-sim sweep ...)``."""
    if not record:
        return "another leadtime-sim process"
    return (f"another leadtime-sim process (pid {record.get('pid')} on {record.get('host')}, since "
            f"{record.get('since')}: {record.get('command')})")


def writer_alive(directory: Path) -> bool:
    """Whether some process holds the store's lock now (a sweep is writing it)."""
    if not (directory / LOCK_NAME).exists():
        return False
    probe = FileLock(directory / LOCK_NAME, timeout=0)
    try:
        probe.acquire()
    except Timeout:
        return True
    except OSError:  # a read-only store: nobody can be writing it
        return False
    probe.release()
    return False
