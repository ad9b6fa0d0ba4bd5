"""Admin edits of the working calendar, and their effect on provisional due dates."""

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.prepared import DriverConnection
from crm.domain import deadlines
from crm.domain.lifecycle import Actor
from crm.repo import admin_changes, audit, orders
from crm.repo import calendar as calendar_repo


async def put_days(
    session: AsyncSession,
    days: Sequence[tuple[date, bool, str]],
    actor: Actor,
    now: datetime,
    published_years: Sequence[int] = (),
) -> int:
    """Store days and mark years published (their schedule complete), then recount due dates
    that were counted over unknown years; the edit goes into the admin trail (which also moves
    the calendar's revision, so every process's CalendarCache reloads), and each moved due date
    into its order's audit trail.

    Returns how many orders got a new due date.
    """
    await calendar_repo.put_days(session, days)
    published = await calendar_repo.publish_years(session, published_years)
    written = [{"day": d.isoformat(), "workday": w, "name": n} for d, w, n in days]
    calendar = await calendar_repo.load_calendar(session)
    changed = 0
    for order in await orders.provisional_orders(session):
        due = deadlines.due_date(
            order.limit_start,
            order.order_type,
            order.urgency,
            calendar,
            extension_days=order.extension_days,
            statutory_days=order.statutory_days,
        )
        if due is None:
            continue
        if due.day != order.due_date:
            changed += 1
            detail = {"due_date": [_iso(order.due_date), due.day.isoformat()], "by": "calendar"}
            db = await DriverConnection.of(session)
            status = order.status
            await audit.append(db, order.id, actor, "due_recounted", status, status, now, detail)
        order.due_date = due.day
        order.due_provisional = due.provisional
    await session.flush()
    change: dict[str, object] = {"days": written, "recounted_orders": changed}
    if published_years:
        change["published_years"] = published
    await admin_changes.record(
        session, actor.user_id, now, calendar_repo.CALENDAR_SUBJECT, None, "days_put", change
    )
    return changed


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None
