"""How close predicted holidays bring due dates to the published calendar, on the years the
2024 rules apply to and chinese-calendar has published (2025, 2026).

For every intake day from 2025-01-01 to 2026-10-31 and limits of 1, 3 and 15 working days, the
due date counted over Monday to Friday (the old guess for unknown years) and over Monday to
Friday less the predicted holidays is compared with the due date over the published schedule.

    .venv/bin/python bench/holiday_prediction.py

The last line printed is JSON: the share of exact due dates per limit and guess.
"""

import json
from collections.abc import Callable
from datetime import date, timedelta

import chinese_calendar

from crm.domain.holidays import predicted_holidays

Workday = Callable[[date], bool]


def _published(day: date) -> bool:
    return bool(chinese_calendar.is_workday(day))


def _weekdays(day: date) -> bool:
    return day.weekday() < 5


def _predicted(day: date) -> bool:
    return day.weekday() < 5 and day not in predicted_holidays(day.year)


def _due(start: date, days: int, workday: Workday) -> date:
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        counted += workday(day)
    return day


def main() -> None:
    figures: dict[str, float] = {}
    for days in (1, 3, 15):
        for name, guess in (("weekdays", _weekdays), ("predicted", _predicted)):
            exact = early = late = total = 0
            start = date(2025, 1, 1)
            while start < date(2026, 11, 1):
                truth, guessed = _due(start, days, _published), _due(start, days, guess)
                total += 1
                exact += guessed == truth
                early += guessed < truth
                late += guessed > truth
                start += timedelta(days=1)
            print(f"{days:2d} working days, {name:9s}: exact {exact / total:6.1%}, "
                  f"early {early / total:6.1%}, late {late / total:6.1%}")  # fmt: skip
            figures[f"exact_{days}d_{name}"] = round(exact / total, 3)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
