"""What the call-log writer stored of a call, waited for with a deadline."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from crm.db.call_models import Recording
from crm.db.engine import SessionFactory


async def recording_id_of_call(
    sessions: SessionFactory, linkedid: str, timeout_s: float = 20
) -> int:
    """The id of the call's recording row (part 1), once the call log has written it."""
    query = select(Recording.id).where(Recording.linkedid == linkedid, Recording.part == 1)
    async with asyncio.timeout(timeout_s):
        while True:
            async with sessions() as session:
                found = await session.scalar(query)
            if found is not None:
                return found
            await asyncio.sleep(0.1)
