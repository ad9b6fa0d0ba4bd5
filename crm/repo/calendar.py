"""Admin-entered calendar days and published years, the working calendar built from them, and
the one cache of it that every process counting deadlines keeps."""

from collections.abc import Iterable, Sequence
from datetime import date

from sqlalchemy import extract, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from crm.db.models import AdminChange, CalendarDay, PublishedYear
from crm.db.prepared import DriverConnection, Prepared
from crm.domain.calendar import ChineseWorkCalendar

CALENDAR_SUBJECT = "calendar"  # the admin trail's subject of calendar edits

# Every calendar edit is in the admin trail, written in the edit's transaction, and the trail
# is append-only (triggers refuse UPDATE, DELETE): the count of its calendar entries moves
# with each committed edit and never goes back.
_REVISION = Prepared(
    select(func.count()).select_from(AdminChange).where(AdminChange.subject == CALENDAR_SUBJECT)
)


async def load_calendar(db: AsyncSession | AsyncConnection) -> ChineseWorkCalendar:
    rows = (await db.execute(select(CalendarDay.day, CalendarDay.is_workday))).all()
    years = (await db.execute(select(PublishedYear.year))).scalars().all()
    return ChineseWorkCalendar({day: workday for day, workday in rows}, years)


async def calendar_revision(db: AsyncSession | AsyncConnection) -> int:
    """How many calendar edits have committed (as `db`'s transaction sees them)."""
    driver = await DriverConnection.of(db)
    ((count,),) = await driver.rows(_REVISION, {})
    return int(count)


class CalendarCache:
    """The working calendar, loaded again only once an edit has moved its revision.

    Each use reads the revision (one indexed count on the transaction's connection), so an edit
    committed in any process (admins edit through the HTTP process, the desk counts deadlines
    in the call process) is seen by the next use everywhere, while the days themselves are read
    once per edit. A load is kept only if no newer revision was kept meanwhile.
    """

    def __init__(self) -> None:
        self._revision = -1
        self._calendar: ChineseWorkCalendar | None = None

    async def get(self, db: AsyncSession | AsyncConnection) -> ChineseWorkCalendar:
        revision = await calendar_revision(db)
        if self._calendar is not None and revision == self._revision:
            return self._calendar
        calendar = await load_calendar(db)  # read after the revision: as new or newer
        if revision >= self._revision:
            self._revision, self._calendar = revision, calendar
        return calendar


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
