"""The append-only audit trail: rows are only ever inserted (the database refuses the rest).

Entries are written at once with a prepared insert (see crm.db.prepared): nothing is ever
read back or changed, so the ORM's unit of work would only add cost to every order change.
"""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import AuditEntry
from crm.db.prepared import DriverConnection, Prepared
from crm.domain.enums import Status
from crm.domain.lifecycle import Actor

_INSERT = Prepared(
    insert(AuditEntry),
    ["order_id", "at", "actor_id", "actor_role", "action", "from_status", "to_status", "detail"],
)


async def append(
    db: DriverConnection,
    order_id: int,
    actor: Actor,
    action: str,
    from_status: Status | None,
    to_status: Status,
    at: datetime,
    detail: dict[str, Any],
) -> None:
    await db.rows(
        _INSERT,
        {
            "order_id": order_id,
            "at": at,
            "actor_id": actor.user_id,
            "actor_role": actor.role,
            "action": action,
            "from_status": from_status,
            "to_status": to_status,
            "detail": detail,
        },
    )


async def history(session: AsyncSession, order_id: int) -> Sequence[AuditEntry]:
    return (
        await session.scalars(
            select(AuditEntry).where(AuditEntry.order_id == order_id).order_by(AuditEntry.id)
        )
    ).all()
