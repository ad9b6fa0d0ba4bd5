"""Admin-entered calendar days, and the working calendar built from them."""

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import extract, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from crm.db.models import CalendarDay
from crm.domain.calendar import ChineseWorkCalendar


async def load_calendar(db: AsyncSession | AsyncConnection) -> ChineseWorkCalendar:
    rows = (await db.execute(select(CalendarDay.day, CalendarDay.is_workday))).all()
    return ChineseWorkCalendar({day: workday for day, workday in rows})


async def list_days(session: AsyncSession, year: int | None = None) -> Sequence[CalendarDay]:
    query = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        query = query.where(extract("year", CalendarDay.day) == year)
    return (await session.scalars(query)).all()


async def put_days(session: AsyncSession, days: Iterable[tuple[date, bool, str]]) -> int:
    """Insert or replace days; returns how many were written."""
    count = 0
    for day, workday, name in days:
        row = await session.get(CalendarDay, day)
        if row is None:
            session.add(CalendarDay(day=day, is_workday=workday, name=name))
        else:
            row.is_workday = workday
            row.name = name
        count += 1
    await session.flush()
    return count


async def delete_day(session: AsyncSession, day: date) -> bool:
    row = await session.get(CalendarDay, day)
    if row is None:
        return False
    await session.delete(row)
    await session.flush()
    return True
