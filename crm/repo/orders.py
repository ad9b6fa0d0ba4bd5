"""Reading and writing work orders; every function takes the caller's session."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from crm.db.models import OrderCall, OrderSequence, OrderUnit, WorkOrder
from crm.domain.enums import DUE_STATUSES, OPEN_STATUSES, OrderType, Status

HISTORY_EXCERPT = 80


@dataclass(frozen=True)
class HistoryItem:
    """One earlier order of a caller, small enough for a screen pop."""

    id: int
    number: str
    registered_at: datetime
    order_type: OrderType
    status: Status
    excerpt: str
    caller_name: str
    confidential: bool


@dataclass(frozen=True)
class OrderFilter:
    status: Status | None = None
    unit_id: int | None = None
    order_type: OrderType | None = None
    overdue: bool | None = None
    registered_from: datetime | None = None  # naive UTC, inclusive
    registered_before: datetime | None = None  # naive UTC, exclusive
    caller_number: str | None = None


async def next_sequence(session: AsyncSession, centre_code: str, day: date) -> int:
    """Atomically take the next daily sequence (one upsert, safe under concurrent writers)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = (
        insert(OrderSequence)
        .values(centre_code=centre_code, day=day, last=1)
        .on_conflict_do_update(
            index_elements=[OrderSequence.centre_code, OrderSequence.day],
            set_={"last": OrderSequence.last + 1},
        )
        .returning(OrderSequence.last)
    )
    return int((await session.execute(stmt)).scalar_one())


def _visible_to_unit(unit_id: int) -> ColumnElement[bool]:
    assisting = exists().where(OrderUnit.order_id == WorkOrder.id, OrderUnit.unit_id == unit_id)
    return or_(WorkOrder.lead_unit_id == unit_id, assisting)


def _with_children(query: Select[WorkOrder]) -> Select[WorkOrder]:
    return query.options(selectinload(WorkOrder.assists), selectinload(WorkOrder.calls))


async def get_order(
    session: AsyncSession,
    order_id: int,
    *,
    visible_to_unit: int | None = None,
    for_update: bool = False,
) -> WorkOrder | None:
    """The order, or None if it does not exist or the given unit may not see it."""
    query = _with_children(select(WorkOrder).where(WorkOrder.id == order_id))
    if visible_to_unit is not None:
        query = query.where(_visible_to_unit(visible_to_unit))
    if for_update:
        query = query.with_for_update(of=WorkOrder)
    return await session.scalar(query)


async def find_open_repeat(
    session: AsyncSession, caller_number: str, location: str, order_type: OrderType
) -> int | None:
    """Newest open order of the same type from the same number or at the same place.

    Two lookups, each served by its own index, instead of one OR that planners turn into a
    scan of every open order.
    """
    newest: tuple[datetime, int] | None = None
    for column, value in ((WorkOrder.caller_number, caller_number), (WorkOrder.location, location)):
        if not value:
            continue
        row = (
            await session.execute(
                select(WorkOrder.registered_at, WorkOrder.id)
                .where(
                    column == value,
                    WorkOrder.order_type == order_type,
                    WorkOrder.status.in_(OPEN_STATUSES),
                )
                .order_by(WorkOrder.registered_at.desc(), WorkOrder.id.desc())
                .limit(1)
            )
        ).first()
        if row is not None and (newest is None or tuple(row) > newest):
            newest = (row[0], row[1])
    return newest[1] if newest else None


def overdue_condition(today: date, now: datetime) -> ColumnElement[bool]:
    """Past the working-day limit, or an emergency still not transferred after 10 minutes."""
    # explicit IS NOT NULL keeps the condition two-valued, so its negation works too
    return or_(
        and_(
            WorkOrder.status.in_(DUE_STATUSES),
            WorkOrder.due_date.is_not(None),
            WorkOrder.due_date < today,
        ),
        and_(
            WorkOrder.status == Status.REGISTERED,
            WorkOrder.transfer_due_at.is_not(None),
            WorkOrder.transfer_due_at < now,
        ),
    )


def _filtered(
    query: Select[WorkOrder], flt: OrderFilter, visible_to_unit: int | None,
    today: date, now: datetime,
) -> Select[WorkOrder]:
    if visible_to_unit is not None:
        query = query.where(_visible_to_unit(visible_to_unit))
    if flt.status is not None:
        query = query.where(WorkOrder.status == flt.status)
    if flt.unit_id is not None:
        query = query.where(_visible_to_unit(flt.unit_id))
    if flt.order_type is not None:
        query = query.where(WorkOrder.order_type == flt.order_type)
    if flt.overdue is not None:
        cond = overdue_condition(today, now)
        query = query.where(cond if flt.overdue else ~cond)
    if flt.registered_from is not None:
        query = query.where(WorkOrder.registered_at >= flt.registered_from)
    if flt.registered_before is not None:
        query = query.where(WorkOrder.registered_at < flt.registered_before)
    if flt.caller_number is not None:
        query = query.where(WorkOrder.caller_number == flt.caller_number)
    return query


async def list_orders(
    session: AsyncSession,
    flt: OrderFilter,
    *,
    visible_to_unit: int | None,
    today: date,
    now: datetime,
    offset: int,
    limit: int,
) -> tuple[int, Sequence[WorkOrder]]:
    """One page of orders, newest first, with the total count of matches."""
    base = _filtered(select(WorkOrder), flt, visible_to_unit, today, now)
    total = await session.scalar(select(func.count()).select_from(base.subquery()))
    page = _with_children(
        base.order_by(WorkOrder.registered_at.desc(), WorkOrder.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return int(total or 0), (await session.scalars(page)).all()


async def caller_history(session: AsyncSession, number: str, limit: int = 10) -> list[HistoryItem]:
    """A caller's newest orders by phone number: feeds the agent's screen pop.

    Served by the (caller_number, registered_at) index; callers apply masking for their reader.
    """
    rows = await session.execute(
        select(
            WorkOrder.id,
            WorkOrder.number,
            WorkOrder.registered_at,
            WorkOrder.order_type,
            WorkOrder.status,
            func.substr(WorkOrder.text, 1, HISTORY_EXCERPT),
            WorkOrder.caller_name,
            WorkOrder.confidential,
        )
        .where(WorkOrder.caller_number == number)
        .order_by(WorkOrder.registered_at.desc())
        .limit(limit)
    )
    return [HistoryItem(*row) for row in rows]


async def orders_due_before(session: AsyncSession, today: date) -> Sequence[WorkOrder]:
    """Open orders whose working-day limit ended before `today` (candidates for 督办)."""
    query = _with_children(
        select(WorkOrder)
        .where(WorkOrder.status.in_(DUE_STATUSES), WorkOrder.due_date < today)
        .order_by(WorkOrder.due_date, WorkOrder.id)
    )
    return (await session.scalars(query)).all()


async def provisional_orders(session: AsyncSession) -> Sequence[WorkOrder]:
    """Open orders whose due date was counted over a year the calendar did not know."""
    query = select(WorkOrder).where(
        WorkOrder.due_provisional.is_(True), WorkOrder.status.in_(OPEN_STATUSES)
    )
    return (await session.scalars(query)).all()


def add_call(order: WorkOrder, linkedid: str, recording: str, at: datetime) -> bool:
    """Link a call (and its recording) to an order; True if the Linkedid is new to the order.

    Linking a known Linkedid again only fills in its recording, so telephony may report the
    call first and the recording file later.
    """
    for call in order.calls:
        if call.linkedid == linkedid:
            if recording:
                call.recording = recording
            return False
    order.calls.append(OrderCall(linkedid=linkedid, recording=recording, attached_at=at))
    return True
