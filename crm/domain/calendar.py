"""Which days are working days in mainland China, including adjusted working weekends (调休).

chinese-calendar only knows the years the State Council has published; later years raise.
Admins enter the exceptions (holidays and working weekends) of such years into the database,
and this calendar layers them over the package. A year with neither source is counted Monday
to Friday less the statutory holidays its rules predict (crm.domain.holidays), and is reported
as not known: its adjusted working weekends (调休) are unknown until published, so deadlines
computed over it are flagged provisional and recomputed once the data arrives.
"""

from collections.abc import Mapping
from datetime import date
from functools import lru_cache
from typing import Protocol

import chinese_calendar

from crm.domain.holidays import predicted_holidays


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
    """The package's calendar with admin overrides on top (overrides win); the rules' predicted
    holidays only for a year neither knows."""

    def __init__(self, overrides: Mapping[date, bool] | None = None) -> None:
        self._overrides = dict(overrides or {})
        self._override_years = frozenset(d.year for d in self._overrides)

    def is_workday(self, day: date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        known = _package_is_workday(day)
        if known is not None:
            return known
        if day.weekday() >= 5:
            return False
        # an admin-entered year is the published one: its make-up days may differ from the rule
        return day.year in self._override_years or day not in predicted_holidays(day.year)

    def knows(self, day: date) -> bool:
        return day.year in self._override_years or _package_is_workday(day) is not None
