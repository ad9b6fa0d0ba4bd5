"""The IVR's working-hours port: around the clock without asking the database; the admin's
hours swapped whole when a change is applied; a database that cannot answer costs no call."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from config.telephony_sections import WorkingHours
from crm.domain.clock import CHINA_TZ
from hotline_cli.after_hours import HoursScreen

WEDNESDAY_9 = datetime(2024, 9, 25, 9, tzinfo=CHINA_TZ)
NATIONAL_DAY_10 = datetime(2024, 10, 1, 10, tzinfo=CHINA_TZ)
OFFICE = WorkingHours.model_validate(
    {
        "weekly": {
            d: [{"start": "08:30", "end": "17:30"}] for d in ("mon", "tue", "wed", "thu", "fri")
        }
    }
)


class _Down:
    """A session factory whose database is unreachable."""

    def __call__(self) -> Any:
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))


async def test_around_the_clock_asks_no_database() -> None:
    assert await HoursScreen(WorkingHours(), _Down(), lambda: NATIONAL_DAY_10)()  # type: ignore[arg-type]


async def test_the_database_down_the_published_calendar_still_routes(
    caplog: pytest.LogCaptureFixture,
) -> None:
    at = iter([WEDNESDAY_9, NATIONAL_DAY_10])
    screen = HoursScreen(OFFICE, _Down(), lambda: next(at))  # type: ignore[arg-type]
    assert await screen()
    assert not await screen()  # 国庆 is a holiday in the package's calendar
    assert "working calendar not read" in caplog.text


async def test_hours_swapped_whole_count_at_the_next_call() -> None:
    screen = HoursScreen(OFFICE, _Down(), lambda: NATIONAL_DAY_10)  # type: ignore[arg-type]
    assert not await screen()
    screen.hours = WorkingHours()
    assert await screen()
