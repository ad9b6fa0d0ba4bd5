"""What the telephony configuration's routes refuse or hide, over real HTTP on SQLite and
PostgreSQL: a document missing sections (named, nothing reset to defaults), a trunk moved
with its password sent masked, a revert to a version the whole-document checks refuse; and
callers' phone numbers masked in the diff, the summary, the versions' list, the admins' trail
and the log."""

import logging
from typing import Any

import pytest
from sqlalchemy import select

from config.settings import load_settings
from config.telephony_config import MASK, TelephonyConfig, document_from, stored_json
from crm.api.context import SESSIONS
from crm.db.models import AdminChange
from crm.db.telephony_models import TelephonyVersion
from crm.usecases.telephony_config import seed_if_empty
from tests.integration.crm.crm_support import START, Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

ROOT = "/api/admin/telephony"
NUMBER = "008613900000071"  # a nuisance caller's number
MASKED = "008********0071"  # as the project masks numbers: the first 3 and last 4 digits kept
TRUNK_SECRET = "police-trunk-password"


async def _seeded(api: Api, data: dict[str, Any]) -> dict[str, Any]:
    async with api.client.app[SESSIONS]() as session, session.begin():
        assert await seed_if_empty(session, TelephonyConfig.model_validate(data), START)
    status, current = await api.get(ROOT, "admin")
    assert status == 200, current
    return dict(current["document"])


def _file_document() -> dict[str, Any]:
    return stored_json(document_from(load_settings(environ={})))


async def _put(api: Api, base: int, document: dict[str, Any]) -> Any:
    return await api.call("PUT", ROOT, "admin", json={"base_version": base, "document": document})


async def _versions(api: Api) -> list[int]:
    async with api.client.app[SESSIONS]() as session:
        return list(await session.scalars(select(TelephonyVersion.version)))


async def test_a_document_missing_sections_is_refused_naming_them(api: Api) -> None:
    document = await _seeded(api, _file_document())
    partial = {k: document[k] for k in ("agents", "queues", "trunks")}  # as an import's --out
    status, err = await _put(api, 1, partial)
    assert status == 422, err
    missing = {"inbound_numbers", "outbound", "colleagues", "ivr", "overflow", "hours", "nuisance"}
    assert {e["field"] for e in err["error"]["errors"]} == missing
    assert await _versions(api) == [1]


async def test_a_moved_trunk_needs_its_password_retyped(api: Api) -> None:
    data = _file_document()
    data["trunks"]["police"].update(username="hotline", password=TRUNK_SECRET)
    document = await _seeded(api, data)
    assert document["trunks"]["police"]["password"] == MASK
    document["trunks"]["police"]["primary"] = "127.0.0.1:5091"
    status, err = await _put(api, 1, document)
    assert status == 422, err
    assert [e["field"] for e in err["error"]["errors"]] == ["trunks.police.password"]
    assert await _versions(api) == [1]
    document["trunks"]["police"]["password"] = "the-new-hosts-password"
    assert (await _put(api, 1, document))[0] == 200
    async with api.client.app[SESSIONS]() as session:
        stored = await session.get(TelephonyVersion, 2)
    assert stored is not None
    assert stored.document["trunks"]["police"]["password"] == "the-new-hosts-password"


async def test_a_revert_to_a_version_the_checks_refuse_is_refused(api: Api) -> None:
    seed = _file_document()
    seed["trunks"]["police"]["backup"] = None  # the settings allow it; a change may not
    document = await _seeded(api, seed)
    document["trunks"]["police"]["backup"] = "127.0.0.1:5082"
    assert (await _put(api, 1, document))[0] == 200
    status, err = await api.post(f"{ROOT}/versions/1/revert", {"base_version": 2}, "admin")
    assert status == 422, err
    assert [e["field"] for e in err["error"]["errors"]] == ["trunks.police.backup"]
    assert await _versions(api) == [1, 2]


async def test_nuisance_numbers_are_masked_in_the_diff_trail_and_log(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    document = await _seeded(api, _file_document())
    document["nuisance"] = [{"number": NUMBER, "reason": "骚扰", "until": None}]
    status, applied = await _put(api, 1, document)
    assert status == 200, applied
    added = {"number": MASKED, "reason": "骚扰", "until": None}
    assert applied["changes"] == [{"path": f"nuisance[{MASKED}]", "old": None, "new": added}]
    assert applied["summary"] == f"改动 1 处：nuisance[{MASKED}] 新增"
    status, checked = await api.post(
        f"{ROOT}/validate", {"document": {**document, "nuisance": []}}, "admin"
    )
    assert status == 200 and NUMBER not in str(checked) and MASKED in str(checked)
    status, listing = await api.get(f"{ROOT}/versions", "admin")
    assert status == 200 and NUMBER not in str(listing) and MASKED in str(listing)
    async with api.client.app[SESSIONS]() as session:
        trail = list(await session.scalars(select(AdminChange.detail)))
    assert trail and NUMBER not in str(trail) and MASKED in str(trail)
    assert NUMBER not in caplog.text and f"nuisance[{MASKED}]" in caplog.text
    status, current = await api.get(ROOT, "admin")  # the admin editing the list sees it
    assert current["document"]["nuisance"][0]["number"] == NUMBER
