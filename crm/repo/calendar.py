"""Admin-entered calendar days and published years, and the working calendar built from them."""

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import extract, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from crm.db.models import CalendarDay, PublishedYear
from crm.domain.calendar import ChineseWorkCalendar


async def load_calendar(db: AsyncSession | AsyncConnection) -> ChineseWorkCalendar:
    rows = (await db.execute(select(CalendarDay.day, CalendarDay.is_workday))).all()
    years = (await db.execute(select(PublishedYear.year))).scalars().all()
    return ChineseWorkCalendar({day: workday for day, workday in rows}, years)


async def list_days(session: AsyncSession, year: int | None = None) -> Sequence[CalendarDay]:
    query = select(CalendarDay).order_by(CalendarDay.day)
    if year is not None:
        query = query.where(extract("year", CalendarDay.day) == year)
    return (await session.scalars(query)).all()


async def published_years(session: AsyncSession, year: int | None = None) -> list[int]:
    query = select(PublishedYear.year).order_by(PublishedYear.year)
    if year is not None:
        query = query.where(PublishedYear.year == year)
    return list((await session.scalars(query)).all())


async def publish_years(session: AsyncSession, years: Iterable[int]) -> list[int]:
    """Mark years published; returns those that were not yet."""
    added = []
    for year in years:
        if await session.get(PublishedYear, year) is None:
            session.add(PublishedYear(year=year))
            added.append(year)
    await session.flush()
    return added


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
