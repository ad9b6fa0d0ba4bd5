"""Queries of the floor's trail (`floor_actions`)."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.floor_models import FloorAction


async def recent(
    session: AsyncSession,
    *,
    extension: str | None,
    since: datetime | None,
    before_id: int | None,
    limit: int,
) -> Sequence[FloorAction]:
    """Newest first; `before_id` pages on from the last row of the previous page."""
    query = select(FloorAction).order_by(FloorAction.id.desc()).limit(limit)
    if extension is not None:
        query = query.where(FloorAction.extension == extension)
    if since is not None:
        query = query.where(FloorAction.at >= since)
    if before_id is not None:
        query = query.where(FloorAction.id < before_id)
    return (await session.scalars(query)).all()
