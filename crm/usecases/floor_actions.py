"""The floor's trail: a supervisor's action on an agent is written before it is carried out
and finished with its outcome; supervisors and admins read it.

The call process writes it (the desk's `agent_gateway.desk.floor_audit`), each step in a short
session of its own; the HTTP process serves it (`GET /api/floor/actions`).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.floor_models import PENDING, FloorAction
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.errors import Denied, NotFound
from crm.repo import floor_actions as repo

READERS = frozenset({Role.SUPERVISOR, Role.ADMIN})
MAX_LIMIT = 200


@dataclass(frozen=True)
class FloorEntry:
    """What a supervisor asked, as the trail keeps it."""

    user_id: int
    user_name: str
    role: Role
    extension: str
    action: str
    reason: str
    queue: str = ""
    from_queue: str = ""
    pause_reason: str = ""


async def begin(session: AsyncSession, entry: FloorEntry, at: datetime) -> int:
    """The action on the trail, `pending`; its id for `finish`."""
    row = FloorAction(
        at=at, user_id=entry.user_id, user_name=entry.user_name[:64], role=entry.role,
        extension=entry.extension, action=entry.action, queue=entry.queue,
        from_queue=entry.from_queue, pause_reason=entry.pause_reason, reason=entry.reason,
        outcome=PENDING,
    )  # fmt: skip
    session.add(row)
    await session.flush()
    return row.id


async def finish(session: AsyncSession, action_id: int, outcome: str, at: datetime) -> None:
    """Stamp the outcome (`done` or the refusal's code) once; a finished row stays as it is."""
    row = await session.get(FloorAction, action_id)
    if row is None:
        raise NotFound("floor_action_not_found", f"no floor action {action_id}")
    if row.outcome == PENDING:
        row.outcome, row.ended_at = outcome[:32], at


async def listing(
    session: AsyncSession,
    actor: Actor,
    *,
    extension: str | None = None,
    since: datetime | None = None,
    before_id: int | None = None,
    limit: int = 50,
) -> Sequence[FloorAction]:
    if actor.role not in READERS:
        raise Denied("role_forbidden", "only supervisors and admins read the floor's trail")
    limit = max(1, min(limit, MAX_LIMIT))
    return await repo.recent(
        session, extension=extension, since=since, before_id=before_id, limit=limit
    )
