"""Which days are working days in mainland China, including adjusted working weekends (调休).

chinese-calendar only knows the years the State Council has published; later years raise.
Admins enter the exceptions (holidays and working weekends) of such years into the database,
and this calendar layers them over the package. A year with neither source falls back to the
Monday-to-Friday rule and is reported as not known, so deadlines computed over it are flagged
provisional and recomputed once the data arrives.
"""

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Protocol

import chinese_calendar


class WorkCalendar(Protocol):
    def is_workday(self, day: date) -> bool: ...

    def knows(self, day: date) -> bool: ...


@lru_cache(maxsize=8192)
def _package_is_workday(day: date) -> bool | None:
    """Memoized: the package scans its whole holiday table on every call (~30 us a day)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


class ChineseWorkCalendar:
    """The package's calendar with admin overrides on top (overrides win)."""

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._override_years = frozenset(d.year for d in self._overrides)

    def is_workday(self, day: date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        known = _package_is_workday(day)
        if known is not None:
            return known
        return day.weekday() < 5

    def knows(self, day: date) -> bool:
        return day.year in self._override_years or _package_is_workday(day) is not None
