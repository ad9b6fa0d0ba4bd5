"""The desk's list of orders due for the centre's callback (回访待办) over HTTP: the replied
orders only, the oldest reply first, with the attempts made since the reply and a
confidential caller's number masked; call takers only."""

from datetime import datetime, timedelta

import pytest

from crm.api.context import SESSIONS
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.repo.calendar import CalendarCache
from crm.usecases import revisit
from tests.integration.crm.crm_support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _replied(api: Api, number: str, confidential: bool = False) -> int:
    order = await api.new_order(caller_number=number, confidential=confidential,
                                text="路灯不亮，夜间出行不便，请尽快维修")  # fmt: skip
    oid = int(order["id"])
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    await api.ok(oid, "accept", "urban")
    await api.ok(oid, "log_contact", "urban", note="已联系")
    await api.ok(oid, "reply", "urban", result="已修复")
    return oid


async def _not_reached(api: Api, oid: int, call_id: str) -> None:
    """A callback placed from agent 1001's desk that nobody answered (the use case itself)."""
    actor = Actor(api.seed.user_ids["agent"], Role.AGENT, api.seed.units["CENTRE"])
    report = revisit.report_of("no_answer", None, call_id, "")
    async with api.client.app[SESSIONS]() as session, session.begin():
        await revisit.start(session, oid, actor, "1001", call_id, api.clock())
    async with api.client.app[SESSIONS]() as session, session.begin():
        calendar = await CalendarCache().get(session)
        await revisit.finish(session, oid, actor, "1001", report, api.clock(), calendar,
                             False, _nothing)  # fmt: skip


async def _nothing() -> None:
    """No call to hang up: nothing rang here."""


async def test_the_replied_orders_oldest_first_with_their_attempts_masked(api: Api) -> None:
    older = await _replied(api, "13812345678", confidential=True)
    api.clock.advance(hours=2)
    newer = await _replied(api, "13987654321")
    api.clock.advance(minutes=5)
    await _not_reached(api, older, "1700000000.1")
    await _not_reached(api, older, "1700000000.2")
    contacted = (await api.new_order(caller_number="13700001111"))["id"]
    await api.ok(contacted, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    for who in ("agent", "supervisor"):
        status, body = await api.get("/api/callbacks/due", who)
        assert status == 200, body
        items = body["items"]
        assert [i["order_id"] for i in items] == [older, newer]
        first, second = items
        assert (first["caller_number"], first["confidential"]) == ("138****5678", True)
        assert second["caller_number"] == "13987654321"
        assert (first["attempts"], second["attempts"]) == (2, 0)
        assert first["matter"] == "路灯不亮，夜间出行不便，请尽快维修"
        assert first["number"].startswith("SZ12345-")
    assert "13812345678" not in repr(body)
    replied = [datetime.fromisoformat(i["replied_at"]) for i in items]
    assert replied[1] - replied[0] == timedelta(hours=2)


async def test_a_new_reply_after_rework_counts_its_attempts_afresh(api: Api) -> None:
    oid = await _replied(api, "13812345678")
    await _not_reached(api, oid, "1700000000.3")
    await api.ok(oid, "callback", "agent", satisfaction="unsatisfied")  # back for rework
    api.clock.advance(days=1)
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    await api.ok(oid, "accept", "urban")
    await api.ok(oid, "log_contact", "urban", note="再次联系")
    await api.ok(oid, "reply", "urban", result="已重新修复")
    status, body = await api.get("/api/callbacks/due")
    assert status == 200 and [(i["order_id"], i["attempts"]) for i in body["items"]] == [(oid, 0)]


@pytest.mark.parametrize("who", ["urban", "admin"])
async def test_only_call_takers_read_the_list(api: Api, who: str) -> None:
    status, body = await api.get("/api/callbacks/due", who)
    assert (status, body["error"]["code"]) == (403, "role_forbidden")
    status, body = await api.get("/api/callbacks/due?limit=0")
    assert (status, body["error"]["field"]) == (400, "limit")
