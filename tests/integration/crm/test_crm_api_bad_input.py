"""Refusals: clear 4xx with a consistent body, nothing changed, audit intact."""

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from crm.api.context import SESSIONS as _SESSIONS
from crm.domain.enums import Role
from crm.repo.directory import create_user
from tests.integration.crm.crm_support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _snapshot(api: Api, oid: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    status, order = await api.get(f"/api/orders/{oid}", "supervisor")
    assert status == 200
    order.pop("allowed_actions")
    return order, await api.audit(oid)


def _error(body: Any, code: str, field: str | None = None) -> None:
    assert set(body) == {"error"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    assert body["error"]["field"] == field


async def test_wrong_json(api: Api) -> None:
    status, body = await api.call("POST", "/api/orders", data=b"{not json",
                                  headers={"Content-Type": "application/json"})  # fmt: skip
    assert status == 400
    _error(body, "invalid_json")


async def test_wrong_content_type(api: Api) -> None:
    status, body = await api.call("POST", "/api/orders", data=b"text=1")
    assert status == 400
    _error(body, "unsupported_media_type")


async def test_unknown_field_is_named(api: Api) -> None:
    status, body = await api.post("/api/orders", {"order_type": "help", "text": "x", "vip": 1})
    assert status == 400
    _error(body, "unknown_field", "vip")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"order_type": "help"}, "text"),
        ({"order_type": "gossip", "text": "x"}, "order_type"),
        ({"order_type": "help", "text": "x", "caller_number": "abc"}, "caller_number"),
        ({"order_type": "help", "text": "x", "calls": [{"linkedid": ""}]}, "calls.0.linkedid"),
        ({"order_type": "help", "text": "x" * 4001}, "text"),
        ([1, 2], None),
    ],
)
async def test_invalid_values_name_their_field(api: Api, body: Any, field: str | None) -> None:
    status, err = await api.post("/api/orders", body)
    assert status == 400
    assert err["error"]["code"] == "invalid_value" and err["error"]["field"] == field


async def test_huge_body_is_refused(api: Api) -> None:
    status, err = await api.post("/api/orders", {"order_type": "help", "text": "字" * 100_000})
    assert status == 413
    _error(err, "body_too_large")
    status, page = await api.get("/api/orders")
    assert page["total"] == 0


async def test_authentication(api: Api) -> None:
    status, err = await api.get("/api/orders", who=None)
    assert status == 401
    _error(err, "unauthenticated")
    status, err = await api.call("GET", "/api/orders", None, headers={"Authorization": "Bearer x"})
    assert status == 401
    status, err = await api.post("/api/orders", {"order_type": "help", "text": "x"}, who=None)
    assert status == 401


async def test_role_checks(api: Api) -> None:
    status, err = await api.post("/api/orders", {"order_type": "help", "text": "x"}, "urban")
    assert status == 403
    _error(err, "role_forbidden")
    status, err = await api.post("/api/units", {"code": "X", "name": "x"}, "supervisor")
    assert status == 403


async def test_unknown_ids(api: Api) -> None:
    status, err = await api.get("/api/orders/999999")
    assert status == 404
    _error(err, "order_not_found")
    status, err = await api.act(999999, "accept", "urban")
    assert status == 404
    status, err = await api.get("/api/nowhere")
    assert status == 404
    _error(err, "not_found")
    oid = (await api.new_order())["id"]
    before = await _snapshot(api, oid)
    status, err = await api.act(oid, "dispatch", "agent", lead_unit_id=424242)
    assert status == 400
    _error(err, "unknown_unit", "lead_unit_id")
    assert await _snapshot(api, oid) == before


async def test_bad_transition_bodies(api: Api) -> None:
    oid = (await api.new_order())["id"]
    before = await _snapshot(api, oid)
    status, err = await api.act(oid, "fly", "agent")
    assert status == 400 and err["error"]["code"] == "invalid_value"
    status, err = await api.act(oid, "dispatch", "agent", lead_unit_id=1, colour="red")
    assert status == 400
    _error(err, "unknown_field", "colour")
    status, err = await api.act(oid, "not_accept", "agent", reason="because")
    assert status == 400
    _error(err, "invalid_value", "reason")
    assert await _snapshot(api, oid) == before


async def test_wrong_state_transition_is_409_and_changes_nothing(api: Api) -> None:
    oid = (await api.new_order())["id"]
    before = await _snapshot(api, oid)
    status, err = await api.act(oid, "reply", "agent", result="x")
    assert status == 409
    _error(err, "illegal_transition")
    status, err = await api.act(oid, "callback", "agent", satisfaction="satisfied")
    assert status == 409
    assert await _snapshot(api, oid) == before


async def test_handler_cannot_touch_another_units_order(api: Api) -> None:
    oid = (await api.new_order())["id"]
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"],
                 assist_unit_ids=[api.seed.units["POWER"]])  # fmt: skip
    before = await _snapshot(api, oid)
    status, _ = await api.act(oid, "accept", "env")
    assert status == 404  # invisible to other units
    status, _ = await api.get(f"/api/orders/{oid}", "env")
    assert status == 404
    status, page = await api.get("/api/orders", "env")
    assert page["total"] == 0
    status, page = await api.get("/api/orders", "urban")
    assert [o["id"] for o in page["items"]] == [oid]
    assert await _snapshot(api, oid) == before


async def test_assisting_unit_sees_but_cannot_act(api: Api) -> None:
    seed = api.seed
    async with api.client.app[_SESSIONS]() as session, session.begin():
        _, token = await create_user(session, "power", Role.HANDLER, seed.units["POWER"])
    seed.tokens["power"] = token
    oid = (await api.new_order())["id"]
    await api.ok(oid, "dispatch", "agent", lead_unit_id=seed.units["URBAN"],
                 assist_unit_ids=[seed.units["POWER"]])  # fmt: skip
    status, order = await api.get(f"/api/orders/{oid}", "power")
    assert status == 200 and order["allowed_actions"] == []
    status, err = await api.act(oid, "accept", "power")
    assert status == 403
    _error(err, "not_lead_unit")


async def test_audit_trail_is_append_only_in_the_database(api: Api) -> None:
    oid = (await api.new_order())["id"]
    sessions = api.client.app[_SESSIONS]
    for statement in ("UPDATE audit_entries SET action = 'forged'", "DELETE FROM audit_entries"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions() as session, session.begin():
                await session.execute(text(statement))
    assert [e["action"] for e in await api.audit(oid)] == ["register"]
