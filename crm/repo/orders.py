"""Reading and writing work orders in the caller's transaction (session or DriverConnection)."""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    bindparam,
    exists,
    func,
    insert,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute, selectinload

from crm.db.models import OPEN_ORDER, OrderCall, OrderSequence, OrderUnit, WorkOrder
from crm.db.prepared import DriverConnection, Prepared
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


def _sequence_upsert(insert: Callable[[type[OrderSequence]], Any]) -> Prepared:
    return Prepared(
        insert(OrderSequence)
        .on_conflict_do_update(
            index_elements=[OrderSequence.centre_code, OrderSequence.day],
            set_={"last": OrderSequence.last + 1},
        )
        .returning(OrderSequence.last),
        columns=["centre_code", "day", "last"],
    )


_SEQUENCE_UPSERTS = {
    "postgresql": _sequence_upsert(pg_insert),
    "sqlite": _sequence_upsert(sqlite_insert),
}


async def next_sequence(db: DriverConnection, centre_code: str, day: date) -> int:
    """Atomically take the next daily sequence (one upsert, safe under concurrent writers)."""
    upsert = _SEQUENCE_UPSERTS[db.dialect.name]
    (row,) = await db.rows(upsert, {"centre_code": centre_code, "day": day, "last": 1})
    return int(row[0])


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


def _newest_open(column: InstrumentedAttribute[str], value: str) -> Select[datetime, int]:
    # OPEN_ORDER as is, so the partial indexes over open orders serve it
    return (
        select(WorkOrder.registered_at, WorkOrder.id)
        .where(
            column == bindparam(value), WorkOrder.order_type == bindparam("order_type"), OPEN_ORDER
        )
        .order_by(WorkOrder.registered_at.desc(), WorkOrder.id.desc())
        .limit(1)
    )


def _newest_of_both() -> Select[int]:
    both = union_all(
        select(_newest_open(WorkOrder.caller_number, "caller_number").subquery()),
        select(_newest_open(WorkOrder.location, "location").subquery()),
    ).subquery()
    return select(both.c.id).order_by(both.c.registered_at.desc(), both.c.id.desc()).limit(1)


# what find_open_repeat runs, by which of (caller number, location) the new order has
REPEAT_QUERIES = {
    (True, True): Prepared(_newest_of_both()),
    (True, False): Prepared(_newest_open(WorkOrder.caller_number, "caller_number")),
    (False, True): Prepared(_newest_open(WorkOrder.location, "location")),
}


async def find_open_repeat(
    db: DriverConnection, caller_number: str, location: str, order_type: OrderType
) -> int | None:
    """Newest open order of the same type from the same number or at the same place.

    Two lookups, each one seek in a partial index over open orders, instead of one OR that
    planners turn into a scan of every open order; they run as one statement.
    """
    query = REPEAT_QUERIES.get((bool(caller_number), bool(location)))
    if query is None:
        return None
    params = {"caller_number": caller_number, "location": location, "order_type": order_type}
    rows = await db.rows(query, params)
    return int(rows[0][-1]) if rows else None


ORDER_COLUMNS = (
    "number", "channel", "caller_name", "caller_number", "confidential", "location", "text",
    "order_type", "urgency", "severity", "status", "registered_by", "registered_at",
    "updated_at", "limit_start", "due_date", "due_provisional", "statutory_days",
    "extensions_granted", "extension_days", "transfer_due_at", "result", "rework_count",
    "repeat_of_id", "stability_clue", "handover_confirmed_by",
)  # fmt: skip
_INSERT_ORDER = Prepared(insert(WorkOrder).returning(WorkOrder.id), ORDER_COLUMNS)
_INSERT_CALL = Prepared(insert(OrderCall), ["order_id", "linkedid", "recording", "attached_at"])


async def insert_order(
    db: DriverConnection, values: Mapping[str, Any], calls: Sequence[Mapping[str, Any]]
) -> int:
    """Store a new order (every column of ORDER_COLUMNS) and its calls; returns the order's id.

    Registration writes rows it already knows in full, so the ORM's unit of work (and
    loading the order back) would only add cost.
    """
    ((order_id,),) = await db.rows(_INSERT_ORDER, values)
    for call in calls:
        await db.rows(_INSERT_CALL, {**call, "order_id": order_id})
    return int(order_id)


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
    query: Select[WorkOrder],
    flt: OrderFilter,
    visible_to_unit: int | None,
    today: date,
    now: datetime,
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


async def export_page(
    session: AsyncSession,
    flt: OrderFilter,
    *,
    visible_to_unit: int | None,
    today: date,
    now: datetime,
    after: tuple[datetime, int] | None,
    limit: int,
) -> Sequence[WorkOrder]:
    """The next `limit` orders, newest first, after the (registered_at, id) of the last one
    read: a keyset, so each page costs the same however deep the export goes."""
    query = _filtered(select(WorkOrder), flt, visible_to_unit, today, now)
    if after is not None:
        at, order_id = after
        query = query.where(
            or_(
                WorkOrder.registered_at < at,
                and_(WorkOrder.registered_at == at, WorkOrder.id < order_id),
            )
        )
    page = query.order_by(WorkOrder.registered_at.desc(), WorkOrder.id.desc()).limit(limit)
    return (await session.scalars(page)).all()


def _history_items(number: str) -> Select[Any]:
    """A caller's orders by phone number, newest first, as history items."""
    return (
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
    )


async def caller_history(session: AsyncSession, number: str, limit: int = 10) -> list[HistoryItem]:
    """A caller's newest orders by phone number: feeds the agent's screen pop.

    Served by the (caller_number, registered_at) index; callers apply masking for their reader.
    """
    rows = await session.execute(_history_items(number).limit(limit))
    return [HistoryItem(*row) for row in rows]


async def open_orders_of_caller(
    session: AsyncSession, number: str, limit: int
) -> list[HistoryItem]:
    """A caller's newest open orders (OPEN_STATUSES), however far back: the screen pop's
    open orders, which may be older than the history it lists."""
    query = _history_items(number).where(OPEN_ORDER).order_by(WorkOrder.id.desc())
    rows = await session.execute(query.limit(limit))
    return [HistoryItem(*row) for row in rows]


async def caller_asked_confidentiality(session: AsyncSession, number: str) -> bool:
    """Whether the caller asked for confidentiality on any of their orders, however old: one
    EXISTS, served by the (caller_number, registered_at) index."""
    asked = exists().where(WorkOrder.caller_number == number, WorkOrder.confidential.is_(True))
    return bool(await session.scalar(select(asked)))


async def order_of_call(session: AsyncSession, linkedid: str) -> tuple[int, str] | None:
    """The id and number of the order a call (Linkedid) is linked to, if any."""
    row = (
        await session.execute(
            select(WorkOrder.id, WorkOrder.number)
            .join(OrderCall, OrderCall.order_id == WorkOrder.id)
            .where(OrderCall.linkedid == linkedid)
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1])


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
