"""Reading and writing call records, their events and recordings in the caller's session."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallEvent, CallRecord, Recording
from crm.db.models import OrderCall, WorkOrder
from crm.domain.call_progress import NOT_STORED, CallEventFact, CallFacts
from crm.domain.calls import CallEventKind, CallOutcome, Disposition, RecordingStatus

_FACT_FIELDS = tuple(f.name for f in fields(CallFacts) if f.name not in NOT_STORED)
_INSERTS = {"postgresql": pg_insert, "sqlite": sqlite_insert}


def facts_of(record: CallRecord) -> CallFacts:
    return CallFacts(**{name: getattr(record, name) for name in _FACT_FIELDS})


async def get_records(session: AsyncSession, linkedids: Collection[str]) -> dict[str, CallRecord]:
    if not linkedids:
        return {}
    rows = await session.scalars(select(CallRecord).where(CallRecord.linkedid.in_(linkedids)))
    return {r.linkedid: r for r in rows}


def store_facts(
    session: AsyncSession,
    record: CallRecord | None,
    facts: CallFacts,
    wait_s: float | None,
    talk_s: float | None,
    now: datetime,
) -> CallRecord:
    """Write `facts` (already merged) into `record`, or add a new one."""
    if record is None:
        record = CallRecord(linkedid=facts.linkedid)
        session.add(record)
    for name in _FACT_FIELDS:
        setattr(record, name, getattr(facts, name))
    record.wait_s, record.talk_s, record.updated_at = wait_s, talk_s, now
    return record


def _insert(session: AsyncSession) -> Any:
    return _INSERTS[session.get_bind().dialect.name]


async def add_events(session: AsyncSession, linkedid: str, events: Iterable[CallEventFact]) -> None:
    """Append events; one already stored (same linkedid, kind, at, agent) is left as it is,
    and a restated one when the call has an event of its kind already."""
    events = list(events)
    if any(e.restated for e in events):
        stored = set(await session.scalars(
            select(CallEvent.kind).where(CallEvent.linkedid == linkedid)))  # fmt: skip
        events = [e for e in events if not e.restated or e.kind not in stored]
    rows = [
        {"linkedid": linkedid, "kind": e.kind, "at": e.at, "agent": e.agent,
         "detail": {**e.detail, "restated": True} if e.restated else e.detail}
        for e in events
    ]  # fmt: skip
    if rows:
        await session.execute(_insert(session)(CallEvent).values(rows).on_conflict_do_nothing())


async def add_recording(session: AsyncSession, linkedid: str, path: str, now: datetime) -> None:
    """The call's first part, PENDING, unless a row for it (or for this path) exists."""
    row = {
        "linkedid": linkedid, "part": 1, "path": path, "status": RecordingStatus.PENDING,
        "format": "wav", "sha256": "", "source_sha256": "", "problem": "", "created_at": now,
    }  # fmt: skip
    await session.execute(_insert(session)(Recording).values(row).on_conflict_do_nothing())


async def in_progress(session: AsyncSession) -> Sequence[CallRecord]:
    rows = await session.scalars(
        select(CallRecord).where(CallRecord.outcome == CallOutcome.IN_PROGRESS)
    )
    return rows.all()


# ---- reading (the API) ----------------------------------------------------------------------


@dataclass(frozen=True)
class CallFilter:
    started_from: datetime | None = None  # naive UTC, inclusive
    started_before: datetime | None = None  # naive UTC, exclusive
    outcome: CallOutcome | None = None
    queue: str | None = None
    agent: str | None = None  # an extension that answered (first, or after a transfer)
    caller_number: str | None = None
    disposition: Disposition | None = None
    has_order: bool | None = None


def _has_order() -> ColumnElement[bool]:
    return exists().where(OrderCall.linkedid == CallRecord.linkedid)


def _conditions(f: CallFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.started_from is not None:
        conditions.append(CallRecord.started_at >= f.started_from)
    if f.started_before is not None:
        conditions.append(CallRecord.started_at < f.started_before)
    if f.outcome is not None:
        conditions.append(CallRecord.outcome == f.outcome)
    if f.queue is not None:
        conditions.append(CallRecord.queue == f.queue)
    if f.agent is not None:
        answered_by = exists().where(
            CallEvent.linkedid == CallRecord.linkedid,
            CallEvent.kind == CallEventKind.ANSWERED,
            CallEvent.agent == f.agent,
        )
        conditions.append(or_(CallRecord.agent_extension == f.agent, answered_by))
    if f.caller_number is not None:
        conditions.append(CallRecord.caller_number == f.caller_number)
    if f.disposition is not None:
        conditions.append(CallRecord.disposition == f.disposition)
    if f.has_order is not None:
        conditions.append(_has_order() if f.has_order else ~_has_order())
    return conditions


def _page(
    f: CallFilter, after: tuple[datetime, str] | None, limit: int, offset: int
) -> Select[CallRecord]:
    query = select(CallRecord).where(*_conditions(f))
    if after is not None:
        started, linkedid = after
        query = query.where(
            or_(
                CallRecord.started_at < started,
                and_(CallRecord.started_at == started, CallRecord.linkedid < linkedid),
            )
        )
    order = (CallRecord.started_at.desc(), CallRecord.linkedid.desc())
    return query.order_by(*order).offset(offset).limit(limit)


async def list_records(
    session: AsyncSession,
    f: CallFilter,
    *,
    limit: int,
    offset: int = 0,
    after: tuple[datetime, str] | None = None,
) -> Sequence[CallRecord]:
    """Newest first, by (started_at, linkedid); `after` is the keyset of the last row seen."""
    return (await session.scalars(_page(f, after, limit, offset))).all()


async def events_of(session: AsyncSession, linkedid: str) -> Sequence[CallEvent]:
    rows = await session.scalars(
        select(CallEvent).where(CallEvent.linkedid == linkedid).order_by(CallEvent.at, CallEvent.id)
    )
    return rows.all()


async def recordings_of(session: AsyncSession, linkedid: str) -> Sequence[Recording]:
    rows = await session.scalars(
        select(Recording).where(Recording.linkedid == linkedid).order_by(Recording.part)
    )
    return rows.all()


async def orders_of_calls(
    session: AsyncSession, linkedids: Collection[str]
) -> dict[str, list[tuple[int, str, bool]]]:
    """Per call, its orders' (id, number, confidential), oldest first."""
    found: dict[str, list[tuple[int, str, bool]]] = {}
    if not linkedids:
        return found
    rows = await session.execute(
        select(OrderCall.linkedid, WorkOrder.id, WorkOrder.number, WorkOrder.confidential)
        .join(WorkOrder, WorkOrder.id == OrderCall.order_id)
        .where(OrderCall.linkedid.in_(linkedids))
        .order_by(WorkOrder.id)
    )
    for linkedid, order_id, number, confidential in rows:
        found.setdefault(linkedid, []).append((order_id, number, confidential))
    return found


async def confidential_callers(session: AsyncSession, numbers: Collection[str]) -> set[str]:
    """The numbers among `numbers` whose caller asked for confidentiality on any order."""
    wanted = [n for n in numbers if n]
    if not wanted:
        return set()
    rows = await session.scalars(
        select(WorkOrder.caller_number)
        .where(WorkOrder.caller_number.in_(wanted), WorkOrder.confidential.is_(True))
        .distinct()
    )
    return set(rows)
