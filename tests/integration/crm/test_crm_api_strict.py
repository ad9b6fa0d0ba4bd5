"""The API's doors: out-of-range numbers and dates, control characters, loose types, races and
unexpected failures each get a JSON 4xx (or the JSON 500), never aiohttp's plain-text 500."""

import asyncio
from typing import Any

import psycopg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from crm.api.app import API_VERSION, ENDPOINTS
from crm.api.openapi import build
from hotline_cli.http_doc import DOCUMENTED
from tests.integration.crm.crm_support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


def _refused(status: int, body: Any, field: str | None) -> None:
    assert status == 400, body
    assert isinstance(body, dict) and body["error"]["field"] == field, body


@pytest.mark.parametrize("oid", ["2147483648", "9" * 30, "0"])
async def test_ids_beyond_the_database_range_in_paths(api: Api, oid: str) -> None:
    for path in (f"/api/orders/{oid}", f"/api/orders/{oid}/audit"):
        status, body = await api.get(path, "supervisor")
        _refused(status, body, "order_id")
    status, body = await api.act(int(oid), "accept", "urban")
    _refused(status, body, "order_id")


@pytest.mark.parametrize("value", [2**31, 2**63, 2**64 + 1, 0])
async def test_ids_beyond_the_database_range_in_filters_and_bodies(api: Api, value: int) -> None:
    status, body = await api.get(f"/api/orders?unit_id={value}", "supervisor")
    _refused(status, body, "unit_id")
    oid = (await api.new_order())["id"]
    status, body = await api.act(oid, "dispatch", "agent", lead_unit_id=value)
    _refused(status, body, "lead_unit_id")
    status, body = await api.act(oid, "dispatch", "agent", lead_unit_id=1,
                                 assist_unit_ids=[value])  # fmt: skip
    _refused(status, body, "assist_unit_ids.0")
    status, body = await api.post("/api/users", {"name": "x", "role": "agent", "unit_id": value},
                                  "admin")  # fmt: skip
    _refused(status, body, "unit_id")
    status, body = await api.post("/api/routing/rules", {"unit_id": value, "keywords": ["x"]},
                                  "admin")  # fmt: skip
    _refused(status, body, "unit_id")


@pytest.mark.parametrize(
    ("query", "field"),
    [("date_to=9999-12-31", "date_to"), ("date_from=0001-01-01", "date_from"),
     ("date_to=0", "date_to"), ("date_from=2025-02-30", "date_from")],
)  # fmt: skip
async def test_extreme_dates_are_refused(api: Api, query: str, field: str) -> None:
    for path in ("/api/orders", "/api/orders/export.csv"):
        status, body = await api.get(f"{path}?{query}", "supervisor")
        _refused(status, body, field)


async def test_extreme_calendar_days_are_refused(api: Api) -> None:
    for day in ("9999-12-31", "0001-01-01"):
        status, body = await api.call("PUT", "/api/calendar/days", "admin",
                                      json={"days": [{"day": day, "workday": True}]})  # fmt: skip
        _refused(status, body, "days.0.day")


async def test_query_strings_still_parse(api: Api) -> None:
    await api.new_order()
    unit = api.seed.units["CENTRE"]
    status, page = await api.get(
        f"/api/orders?overdue=false&page=1&page_size=5&date_from=2025-09-01&unit_id={unit}",
        "supervisor",
    )
    assert status == 200 and page["page_size"] == 5


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"text": "占道\x00经营"}, "text"),
        ({"text": "占道\x1b[31m"}, "text"),
        ({"text": "占道\x7f"}, "text"),
        ({"caller_name": "王\x85芳"}, "caller_name"),
        ({"caller_name": "王\n芳"}, "caller_name"),
        ({"location": "东门\t路"}, "location"),
        ({"calls": [{"linkedid": "1.1", "recording": "a\x00.wav"}]}, "calls.0.recording"),
    ],
)
async def test_control_characters_are_refused(api: Api, fields: dict[str, Any], field: str) -> None:
    body = {"order_type": "complaint", "text": "小区门口占道经营", **fields}
    status, err = await api.post("/api/orders", body)
    _refused(status, err, field)
    assert err["error"]["message"].startswith("control character")
    status, page = await api.get("/api/orders", "supervisor")
    assert page["total"] == 0


async def test_control_characters_in_notes_and_admin_tables(api: Api) -> None:
    oid = (await api.new_order())["id"]
    status, err = await api.act(oid, "answer_now", "agent", answer="答\x00复")
    _refused(status, err, "answer")
    status, err = await api.post("/api/units", {"code": "X1", "name": "局\x00"}, "admin")
    _refused(status, err, "name")
    status, err = await api.post("/api/routing/rules",
                                 {"unit_id": api.seed.units["URBAN"], "keywords": ["占\x00道"]},
                                 "admin")  # fmt: skip
    _refused(status, err, "keywords.0")


async def test_free_text_keeps_line_breaks_and_tabs(api: Api) -> None:
    order = await api.new_order(text="第一行\r\n第二行\t完")
    assert order["text"] == "第一行\r\n第二行\t完"


@pytest.mark.parametrize(
    ("path", "body", "field", "who"),
    [
        ("/api/orders", {"order_type": "help", "text": "x", "confidential": 1}, "confidential",
         "agent"),
        ("/api/orders", {"order_type": "help", "text": "x", "statutory_days": 1e2},
         "statutory_days", "agent"),
        ("/api/orders", {"order_type": "help", "text": 5}, "text", "agent"),
        ("/api/users", {"name": "x", "role": "agent", "unit_id": True}, "unit_id", "admin"),
    ],
)  # fmt: skip
async def test_models_are_strict(api: Api, path: str, body: Any, field: str, who: str) -> None:
    status, err = await api.post(path, body, who)
    _refused(status, err, field)


async def test_extension_days_are_strict(api: Api) -> None:
    oid = (await api.new_order())["id"]
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    await api.ok(oid, "accept", "urban")
    status, err = await api.act(oid, "request_extension", "urban", days=1e1, reason="x")
    _refused(status, err, "days")
    status, err = await api.act(oid, "decide_extension", "supervisor", approve=1)
    _refused(status, err, "approve")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_unit_code_lost_in_a_forced_race_is_a_409(api: Api, database_url: str) -> None:
    """The race made certain: another transaction holds the code uncommitted, so the API's
    existence check passes and its insert waits on the unique index; once the other commits,
    the insert fails. 409, not 500 (PostgreSQL only: SQLite has one writer at a time)."""
    async with await psycopg.AsyncConnection.connect(database_url) as first:
        await first.execute(
            "INSERT INTO units (code, name, kind, active) "
            "VALUES ('RACE', '先到局', 'department', true)"
        )
        creating = asyncio.create_task(
            api.post("/api/units", {"code": "RACE", "name": "后到局"}, "admin")
        )
        await _until_an_insert_waits_on_a_lock(database_url)
        await first.commit()
    status, refused = await creating
    assert status == 409, refused
    assert refused["error"]["code"] in {"duplicate_code", "concurrent_change"}
    status, units = await api.get("/api/units", "admin")
    assert [u["name"] for u in units["items"] if u["code"] == "RACE"] == ["先到局"]


async def _until_an_insert_waits_on_a_lock(database_url: str, timeout_s: float = 10) -> None:
    waiting = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO units%'"
    )
    async with (
        asyncio.timeout(timeout_s),
        await psycopg.AsyncConnection.connect(database_url, autocommit=True) as watcher,
    ):
        while True:
            row = await (await watcher.execute(waiting)).fetchone()
            if row is not None and row[0] > 0:
                return
            await asyncio.sleep(0.02)


async def test_method_not_allowed_is_json_with_allow(api: Api) -> None:
    async with api.client.request("DELETE", "/api/orders") as resp:
        assert resp.status == 405
        assert set(resp.headers["Allow"].split(",")) >= {"GET", "POST"}
        body = await resp.json()
    assert body["error"]["code"] == "method_not_allowed"


async def test_unexpected_failure_is_a_json_500_logged_once(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(_request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    app = web.Application(middlewares=api.client.app.middlewares)
    app.router.add_get("/broken", broken)
    async with TestClient(TestServer(app)) as client, client.get("/broken") as resp:
        assert resp.status == 500
        body = await resp.json()
    assert body["error"]["code"] == "internal_error"
    logged = [r for r in caplog.records if r.exc_info and "boom" in str(r.exc_info[1])]
    assert len(logged) == 1


async def test_openapi_document() -> None:
    doc = build(ENDPOINTS, "hotline CRM", API_VERSION, DOCUMENTED)
    history = doc["paths"]["/api/callers/{number}/history"]["get"]
    assert history["parameters"][0]["schema"]["pattern"] == "^[0-9+*#-]{1,32}$"
    order = doc["paths"]["/api/orders/{order_id}"]
    assert order["get"]["parameters"][0]["schema"] == {
        "type": "integer", "minimum": 1, "maximum": 2**31 - 1}  # fmt: skip
    for path in doc["paths"].values():
        for op in path.values():
            assert "405" in op["responses"] and "Allow" in op["responses"]["405"]["headers"]
            assert ("413" in op["responses"]) == ("requestBody" in op)
    patch = doc["components"]["schemas"]["OrderPatch"]["properties"]
    assert patch and all("default" not in p for p in patch.values())
    schemas = doc["components"]["schemas"]
    assert schemas["DispatchIn"]["properties"]["lead_unit_id"]["maximum"] == 2**31 - 1
    assert "post" in doc["paths"]["/api/desk/ticket"]
    assert "503" in doc["paths"]["/health"]["get"]["responses"]
