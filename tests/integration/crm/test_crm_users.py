"""Users through the API: agent bindings, disabling, token rotation and revocation, the trail."""

from typing import Any

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from crm.api.context import SESSIONS
from crm.db.models import UserChange
from tests.integration.crm.crm_support import Api

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def _new_agent(api: Api, name: str, extension: str | None) -> dict[str, Any]:
    status, user = await api.post(
        "/api/users", {"name": name, "role": "agent", "agent_extension": extension}, "admin"
    )
    assert status == 201, user
    return dict(user)


async def _patch(api: Api, user_id: int, body: dict[str, Any]) -> tuple[int, Any]:
    return await api.call("PATCH", f"/api/users/{user_id}", "admin", json=body)


async def _changes(api: Api, user_id: int) -> list[tuple[int | None, str, dict[str, Any]]]:
    async with api.client.app[SESSIONS]() as session:
        rows = await session.scalars(
            select(UserChange).where(UserChange.user_id == user_id).order_by(UserChange.id)
        )
        return [(r.actor_id, r.action, r.detail) for r in rows]


async def test_an_extension_is_bound_to_one_active_agent(api: Api) -> None:
    wang = await _new_agent(api, "王芳", "1001")
    assert (wang["agent_extension"], wang["active"]) == ("1001", True)
    body = {"name": "李娜", "role": "agent", "agent_extension": "1001"}
    status, err = await api.post("/api/users", body, "admin")
    assert (status, err["error"]["code"], err["error"]["field"]) == (
        409, "extension_taken", "agent_extension",
    )  # fmt: skip
    body = {"name": "陈班长", "role": "supervisor", "agent_extension": "1002"}
    status, err = await api.post("/api/users", body, "admin")
    assert (status, err["error"]["code"]) == (400, "not_a_supervisor_phone")
    body = {"name": "陈班长", "role": "supervisor", "agent_extension": "8001"}
    status, chen = await api.post("/api/users", body, "admin")  # the phone a supervisor works at
    assert (status, chen["agent_extension"]) == (201, "8001")

    li = await _new_agent(api, "李娜", None)
    status, err = await _patch(api, li["id"], {"agent_extension": "1001"})
    assert (status, err["error"]["code"]) == (409, "extension_taken")
    # Disabling 王芳 frees 1001; 王芳 cannot come back on it while 李娜 holds it.
    status, out = await _patch(api, wang["id"], {"active": False})
    assert status == 200 and out["active"] is False
    status, out = await _patch(api, li["id"], {"agent_extension": "1001"})
    assert status == 200 and out["agent_extension"] == "1001"
    status, err = await _patch(api, wang["id"], {"active": True})
    assert (status, err["error"]["code"]) == (409, "extension_taken")
    status, out = await _patch(api, wang["id"], {"active": True, "agent_extension": "1002"})
    assert status == 200 and (out["active"], out["agent_extension"]) == (True, "1002")
    status, out = await _patch(api, li["id"], {"agent_extension": None})
    assert status == 200 and out["agent_extension"] is None

    status, listed = await api.get("/api/users", "admin")
    assert status == 200
    by_id = {u["id"]: u for u in listed["items"]}
    assert (by_id[li["id"]]["agent_extension"], by_id[wang["id"]]["agent_extension"]) == (
        None, "1002",
    )  # fmt: skip
    assert all("token" not in u and "token_hash" not in u for u in listed["items"])

    admin = api.seed.user_ids["admin"]
    assert await _changes(api, wang["id"]) == [
        (admin, "created", {"name": "王芳", "role": "agent", "unit_id": None,
                            "agent_extension": "1001"}),
        (admin, "changed", {"active": [True, False]}),
        (admin, "changed", {"active": [False, True], "agent_extension": ["1001", "1002"]}),
    ]  # fmt: skip


async def test_a_disabled_user_is_refused_at_once(api: Api) -> None:
    status, _ = await api.get("/api/orders", "agent")
    assert status == 200  # its token is now in the API's cache
    status, _ = await _patch(api, api.seed.user_ids["agent"], {"active": False})
    assert status == 200
    status, err = await api.get("/api/orders", "agent")
    assert (status, err["error"]["code"]) == (401, "unauthenticated")


async def test_a_rotated_token_replaces_the_old_one(api: Api) -> None:
    user_id = api.seed.user_ids["agent"]
    old = api.seed.tokens["agent"]
    assert (await api.get("/api/orders", "agent"))[0] == 200
    status, out = await api.post(f"/api/users/{user_id}/token", None, "admin")
    assert status == 200 and out["id"] == user_id and out["token"] not in ("", old)
    status, err = await api.get("/api/orders", "agent")
    assert (status, err["error"]["code"]) == (401, "unauthenticated")
    api.seed.tokens["agent"] = out["token"]
    assert (await api.get("/api/orders", "agent"))[0] == 200
    assert [a for _, a, _ in await _changes(api, user_id)] == ["token_rotated"]
    assert old not in str(await _changes(api, user_id)) and out["token"] not in str(
        await _changes(api, user_id)
    )


async def test_a_revoked_token_works_no_more_until_rotated(api: Api) -> None:
    user_id = api.seed.user_ids["supervisor"]
    assert (await api.get("/api/orders", "supervisor"))[0] == 200
    status, _ = await api.call("DELETE", f"/api/users/{user_id}/token", "admin")
    assert status == 204
    status, err = await api.get("/api/orders", "supervisor")
    assert (status, err["error"]["code"]) == (401, "unauthenticated")
    status, out = await api.post(f"/api/users/{user_id}/token", None, "admin")
    assert status == 200
    api.seed.tokens["supervisor"] = out["token"]
    assert (await api.get("/api/orders", "supervisor"))[0] == 200


@pytest.mark.parametrize("who", ["agent", "supervisor", "urban"])
async def test_only_admins_change_users(api: Api, who: str) -> None:
    admin = api.seed.user_ids["admin"]
    for method, path, body in (
        ("GET", "/api/users", None),
        ("PATCH", f"/api/users/{admin}", {"active": False}),
        ("POST", f"/api/users/{admin}/token", None),
        ("DELETE", f"/api/users/{admin}/token", None),
    ):
        status, err = await api.call(method, path, who, json=body)
        assert (status, err["error"]["code"]) == (403, "role_forbidden"), (method, path)
    assert await _changes(api, admin) == []


async def test_unknown_user_and_bad_binding_are_refused(api: Api) -> None:
    status, err = await _patch(api, 9999, {"active": False})
    assert (status, err["error"]["code"]) == (404, "user_not_found")
    status, err = await _patch(api, api.seed.user_ids["agent"], {"agent_extension": "10a1"})
    assert (status, err["error"]["field"]) == (400, "agent_extension")
    status, err = await _patch(api, api.seed.user_ids["agent"], {"token_hash": "x"})
    assert (status, err["error"]["code"]) == (400, "unknown_field")
    body = {"active": False, "agent_extension": "1003"}  # a supervisor: its phone only
    status, err = await _patch(api, api.seed.user_ids["supervisor"], body)
    assert (status, err["error"]["code"]) == (400, "not_a_supervisor_phone")
    status, err = await _patch(api, api.seed.user_ids["urban"], {"agent_extension": "1003"})
    assert (status, err["error"]["code"]) == (400, "not_a_department_phone")
    status, err = await _patch(api, api.seed.user_ids["urban"], {"agent_extension": "8001"})
    assert (status, err["error"]["code"]) == (400, "not_a_department_phone")
    status, err = await _patch(api, api.seed.user_ids["supervisor"], {"agent_extension": "8101"})
    assert (status, err["error"]["code"]) == (400, "not_a_supervisor_phone")
    status, err = await _patch(api, api.seed.user_ids["agent"], {"agent_extension": "8101"})
    assert (status, err["error"]["code"]) == (400, "not_an_agent_extension"), err
    body = {"name": "李娜", "role": "agent", "agent_extension": "8101"}
    status, err = await api.post("/api/users", body, "admin")
    assert (status, err["error"]["code"]) == (400, "not_an_agent_extension"), err


async def test_a_handler_works_at_a_department_phone(api: Api) -> None:
    """A handler is bound to its department's phone, rung first for its calls to citizens."""
    urban = api.seed.user_ids["urban"]
    status, body = await _patch(api, urban, {"agent_extension": "8101"})
    assert (status, body["agent_extension"]) == (200, "8101")
    assert await _changes(api, urban) == [
        (api.seed.user_ids["admin"], "changed", {"agent_extension": [None, "8101"]})
    ]


async def test_the_users_trail_is_append_only_in_the_database(api: Api) -> None:
    user_id = (await _new_agent(api, "王芳", "1001"))["id"]
    sessions = api.client.app[SESSIONS]
    for statement in ("UPDATE user_changes SET action = 'forged'", "DELETE FROM user_changes"):
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions() as session, session.begin():
                await session.execute(text(statement))
    assert [a for _, a, _ in await _changes(api, user_id)] == ["created"]
