"""The outcome of an answered call: its work order, or the disposition chosen at the desk.

No answered call without an outcome. An order already is the outcome, and the stronger one:
a call that has an order is not disposed (refused, `has_order`: a centre's figures would
otherwise count the call twice, once as an order and once as "no order needed"); an order
saved after a disposition wins (`call_outcome` says "order") and the disposition stays on
record with its event. Disposing again replaces the choice (the agent picked the wrong one);
every choice is a `DISPOSED` event.

No emergency slips out through a disposition: a call that reached, or was being sent towards,
110/119/120 (its record's `emergency_started_at` or `emergency_line`, or what the desk saw
of it) takes none (`emergency_needs_order`): it needs its order, whose TRANSFER makes the
hand-over and puts it on the clock; nor does any call take `emergency_referred` any more.

The call log's writer stores calls asynchronously, so the desk may dispose of a call (or
pause its recording) before the call's record exists: a minimal record is created then, with
only what the desk knows, and the writer fills in the rest (its fields only fill in).
"""

import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallEvent, CallRecord
from crm.db.models import OrderCall
from crm.domain.calls import CallEventKind, CallOutcome, Disposition
from crm.domain.enums import CALL_TAKER_ROLES
from crm.domain.lifecycle import Actor
from crm.errors import Conflict, Denied, InvalidInput
from crm.text import PROSE_PATTERN

MAX_NOTE = 500  # characters of the agent's note on a disposition
EMERGENCY_NEEDS_ORDER = (
    "紧急来电（110/119/120）须登记工单并转交，由工单完成交接，不能只选择处理结果"
)


async def ensure_call_record(
    session: AsyncSession, linkedid: str, now: datetime, started_at: datetime | None = None
) -> CallRecord:
    """The call's record, created minimal if the call log has not written it yet: Linkedid,
    arrival (`started_at` when the caller knows it, else `now`), in progress. Nothing else is
    claimed (no caller, no agent, no times), so the call log's later report fills them in. A
    record the writer inserts meanwhile wins (the insert runs in a savepoint)."""
    record = await session.get(CallRecord, linkedid)
    if record is not None:
        return record
    try:
        async with session.begin_nested():
            record = CallRecord(
                linkedid=linkedid,
                started_at=started_at or now,
                outcome=CallOutcome.IN_PROGRESS,
                updated_at=now,
            )
            session.add(record)
    except IntegrityError:  # the call log wrote it between our read and our insert
        record = await session.get(CallRecord, linkedid, populate_existing=True)
        if record is None:
            raise
    return record


async def call_outcome(session: AsyncSession, linkedid: str) -> str | None:
    """ "order" if an order is linked to the call, else "disposition" if one was chosen, else
    None (the call still needs its outcome)."""
    linked = await session.scalar(
        select(OrderCall.id).where(OrderCall.linkedid == linkedid).limit(1)
    )
    if linked is not None:
        return "order"
    disposition = await session.scalar(
        select(CallRecord.disposition).where(CallRecord.linkedid == linkedid)
    )
    return None if disposition is None else "disposition"


async def dispose_call(
    session: AsyncSession,
    linkedid: str,
    disposition: Disposition,
    note: str,
    actor: Actor,
    now: datetime,
    *,
    agent: str = "",
    started_at: datetime | None = None,
    emergency: bool = False,
) -> CallRecord:
    """Set the call's disposition (and note, who, when) and append a `DISPOSED` event
    (`agent`: the extension it was chosen at; `emergency`: the desk saw a consult of it to
    110/119/120). Refused: a role that takes no calls (`role_forbidden`), a call that has an
    order (`has_order`), an emergency call or `emergency_referred` (`emergency_needs_order`),
    a note too long or with control characters (`invalid_note`). The caller commits."""
    if actor.role not in CALL_TAKER_ROLES:
        raise Denied("role_forbidden", f"role {actor.role.value} does not take calls")
    note = _checked_note(note)
    if await call_outcome(session, linkedid) == "order":
        raise Conflict(
            "has_order", "该来电已登记工单，工单即其处理结果，无需再选择处理结果", "disposition"
        )
    stored = await session.get(CallRecord, linkedid)
    reached = stored is not None and (
        stored.emergency_started_at is not None or bool(stored.emergency_line)
    )
    if emergency or reached or disposition is Disposition.EMERGENCY_REFERRED:
        raise Conflict("emergency_needs_order", EMERGENCY_NEEDS_ORDER, "disposition")
    record = await ensure_call_record(session, linkedid, now, started_at)
    record.disposition = disposition
    record.disposition_note = note
    record.disposed_by = actor.user_id
    record.disposed_at = now
    record.updated_at = now
    detail = {"disposition": disposition.value, "by": actor.user_id}
    kind = CallEventKind.DISPOSED
    session.add(CallEvent(linkedid=linkedid, at=now, kind=kind, agent=agent, detail=detail))
    await session.flush()
    return record


def _checked_note(note: str) -> str:
    note = note.strip()
    if len(note) > MAX_NOTE:
        raise InvalidInput("invalid_note", f"备注最多 {MAX_NOTE} 字", "note")
    if not re.fullmatch(PROSE_PATTERN, note):
        raise InvalidInput("invalid_note", "备注含有控制字符", "note")
    return note
