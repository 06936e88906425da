"""Writing result files atomically: a temporary name, then a rename.

A reader (or a crash) never sees a half-written file under a name the tool uses.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from leadtime_sim.errors import OutputError


@contextmanager
def system_memory_pool() -> Iterator[None]:
    """Arrow allocates with the C library's malloc meanwhile. Its default pool, mimalloc,
    keeps freed memory for reuse: a sweep, which writes and reads many small tables, held
    20-30 MiB more, by an amount that varied from run to run."""
    import pyarrow as pa

    previous = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(previous)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


FILE_MODE = 0o666 & ~_umask()
"""What open() would give a new file (mkstemp's temporaries are private, 0600)."""


def foreign_files(directory: Path, names: Iterable[str]) -> list[str]:
    """What ``directory`` holds besides ``names`` (and temporaries): files a writer of those
    names must never touch. Empty if the directory does not exist."""
    allowed = set(names)
    try:
        entries = [p.name for p in directory.iterdir()] if directory.is_dir() else []
    except OSError as exc:
        raise OutputError([f"{directory}: cannot read the output directory: {exc.strerror or exc}"]) from None
    return sorted(n for n in entries if n not in allowed and not (n.startswith(".") and n.endswith(".tmp")))


def safe_name(stem: str, fallback: str) -> str:
    """A folder name made of ``stem`` (a file's stem: letters of any script, digits, ``._-``;
    ``..`` and the like become ``fallback``), so a default output folder stays under its
    parent. Letters such as é or 名 are kept: ASCII alone made ``試験`` and ``実験`` one folder,
    ``_``."""
    name = re.sub(r"[^\w.-]+", "_", unicodedata.normalize("NFC", stem)).strip(".")
    return name or fallback


def check_creatable(path: Path) -> None:
    """OutputError, before any work, if directory ``path`` cannot exist: a file on its way
    (``/etc/passwd/out``) or a missing, unwritable nearest folder. Creates nothing."""
    here = path
    while not here.exists() and here != here.parent:
        here = here.parent
    if here == path and path.is_dir():
        return
    if not here.is_dir():  # (which file, and why it matters: as make_directory says it)
        raise OutputError([f"{path}: cannot create the output directory: {here} is a file, not a directory"]
                          if here != path else [f"{path}: is a file, not a directory; cannot write into it"])
    if here != path and not os.access(here, os.W_OK | os.X_OK):  # (in the words making it would fail with)
        why = errno.EROFS if os.statvfs(here).f_flag & os.ST_RDONLY else errno.EACCES
        raise OutputError([f"{path}: cannot create the output directory: {os.strerror(why)}"])


def make_directory(path: Path) -> None:
    """Create ``path`` (and parents), or say in one line why not."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:  # (a file of that name: "File exists" said nothing of it)
        raise OutputError([f"{path}: is a file, not a directory; cannot write into it"]) from None
    except OSError as exc:
        file = next((p for p in (path, *path.parents) if p.exists() and not p.is_dir()), None)
        if file is not None:  # ("File exists" or "Not a directory": which file, and why it matters)
            raise OutputError([f"{path}: cannot create the output directory: {file} is a file, not a "
                               "directory"]) from None
        raise OutputError([f"{path}: cannot create the output directory: {exc.strerror or exc}"]) from None


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write(tmp)`` for a temporary file beside ``path``, then rename it over ``path``.

    A failure (full disk, no permission) leaves the old file, no temporary, and raises
    OutputError naming the file.
    """
    make_directory(path.parent)
    # The name is known before the file exists, so an interrupt at any moment can clean up.
    tmp = path.parent / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
        write(tmp)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except OSError as exc:
        _remove(tmp)
        raise OutputError([f"{path}: cannot write: {exc.strerror or exc}"]) from None
    except BaseException:
        _remove(tmp)
        raise


def _remove(tmp: Path) -> None:
    """Clean up a temporary (on a read-only file system there is nothing to remove)."""
    with contextlib.suppress(OSError):
        tmp.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, sort_keys=False, allow_nan=False) + "\n"
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


CSV_CHUNK_ROWS = 256
"""Rows formatted at once when writing CSV: pandas formats a whole table at once otherwise
(about 5 kB a row for the runs table), so memory would grow with the number of runs."""


def write_table(frame: pd.DataFrame, stem: Path, csv: bool = True) -> None:
    """``stem.parquet`` and (for spreadsheets) ``stem.csv``."""
    atomic_write(stem.with_suffix(".parquet"), lambda tmp: frame.to_parquet(tmp, index=False))
    if csv:
        atomic_write(stem.with_suffix(".csv"),
                     lambda tmp: frame.to_csv(tmp, index=False, chunksize=CSV_CHUNK_ROWS))
