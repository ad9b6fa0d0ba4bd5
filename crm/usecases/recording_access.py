"""Who may hear a call's recording, and the trail of every access, refusals included.

Least privilege: supervisors and admins may hear every call; an agent only a call it
answered (the extension its user is bound to took the call, first or after a transfer); a
department handler only a call linked to an order its unit leads or assists (the order's
handling unit must be able to check what the citizen said). A supervisor's whisper/barge file
(kind `supervision`) is coaching, not what the citizen said: only supervisors and admins hear
it, and a call's listing leaves it out for everyone else. Anyone else is refused with 403,
and the refusal is on the trail like a play, for the metadata routes as for the audio.
"""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.call_models import Recording, RecordingAccess
from crm.domain.calls import RecordingStatus
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.errors import Conflict, Denied, Gone, NotFound
from crm.repo import recording_access as repo
from crm.usecases.spy_sessions import SUPERVISION

MAX_RANGE_CHARS = 64  # the trail's column; a longer Range header is kept cut


class AccessAction(StrEnum):
    LINK = "link"  # a signed playback link issued
    PLAY = "play"  # served through a playback link (the pages' <audio>)
    DOWNLOAD = "download"  # served with a bearer token, as an attachment
    METADATA = "metadata"  # a recording's metadata asked for (only refusals are kept)
    LIST = "list"  # a call's recordings listed (only refusals are kept, one per recording)


HEAR_ALL = frozenset({Role.SUPERVISOR, Role.ADMIN})


async def may_hear(session: AsyncSession, actor: Actor, linkedid: str) -> bool:
    """May `actor` hear the recordings of call `linkedid`?"""
    if actor.role in HEAR_ALL:
        return True
    if actor.role is Role.AGENT:
        return await repo.user_answered_call(session, actor.user_id, linkedid)
    if actor.role is Role.HANDLER and actor.unit_id is not None:
        return await repo.unit_handles_call(session, actor.unit_id, linkedid)
    return False


async def find(session: AsyncSession, recording_id: int) -> Recording:
    recording = await repo.get_recording(session, recording_id)
    if recording is None:
        raise NotFound("recording_not_found", f"no recording {recording_id}")
    return recording


async def audible(session: AsyncSession, recording_id: int, actor: Actor) -> Recording:
    """The recording if `actor` may hear it and it can be heard now.

    NotFound for an unknown id; Denied (403) for an actor who may not; Gone (410) once
    removed or found missing; Conflict (409) while not checked yet (Asterisk may still be
    writing it). The caller appends the refusal to the trail (`append`)."""
    recording = await visible(session, recording_id, actor)
    if recording.status in (RecordingStatus.REMOVED, RecordingStatus.MISSING):
        raise Gone(f"recording_{recording.status.value}",
                   f"recording {recording_id} is {recording.status.value}")  # fmt: skip
    if recording.status is RecordingStatus.PENDING:
        raise Conflict("recording_not_checked", "the recording is not checked yet; retry soon")
    return recording


async def visible(session: AsyncSession, recording_id: int, actor: Actor) -> Recording:
    """A recording's row (whatever its status) for an actor who may hear its call (else
    Denied; NotFound for an unknown id)."""
    recording = await find(session, recording_id)
    if not await may_hear(session, actor, recording.linkedid):
        raise Denied("recording_forbidden", f"role {actor.role.value} may not hear this call")
    if recording.kind == SUPERVISION and actor.role not in HEAR_ALL:
        raise Denied("recording_forbidden",
                     "only supervisors and admins may hear a supervisor's whisper or barge")
    return recording


async def visible_parts(session: AsyncSession, linkedid: str, actor: Actor) -> Sequence[Recording]:
    """A call's recordings in order, for an actor who may hear that call (else Denied)."""
    if not await may_hear(session, actor, linkedid):
        raise Denied("recording_forbidden", f"role {actor.role.value} may not hear this call")
    parts = await repo.recordings_of_call(session, linkedid)
    return [r for r in parts if actor.role in HEAR_ALL or r.kind != SUPERVISION]


async def recording_ids(session: AsyncSession, linkedid: str) -> Sequence[int]:
    """The ids of a call's recordings (to put a refused listing on each one's trail)."""
    return await repo.recording_ids_of_call(session, linkedid)


def append(
    session: AsyncSession,
    recording_id: int,
    actor: Actor,
    action: AccessAction,
    status: int,
    now: datetime,
    byte_range: str = "",
) -> None:
    """One entry of the append-only trail (committed by the caller)."""
    session.add(
        RecordingAccess(
            recording_id=recording_id, at=now, user_id=actor.user_id, role=actor.role,
            action=action.value, byte_range=byte_range[:MAX_RANGE_CHARS], status=status,
        )
    )  # fmt: skip


async def trail(session: AsyncSession, recording_id: int) -> Sequence[RecordingAccess]:
    """Who accessed a recording, newest first (for supervisors and admins)."""
    await find(session, recording_id)
    return await repo.accesses(session, recording_id)
