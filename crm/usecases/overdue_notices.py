"""Overdue notices (督办): every order past its limit gets a notice, once per missed due date."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import SupervisionNotice, WorkOrder
from crm.domain import commands as c
from crm.domain import lifecycle
from crm.domain.calendar import WorkCalendar
from crm.domain.clock import local_date
from crm.repo import orders
from crm.usecases.transition import apply_command


async def _already_noticed(session: AsyncSession, order: WorkOrder) -> bool:
    found = await session.scalar(
        select(SupervisionNotice.id)
        .where(
            SupervisionNotice.order_id == order.id,
            SupervisionNotice.due_date == order.due_date,
        )
        .limit(1)
    )
    return found is not None


async def issue_overdue_notices(
    session: AsyncSession, actor: lifecycle.Actor, *, now: datetime, calendar: WorkCalendar
) -> list[WorkOrder]:
    """Issue notices for overdue orders that have none for their current due date.

    Meant to run periodically (and on demand by a supervisor); running it twice is harmless.
    An extension moves the due date, so a missed extended limit earns a new notice.
    """
    noticed: list[WorkOrder] = []
    for order in await orders.orders_due_before(session, local_date(now)):
        if await _already_noticed(session, order):
            continue
        command = c.Supervise(f"超期督办 (应于 {order.due_date} 前办结)")
        noticed.append(
            await apply_command(session, order.id, command, actor, now=now, calendar=calendar)
        )
    return noticed
