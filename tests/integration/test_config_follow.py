"""The stored configuration joined to the running centre, on a real SQLite database and a
real Redis: the start-up settings are the store's current version (one the infrastructure
cannot run stops the start, recorded failed); the call process's applier takes the newest
version only, records each outcome and never retries a failure; the follower runs its check
at once on an announcement, and by its poll when none comes."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import delete, select, text

from config.secrets import resolve_secrets
from config.settings import Settings, SettingsError, load_settings
from config.telephony_config import document_from, stored_json
from crm.db.engine import SessionFactory, create_engine, session_factory
from crm.db.migrate import migrate
from crm.db.telephony_models import TelephonyApply, TelephonyVersion
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.repo.directory import create_user
from crm.usecases.telephony_config import apply_change, seed_if_empty
from hotline_cli.config_follow import VersionApplier, announce, follow_versions
from hotline_cli.demo.ports import free_tcp_port
from hotline_cli.startup_store import stored_settings
from processes.redis_server import RedisProcess
from telephony.live_config import AppliedChange, ApplyError
from telephony.reload_plan import plan_reload
from tests.support.polling import eventually


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[tuple[Settings, SessionFactory, int]]:
    settings = resolve_secrets(load_settings(environ={}, overrides={
        "paths": {"state_dir": str(tmp_path)},
        "exchange": {"peers": {"110": {"url": "http://127.0.0.1:9/x"}}},
    }))  # fmt: skip
    engine = create_engine(settings.database_url)
    await migrate(engine)
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await seed_if_empty(session, document_from(settings), utc_now())
        admin, _token = await create_user(session, "管理员", Role.ADMIN, None)
    yield settings, sessions, admin.id
    await engine.dispose()


async def _store(sessions: SessionFactory, admin: int, base: int, data: dict[str, Any]) -> None:
    async with sessions() as session, session.begin():
        await apply_change(session, admin, utc_now(), base, data)


def _wrapup(settings: Settings, seconds: int) -> dict[str, Any]:
    data = stored_json(document_from(settings))
    data["queues"][0]["wrapup_s"] = seconds
    return data


async def _outcomes(sessions: SessionFactory) -> dict[int, tuple[bool, str]]:
    async with sessions() as session:
        rows = await session.scalars(select(TelephonyApply))
        return {r.version: (r.ok, r.reason) for r in rows}


async def test_the_start_runs_the_stored_version_not_the_file(store: Any) -> None:
    settings, sessions, admin = store
    await _store(sessions, admin, 1, _wrapup(settings, 17))
    runtime, version = await stored_settings(settings, sessions)
    assert version == 2 and runtime.queues[0].wrapup_s == 17 != settings.queues[0].wrapup_s
    assert runtime.agents[0].sip_password.get_secret_value()  # secrets resolved


async def test_a_seed_older_than_the_documents_rules_runs_as_the_file_did(store: Any) -> None:
    """A settings file whose 110 trunk has no backup (the settings allow it, an admin's change
    may not) seeds version 1, and the backend starts on it."""
    settings, sessions, _ = store
    police = settings.trunks["police"].model_copy(update={"backup": None})
    file_settings = settings.model_copy(update={"trunks": {**settings.trunks, "police": police}})
    async with sessions() as session, session.begin():
        await session.execute(text("DROP TRIGGER telephony_versions_no_delete"))
        await session.execute(delete(TelephonyVersion))
        await seed_if_empty(session, document_from(file_settings), utc_now())
    runtime, version = await stored_settings(file_settings, sessions)
    assert version == 1 and runtime.trunks["police"].backup is None


async def test_a_stored_version_the_infrastructure_cannot_run_stops_the_start(
    store: Any,
) -> None:
    settings, sessions, admin = store
    data = stored_json(document_from(settings))
    data["trunks"] = {k: v for k, v in data["trunks"].items() if v["number"] != "110"}
    await _store(sessions, admin, 1, data)  # no hooks: stored by an older backend, say
    with pytest.raises(SettingsError, match=r"version 2 .*exchange\.peers\.110"):
        await stored_settings(settings, sessions)
    ok, reason = (await _outcomes(sessions))[2]
    assert not ok and "exchange.peers.110" in reason


class FakeCentre:
    """Stands in for Hotline.apply_settings: records what it was asked to run."""

    def __init__(self, running: Settings) -> None:
        self.running, self.asked, self.fail = running, list[int](), False

    async def apply_settings(self, new: Settings) -> AppliedChange:
        self.asked.append(new.queues[0].wrapup_s)
        if self.fail:
            raise ApplyError("配置未生效，已恢复原配置: 'dialplan reload' timed out")
        change = AppliedChange(plan_reload(self.running, new), (("queue_parameters", 0.01),))
        self.running = new
        return change


async def test_the_applier_takes_the_newest_records_it_and_never_retries_a_failure(
    store: Any,
) -> None:
    settings, sessions, admin = store
    running, _ = await stored_settings(settings, sessions)
    centre = FakeCentre(running)
    applier = VersionApplier(centre, settings, sessions, 1)
    await applier()
    assert centre.asked == []  # nothing newer than version 1
    await _store(sessions, admin, 1, _wrapup(settings, 5))
    await _store(sessions, admin, 2, _wrapup(settings, 6))
    await applier()
    assert centre.asked == [6]  # version 2 skipped over
    centre.fail = True
    await _store(sessions, admin, 3, _wrapup(settings, 7))
    await applier()
    await applier()
    assert centre.asked == [6, 7]  # tried once
    outcomes = await _outcomes(sessions)
    assert sorted(outcomes) == [3, 4]
    assert outcomes[3] == (True, "已应用 (queue_parameters, 10 ms)")
    assert outcomes[4][0] is False and "dialplan reload" in outcomes[4][1]
    assert applier.running == 4


async def test_an_announcement_runs_the_check_at_once_and_the_poll_without_one(
    tmp_path: Path,
) -> None:
    server = RedisProcess(free_tcp_port(), tmp_path / "redis")
    async with server:
        redis = Redis.from_url(server.url)
        checks: list[float] = []

        async def check() -> None:
            checks.append(time.monotonic())

        follower = asyncio.create_task(follow_versions(redis, check, poll_s=30))
        try:
            await eventually(lambda: _true(len(checks) == 1), 5, "the check at subscription")
            sent = time.monotonic()
            await announce(redis)(2)
            await eventually(lambda: _true(len(checks) == 2), 1, "the check on the message")
            assert checks[1] - sent < 0.5
        finally:
            follower.cancel()
        polled: list[float] = []

        async def poll_check() -> None:
            polled.append(time.monotonic())

        follower = asyncio.create_task(follow_versions(redis, poll_check, poll_s=0.2))
        try:
            await eventually(lambda: _true(len(polled) >= 3), 5, "checks by the poll alone")
        finally:
            follower.cancel()
        await redis.aclose()


async def _true(value: bool) -> bool:
    return value


async def test_a_check_that_raises_never_ends_the_follow_loop(tmp_path: Path) -> None:
    server = RedisProcess(free_tcp_port(), tmp_path / "redis")
    async with server:
        redis = Redis.from_url(server.url)
        tried: list[float] = []

        async def broken() -> None:
            tried.append(time.monotonic())
            raise RuntimeError("a bad version")

        follower = asyncio.create_task(follow_versions(redis, broken, poll_s=0.2))
        try:
            await eventually(lambda: _true(len(tried) >= 3), 5, "checks after a raise")
            await announce(redis)(5)
            count = len(tried)
            await eventually(lambda: _true(len(tried) > count), 5, "a check after more raises")
            assert not follower.done()
        finally:
            follower.cancel()
        await redis.aclose()
