"""Is the centre in its working hours at an instant: the admin's weekly ranges over the
Chinese working calendar (holidays and 调休 included). Pure: the caller passes the calendar.

- No weekday named at all: around the clock (12345 answers 24/7 unless told otherwise).
- A working day by the calendar uses its weekday's ranges; a make-up working weekend (调休)
  has none of its own, so it works the hours of the first working weekday that has ranges.
- A holiday (a festival's days off, weekends inside its block included) is outside hours all
  day. An ordinary weekend keeps its weekday's ranges (a centre open on Saturdays stays open
  on ordinary Saturdays, not on the Saturday of the National Day week).
"""

from collections.abc import Mapping, Sequence
from datetime import datetime, time

from crm.domain.calendar import WorkCalendar
from crm.domain.clock import CHINA_TZ

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Ranges = Sequence[tuple[time, time]]  # [start, end) local times


def in_working_hours(weekly: Mapping[str, Ranges], calendar: WorkCalendar, at: datetime) -> bool:
    """Whether `at` (timezone-aware) falls in the working hours, in the centre's time."""
    if not weekly:
        return True
    local = at.astimezone(CHINA_TZ)
    day = local.date()
    weekday = WEEKDAYS[day.weekday()]
    ranges = weekly.get(weekday, ())
    if calendar.is_workday(day):
        if not ranges and weekday in ("sat", "sun"):
            ranges = next((weekly[d] for d in WEEKDAYS[:5] if weekly.get(d)), ())
    elif weekday not in ("sat", "sun") or calendar.is_holiday(day):
        return False
    now = local.time().replace(tzinfo=None)
    return any(start <= now < end for start, end in ranges)
