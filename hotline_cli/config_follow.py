"""The stored telephony configuration joined to the running centre.

The runtime settings are the settings file's infrastructure with the database's current
document applied (`runtime_settings`). A change stored through the API is announced after
its commit on a Redis channel (`announce`); both processes also read the current version at
every (re)connect to Redis and every `POLL_S` seconds (`follow_versions`), so a message lost
to a Redis or backend restart, or a change stored by `hotline config apply` (which does not
publish), is picked up all the same. Only the newest version matters: one skipped over is
never applied. The call process applies it (`VersionApplier`, one at a time through
`Hotline.apply_settings`) and records the outcome; the HTTP process reloads its own view.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from agent_gateway.edge.bus import raise_if_cancelling
from config.secrets import resolve_secrets
from config.settings import Settings, SettingsError
from config.telephony_config import TelephonyConfig, settings_with
from crm.db.engine import SessionFactory
from crm.db.telephony_models import TelephonyVersion
from crm.domain.clock import utc_now
from crm.usecases import telephony_config as store
from crm.usecases.telephony_applies import current_version, record_apply
from telephony.live_config import AppliedChange, ApplyError
from telephony.reload_plan import plan_reload

log = logging.getLogger(__name__)

CHANNEL = "hotline:telephony-config"  # a message: the number of a version just stored
POLL_S = 2.0  # the current version read at least this often, whatever Redis says


def runtime_settings(file_settings: Settings, document: TelephonyConfig) -> Settings:
    """The settings file's infrastructure running `document`, secrets resolved
    (SettingsError: the infrastructure cannot run it)."""
    return resolve_secrets(settings_with(file_settings, document))


def runnable(
    file_settings: Settings, running: Callable[[], TelephonyConfig | None] = lambda: None
) -> store.Runnable:
    """The running centre's check of a change (old → new document): the reasons the
    infrastructure refuses the new one (`settings_with`), else what only a restart applies,
    compared with the document `running()` (the one the call process runs; None: `old`)."""

    def reasons(old: TelephonyConfig, new: TelephonyConfig) -> list[str]:
        old = running() or old
        try:
            after = runtime_settings(file_settings, new)
        except SettingsError as exc:
            return [f"基础设施无法运行此配置: {exc}"]
        try:
            before = runtime_settings(file_settings, old)
        except SettingsError:
            return []  # the current one no longer runs here: nothing to compare with
        return [f"需要重启才能生效: {why}" for why in plan_reload(before, after).restart]

    return reasons


def announce(redis: Redis) -> Callable[[int], Awaitable[None]]:
    """What the API calls once a version has committed: its number published; a failure is
    logged, never raised (the processes' poll still finds the version)."""

    async def changed(version: int) -> None:
        try:
            await redis.publish(CHANNEL, str(version))
        except (RedisError, OSError) as exc:
            log.warning("telephony configuration version %d not announced: %r", version, exc)

    return changed


async def follow_versions(
    redis: Redis, check: Callable[[], Awaitable[None]], poll_s: float
) -> None:
    """Run `check` on every announcement, at every (re)subscription and every `poll_s`
    seconds, forever; whatever `check` raises is logged and the loop goes on."""
    while True:
        try:
            async with redis.pubsub() as pubsub:
                await pubsub.subscribe(CHANNEL)
                await _unfailing(check)  # whatever was stored while we were not listening
                while True:
                    message = await pubsub.get_message(timeout=poll_s)  # None: the poll's turn
                    raise_if_cancelling()  # redis-py may have swallowed a cancellation
                    if message is None or message["type"] == "message":
                        await _unfailing(check)
        except (RedisError, OSError) as exc:
            log.warning("telephony configuration channel lost (%r); polling meanwhile", exc)
            raise_if_cancelling()
            await asyncio.sleep(poll_s)
            await _unfailing(check)


async def _unfailing(check: Callable[[], Awaitable[None]]) -> None:
    """`check()`; whatever it raises is logged, never ends the loop (the next one tries)."""
    try:
        await check()
    except Exception:
        log.exception("telephony configuration check failed; following on")


async def newer_version(
    sessions: SessionFactory, than: int, which: Callable[[AsyncSession], Awaitable[int | None]]
    = current_version,
) -> TelephonyVersion | None:  # fmt: skip
    """The current version (or `which` one: `running_version`) if it is newer than `than`
    (database errors: logged, None)."""
    try:
        async with sessions() as session:
            number = await which(session)
            if number is None or number <= than:
                return None
            return await store.version(session, number)
    except (SQLAlchemyError, OSError) as exc:
        log.warning("cannot read the telephony configuration's current version: %r", exc)
        return None


class Applies(Protocol):
    async def apply_settings(self, new: Settings) -> AppliedChange: ...


class VersionApplier:
    """The call process's `check`: the newest stored version applied live, its outcome
    recorded. A failure leaves the old configuration running and is not retried (the next
    version is); the API and `hotline config versions` show why."""

    def __init__(
        self, centre: Applies, file_settings: Settings, sessions: SessionFactory, running: int
    ) -> None:
        self.centre = centre
        self.file_settings = file_settings
        self.sessions = sessions
        self.running = running  # the version last tried (the one running, unless it failed)
        self._lock = asyncio.Lock()

    async def __call__(self) -> None:
        async with self._lock:  # one apply at a time, in version order
            row = await newer_version(self.sessions, self.running)
            if row is None:
                return
            self.running = row.version
            try:
                new = settings_with(self.file_settings, store.document_of(row))
                change = await self.centre.apply_settings(new)
            except (SettingsError, ApplyError) as exc:
                ok, reason = False, f"未应用，仍运行原配置: {exc}"
                log.error("telephony configuration version %d not applied: %s", row.version, exc)
            except Exception as exc:  # a bug or an unforeseen failure: recorded all the same
                ok, reason = False, f"未应用（意外错误）: {exc!r}"
                log.exception("telephony configuration version %d not applied", row.version)
            else:
                reloads = ", ".join(r.value for r in change.reloads) or "no reload"
                ok, reason = True, f"已应用 ({reloads}, {change.total_s * 1000:.0f} ms)"
                log.info("telephony configuration version %d applied: %s", row.version, reloads)
            await self._record(row.version, ok, reason)

    async def _record(self, version: int, ok: bool, reason: str) -> None:
        try:
            async with self.sessions() as session, session.begin():
                await record_apply(session, version, utc_now(), ok, reason)
        except (SQLAlchemyError, OSError) as exc:
            log.error("the outcome of version %d not recorded (%s): %r", version, reason, exc)
