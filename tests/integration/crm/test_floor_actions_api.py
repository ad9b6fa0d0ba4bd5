"""GET /api/floor/actions: the floor's trail as the desk writes it (`FloorAudit`), readable by
supervisors and admins only, newest first, filtered and paged; on SQLite and PostgreSQL."""

from datetime import datetime

from agent_gateway.desk.floor_audit import FloorAudit
from crm.api.context import SESSIONS
from crm.domain.enums import Role
from crm.usecases.floor_actions import FloorEntry
from tests.integration.crm.crm_support import Api

T0 = datetime(2025, 9, 29, 2, 0)  # naive UTC: 10:00 China time


async def _trail(api: Api) -> list[int]:
    sessions = api.client.server.app[SESSIONS]  # type: ignore[attr-defined]
    audit = FloorAudit(sessions, clock=lambda: T0)
    supervisor = api.seed.user_ids["supervisor"]
    pause = FloorEntry(supervisor, "班长张三", Role.SUPERVISOR, "1001", "force_pause",
                       "新政策培训", pause_reason="培训")  # fmt: skip
    first = await audit.begin(pause)
    await audit.finish(first, "done")
    await audit.finish(first, "not_confirmed")  # a finished row stays as it was
    move = FloorEntry(supervisor, "班长张三", Role.SUPERVISOR, "1002", "move_queue", "投诉多",
                      queue="complaint", from_queue="hotline")  # fmt: skip
    second = await audit.begin(move)  # still pending
    return [first, second]


async def test_supervisors_and_admins_read_the_trail_newest_first(api: Api) -> None:
    first, second = await _trail(api)
    for who in ("supervisor", "admin"):
        status, page = await api.get("/api/floor/actions", who)
        assert status == 200, page
        assert [i["id"] for i in page["items"]] == [second, first]
    _, page = await api.get("/api/floor/actions", "supervisor")
    older = page["items"][1]
    assert older == {
        "id": first, "at": "2025-09-29T02:00:00Z", "user_id": api.seed.user_ids["supervisor"],
        "user_name": "班长张三", "role": "supervisor", "extension": "1001",
        "action": "force_pause", "queue": "", "from_queue": "", "pause_reason": "培训",
        "reason": "新政策培训", "outcome": "done", "ended_at": "2025-09-29T02:00:00Z",
    }  # fmt: skip
    newer = page["items"][0]
    assert (newer["outcome"], newer["ended_at"], newer["queue"], newer["from_queue"]) == (
        "pending", None, "complaint", "hotline",
    )  # fmt: skip


async def test_agents_and_handlers_may_not_read_it(api: Api) -> None:
    await _trail(api)
    for who in ("agent", "urban"):
        status, err = await api.get("/api/floor/actions", who)
        assert status == 403 and err["error"]["code"] == "role_forbidden", err


async def test_filters_and_paging(api: Api) -> None:
    first, second = await _trail(api)
    get = api.get
    assert [i["id"] for i in (await get("/api/floor/actions?extension=1002", "admin"))[1][
        "items"]] == [second]  # fmt: skip
    assert [i["id"] for i in (await get("/api/floor/actions?limit=1", "admin"))[1]["items"]] == [
        second
    ]
    paged = (await get(f"/api/floor/actions?before_id={second}", "admin"))[1]["items"]
    assert [i["id"] for i in paged] == [first]
    assert (await get("/api/floor/actions?since=2025-09-30", "admin"))[1]["items"] == []
    assert len((await get("/api/floor/actions?since=2025-09-29", "admin"))[1]["items"]) == 2


async def test_bad_input_is_refused_naming_the_field(api: Api) -> None:
    for query, field in (("extension=10a1", "extension"), ("limit=0", "limit"),
                         ("since=yesterday", "since"), ("color=red", "color")):  # fmt: skip
        status, err = await api.get(f"/api/floor/actions?{query}", "supervisor")
        assert status == 400, (query, err)
        assert field in str(err), (query, err)
