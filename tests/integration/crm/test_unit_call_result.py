"""A unit's call placed through the centre is still reported to an HTTP app started with no
dialler (no outbound trunk at its start): nothing to hang up, the result stored."""

import pytest
from sqlalchemy import select

from crm.api.context import SESSIONS
from crm.db.call_models import CallRecord
from crm.db.models import AuditEntry, User
from crm.domain.calls import CallOutcome
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.domain.revisit import Purpose
from crm.usecases import revisit
from tests.integration.crm.crm_support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_a_unit_call_is_reported_without_a_dialler(api: Api) -> None:
    order = await api.new_order(
        caller_number="13812340000", text="路灯不亮，夜间出行不便，请尽快维修"
    )
    oid = int(order["id"])
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    await api.ok(oid, "accept", "urban")
    urban = api.seed.user_ids["urban"]
    actor = Actor(urban, Role.HANDLER, api.seed.units["URBAN"])
    call_id = "1700000000.1000000000001"
    async with api.client.app[SESSIONS]() as session, session.begin():
        user = await session.get(User, urban)
        assert user is not None
        user.agent_extension = "8101"  # setup: the handler at its department's phone
        await revisit.start(session, oid, actor, "8101", call_id, api.clock(),
                            Purpose.FIRST_CONTACT)  # fmt: skip
    path = f"/api/orders/{oid}/unit-calls/{call_id}/result"
    status, body = await api.call("POST", path, "urban", json={"result": "no_answer"})
    assert (status, body.get("status")) == (200, "accepted"), body
    async with api.client.app[SESSIONS]() as session:
        record = await session.get(CallRecord, call_id)
        assert record is not None and record.outcome is CallOutcome.FAILED
        entry = await session.scalar(select(AuditEntry).where(
            AuditEntry.order_id == oid, AuditEntry.action == "contact_attempt"))  # fmt: skip
        assert entry is not None and entry.detail["call_id"] == call_id
