"""The spy sessions' audit over the API: stored as the call process reports each change (the
last report wins, its recording a row of kind supervision of the call once on record), read
by admins (every one) and supervisors (their own), refused to everyone else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from crm.api.context import SESSIONS
from crm.db.call_models import CallRecord, Recording
from crm.domain.calls import CallOutcome, RecordingStatus
from crm.usecases.spy_sessions import SUPERVISION, SpyFacts, record
from tests.integration.crm.crm_support import Api

L = "1796150000.7"
T0 = datetime(2026, 12, 1, 12, 0, 0)


def facts(uniqueid: str, supervisor_id: int, ended: bool, recording: str = "") -> SpyFacts:
    at = T0.replace(second=5)
    return SpyFacts(
        uniqueid=uniqueid, supervisor_id=supervisor_id, phone="8001", linkedid=L, agent="1001",
        modes=(("listen", T0.replace(second=1)), ("whisper", T0.replace(second=3))),
        requested_at=T0, joined_at=T0.replace(second=1), ended_at=at if ended else None,
        duration_s=4.0 if ended else None, end_code="left" if ended else "", recording=recording,
    )  # fmt: skip


async def test_sessions_stored_and_read_by_admins_and_their_supervisor(api: Api) -> None:
    sessions = api.client.app[SESSIONS]
    supervisor, admin = api.seed.user_ids["supervisor"], api.seed.user_ids["admin"]
    name = "20261201/1796150001.000000000001.wav"
    async with sessions() as db, db.begin():
        db.add(CallRecord(linkedid=L, started_at=T0, outcome=CallOutcome.IN_PROGRESS,
                          caller_number="13900001111", updated_at=T0))  # fmt: skip
        await db.flush()
        await record(db, facts("1796150001.000000000001", supervisor, False), T0)
        await record(db, facts("1796150001.000000000001", supervisor, True, name), T0)
        await record(db, facts("1796150002.000000000002", admin, True), T0)
    async with sessions() as db:
        kept = list(await db.scalars(select(Recording).where(Recording.linkedid == L)))
    assert [(r.kind, r.path, r.status, r.part) for r in kept] == [
        (SUPERVISION, name, RecordingStatus.PENDING, 1)
    ]
    status, listed = await api.get("/api/supervision/spy-sessions", "admin")
    assert status == 200 and len(listed["items"]) == 2
    status, own = await api.get("/api/supervision/spy-sessions", "supervisor")
    assert status == 200 and [i["supervisor_id"] for i in own["items"]] == [supervisor]
    (item,) = own["items"]
    assert [m["mode"] for m in item["modes"]] == ["listen", "whisper"]
    assert (item["linkedid"], item["agent"], item["duration_s"], item["end_code"],
            item["recording"]) == (L, "1001", 4.0, "left", name)  # fmt: skip
    for who in ("agent", "urban"):
        status, _ = await api.get("/api/supervision/spy-sessions", who)
        assert status == 403


def other(uniqueid: str, supervisor_id: int, linkedid: str, agent: str, day: int) -> SpyFacts:
    at = T0.replace(day=day)
    return SpyFacts(
        uniqueid=uniqueid, supervisor_id=supervisor_id, phone="8001", linkedid=linkedid,
        agent=agent, modes=(("listen", at),), requested_at=at, joined_at=at, ended_at=at,
        duration_s=0.0, end_code="left", recording="",
    )  # fmt: skip


async def test_admins_page_and_filter_the_whole_audit_with_names(api: Api) -> None:
    sessions = api.client.app[SESSIONS]
    supervisor, admin = api.seed.user_ids["supervisor"], api.seed.user_ids["admin"]
    async with sessions() as db, db.begin():
        for n, (who, linkedid, agent, day) in enumerate((
            (supervisor, "1796150000.1", "1001", 1), (admin, "1796150000.2", "1002", 2),
            (supervisor, "1796150000.2", "1002", 3),
        )):  # fmt: skip
            await record(db, other(f"1796150009.{n}", who, linkedid, agent, day), T0)

    async def ids(query: str, who: str = "admin") -> list[tuple[str, str]]:
        status, page = await api.get(f"/api/supervision/spy-sessions?{query}", who)
        assert status == 200, page
        return [(i["linkedid"], i["requested_at"][:10]) for i in page["items"]]

    assert await ids("") == [("1796150000.2", "2026-12-03"), ("1796150000.2", "2026-12-02"),
                             ("1796150000.1", "2026-12-01")]  # fmt: skip
    _, page = await api.get("/api/supervision/spy-sessions?limit=1", "admin")
    (newest,) = page["items"]
    assert newest["supervisor_name"] == "supervisor" and newest["supervisor_id"] == supervisor
    older = await ids(f"before_id={newest['id']}")
    assert older == [("1796150000.2", "2026-12-02"), ("1796150000.1", "2026-12-01")]
    assert await ids("linkedid=1796150000.1") == [("1796150000.1", "2026-12-01")]
    assert await ids("agent=1002") == [("1796150000.2", "2026-12-03"),
                                       ("1796150000.2", "2026-12-02")]  # fmt: skip
    assert await ids(f"supervisor_id={admin}") == [("1796150000.2", "2026-12-02")]
    assert await ids("since=2026-12-02T20:30:00%2B08:00") == [("1796150000.2", "2026-12-03")]
    assert await ids("since=2026-12-03") == [("1796150000.2", "2026-12-03")]
    # a supervisor still reads only their own, whatever the filter
    assert await ids("", "supervisor") == [("1796150000.2", "2026-12-03"),
                                           ("1796150000.1", "2026-12-01")]  # fmt: skip
    assert await ids(f"supervisor_id={admin}", "supervisor") == []
    for query, field in (("linkedid=a%20b", "linkedid"), ("agent=10a", "agent"),
                         ("limit=0", "limit"), ("since=yesterday", "since"),
                         ("before_id=x", "before_id"), ("color=red", "color")):  # fmt: skip
        status, err = await api.get(f"/api/supervision/spy-sessions?{query}", "admin")
        assert status == 400 and field in str(err), (query, err)
