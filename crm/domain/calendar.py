"""Which days are working days in mainland China, including adjusted working weekends (调休).

chinese-calendar only knows the years the State Council has published; later years raise.
Admins enter the days of such years into the database, and this calendar layers them over
the package, day by day. A year the package lacks is counted Monday to Friday less the
statutory holidays its rules predict (crm.domain.holidays), with the admin's days on top, and
is reported as not known until an admin marks its schedule published: one entered day says
nothing about the others, and the adjusted working weekends (调休) are unknown until the
whole schedule is in, so deadlines computed over it are flagged provisional and recomputed.
A published year is the admin's schedule alone, without predictions.
"""

from collections.abc import Collection, Mapping
from datetime import date
from functools import lru_cache
from typing import Protocol

import chinese_calendar

from crm.domain.holidays import predicted_holidays


class WorkCalendar(Protocol):
    def is_workday(self, day: date) -> bool: ...

    def knows(self, day: date) -> bool: ...

    def is_holiday(self, day: date) -> bool: ...


@lru_cache(maxsize=8192)
def _package_is_workday(day: date) -> bool | None:
    """Memoized: the package scans its whole holiday table on every call (~30 us a day)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


@lru_cache(maxsize=8192)
def _package_festival(day: date) -> bool | None:
    """Whether the package names a festival for this day off (a weekend inside the National
    Day block is one, an ordinary weekend is not); None for a year it lacks."""
    try:
        return chinese_calendar.get_holiday_detail(day)[1] is not None
    except NotImplementedError:
        return None


class ChineseWorkCalendar:
    """The package's calendar with admin overrides on top (each overridden day wins); the rules'
    predicted holidays for the other days of a year the package lacks, unless the admin
    published that year's whole schedule."""

    def __init__(
        self,
        overrides: Mapping[date, bool] | None = None,
        published_years: Collection[int] = (),
    ) -> None:
        self._overrides = dict(overrides or {})
        self._published = frozenset(published_years)

    def is_workday(self, day: date) -> bool:
        if day in self._overrides:
            return self._overrides[day]
        known = _package_is_workday(day)
        if known is not None:
            return known
        if day.weekday() >= 5:
            return False
        # a published year's days off are all entered: its make-up days may differ from the rule
        return day.year in self._published or day not in predicted_holidays(day.year)

    def knows(self, day: date) -> bool:
        return day.year in self._published or _package_is_workday(day) is not None

    def is_holiday(self, day: date) -> bool:
        """A day off for a festival or given in lieu, not an ordinary weekend: the admin's
        days off (entered for a reason, weekends included), the package's named days, or in a
        year the package lacks and the admin has not published, the rules' predictions."""
        if self.is_workday(day):
            return False
        if day in self._overrides:
            return True
        festival = _package_festival(day)
        if festival is not None:
            return festival
        if day.year in self._published:
            return day.weekday() < 5
        return day.weekday() < 5 or day in predicted_holidays(day.year)
