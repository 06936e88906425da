"""Calendar dates as used in files and outputs: ``YYYY-MM`` (or ``YYYY-MM-DD``).

The simulation clock counts months (float) from the scenario's start; these helpers
convert between the two so that nothing else has to know about calendars.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import math
import re

_DATE = re.compile(r"([0-9]{4})-([0-9]{2})(?:-([0-9]{2}))?")
"""ASCII digits only, the whole text (``$`` would pass a trailing newline, ``\\d`` other scripts' digits)."""


def parse_date(text: str) -> tuple[int, int, int]:
    """Split ``YYYY-MM`` or ``YYYY-MM-DD`` into (year, month, day); raise ValueError if malformed."""
    match = _DATE.fullmatch(text)
    if not match:
        raise ValueError(f"{text!r} is not a date of the form YYYY-MM or YYYY-MM-DD")
    year, month = int(match[1]), int(match[2])
    day = int(match[3]) if match[3] else 1
    if not 1 <= month <= 12:
        raise ValueError(f"{text!r}: month must be 01-12")
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        raise ValueError(f"{text!r}: no such day")
    return year, month, day


def date_problem(text: str, exc: ValueError) -> str:
    """What ``parse_date``'s error says about ``text``, without quoting it again (for a
    message that names the text before it: ``--date '2025-13': month must be 01-12``)."""
    return str(exc).removeprefix(f"{text!r}: ").removeprefix(f"{text!r} ")


def normalise_date(value: object) -> str:
    """Accept a ``YYYY-MM[-DD]`` string or a TOML date and return the canonical string."""
    if isinstance(value, dt.datetime):
        if value.time() != dt.time(0) or value.tzinfo is not None:  # (else dropped unseen)
            raise ValueError(f"a date with a time (got {value.isoformat()}): dates are months (YYYY-MM) "
                             "or days (YYYY-MM-DD), with no time of day or zone")
        value = value.date()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        raise ValueError(f"a time of day (got {value.isoformat()}), not a date: write \"YYYY-MM\"")
    if not isinstance(value, str):
        raise ValueError("expected a date as a 'YYYY-MM' string")
    parse_date(value)
    return value


def month_form(text: str) -> str:
    """A date as outputs show it: ``YYYY-MM`` when it is a month's start (``2025-01-01`` ->
    ``2025-01``, the same instant), else ``YYYY-MM-DD`` (a day within the month)."""
    year, month, day = parse_date(text)
    return f"{year:04d}-{month:02d}" + (f"-{day:02d}" if day != 1 else "")


@functools.lru_cache(maxsize=4096)
def month_index(text: str) -> float:
    """Months since year 0 (fractional for a day within the month)."""
    year, month, day = parse_date(text)
    days = calendar.monthrange(year, month)[1]
    return year * 12 + (month - 1) + (day - 1) / days


def same_date(a: str, b: str) -> bool:
    """Two texts that are one date ("2026-01" and "2026-01-01"); False if either is not one."""
    try:
        return month_index(a) == month_index(b)
    except ValueError:
        return False


def months_between(start: str, date: str) -> float:
    """Months from ``start`` to ``date`` (negative if ``date`` is earlier)."""
    return month_index(date) - month_index(start)


def date_at(start: str, months: float) -> str:
    """The ``YYYY-MM`` month that contains the instant ``months`` after ``start``."""
    whole = math.floor(month_index(start) + months + 1e-9)
    return f"{whole // 12:04d}-{whole % 12 + 1:02d}"



def months_after(start: str, months: int) -> str:
    """The date whole ``months`` after ``start``, on its day (the month's last, if shorter):
    ``YYYY-MM`` for a ``YYYY-MM`` start, else ``YYYY-MM-DD``."""
    year, month, day = parse_date(start)
    whole = year * 12 + month - 1 + months
    text = f"{whole // 12:04d}-{whole % 12 + 1:02d}"
    if len(start) == 7:
        return text
    return f"{text}-{min(day, calendar.monthrange(whole // 12, whole % 12 + 1)[1]):02d}"
