"""The working-hours decision over the Chinese calendar (holidays, 调休), in China's time."""

from datetime import UTC, datetime, time

from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.clock import CHINA_TZ
from crm.domain.holidays import predicted_holidays
from crm.domain.working_hours import in_working_hours

OFFICE = {d: [(time(8, 30), time(12)), (time(13), time(17, 30))]
          for d in ("mon", "tue", "wed", "thu", "fri")}  # fmt: skip
CALENDAR = ChineseWorkCalendar()


def at(y: int, m: int, d: int, hh: int, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=CHINA_TZ)


def test_no_day_named_is_around_the_clock() -> None:
    assert in_working_hours({}, CALENDAR, at(2024, 10, 1, 3))


def test_a_working_day_inside_and_outside_its_ranges() -> None:
    assert in_working_hours(OFFICE, CALENDAR, at(2024, 9, 25, 9))  # a Wednesday
    assert not in_working_hours(OFFICE, CALENDAR, at(2024, 9, 25, 12, 30))  # lunch
    assert not in_working_hours(OFFICE, CALENDAR, at(2024, 9, 25, 17, 30))  # end excluded
    assert not in_working_hours(OFFICE, CALENDAR, at(2024, 9, 25, 22))


def test_the_centres_timezone_not_utc() -> None:
    # 01:00 UTC is 09:00 in Beijing on that Wednesday
    assert in_working_hours(OFFICE, CALENDAR, datetime(2024, 9, 25, 1, tzinfo=UTC))
    assert not in_working_hours(OFFICE, CALENDAR, datetime(2024, 9, 25, 10, tzinfo=UTC))  # 18:00


def test_a_holiday_on_a_weekday_is_outside_hours() -> None:
    assert not in_working_hours(OFFICE, CALENDAR, at(2024, 10, 1, 10))  # 国庆, a Tuesday


def test_a_make_up_saturday_works_the_weekday_hours() -> None:
    # 2024-09-29 (Sunday) and 2024-10-12 (Saturday) were 调休 working days
    assert in_working_hours(OFFICE, CALENDAR, at(2024, 10, 12, 10))
    assert not in_working_hours(OFFICE, CALENDAR, at(2024, 10, 12, 20))
    assert not in_working_hours(OFFICE, CALENDAR, at(2024, 10, 19, 10))  # an ordinary Saturday


def test_an_admin_holiday_override_is_outside_hours() -> None:
    calendar = ChineseWorkCalendar({at(2024, 9, 25, 0).date(): False})
    assert not in_working_hours(OFFICE, calendar, at(2024, 9, 25, 9))


def test_a_centre_open_on_saturdays_keeps_them() -> None:
    weekly = {**OFFICE, "sat": [(time(9), time(12))]}
    assert in_working_hours(weekly, CALENDAR, at(2024, 10, 19, 10))


def test_a_holiday_on_a_saturday_closes_a_centre_open_on_saturdays() -> None:
    weekly = {**OFFICE, "sat": [(time(9), time(12))]}
    assert not in_working_hours(weekly, CALENDAR, at(2024, 10, 5, 10))  # 国庆 week's Saturday
    assert in_working_hours(weekly, CALENDAR, at(2024, 10, 19, 10))  # an ordinary one


def test_a_weekend_day_off_the_admin_entered_is_a_holiday() -> None:
    weekly = {**OFFICE, "sat": [(time(9), time(12))]}
    calendar = ChineseWorkCalendar({at(2031, 10, 4, 0).date(): False})  # a year the package lacks
    assert not in_working_hours(weekly, calendar, at(2031, 10, 4, 10))
    assert in_working_hours(weekly, calendar, at(2031, 10, 18, 10))  # an ordinary Saturday


def test_a_predicted_festival_on_a_saturday_of_an_unknown_year_closes() -> None:
    weekly = {**OFFICE, "sat": [(time(9), time(12))]}
    saturday = next(day for day in predicted_holidays(2031) if day.weekday() == 5)
    opening = datetime.combine(saturday, time(10), CHINA_TZ)
    assert not in_working_hours(weekly, CALENDAR, opening)
