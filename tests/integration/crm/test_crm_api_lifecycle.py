"""A work order through its whole life over HTTP, on SQLite and PostgreSQL."""

import pytest
from crm_support import Api

# async fixtures live on the session loop (pyproject), so the tests run there too
pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_happy_path_with_audit(api: Api) -> None:
    order = await api.new_order(caller_number="13812345678", location="人民路1号")
    assert order["status"] == "registered"
    assert order["number"] == "SZ12345-20250929-000001"
    assert order["due_date"] == "2025-10-27"
    oid = order["id"]
    urban = api.seed.units["URBAN"]
    order = await api.ok(oid, "dispatch", "agent", lead_unit_id=urban,
                         assist_unit_ids=[api.seed.units["POWER"]])  # fmt: skip
    assert (order["status"], order["lead_unit_id"]) == ("dispatched", urban)
    assert order["assist_unit_ids"] == [api.seed.units["POWER"]]
    await api.ok(oid, "accept", "urban")
    await api.ok(oid, "log_contact", "urban", note="已电话联系市民")
    await api.ok(oid, "reply", "urban", result="已清理占道摊位")
    order = await api.ok(oid, "callback", "agent", satisfaction="satisfied")
    assert order["status"] == "closed" and order["closed_at"] is not None
    trail = await api.audit(oid)
    assert [e["action"] for e in trail] == [
        "register",
        "dispatch",
        "accept",
        "log_contact",
        "reply",
        "callback",
    ]
    assert [e["to_status"] for e in trail][-1] == "closed"
    assert trail[2]["actor_role"] == "handler"
