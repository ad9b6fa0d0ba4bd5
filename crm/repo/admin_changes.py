"""The trail of admin changes to units, routing rules and the calendar (append-only)."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.models import AdminChange


async def record(
    session: AsyncSession,
    actor_id: int,
    at: datetime,
    subject: str,
    subject_id: int | None,
    action: str,
    detail: dict[str, Any],
) -> None:
    session.add(AdminChange(actor_id=actor_id, at=at, subject=subject, subject_id=subject_id,
                            action=action, detail=detail))  # fmt: skip
    await session.flush()


async def changes(session: AsyncSession) -> Sequence[AdminChange]:
    return (await session.scalars(select(AdminChange).order_by(AdminChange.id))).all()
