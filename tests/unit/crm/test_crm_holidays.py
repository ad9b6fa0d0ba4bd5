"""The holiday predictor against published years and against independent lunar/solar sources.

chinese-calendar holds the published schedules (up to 2026) and computes the solar terms by its
own formula; lunardate converts lunar dates from its own table. Neither shares code with
tyme4py, which the predictor uses.
"""

from datetime import date, timedelta

import chinese_calendar
import pytest
from lunardate import LunarDate

from crm.domain.holidays import MAKE_UP, festival_days, make_up_days, predicted_holidays

RULES_OF_2024 = (2025, 2026)  # the published years the amended rules apply to


@pytest.mark.parametrize("year", RULES_OF_2024)
def test_every_predicted_day_is_off_in_the_published_schedule(year: int) -> None:
    predicted = predicted_holidays(year)
    assert len(predicted) >= 13
    assert [d for d in predicted if not chinese_calendar.is_holiday(d)] == []


@pytest.mark.parametrize("year", range(2008, 2025))
def test_festival_dates_match_the_published_years_before_the_amendment(year: int) -> None:
    # before 2025 除夕 and May 2 were no statutory holidays; every other festival day was
    eve = LunarDate(year, 1, 1).to_solar_date() - timedelta(days=1)
    older = [d for d, _ in festival_days(year) if d not in (eve, date(year, 5, 2))]
    assert len(older) == 11
    assert [d for d in older if not chinese_calendar.is_holiday(d)] == []


def test_well_known_dates_of_2027() -> None:
    days = predicted_holidays(2027)
    expected = {
        date(2027, 1, 1): "元旦",
        date(2027, 2, 5): "春节",  # 除夕
        date(2027, 2, 6): "春节",  # 正月初一
        date(2027, 2, 8): "春节",  # 初三
        date(2027, 4, 5): "清明节",
        date(2027, 5, 1): "劳动节",
        date(2027, 5, 2): "劳动节",
        date(2027, 6, 9): "端午节",
        date(2027, 9, 15): "中秋节",
        date(2027, 10, 3): "国庆节",
    }
    assert {d: days.get(d) for d in expected} == expected
    # made up on the next weekdays: Sat Feb 6 and Sun Feb 7; Sat May 1 and Sun May 2;
    # Sat Oct 2 and Sun Oct 3
    made_up = [d for d, name in days.items() if name == MAKE_UP]
    assert made_up == [date(2027, 2, 9), date(2027, 2, 10), date(2027, 5, 3), date(2027, 5, 4),
                       date(2027, 10, 4), date(2027, 10, 5)]  # fmt: skip


@pytest.mark.parametrize("year", range(2027, 2041))
def test_lunar_and_solar_dates_agree_with_independent_sources(year: int) -> None:
    by_name: dict[str, list[date]] = {}
    for day, name in festival_days(year):
        by_name.setdefault(name, []).append(day)
    new_year = LunarDate(year, 1, 1).to_solar_date()
    assert by_name["春节"] == [new_year + timedelta(days=n) for n in range(-1, 3)]
    assert by_name["端午节"] == [LunarDate(year, 5, 5).to_solar_date()]
    assert by_name["中秋节"] == [LunarDate(year, 8, 15).to_solar_date()]
    terms = chinese_calendar.get_solar_terms(date(year, 4, 1), date(year, 4, 10))
    assert [(d, n) for d, n in terms if n == "清明"] == [(by_name["清明节"][0], "清明")]


def test_new_years_eve_is_the_29th_when_the_last_month_is_short() -> None:
    # lunar 2024's 腊月 has 29 days: 除夕 2025 is 腊月廿九, Jan 28 (published as a holiday)
    eve = LunarDate.from_solar_date(2025, 1, 28)
    assert (eve.year, eve.month, eve.day) == (2024, 12, 29)
    assert predicted_holidays(2025)[date(2025, 1, 28)] == "春节"


def test_a_weekend_holiday_is_made_up_on_the_next_free_weekday() -> None:
    # Sat Jan 1 2028 -> Mon Jan 3; Fri-Sun Oct 1-3 2027 -> Mon 4 (Sat) and Tue 5 (Sun)
    assert make_up_days([date(2028, 1, 1)]) == [date(2028, 1, 3)]
    oct_2027 = [date(2027, 10, d) for d in (1, 2, 3)]
    assert make_up_days(oct_2027) == [date(2027, 10, 4), date(2027, 10, 5)]
    assert make_up_days([date(2027, 3, 10)]) == []  # a Wednesday owes nothing


def test_a_day_two_festivals_share_is_made_up_too() -> None:
    # 2028: Sun Oct 1 and 中秋 on Tue Oct 3, 国庆's third day: two days owed, Wed 4 and Thu 5
    owed = [date(2028, 10, 1), date(2028, 10, 2), date(2028, 10, 3), date(2028, 10, 3)]
    assert make_up_days(owed) == [date(2028, 10, 4), date(2028, 10, 5)]
    assert predicted_holidays(2028)[date(2028, 10, 3)] == "中秋节、国庆节"
