"""What the IVR's order-status self-service reads of an order: one row, joined to its lead unit.

The line decides who may hear it (the order's phone number, its confidentiality); this only
reads. Reads are not audited: the trail records changes (the CRM audits no order reads; the
IVR logs each lookup with the number masked).
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import OPEN_ORDER, Unit, WorkOrder
from crm.domain.clock import local_date
from crm.domain.enums import Status


@dataclass(frozen=True)
class OrderStatusFacts:
    number: str
    caller_number: str  # as registered
    confidential: bool
    status: Status
    registered_on: date  # the local intake day
    unit_name: str  # the lead unit's, "" before dispatch
    due_date: date | None


def _facts() -> Select[str, str, bool, Status, datetime, str, date | None]:
    return select(
        WorkOrder.number, WorkOrder.caller_number, WorkOrder.confidential, WorkOrder.status,
        WorkOrder.registered_at, Unit.name, WorkOrder.due_date,
    ).outerjoin(Unit, Unit.id == WorkOrder.lead_unit_id)  # fmt: skip


async def _first(
    session: AsyncSession, query: Select[str, str, bool, Status, datetime, str, date | None]
) -> OrderStatusFacts | None:
    row = (await session.execute(query.limit(1))).first()
    if row is None:
        return None
    number, phone, confidential, status, registered_at, unit, due = row
    return OrderStatusFacts(
        number, phone, confidential, status, local_date(registered_at), unit or "", due
    )


async def order_status(session: AsyncSession, number: str) -> OrderStatusFacts | None:
    """The order with this number (unique index), if any."""
    return await _first(session, _facts().where(WorkOrder.number == number))


async def newest_open_order(
    session: AsyncSession, caller_numbers: Collection[str]
) -> OrderStatusFacts | None:
    """The newest open order registered with any of these spellings of a caller's number."""
    query = _facts().where(WorkOrder.caller_number.in_(sorted(caller_numbers)), OPEN_ORDER)
    newest = query.order_by(WorkOrder.registered_at.desc(), WorkOrder.id.desc())
    return await _first(session, newest)
