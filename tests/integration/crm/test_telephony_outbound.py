"""The outbound trunk (回访) in the telephony configuration's routes, over real HTTP on SQLite and
PostgreSQL: a version stored before the document had it reads as none; a bad one is refused
with its field named (422), a stale edit of it gets 409; one added is stored in clear, shown
masked, in the diff and the trail, and reverted away."""

from typing import Any

import pytest
from sqlalchemy import select

from config.settings import load_settings
from config.telephony_config import MASK, document_from, stored_json
from crm.api.context import SESSIONS
from crm.db.telephony_models import TelephonyVersion
from crm.usecases.telephony_config import SEEDED
from tests.integration.crm.crm_support import START, Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROOT = "/api/admin/telephony"
SECRET = "outbound-trunk-password"
OUTBOUND = {"primary": "127.0.0.1:5091", "backup": "127.0.0.1:5092", "dial_timeout_s": 15,
            "qualify_s": 30, "transport": "udp", "username": "centre", "password": SECRET,
            "caller_id": "96123"}  # fmt: skip


async def _seeded_before_outbound(api: Api) -> dict[str, Any]:
    """Version 1 as a centre seeded before the document had the outbound trunk stored it."""
    data = stored_json(document_from(load_settings(environ={})))
    del data["outbound"]
    async with api.client.app[SESSIONS]() as session, session.begin():
        session.add(TelephonyVersion(version=1, document=data, author_id=None, created_at=START,
                                     changes=[], summary=SEEDED))  # fmt: skip
    status, current = await api.get(ROOT, "admin")
    assert status == 200, current
    return dict(current["document"])


async def _put(api: Api, base: int, document: dict[str, Any]) -> Any:
    return await api.call("PUT", ROOT, "admin", json={"base_version": base, "document": document})


async def _stored(api: Api) -> list[TelephonyVersion]:
    async with api.client.app[SESSIONS]() as session:
        return list(await session.scalars(select(TelephonyVersion).order_by("version")))


async def test_a_bad_outbound_trunk_is_refused_naming_its_fields(api: Api) -> None:
    document = await _seeded_before_outbound(api)
    assert document["outbound"] is None
    bad = {**OUTBOUND, "primary": "example.com:5091", "dial_timeout_s": 1}
    status, err = await _put(api, 1, {**document, "outbound": bad})
    assert status == 422, err
    assert {e["field"] for e in err["error"]["errors"]} == {
        "outbound.primary", "outbound.dial_timeout_s"}  # fmt: skip
    same = {**OUTBOUND, "backup": OUTBOUND["primary"]}
    status, err = await _put(api, 1, {**document, "outbound": same})
    assert status == 422, err
    assert err["error"]["errors"] == [
        {"field": "outbound.backup", "message": "备用线路不能与主用线路相同"}]  # fmt: skip
    status, err = await _put(api, 1, {**document, "outbound": {**OUTBOUND, "password": MASK}})
    assert status == 422 and err["error"]["field"] == "outbound.password", err
    assert [v.version for v in await _stored(api)] == [1]


async def test_an_outbound_trunk_added_is_masked_diffed_conflicted_and_reverted(api: Api) -> None:
    document = await _seeded_before_outbound(api)
    status, applied = await _put(api, 1, {**document, "outbound": OUTBOUND})
    assert status == 200, applied
    assert applied["summary"] == "改动 1 处：outbound 新增"
    assert applied["changes"][0]["new"]["password"] == MASK
    status, current = await api.get(ROOT, "admin")
    assert current["document"]["outbound"] == {**OUTBOUND, "password": MASK}
    stored = await _stored(api)
    assert stored[1].document["outbound"]["password"] == SECRET
    assert SECRET not in str(stored[1].changes) + stored[1].summary
    moved = {**current["document"]["outbound"], "backup": None}  # the password kept (MASK)
    status, err = await _put(api, 1, {**current["document"], "outbound": moved})
    assert (status, err["error"]["current_version"]) == (409, 2), err
    status, applied = await _put(api, 2, {**current["document"], "outbound": moved})
    assert status == 422 and applied["error"]["field"] == "outbound.password", applied
    status, back = await api.post(f"{ROOT}/versions/1/revert", {"base_version": 2}, "admin")
    assert status == 200, back
    assert back["changes"] == [{"path": "outbound", "old": {**OUTBOUND, "password": MASK},
                                "new": None}]  # fmt: skip
    assert (await api.get(ROOT, "admin"))[1]["document"]["outbound"] is None
