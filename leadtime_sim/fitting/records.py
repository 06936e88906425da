"""Records to fit: one numeric column of a CSV file, read and checked.

``read_records`` reads the column (and optionally a 0/1 column marking right-censored
values: orders not yet delivered, whose value is only a lower bound); ``check_records``
checks the values as every fit needs them (``fit`` and ``validate --column`` both call it);
``summarise_records`` applies the same reading and checks to every numeric column (what
``validate RECORDS.csv`` prints). Bad input raises ``InputError``, one line.
"""

from __future__ import annotations

import csv
import difflib
import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leadtime_sim.errors import InputError, read_input

FloatArray = np.ndarray

MIN_VALUES = 10
"""Fewer values than this are refused: a ranking of fits to them would mean nothing."""
MIN_UNCENSORED = 5
"""With censoring, at least this many values must be exact (censored ones are lower bounds)."""
TRUE_FLAGS = frozenset({"1", "true", "yes", "y", "t"})
FALSE_FLAGS = frozenset({"0", "false", "no", "n", "f"})


# -- records ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Records:
    """One column of values, with a flag per value: True = right-censored (a lower bound)."""

    values: FloatArray
    censored: FloatArray
    column: str = "value"
    source: str = "records"
    censored_column: str | None = None
    lines: tuple[int, ...] | None = None
    """The file's line number of each value (header = line 1), for messages."""
    notes: tuple[str, ...] = ()

    @staticmethod
    def of(values: Sequence[float] | FloatArray, censored: Sequence[bool] | FloatArray | None = None,
           column: str = "value") -> Records:
        """Records from arrays (censored: None = none is)."""
        x = np.asarray(values, dtype=float)
        flags = np.zeros(len(x), dtype=bool) if censored is None else np.asarray(censored, dtype=bool)
        if flags.shape != x.shape:
            raise ValueError("values and censored flags differ in length")
        return Records(x, flags, column)

    @property
    def n(self) -> int:
        return len(self.values)

    @property
    def n_censored(self) -> int:
        return int(np.count_nonzero(self.censored))

    def where(self, k: int) -> str:
        """Where value ``k`` is: ``line 7`` of the file, or ``value 7`` of an array."""
        return f"line {self.lines[k]}" if self.lines is not None else f"value {k + 1}"


def _read_text(path: str | Path) -> str:
    source = str(path)
    raw = read_input(path)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError([f"{source}: not UTF-8 text (byte {exc.start})"]) from None


def _column_index(header: list[str], name: str, source: str) -> int:
    if header.count(name) > 1:
        raise InputError([f"{source}: column {name!r} appears {header.count(name)} times in the header"])
    if name not in header:
        close = difflib.get_close_matches(name, header, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        shown = ", ".join(repr(h) for h in header[:12]) + (", ..." if len(header) > 12 else "")
        raise InputError([f"{source}: no column {name!r}{hint}; the header has {shown or 'nothing'}"
                          f"{separator_hint(header)}"])
    return header.index(name)


SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "bars"}


def separator_hint(header: list[str]) -> str:
    """A hint when the header is one cell holding another separator (a spreadsheet's export
    with semicolons, as European locales write it, or tabs): the file is read with commas."""
    if len(header) != 1:
        return ""
    found = [name for sep, name in SEPARATORS.items() if sep in header[0]]
    return (f": it looks separated by {found[0]}, but records are read as comma-separated values "
            "(a point as the decimal mark): save it as CSV with commas") if found else ""


def _read_rows(path: str | Path) -> tuple[str, list[str], list[list[str]]]:
    """The source name, the header (cells stripped) and the rows below it of a CSV file."""
    source = str(path)
    text = _read_text(path)
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        raise InputError([f"{source}: not a CSV file: {exc}"]) from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise InputError([f"{source}: is empty (a CSV file with a header row is needed)"])
    return source, [_name(cell) for cell in rows[0]], rows[1:]


def _name(text: str) -> str:
    """A column's name as compared: stripped, in Unicode's composed form (NFC), so that a
    header saved with "e" + a combining accent (macOS, some exports) is the "é" typed."""
    return unicodedata.normalize("NFC", text.strip())


@dataclass(frozen=True)
class _Scan:
    """One column's cells sorted out: the finite numbers (with their flags and line numbers),
    the cells that are not, the flags that are not 0/1, and the empty cells."""

    values: list[float]
    flags: list[bool]
    lines: list[int]
    bad: list[tuple[int, str]]
    bad_flags: list[tuple[int, str]]
    empty: int


def _flag(mark: str) -> bool | None:
    """A censoring flag: 1/0, true/false, yes/no, or a number equal to 1 or 0 (``1.0``, as
    spreadsheets and pandas write them); None if it is none of these."""
    if mark in TRUE_FLAGS | FALSE_FLAGS:
        return mark in TRUE_FLAGS
    try:
        value = float(mark)
    except ValueError:
        return None
    return bool(value) if value in (0.0, 1.0) else None


def _scan(rows: list[list[str]], at: int, flag_at: int | None) -> _Scan:
    values: list[float] = []
    flags: list[bool] = []
    lines: list[int] = []
    bad: list[tuple[int, str]] = []
    bad_flags: list[tuple[int, str]] = []
    empty = 0
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue  # a blank line
        cell = row[at].strip() if at < len(row) else ""
        if not cell:
            empty += 1
            continue
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            bad.append((line, cell))
            continue
        flag = False
        if flag_at is not None:
            mark = row[flag_at].strip().lower() if flag_at < len(row) else ""
            flag_or_none = _flag(mark)
            if flag_or_none is None:
                bad_flags.append((line, mark))
                continue
            flag = flag_or_none
        values.append(value)
        flags.append(flag)
        lines.append(line)
    return _Scan(values, flags, lines, bad, bad_flags, empty)


def _records_of(scan: _Scan, source: str, column: str, censored_column: str | None) -> Records:
    """The scanned column as Records; an InputError if a cell is not a number or a flag not 0/1."""
    if scan.bad:
        line, cell = scan.bad[0]
        raise InputError([f"{source}: column {column!r}: {count_text(len(scan.bad), 'value')} not a finite "
                          f"number (the first: line {line}: {cell!r})"])
    if scan.bad_flags:
        line, mark = scan.bad_flags[0]
        flags = count_text(len(scan.bad_flags), "flag")
        raise InputError([f"{source}: column {censored_column!r}: {flags} not "
                          f"0/1, true/false or yes/no (the first: line {line}: {mark!r})"])
    notes = (f"{count_text(scan.empty, 'row')} with an empty {column!r} skipped",) if scan.empty else ()
    return Records(np.asarray(scan.values, dtype=float), np.asarray(scan.flags, dtype=bool), column, source,
                   censored_column, tuple(scan.lines), notes)


def read_records(path: str | Path, column: str, censored_column: str | None = None) -> Records:
    """The numbers of ``column`` in a CSV file with a header row (empty cells are skipped,
    with a note); with ``censored_column``, a 0/1 (or true/false, yes/no) flag per row,
    1 = right-censored: the value is a lower bound (an order not yet delivered).

    Only the file is checked here; ``check_records`` checks the values as ``fit`` needs them."""
    column = _name(column)
    censored_column = None if censored_column is None else _name(censored_column)
    if censored_column is not None and censored_column == column:
        raise InputError([f"{path}: --censored-column {column!r} is the column of values itself; it names "
                          "the 0/1 column that flags which of them are lower bounds"])
    source, header, rows = _read_rows(path)
    at = _column_index(header, column, source)
    flag_at = _column_index(header, censored_column, source) if censored_column is not None else None
    return _records_of(_scan(rows, at, flag_at), source, column, censored_column)


@dataclass(frozen=True)
class ColumnSummary:
    """A numeric column of a records file: how many numbers it has, and why ``fit`` would
    refuse it (``problem``, fit's own message without the file and column; None: it would not)."""

    name: str
    values: int
    empty: int
    flags_only: bool
    """Every number is 0 or 1: perhaps a censoring flag (``--censored-column``)."""
    problem: str | None


@dataclass(frozen=True)
class RecordsSummary:
    """What a CSV records file holds, column by column (``validate`` without ``--column``)."""

    source: str
    rows: int
    columns: int
    numeric: tuple[ColumnSummary, ...]
    other: tuple[str, ...]
    """The columns that are not numeric (most cells are not numbers, or none is)."""


def summarise_records(path: str | Path) -> RecordsSummary:
    """Each column of a CSV file with a header row: numeric (at least as many numbers as
    other cells) or not, and for a numeric one the checks ``fit --column`` would make
    (``read_records``, ``check_records``). An InputError if the file cannot be read as CSV
    or has no numeric column."""
    source, header, rows = _read_rows(path)
    numeric: list[ColumnSummary] = []
    other: list[str] = []
    for name in dict.fromkeys(h for h in header if h):
        scan = _scan(rows, header.index(name), None)
        if not scan.values or len(scan.values) < len(scan.bad):
            other.append(name)
            continue
        prefix = f"{source}: column {name!r}: "
        problem: str | None = None
        try:
            _column_index(header, name, source)
            check_records(_records_of(scan, source, name, None))
        except InputError as exc:
            problem = exc.problems[0].removeprefix(prefix).removeprefix(f"{source}: ")
        numeric.append(ColumnSummary(name, len(scan.values), scan.empty, set(scan.values) <= {0.0, 1.0},
                                     problem))
    data_rows = sum(1 for row in rows if any(cell.strip() for cell in row))
    if not numeric:
        shown = ", ".join(repr(h) for h in header[:12]) + (", ..." if len(header) > 12 else "")
        why = ("no rows below the header" if not data_rows
               else f"the header has {shown}{separator_hint(header)}")
        raise InputError([f"{source}: no numeric column ({why})"])
    return RecordsSummary(source, data_rows, len(header), tuple(numeric), tuple(other))


def count_text(k: int, what: str) -> str:
    return f"{k} {what}{'' if k == 1 else 's'}" + ("" if what == "row" else (" is" if k == 1 else " are"))



def check_records(records: Records) -> None:
    """The checks of the values every fit needs (InputError, one line, if one fails): none
    negative, at least MIN_VALUES, MIN_UNCENSORED of them exact, not all the same."""
    what = f"{records.source}: column {records.column!r}"
    negative = np.flatnonzero(records.values < 0)
    if len(negative):
        k = int(negative[0])
        raise InputError([f"{what}: {count_text(len(negative), 'value')} negative (the first: "
                          f"{records.where(k)}: {records.values[k]:g}); no distribution of the scenario "
                          "format takes negative values"])
    if records.n == 0:
        skipped = sum("empty" in note for note in records.notes)
        why = "every cell of it is empty" if skipped else "there are no rows below the header"
        raise InputError([f"{what}: no values ({why}); fitting needs at least {MIN_VALUES}"])
    if records.n < MIN_VALUES:
        raise InputError([f"{what}: {records.n} value{'' if records.n == 1 else 's'}; fitting needs at least "
                          f"{MIN_VALUES}"])
    exact = records.values[~records.censored]
    if len(exact) < MIN_UNCENSORED:
        raise InputError([f"{what}: {count_text(len(exact), 'value')} not censored; fitting needs at least "
                          f"{MIN_UNCENSORED} (a censored value is only a lower bound)"])
    if np.all(exact == exact[0]) and np.all(records.values[records.censored] <= exact[0]):
        raise InputError([f"{what}: every value is {exact[0]:g}: a constant "
                          f"({records.column} = {exact[0]:g}), nothing to fit"])
