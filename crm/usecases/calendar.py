"""Admin edits of the working calendar, and their effect on provisional due dates."""

from collections.abc import Iterable
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from crm.domain import deadlines
from crm.repo import calendar as calendar_repo
from crm.repo import orders


async def put_days(session: AsyncSession, days: Iterable[tuple[date, bool, str]]) -> int:
    """Store days, then recount due dates that were counted over unknown years.

    Returns how many orders got a new due date.
    """
    await calendar_repo.put_days(session, days)
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
        changed += due.day != order.due_date
        order.due_date = due.day
        order.due_provisional = due.provisional
    await session.flush()
    return changed
