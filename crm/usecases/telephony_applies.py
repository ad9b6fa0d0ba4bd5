"""How each telephony configuration version's apply to the running centre went: written by
the call process (the one that applies), read by the versions' list of the API and the
command. A version is applied once its row says ok; one with no row was not tried (yet, or
skipped over for a newer one)."""

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm.db.telephony_models import TelephonyApply, TelephonyVersion

REASON_LENGTH = 2000


async def record_apply(
    session: AsyncSession, version: int, now: datetime, ok: bool, reason: str
) -> None:
    """The outcome of applying `version` (a later start-up that runs it again replaces it)."""
    await session.merge(
        TelephonyApply(version=version, applied_at=now, ok=ok, reason=reason[:REASON_LENGTH])
    )


async def applies_of(session: AsyncSession, versions: Collection[int]) -> dict[int, TelephonyApply]:
    rows = await session.scalars(
        select(TelephonyApply).where(TelephonyApply.version.in_(list(versions)))
    )
    return {row.version: row for row in rows}


async def current_version(session: AsyncSession) -> int | None:
    """The newest stored version's number (None: nothing seeded yet); cheap enough to poll."""
    found: int | None = await session.scalar(select(func.max(TelephonyVersion.version)))
    return found


async def running_version(session: AsyncSession) -> int | None:
    """The version the call process runs: the newest whose apply succeeded (None: none yet)."""
    found: int | None = await session.scalar(
        select(func.max(TelephonyApply.version)).where(TelephonyApply.ok.is_(True))
    )
    return found
