"""Masking, listing filters, pagination, caller history, export and the OpenAPI document."""

import csv
import io
import logging
from typing import Any

import pytest

from tests.integration.crm.crm_support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET: dict[str, Any] = {
    "caller_name": "张三丰",
    "caller_number": "13812345678",
    "confidential": True,
}


async def _dispatched_secret(api: Api) -> int:
    oid = int((await api.new_order(**SECRET))["id"])
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    return oid


@pytest.mark.parametrize("who", ["agent", "supervisor", "admin"])
async def test_centre_sees_confidential_caller(api: Api, who: str) -> None:
    oid = await _dispatched_secret(api)
    _, order = await api.get(f"/api/orders/{oid}", who)
    assert (order["caller_name"], order["caller_number"]) == ("张三丰", "13812345678")


async def test_handler_sees_masked_caller_in_answers_lists_and_exports(api: Api) -> None:
    oid = await _dispatched_secret(api)
    status, order = await api.get(f"/api/orders/{oid}", "urban")
    assert (order["caller_name"], order["caller_number"]) == ("张**", "138****5678")
    status, page = await api.get("/api/orders", "urban")
    assert page["items"][0]["caller_number"] == "138****5678"
    status, order = await api.act(oid, "accept", "urban")
    assert order["caller_number"] == "138****5678"
    status, body = await api.get("/api/orders/export.csv", "urban")
    assert status == 200
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(r["caller_name"], r["caller_number"]) for r in rows] == [("张**", "138****5678")]
    assert "13812345678" not in body
    status, body = await api.get("/api/orders/export.csv", "supervisor")
    assert "13812345678" in body


async def test_logs_hold_no_caller_numbers(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="crm"):
        await api.new_order(**SECRET)
        order = await api.new_order(caller_name="赵六", caller_number="13999999999")
    assert any(order["number"] in r.getMessage() for r in caplog.records), caplog.text
    for personal in ("13812345678", "5678", "13999999999", "赵六"):
        assert personal not in caplog.text


async def test_filters_and_pagination(api: Api) -> None:
    urban, env = api.seed.units["URBAN"], api.seed.units["ENV"]
    ids = []
    for i in range(5):
        order = await api.new_order(order_type="help" if i % 2 else "complaint")
        ids.append(order["id"])
        api.clock.advance(days=1)
    await api.ok(ids[0], "dispatch", "agent", lead_unit_id=urban)
    await api.ok(ids[1], "dispatch", "agent", lead_unit_id=env, assist_unit_ids=[urban])
    status, page = await api.get("/api/orders?page_size=2&page=2")
    assert (page["total"], len(page["items"]), page["page"]) == (5, 2, 2)
    assert [o["id"] for o in page["items"]] == [ids[2], ids[1]]  # newest first
    status, page = await api.get("/api/orders?status=dispatched")
    assert {o["id"] for o in page["items"]} == {ids[0], ids[1]}
    status, page = await api.get(f"/api/orders?unit_id={urban}")
    assert {o["id"] for o in page["items"]} == {ids[0], ids[1]}
    status, page = await api.get("/api/orders?order_type=help")
    assert {o["id"] for o in page["items"]} == {ids[1], ids[3]}
    status, page = await api.get("/api/orders?date_from=2025-09-30&date_to=2025-10-01")
    assert {o["id"] for o in page["items"]} == {ids[1], ids[2]}
    # now 10/14: order 1 (help, taken 9/30) was due 10/11; order 0 (complaint) is due 10/27
    api.clock.advance(days=10)
    status, page = await api.get("/api/orders?overdue=true")
    assert [o["id"] for o in page["items"]] == [ids[1]] and page["items"][0]["overdue"]
    status, page = await api.get("/api/orders?overdue=false")
    assert page["total"] == 4
    status, err = await api.get("/api/orders?page_size=1000")
    assert status == 400 and err["error"]["field"] == "page_size"
    status, err = await api.get("/api/orders?colour=red")
    assert status == 400 and err["error"]["code"] == "unknown_field"


async def test_caller_history_newest_first_and_centre_only(api: Api) -> None:
    for text in ("第一次来电", "第二次来电", "第三次来电"):
        await api.new_order(caller_number="13700000000", text=text)
        api.clock.advance(hours=1)
    await api.new_order(caller_number="13700000001")
    status, body = await api.get("/api/callers/13700000000/history?limit=2")
    assert status == 200
    assert [i["excerpt"] for i in body["items"]] == ["第三次来电", "第二次来电"]
    status, body = await api.get("/api/callers/13700000000/history", "urban")
    assert status == 403
    status, body = await api.get("/api/callers/nope/history")
    assert status == 404


async def test_openapi_document(api: Api) -> None:
    status, doc = await api.get("/api/openapi.json", who=None)
    assert status == 200 and doc["openapi"].startswith("3.1")
    assert "/api/orders/{order_id}/transitions" in doc["paths"]
    create = doc["paths"]["/api/orders"]["post"]
    assert create["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/OrderIn"
    }
    schemas = doc["components"]["schemas"]
    assert schemas["OrderIn"]["additionalProperties"] is False
    assert {"DispatchIn", "CallbackIn", "ErrorBody", "OrderOut"} <= set(schemas)
    params = {p["name"] for p in doc["paths"]["/api/orders"]["get"]["parameters"]}
    assert {"status", "unit_id", "order_type", "overdue", "date_from", "page"} <= params
