"""The HTTP process follows the version the call process runs, on SQLite and PostgreSQL: a
stored version whose apply failed is never followed (desk tickets and the consult picker keep
the agents Asterisk has), and a change is checked against the running version, not the
newest stored. The call process's applier records any failure of an apply, even one nobody
foresaw, as that version's outcome."""

from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import select

from agent_gateway.desk.http import DeskHttp
from config.secrets import resolve_secrets
from config.settings import Settings, load_settings
from config.telephony_config import document_from, parse_document, stored_json
from crm.db.engine import SessionFactory, session_factory
from crm.db.telephony_models import TelephonyApply
from crm.domain.clock import utc_now
from crm.domain.enums import Role
from crm.repo.directory import create_user
from crm.usecases.telephony_applies import record_apply
from crm.usecases.telephony_config import apply_change, seed_if_empty
from hotline_cli.config_follow import VersionApplier, runnable
from hotline_cli.http_child import DeskFollower
from hotline_cli.http_process import HttpJob
from telephony.live_config import AppliedChange

pytestmark = pytest.mark.asyncio(loop_scope="session")

NEW_AGENT = {"extension": "1005", "name": "新坐席", "skills": ["general"],
             "contact": "sip:1005@127.0.0.1:5075"}  # fmt: skip


@pytest.fixture
async def stored(engine: Any, tmp_path: Path) -> Any:
    settings = resolve_secrets(load_settings(environ={}, overrides={
        "paths": {"state_dir": str(tmp_path)}}))  # fmt: skip
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await seed_if_empty(session, document_from(settings), utc_now())
        await record_apply(session, 1, utc_now(), True, "启动时应用")
        admin, _ = await create_user(session, "管理员", Role.ADMIN, None)
    return settings, sessions, admin.id


async def _store(sessions: SessionFactory, admin: int, base: int, data: dict[str, Any]) -> None:
    async with sessions() as session, session.begin():
        await apply_change(session, admin, utc_now(), base, data)


async def _outcome(sessions: SessionFactory, version: int, ok: bool) -> None:
    async with sessions() as session, session.begin():
        await record_apply(session, version, utc_now(), ok, "未应用" if not ok else "已应用")


async def test_a_version_whose_apply_failed_is_not_followed(stored: Any) -> None:
    settings, sessions, admin = stored
    redis = Redis.from_url("redis://127.0.0.1:9")  # never reached: the follower only reads
    desk = DeskHttp(sessions, redis, b"s", (), "ws://127.0.0.1:9/ws", 60)
    follower = DeskFollower(desk, HttpJob(settings, "redis://127.0.0.1:9", "ws://x", 20), sessions)
    await follower()
    agents = frozenset({"1001", "1002", "1003", "1901"})
    assert (follower.version, desk.extensions) == (1, agents)
    data = stored_json(document_from(settings))
    data["agents"].append(NEW_AGENT)
    await _store(sessions, admin, 1, data)
    await follower()
    assert (follower.version, desk.extensions) == (1, agents)  # not applied yet
    await _outcome(sessions, 2, ok=False)
    await follower()
    assert (follower.version, desk.extensions) == (1, agents)  # failed: Asterisk lacks 1005
    assert "1005" not in {t["number"] for t in desk.targets}
    await _outcome(sessions, 2, ok=True)  # e.g. applied at the next start
    await follower()
    assert (follower.version, desk.extensions) == (2, agents | {"1005"})
    assert "1005" in {t["number"] for t in desk.targets}
    await redis.aclose()


async def test_a_change_is_checked_against_the_running_version(stored: Any) -> None:
    """Version 2 (every queue linear: only a restart applies it) failed; a change on top of it
    is no restart-free change for the centre still running version 1."""
    settings, sessions, admin = stored
    linear = stored_json(document_from(settings))
    linear["queues"] = [q | {"strategy": "linear"} for q in linear["queues"]]
    await _store(sessions, admin, 1, linear)  # as `hotline config apply` stores it
    await _outcome(sessions, 2, ok=False)
    redis = Redis.from_url("redis://127.0.0.1:9")
    desk = DeskHttp(sessions, redis, b"s", (), "ws://127.0.0.1:9/ws", 60)
    follower = DeskFollower(desk, HttpJob(settings, "redis://127.0.0.1:9", "ws://x", 20), sessions)
    await follower()
    check = runnable(settings, lambda: follower.document)
    on_top = linear | {"queues": [q | {"wrapup_s": 9} for q in linear["queues"]]}
    reasons = check(parse_document(linear), parse_document(on_top))
    assert reasons and all("需要重启才能生效" in r for r in reasons), reasons
    assert any("linear" in r for r in reasons)
    await redis.aclose()


class Unforeseen:
    """Hotline.apply_settings failing in a way nobody caught (a bug)."""

    asked = 0

    async def apply_settings(self, new: Settings) -> AppliedChange:
        self.asked += 1
        raise KeyError("queues.conf")


async def test_an_unforeseen_failure_is_recorded_as_the_versions_outcome(stored: Any) -> None:
    settings, sessions, admin = stored
    centre = Unforeseen()
    applier = VersionApplier(centre, settings, sessions, 1)
    data = stored_json(document_from(settings))
    data["queues"][0]["wrapup_s"] = 13
    await _store(sessions, admin, 1, data)
    await applier()  # does not raise
    await applier()
    assert centre.asked == 1  # tried once, not retried
    async with sessions() as session:
        rows = {r.version: r for r in await session.scalars(select(TelephonyApply))}
    assert rows[2].ok is False and "KeyError" in rows[2].reason and "queues.conf" in rows[2].reason
