"""The audit of supervisors' listen / whisper / barge: each session stored as it changes
(who, on whose call, each mode with its time, start, end, duration), and its whisper/barge
file as a recording of kind "supervision" of the call, checked like the call's own."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallRecord, Recording, SpySession
from crm.db.models import OrderCall, User, WorkOrder
from crm.domain.calls import RecordingStatus

SUPERVISION = "supervision"  # recordings.kind of a supervisor's whisper/barge file
MAX_LIMIT = 500


@dataclass(frozen=True)
class SpyFacts:
    """A spy session as the call process knows it now (times naive UTC)."""

    uniqueid: str
    supervisor_id: int | None
    phone: str
    linkedid: str
    agent: str
    modes: tuple[tuple[str, datetime], ...]
    requested_at: datetime
    joined_at: datetime | None
    ended_at: datetime | None
    duration_s: float | None
    end_code: str
    recording: str


async def record(session: AsyncSession, facts: SpyFacts, now: datetime) -> None:
    """Store the session's facts (a later report replaces an earlier one's); its recording
    gets a PENDING row of the call once named, if the call is on record."""
    row = await session.scalar(select(SpySession).where(SpySession.uniqueid == facts.uniqueid))
    if row is None:
        row = SpySession(uniqueid=facts.uniqueid)
        session.add(row)
    row.supervisor_id = facts.supervisor_id if facts.supervisor_id else row.supervisor_id
    row.phone, row.linkedid, row.agent = facts.phone, facts.linkedid, facts.agent
    row.modes = [{"mode": m, "at": at.isoformat()} for m, at in facts.modes]
    row.requested_at, row.joined_at, row.ended_at = (
        facts.requested_at, facts.joined_at, facts.ended_at)  # fmt: skip
    row.duration_s, row.end_code, row.recording = (
        facts.duration_s, facts.end_code, facts.recording)  # fmt: skip
    if facts.recording:
        await _recording_row(session, facts.linkedid, facts.recording, now)
    await session.flush()


async def _recording_row(session: AsyncSession, linkedid: str, path: str, now: datetime) -> None:
    if await session.scalar(select(Recording.id).where(Recording.path == path)) is not None:
        return
    if await session.get(CallRecord, linkedid) is None:
        return
    last = await session.scalar(
        select(func.max(Recording.part)).where(Recording.linkedid == linkedid)
    )
    session.add(Recording(
        linkedid=linkedid, part=(last or 0) + 1, path=path, status=RecordingStatus.PENDING,
        created_at=now, kind=SUPERVISION,
    ))  # fmt: skip


async def open_sessions(session: AsyncSession) -> list[SpySession]:
    """The sessions with no end on record (the call process stopped while they ran)."""
    return list(await session.scalars(select(SpySession).where(SpySession.ended_at.is_(None))))


@dataclass(frozen=True)
class SpyView:
    row: SpySession
    orders: tuple[str, ...]  # the numbers of the call's orders
    supervisor_name: str


@dataclass(frozen=True)
class SpyFilter:
    """What to list; `before_id` pages on from the last row of the previous page."""

    supervisor_id: int | None = None
    linkedid: str | None = None
    agent: str | None = None
    since: datetime | None = None  # naive UTC, on requested_at
    before_id: int | None = None
    limit: int = 100


async def list_sessions(session: AsyncSession, wanted: SpyFilter) -> list[SpyView]:
    """Newest first (by id, so that paging is stable)."""
    query = (
        select(SpySession, User.name)
        .outerjoin(User, User.id == SpySession.supervisor_id)
        .order_by(SpySession.id.desc())
        .limit(max(1, min(wanted.limit, MAX_LIMIT)))
    )
    if wanted.supervisor_id is not None:
        query = query.where(SpySession.supervisor_id == wanted.supervisor_id)
    if wanted.linkedid is not None:
        query = query.where(SpySession.linkedid == wanted.linkedid)
    if wanted.agent is not None:
        query = query.where(SpySession.agent == wanted.agent)
    if wanted.since is not None:
        query = query.where(SpySession.requested_at >= wanted.since)
    if wanted.before_id is not None:
        query = query.where(SpySession.id < wanted.before_id)
    found_rows = [(row, name) for row, name in await session.execute(query)]
    linked = {r.linkedid for r, _ in found_rows}
    numbers: dict[str, list[str]] = {}
    if linked:
        found = await session.execute(
            select(OrderCall.linkedid, WorkOrder.number)
            .join(WorkOrder, WorkOrder.id == OrderCall.order_id)
            .where(OrderCall.linkedid.in_(linked))
        )
        for linkedid, number in found:
            numbers.setdefault(linkedid, []).append(number)
    return [SpyView(r, tuple(numbers.get(r.linkedid, ())), name or "") for r, name in found_rows]
