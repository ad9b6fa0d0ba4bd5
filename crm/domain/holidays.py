"""Statutory holidays of a year predicted from the State Council's rules; no I/O.

《全国年节及纪念日放假办法》 as amended in 2024 (in force from 2025) fixes the holidays on solar
and lunar dates: 元旦 Jan 1; 春节 除夕 and 正月初一~初三; 清明 the day of the solar term; 劳动节
May 1-2; 端午 五月初五; 中秋 八月十五; 国庆 Oct 1-3. Its Article 6 makes up a holiday that falls
on a Saturday or Sunday on a working day; the published schedules put it on the next one, and
count a day that two holidays share twice (2020: 国庆 and 中秋 on Oct 1 made an 8-day break).

What the rules do not fix, and so cannot be predicted, is how the State Council arranges the
breaks each year: the adjusted working weekends (调休) and where a make-up day lands when it is
not the next working day. The lunar dates and solar terms come from tyme4py.
"""

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from functools import lru_cache
from types import MappingProxyType

from tyme4py.lunar import LunarDay
from tyme4py.solar import SolarDay, SolarTerm

MAKE_UP = "补假"


def _day(solar: SolarDay) -> date:
    return date(solar.get_year(), solar.get_month(), solar.get_day())


def _lunar(year: int, month: int, day: int) -> date:
    return _day(LunarDay.from_ymd(year, month, day).get_solar_day())


def festival_days(year: int) -> list[tuple[date, str]]:
    """Every statutory holiday day of `year` with its festival, in the rules' order.

    A day two festivals share is listed twice (it is owed twice). 除夕 is the day before 正月
    初一, which is 腊月廿九 when that 腊月 has 29 days.
    """
    spring = _lunar(year, 1, 1)
    qingming = _day(SolarTerm.from_name(year, "清明").get_solar_day())
    return [
        (date(year, 1, 1), "元旦"),
        *((spring + timedelta(days=n), "春节") for n in range(-1, 3)),
        (qingming, "清明节"),
        (date(year, 5, 1), "劳动节"),
        (date(year, 5, 2), "劳动节"),
        (_lunar(year, 5, 5), "端午节"),
        (_lunar(year, 8, 15), "中秋节"),
        *((date(year, 10, d), "国庆节") for d in (1, 2, 3)),
    ]


def make_up_days(days: Iterable[date]) -> list[date]:
    """The make-up days owed for `days`: one for each that falls on a weekend or repeats an
    earlier one, each on the next weekday that is neither one of `days` nor made up already."""
    owed = sorted(days)
    taken = set(owed)
    seen: set[date] = set()
    made_up: list[date] = []
    for day in owed:
        if day.weekday() >= 5 or day in seen:
            free = day
            while free.weekday() >= 5 or free in taken:
                free += timedelta(days=1)
            taken.add(free)
            made_up.append(free)
        seen.add(day)
    return made_up


@lru_cache(maxsize=64)
def predicted_holidays(year: int) -> Mapping[date, str]:
    """The days off of `year` that the rules alone fix, with their names (Monday-to-Friday
    aside: weekends are not listed unless a festival falls on them)."""
    festivals = festival_days(year)
    days: dict[date, str] = {}
    for day, name in festivals:
        days[day] = f"{days[day]}、{name}" if day in days else name
    for day in make_up_days(day for day, _ in festivals):
        days[day] = MAKE_UP
    return MappingProxyType(dict(sorted(days.items())))
