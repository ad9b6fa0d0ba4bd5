"""The agent's pauses of a call's recording (a caller reading out a bank card number).

Each pause and each resume is an event on the call (`RECORDING_PAUSED`/`RECORDING_RESUMED`);
whether the recording is paused now is the latest of them, so it survives a backend restart.
Pausing a paused recording records nothing (idempotent: a double click is one pause); resuming
a recording that is not paused is refused (`not_paused`): there is nothing to resume.
"""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import CallEvent
from crm.domain.calls import CallEventKind
from crm.errors import Conflict
from crm.usecases.call_disposition import ensure_call_record

_PAUSE_KINDS = (CallEventKind.RECORDING_PAUSED, CallEventKind.RECORDING_RESUMED)


async def recording_paused(session: AsyncSession, linkedid: str) -> bool:
    """Whether the call's recording is paused now (its latest pause/resume event)."""
    latest = await session.scalar(
        select(CallEvent.kind)
        .where(CallEvent.linkedid == linkedid, CallEvent.kind.in_(_PAUSE_KINDS))
        .order_by(CallEvent.at.desc(), CallEvent.id.desc())
        .limit(1)
    )
    return latest is CallEventKind.RECORDING_PAUSED


def refuse_resume_unless_paused(paused: bool) -> None:
    if not paused:
        raise Conflict("not_paused", "录音未暂停，无需恢复", "call_id")


async def record_recording_pause(
    session: AsyncSession,
    linkedid: str,
    paused: bool,
    now: datetime,
    *,
    agent: str,
    user_id: int,
    started_at: datetime | None = None,
) -> bool:
    """Append the pause (`paused`) or resume event at `now`; False if the recording already
    was paused (no second event). Refused: resuming a recording that is not paused
    (`not_paused`). The call's record is created minimal if the call log has not written it
    yet (`started_at`: the call's arrival, if known). The caller commits."""
    was_paused = await recording_paused(session, linkedid)
    if paused and was_paused:
        return False
    if not paused:
        refuse_resume_unless_paused(was_paused)
    await ensure_call_record(session, linkedid, now, started_at)
    kind = CallEventKind.RECORDING_PAUSED if paused else CallEventKind.RECORDING_RESUMED
    detail = {"by": user_id}
    session.add(CallEvent(linkedid=linkedid, at=now, kind=kind, agent=agent, detail=detail))
    await session.flush()
    return True
