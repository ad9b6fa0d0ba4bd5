"""The emergency figures (rules §2, §6): how many emergency orders were handed over within
10 minutes of intake, late, or not yet, how many are open and how many results came back."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import WorkOrder
from crm.domain.emergency import EmergencyFigures, HandoverRow, emergency_figures, line_for
from crm.domain.enums import OPEN_STATUSES, Status


async def figures(
    session: AsyncSession, start: datetime, end: datetime, now: datetime
) -> EmergencyFigures:
    """Over orders registered in [start, end) that ran on the 10-minute clock."""
    rows = await session.execute(
        select(
            WorkOrder.order_type,
            WorkOrder.transfer_target,
            WorkOrder.transfer_due_at,
            WorkOrder.handed_over_at,
            WorkOrder.status,
        ).where(
            WorkOrder.transfer_due_at.is_not(None),
            WorkOrder.registered_at >= start,
            WorkOrder.registered_at < end,
        )
    )
    return emergency_figures(
        (
            HandoverRow(
                line=line_for(order_type, target),
                transfer_due_at=due,
                handed_over_at=handed,
                open=status in OPEN_STATUSES,
                result_back=status is Status.CLOSED and handed is not None,
            )
            for order_type, target, due, handed, status in rows.all()
            if due is not None
        ),
        now,
    )
