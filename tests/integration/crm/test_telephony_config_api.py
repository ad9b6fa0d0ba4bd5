"""The telephony configuration's versions over real HTTP on SQLite and PostgreSQL: seeded once,
changed as a whole (422 naming each field), optimistic (409 with the current version), the
secrets never shown and kept when sent back masked, reverted, every change in the admins'
trail, the versions append-only in the database."""

import asyncio
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from config.settings import load_settings
from config.telephony_config import (
    MASK,
    TelephonyConfig,
    document_from,
    parse_document,
    stored_json,
)
from crm.api.context import SESSIONS
from crm.db.engine import session_factory
from crm.db.telephony_models import TelephonyVersion
from crm.domain.enums import Role
from crm.repo import admin_changes
from crm.repo.directory import create_user
from crm.usecases.telephony_config import VersionConflict, apply_change, seed_if_empty, versions
from tests.integration.crm.crm_support import START, Api
from tests.support.polling import eventually

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROOT = "/api/admin/telephony"
AGENT_SECRET = "the-sip-secret-of-1002"


def _seed_document() -> dict[str, Any]:
    data = stored_json(document_from(load_settings(environ={})))
    data["agents"][1]["sip_password"] = AGENT_SECRET
    return data


async def _seeded(api: Api) -> dict[str, Any]:
    async with api.client.app[SESSIONS]() as session, session.begin():
        assert await seed_if_empty(session, parse_document(_seed_document()), START)
        assert not await seed_if_empty(session, TelephonyConfig(), START)  # once only
    status, current = await api.get(ROOT, "admin")
    assert status == 200, current
    return dict(current)


async def _stored(api: Api) -> list[TelephonyVersion]:
    async with api.client.app[SESSIONS]() as session:
        query = select(TelephonyVersion).order_by(TelephonyVersion.version)
        return list((await session.scalars(query)).all())


async def _trail(api: Api) -> list[tuple[int | None, str, int]]:
    async with api.client.app[SESSIONS]() as session:
        rows = await admin_changes.changes(session)
    return [(r.subject_id, r.action, r.actor_id) for r in rows if r.subject == "telephony"]


async def _put(api: Api, base: int, document: dict[str, Any], who: str = "admin") -> Any:
    return await api.call("PUT", ROOT, who, json={"base_version": base, "document": document})


async def test_the_seed_is_version_1_shown_masked(api: Api) -> None:
    current = await _seeded(api)
    assert (current["version"], current["author_id"], current["changes"]) == (1, None, [])
    assert current["document"]["agents"][1]["sip_password"] == MASK
    assert current["document"]["agents"][0]["sip_password"] == ""  # generated per agent
    assert current["document"]["queues"][0]["service_level_s"] == 15
    status, listing = await api.get(f"{ROOT}/versions", "admin")
    assert status == 200 and [v["version"] for v in listing["items"]] == [1]


async def test_a_change_is_a_new_version_with_its_diff_and_audit_row(api: Api) -> None:
    document = (await _seeded(api))["document"]
    document["queues"][0]["wrapup_s"] = 12
    status, applied = await _put(api, 1, document)
    assert status == 200, applied
    assert (applied["version"], applied["changed"]) == (2, True)
    assert applied["author_id"] == api.seed.user_ids["admin"]
    assert applied["changes"] == [{"path": "queues[hotline].wrapup_s", "old": 3, "new": 12}]
    assert applied["summary"] == "改动 1 处：queues[hotline].wrapup_s"
    status, two = await api.get(f"{ROOT}/versions/2", "admin")
    assert status == 200 and two["changes"] == applied["changes"]
    assert await _trail(api) == [(2, "changed", api.seed.user_ids["admin"])]
    status, listing = await api.get(f"{ROOT}/versions", "admin", params={"limit": "1"})
    assert [v["version"] for v in listing["items"]] == [2]


async def test_the_second_admin_on_a_stale_version_gets_409_with_the_current(api: Api) -> None:
    document = (await _seeded(api))["document"]
    first, second = dict(document), dict(document)
    first["inbound_numbers"] = ["12345", "96345"]
    second["nuisance"] = [{"number": "13800138000", "reason": "骚扰"}]
    assert (await _put(api, 1, first))[0] == 200
    status, err = await _put(api, 1, second)
    assert status == 409, err
    assert (err["error"]["code"], err["error"]["current_version"]) == ("version_conflict", 2)
    assert [v.version for v in await _stored(api)] == [1, 2]
    assert (await _put(api, 2, {**second, "inbound_numbers": first["inbound_numbers"]}))[0] == 200


async def test_two_changes_at_once_store_one(api: Api) -> None:
    document = (await _seeded(api))["document"]
    edits = [{**document, "inbound_numbers": ["12345", n]} for n in ("96345", "96346")]
    answers = await asyncio.gather(*(_put(api, 1, e) for e in edits))
    assert sorted(status for status, _ in answers) == [200, 409], answers
    (refusal,) = [body["error"] for status, body in answers if status == 409]
    assert (refusal["code"], refusal["current_version"]) == ("version_conflict", 2)
    assert [v.version for v in await _stored(api)] == [1, 2]
    assert len(await _trail(api)) == 1


async def test_a_bad_document_is_refused_with_every_field_named(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    document = (await _seeded(api))["document"]
    document["queues"][1]["skill"] = "xyz"
    document["trunks"]["police"]["backup"] = None
    status, err = await _put(api, 1, document)
    assert status == 422, err
    assert "refused, 2 bad fields: queues.1.skill, trunks.police.backup" in caplog.text
    assert {e["field"] for e in err["error"]["errors"]} == {
        "queues.1.skill",
        "trunks.police.backup",
    }
    assert err["error"]["field"] == "queues.1.skill"
    status, err = await api.post(f"{ROOT}/validate", {"document": document}, "admin")
    assert status == 422 and len(err["error"]["errors"]) == 2
    assert [v.version for v in await _stored(api)] == [1] and await _trail(api) == []


async def test_a_dry_run_stores_nothing(api: Api) -> None:
    document = (await _seeded(api))["document"]
    document["trunks"]["police"]["primary"] = "127.0.0.1:5091"
    status, checked = await api.post(f"{ROOT}/validate", {"document": document}, "admin")
    assert status == 200, checked
    moved = {"path": "trunks.police.primary", "old": "127.0.0.1:5081", "new": "127.0.0.1:5091"}
    assert checked == {"valid": True, "changes": [moved]}
    assert [v.version for v in await _stored(api)] == [1]


async def test_a_mask_sent_back_keeps_the_secret_which_is_never_shown(api: Api) -> None:
    document = (await _seeded(api))["document"]
    document["agents"].reverse()
    document["queues"][0]["strategy"] = "ringall"
    status, applied = await _put(api, 1, document)
    assert status == 200, applied
    assert applied["changes"] == [
        {"path": "queues[hotline].strategy", "old": "rrmemory", "new": "ringall"}
    ]
    stored = {a["extension"]: a for a in (await _stored(api))[-1].document["agents"]}
    assert stored["1002"]["sip_password"] == AGENT_SECRET
    for path in (ROOT, f"{ROOT}/versions", f"{ROOT}/versions/1", f"{ROOT}/versions/2"):
        status, body = await api.get(path, "admin")
        assert status == 200 and AGENT_SECRET not in str(body)
    new = next(a for a in document["agents"] if a["extension"] == "1002")
    new["sip_password"] = "a-brand-new-secret-1002"
    status, applied = await _put(api, 2, document)
    assert applied["changes"] == [{"path": "agents[1002].sip_password", "old": MASK, "new": MASK}]


async def test_a_document_equal_to_the_current_stores_nothing(api: Api) -> None:
    document = (await _seeded(api))["document"]
    status, applied = await _put(api, 1, document)
    assert status == 200 and (applied["version"], applied["changed"]) == (1, False)
    assert [v.version for v in await _stored(api)] == [1] and await _trail(api) == []


async def test_revert_stores_the_old_document_again_audited(api: Api) -> None:
    document = (await _seeded(api))["document"]
    document["queues"][1]["wrapup_s"] = 30
    assert (await _put(api, 1, document))[0] == 200
    status, err = await api.post(f"{ROOT}/versions/1/revert", {"base_version": 1}, "admin")
    assert status == 409 and err["error"]["current_version"] == 2
    status, back = await api.post(f"{ROOT}/versions/1/revert", {"base_version": 2}, "admin")
    assert status == 200, back
    assert (back["version"], back["reverted_from"], back["changed"]) == (3, 1, True)
    assert back["changes"] == [{"path": "queues[complaint].wrapup_s", "old": 30, "new": 3}]
    versions = await _stored(api)
    assert versions[2].document == versions[0].document  # secrets included
    admin = api.seed.user_ids["admin"]
    assert await _trail(api) == [(2, "changed", admin), (3, "reverted", admin)]
    status, err = await api.post(f"{ROOT}/versions/99/revert", {"base_version": 3}, "admin")
    assert (status, err["error"]["message"]) == (404, "没有第 99 版电话配置")


async def test_bad_requests(api: Api) -> None:
    document = (await _seeded(api))["document"]
    for who in ("supervisor", "agent", "urban"):
        assert (await api.get(ROOT, who))[0] == 403
        assert (await _put(api, 1, document, who))[0] == 403
    status, err = await api.get(f"{ROOT}/versions/7", "admin")
    assert (status, err["error"]["code"]) == (404, "version_not_found")
    status, err = await api.call("PUT", ROOT, "admin", data=b'{"base_version": 1, "doc',
                                 headers={"Content-Type": "application/json"})  # fmt: skip
    assert (status, err["error"]["code"]) == (400, "invalid_json")
    status, err = await api.call("PUT", ROOT, "admin", json={"document": document})
    assert (status, err["error"]["field"]) == (400, "base_version")
    status, err = await _put(api, 1, {**document, "colour": "red"})
    assert status == 422 and err["error"]["errors"][0]["field"] == "colour"


async def test_no_version_before_the_seed(api: Api) -> None:
    status, err = await api.get(ROOT, "admin")
    assert (status, err["error"]["code"]) == (404, "no_telephony_config")


async def test_versions_are_append_only_in_the_database(api: Api) -> None:
    await _seeded(api)
    for statement in ("UPDATE telephony_versions SET summary = 'x'",
                      "DELETE FROM telephony_versions"):  # fmt: skip
        async with api.client.app[SESSIONS]() as session:
            with pytest.raises(DBAPIError, match="append-only"):
                await session.execute(text(statement))
    assert [v.version for v in await _stored(api)] == [1]


async def _waiting_on_a_lock(engine: AsyncEngine) -> bool:
    async with engine.connect() as connection:
        waiting = await connection.scalar(text(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        ))  # fmt: skip
    return bool(waiting)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_change_stored_meanwhile_refuses_the_other_with_the_current(
    engine: AsyncEngine,
) -> None:
    """Both read version 1 as current; the second's insert waits for the first's commit, then
    finds version 2 taken: refused with version 2 as the current one, nothing else stored."""
    sessions = session_factory(engine)
    async with sessions() as session, session.begin():
        await seed_if_empty(session, parse_document(_seed_document()), START)
        admin, _ = await create_user(session, "admin", Role.ADMIN, None)
    first, second = _seed_document(), _seed_document()
    first["inbound_numbers"], second["inbound_numbers"] = ["12345", "96345"], ["12345", "96346"]
    async with sessions() as one, one.begin():
        await apply_change(one, admin.id, START, 1, first)  # stored, not yet committed

        async def other() -> None:
            async with sessions() as two, two.begin():
                await apply_change(two, admin.id, START, 1, second)

        racing = asyncio.create_task(other())
        await eventually(lambda: _waiting_on_a_lock(engine), 10, "the other insert waits")
        assert not racing.done()
    with pytest.raises(VersionConflict) as refused:
        await racing
    assert refused.value.current == 2
    async with sessions() as session:
        assert [v.version for v in await versions(session)] == [2, 1]
