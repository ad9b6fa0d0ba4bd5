"""The CRM's database at the backend's start: migrated, seeded with the telephony configuration
of the settings file when it holds none, and the runtime settings read from its current
version (recorded as applied once the centre runs, or as not applied when it cannot)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import Settings, SettingsError
from config.telephony_config import TelephonyConfig
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.migrate import migrate
from crm.domain.clock import utc_now
from crm.usecases import telephony_config as store
from crm.usecases.telephony_applies import record_apply
from crm.usecases.telephony_config import seed_if_empty
from hotline_cli.config_follow import runtime_settings

log = logging.getLogger(__name__)


@asynccontextmanager
async def stored_database(settings: Settings, seed: TelephonyConfig) -> AsyncIterator[AsyncEngine]:
    """The migrated database, with the telephony configuration's version 1 from `seed` (the
    settings file's) if it has none yet."""
    engine = create_engine(settings.database_url)
    try:
        await migrate(engine)
        async with session_factory(engine)() as session, session.begin():
            if await seed_if_empty(session, seed, utc_now()):
                log.info("telephony configuration version 1 seeded from the settings file")
        yield engine
    finally:
        await engine.dispose()


async def stored_settings(
    file_settings: Settings, sessions: SessionFactory
) -> tuple[Settings, int]:
    """The runtime settings: the file's infrastructure running the database's current
    telephony configuration, and its version. One the infrastructure cannot run is recorded
    as not applied and stops the start (SettingsError, saying why)."""
    async with sessions() as session:
        row = await store.current(session)
    try:
        return runtime_settings(file_settings, store.document_of(row)), row.version
    except SettingsError as exc:
        async with sessions() as session, session.begin():
            await record_apply(session, row.version, utc_now(), False, f"启动时无法运行: {exc}")
        raise SettingsError(
            f"telephony configuration version {row.version} (the database's current one) "
            f"cannot run on this settings file's infrastructure: {exc}; revert to a version "
            "that can (hotline config revert) or fix the settings file"
        ) from exc


async def record_started(sessions: SessionFactory, version: int) -> None:
    """The version the centre started on, recorded as applied."""
    async with sessions() as session, session.begin():
        await record_apply(session, version, utc_now(), True, "启动时应用")
