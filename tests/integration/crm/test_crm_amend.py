"""Correcting an order's intake details before dispatch, on SQLite and PostgreSQL."""

import pytest

from tests.integration.crm.crm_support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_amend_before_dispatch_recounts_the_limit_and_is_audited(api: Api) -> None:
    order = await api.new_order(location="人民路1号")
    oid = order["id"]
    assert order["due_date"] == "2025-10-27"  # a normal complaint: 15 working days

    fix = {"text": "小区门口占道经营，已持续一周", "urgency": "immediate", "location": "人民路1号"}
    status, amended = await api.call("PATCH", f"/api/orders/{oid}", json=fix)
    assert status == 200, amended
    assert (amended["text"], amended["urgency"]) == (fix["text"], "immediate")
    assert amended["due_date"] == "2025-09-29"  # immediate: due the day it was taken
    assert (await api.get(f"/api/orders/{oid}"))[1] == amended

    status, again = await api.call("PATCH", f"/api/orders/{oid}", json=fix)  # a retry
    assert status == 200 and again == amended
    _register, amend = await api.audit(oid)  # one entry for the change, none for the retry
    assert (amend["action"], amend["from_status"], amend["to_status"]) == (
        "amend",
        "registered",
        "registered",
    )
    assert amend["detail"] == {
        "changes": {"text": [order["text"], fix["text"]], "urgency": ["normal", "immediate"]}
    }


async def test_amend_is_refused_once_dispatched_to_handlers_and_for_unknown_fields(
    api: Api,
) -> None:
    oid = (await api.new_order())["id"]
    status, body = await api.call("PATCH", f"/api/orders/{oid}", json={"status": "closed"})
    assert status == 400 and body["error"]["code"] == "unknown_field", body
    status, body = await api.call("PATCH", f"/api/orders/{oid}", who="urban", json={"text": "x"})
    assert status == 403, body
    status, body = await api.call("PATCH", "/api/orders/999999", json={"text": "x"})
    assert status == 404 and body["error"]["code"] == "order_not_found"

    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    status, body = await api.call("PATCH", f"/api/orders/{oid}", json={"text": "改了"})
    assert status == 409 and body["error"]["code"] == "order_locked", body
    assert [e["action"] for e in await api.audit(oid)] == ["register", "dispatch"]
