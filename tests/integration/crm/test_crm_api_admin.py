"""Admin-edited tables: units, users, the responsibility list and the calendar."""

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from crm.api.context import SESSIONS
from crm.repo import admin_changes
from tests.integration.crm.crm_support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_units_and_users(api: Api) -> None:
    status, unit = await api.post("/api/units", {"code": "WATER", "name": "水务局"}, "admin")
    assert status == 201 and unit["kind"] == "department"
    status, err = await api.post("/api/units", {"code": "WATER", "name": "again"}, "admin")
    assert (status, err["error"]["field"]) == (409, "code")
    body = {"name": "王五", "role": "handler", "unit_id": unit["id"]}
    status, user = await api.post("/api/users", body, "admin")
    assert status == 201 and user["token"]
    api.seed.tokens["water"] = user["token"]
    status, page = await api.get("/api/orders", "water")
    assert status == 200 and page["total"] == 0
    status, err = await api.post("/api/users", {"name": "x", "role": "handler"}, "admin")
    assert (status, err["error"]["code"]) == (400, "unit_required")


async def test_responsibility_list_drives_suggestions(api: Api) -> None:
    urban, env, power = (api.seed.units[k] for k in ("URBAN", "ENV", "POWER"))
    oid = (await api.new_order(text="楼下饭店油烟很大。晚上噪音扰民。门口路灯也坏了"))["id"]
    status, s = await api.get(f"/api/orders/{oid}/suggestion")
    assert status == 200 and s["first_contact"] and s["lead_unit_id"] == api.seed.units["CENTRE"]
    rules = [
        {"unit_id": urban, "keywords": ["占道经营", "路灯"]},
        {"unit_id": env, "keywords": ["油烟", "噪音扰民"]},
        {"unit_id": power, "unit_role": "assist", "keywords": ["路灯"]},
    ]
    created = []
    for rule in rules:
        status, row = await api.post("/api/routing/rules", rule, "admin")
        assert status == 201, row
        created.append(row)
    status, s = await api.get(f"/api/orders/{oid}/suggestion")
    assert s["lead_unit_id"] == env and set(s["assist_unit_ids"]) == {urban, power}
    assert "噪音扰民" in s["matched_keywords"]
    status, row = await api.call("PUT", f"/api/routing/rules/{created[1]['id']}", "admin",
                                 json={"unit_id": env, "keywords": ["垃圾"]})  # fmt: skip
    assert status == 200
    status, s = await api.get(f"/api/orders/{oid}/suggestion")
    assert s["lead_unit_id"] == urban
    status, _ = await api.call("DELETE", f"/api/routing/rules/{created[0]['id']}", "admin")
    assert status == 204
    status, listing = await api.get("/api/routing/rules", "supervisor")
    assert len(listing["items"]) == 2
    status, err = await api.post("/api/routing/rules", {"unit_id": urban}, "admin")
    assert (status, err["error"]["code"]) == (400, "empty_rule")
    status, err = await api.call("DELETE", "/api/routing/rules/9999", "admin")
    assert status == 404
    status, err = await api.post("/api/routing/rules", rules[0], "supervisor")
    assert status == 403


async def test_calendar_for_a_year_the_package_does_not_know(api: Api) -> None:
    api.clock.now = api.clock.now.replace(year=2026, month=12, day=24)  # Thursday
    order = await api.new_order(order_type="complaint")
    assert order["due_provisional"] is True
    assert "调休" in order["due_date_note"]
    # Dec 25, 28-31 (5), Jan 4-8 (10), Jan 11-15 (15): the predicted 元旦 Jan 1 is skipped
    assert order["due_date"] == "2027-01-15"
    days = [
        {"day": "2027-01-01", "workday": False, "name": "元旦"},
        {"day": "2027-01-04", "workday": False, "name": "元旦"},
        {"day": "2027-01-05", "workday": False, "name": "元旦"},
        {"day": "2027-01-09", "workday": True, "name": "元旦调休"},
    ]
    put = {"days": days, "published_years": [2027]}
    status, err = await api.call("PUT", "/api/calendar/days", "supervisor", json=put)
    assert status == 403
    status, body = await api.call("PUT", "/api/calendar/days", "admin", json=put)
    assert status == 200 and body == {"written": 4, "recounted_orders": 1}
    status, order = await api.get(f"/api/orders/{order['id']}")
    # two more days off (Jan 4, 5) and one working Saturday (Jan 9): one day later
    assert (order["due_date"], order["due_provisional"]) == ("2027-01-18", False)
    assert order["due_date_note"] is None
    status, listing = await api.get("/api/calendar/days?year=2027")
    listed = [d["day"] for d in listing["items"]]
    assert listed == ["2027-01-01", "2027-01-04", "2027-01-05", "2027-01-09"]
    assert listing["published_years"] == [2027]
    status, err = await api.call("PUT", "/api/calendar/days", "admin",
                                 json={"days": [days[0], days[0]]})  # fmt: skip
    assert (status, err["error"]["code"]) == (400, "duplicate_day")


async def _admin_trail(api: Api) -> list[tuple[str, int | None, str, dict[str, Any]]]:
    async with api.client.app[SESSIONS]() as session:
        found = await admin_changes.changes(session)
    assert {c.actor_id for c in found} <= {api.seed.user_ids["admin"]}
    return [(c.subject, c.subject_id, c.action, c.detail) for c in found]


async def test_admin_changes_to_units_and_rules_are_audited(api: Api) -> None:
    status, unit = await api.post("/api/units", {"code": "WATER", "name": "水务局"}, "admin")
    assert status == 201
    rule = {"unit_id": unit["id"], "keywords": ["停水"], "order_types": [], "note": ""}
    status, created = await api.post("/api/routing/rules", rule, "admin")
    assert status == 201
    path = f"/api/routing/rules/{created['id']}"
    status, _ = await api.call("PUT", path, "admin", json={**rule, "keywords": ["停水", "水压"]})
    assert status == 200
    status, _ = await api.call("DELETE", path, "admin")
    assert status == 204
    trail = await _admin_trail(api)
    assert [(s, i, a) for s, i, a, _ in trail] == [
        ("unit", unit["id"], "created"),
        ("rule", created["id"], "created"),
        ("rule", created["id"], "changed"),
        ("rule", created["id"], "deleted"),
    ]
    assert trail[0][3]["code"] == "WATER"
    assert trail[2][3] == {"changes": {"keywords": [["停水"], ["停水", "水压"]]}}
    assert trail[3][3]["keywords"] == ["停水", "水压"]
    for statement in ("UPDATE admin_changes SET action = 'x'", "DELETE FROM admin_changes"):
        async with api.client.app[SESSIONS]() as session:
            with pytest.raises(DBAPIError):
                await session.execute(text(statement))


async def test_calendar_edits_that_move_due_dates_are_audited(api: Api) -> None:
    api.clock.now = api.clock.now.replace(year=2026, month=12, day=24)
    order = await api.new_order(order_type="complaint")
    days = [{"day": "2027-01-01", "workday": False, "name": "元旦"},
            {"day": "2027-01-04", "workday": False, "name": "元旦"}]  # fmt: skip
    status, body = await api.call("PUT", "/api/calendar/days", "admin", json={"days": days})
    assert status == 200 and body["recounted_orders"] == 1
    (recount,) = [e for e in await api.audit(order["id"]) if e["action"] == "due_recounted"]
    assert recount["actor_id"] == api.seed.user_ids["admin"]
    assert recount["detail"]["due_date"] == [order["due_date"], "2027-01-18"]
    ((subject, _, action, detail),) = await _admin_trail(api)
    assert (subject, action) == ("calendar", "days_put")
    assert detail == {"days": days, "recounted_orders": 1}


async def test_one_entered_day_keeps_due_dates_provisional_until_the_year_is_published(
    api: Api,
) -> None:
    api.clock.now = api.clock.now.replace(year=2027, month=1, day=15)  # Friday
    order = await api.new_order(order_type="complaint")
    # Jan 18-22 (5), Jan 25-29 (10), Feb 1-4 (14); 除夕 Feb 5 to the make-up Feb 10 off: Feb 11
    assert (order["due_date"], order["due_provisional"]) == ("2027-02-11", True)
    saturday = [{"day": "2027-02-20", "workday": True, "name": "春节调休"}]
    status, body = await api.call("PUT", "/api/calendar/days", "admin", json={"days": saturday})
    assert status == 200 and body == {"written": 1, "recounted_orders": 0}
    status, order = await api.get(f"/api/orders/{order['id']}")
    # the predicted Spring Festival still holds, and the rest of 2027 is still unknown
    assert (order["due_date"], order["due_provisional"]) == ("2027-02-11", True)
    assert "调休" in order["due_date_note"]
    status, listing = await api.get("/api/calendar/days?year=2027")
    assert listing["published_years"] == []
    status, err = await api.call("PUT", "/api/calendar/days", "admin", json={"days": []})
    assert (status, err["error"]["code"]) == (400, "nothing_to_put")
    # the admin enters the rest of the schedule: 除夕 Feb 5 to Feb 11 off, working Sat Feb 20
    festival = [{"day": f"2027-02-{d:02d}", "workday": False, "name": "春节"} for d in range(5, 12)]
    status, body = await api.call("PUT", "/api/calendar/days", "admin",
                                  json={"days": festival, "published_years": [2027]})  # fmt: skip
    assert status == 200 and body == {"written": 7, "recounted_orders": 1}
    status, order = await api.get(f"/api/orders/{order['id']}")
    # Feb 1-4 (14), Feb 12 (15): final now
    assert (order["due_date"], order["due_provisional"]) == ("2027-02-12", False)
    assert order["due_date_note"] is None
    (recount,) = [e for e in await api.audit(order["id"]) if e["action"] == "due_recounted"]
    assert recount["detail"]["due_date"] == ["2027-02-11", "2027-02-12"]
    trail = await _admin_trail(api)
    assert [(s, a) for s, _, a, _ in trail] == [("calendar", "days_put")] * 2
    assert trail[1][3]["published_years"] == [2027] and trail[1][3]["recounted_orders"] == 1
    assert "published_years" not in trail[0][3]
