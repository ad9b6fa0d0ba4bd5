"""GET /api/calls and /api/calls/{linkedid}: centre roles only, filters, paging, masking by
the orders' rule, strict input; on SQLite and PostgreSQL."""

from datetime import datetime, timedelta

import pytest

from crm.api.context import SESSIONS
from crm.db.call_models import CallRecord
from crm.domain.call_progress import CallEventFact, CallFacts, CallUpdate
from crm.domain.calls import CallEventKind, CallOutcome, Disposition
from crm.domain.survey import SurveyAnswer
from crm.usecases.call_records import record_progress
from tests.integration.crm.crm_support import Api

# 2025-09-29 10:00 China time (crm_support.START), calls a minute apart
T0 = datetime(2025, 9, 29, 2, 0)
PATH = "20250929/1759111200.1.wav"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _calls() -> list[CallUpdate]:
    answered = CallUpdate(
        CallFacts(linkedid="1759111200.1", started_at=at(0), outcome=CallOutcome.ANSWERED,
                  caller_number="13812345678", caller_name="张三丰", queue="hotline",
                  queued_at=at(0.1), answered_at=at(0.2), ended_at=at(2),
                  agent_extension="1001", agent_name="王芳", end_reason="hung up by caller",
                  emergency_started_at=at(1), survey=SurveyAnswer.BASICALLY_SATISFIED),
        (CallEventFact(CallEventKind.QUEUED, at(0.1), "", {"queue": "hotline"}),
         CallEventFact(CallEventKind.ANSWERED, at(0.2), "1001", {"queue": "hotline"}),
         CallEventFact(CallEventKind.TRANSFERRED, at(1), "1001", {"target": "1002"}),
         CallEventFact(CallEventKind.ENDED, at(2), "", {"reason": "hung up by caller"})),
        recording=PATH,
    )  # fmt: skip
    abandoned = CallUpdate(CallFacts(
        linkedid="1759111260.5", started_at=at(1), outcome=CallOutcome.ABANDONED,
        caller_number="13900000004", queue="complaint", queued_at=at(1.1), ended_at=at(1.5),
    ))  # fmt: skip
    ivr = CallUpdate(CallFacts(
        linkedid="1759111320.9", started_at=at(2), outcome=CallOutcome.IVR_HANGUP,
        caller_number="13700000007", ended_at=at(2.2),
    ))  # fmt: skip
    later = [
        CallUpdate(CallFacts(linkedid=f"1759200000.{i}", started_at=at(24 * 60 + i),
                             outcome=CallOutcome.IN_PROGRESS, caller_number="13600000000"))
        for i in range(5)
    ]  # fmt: skip
    return [answered, abandoned, ivr, *later]


@pytest.fixture
async def calls(api: Api) -> Api:
    sessions = api.client.server.app[SESSIONS]  # type: ignore[attr-defined]
    async with sessions() as session, session.begin():
        await record_progress(session, _calls(), T0)
        record = await session.get(CallRecord, "1759111260.5")
        assert record is not None
        record.disposition = Disposition.WRONG_NUMBER
    return api


async def _ids(api: Api, query: str, who: str = "supervisor") -> list[str]:
    status, page = await api.get(f"/api/calls{query}", who)
    assert status == 200, page
    return [c["linkedid"] for c in page["items"]]


async def test_handlers_may_not_read_calls(calls: Api) -> None:
    for path in ("/api/calls", "/api/calls/1759111200.1"):
        status, err = await calls.get(path, "urban")
        assert status == 403 and err["error"]["code"] == "role_forbidden"
        for who in ("agent", "supervisor", "admin"):
            assert (await calls.get(path, who))[0] == 200


async def test_newest_first_with_filters(calls: Api) -> None:
    assert await _ids(calls, "?to=2025-09-29") == ["1759111320.9", "1759111260.5", "1759111200.1"]
    assert await _ids(calls, "?outcome=abandoned") == ["1759111260.5"]
    assert await _ids(calls, "?queue=hotline") == ["1759111200.1"]
    assert await _ids(calls, "?agent=1001") == ["1759111200.1"]
    assert await _ids(calls, "?agent=1002") == []  # a transfer target is not who answered
    assert await _ids(calls, "?caller_number=13700000007") == ["1759111320.9"]
    assert await _ids(calls, "?disposition=wrong_number") == ["1759111260.5"]
    # 10:01 China time is 02:01 UTC: the first call (10:00) is before it
    assert await _ids(calls, "?from=2025-09-29T10:01:00%2B08:00&to=2025-09-29") == [
        "1759111320.9", "1759111260.5"
    ]  # fmt: skip
    assert await _ids(calls, "?to=2025-09-29T02:01:00Z") == ["1759111200.1"]
    assert len(await _ids(calls, "?from=2025-09-30")) == 5


async def test_has_order_and_the_detail(calls: Api) -> None:
    order = await calls.new_order(
        caller_name="张三丰", caller_number="13812345678",
        calls=[{"linkedid": "1759111200.1", "recording": PATH}],
    )  # fmt: skip
    assert await _ids(calls, "?has_order=true") == ["1759111200.1"]
    assert "1759111200.1" not in await _ids(calls, "?has_order=false")
    status, call = await calls.get("/api/calls/1759111200.1", "agent")
    assert status == 200, call
    assert call["orders"] == [{"id": order["id"], "number": order["number"]}]
    assert [e["kind"] for e in call["events"]] == ["queued", "answered", "transferred", "ended"]
    assert call["events"][2]["detail"] == {"target": "1002"}
    (recording,) = call["recordings"]
    assert recording["part"] == 1 and recording["status"] == "pending"
    assert call["talk_s"] == 108.0 and call["wait_s"] == 6.0
    assert call["started_at"] == "2025-09-29T02:00:00Z" and call["outcome"] == "answered"
    assert call["emergency_started_at"] == "2025-09-29T02:01:00Z"  # a consult of 110 began
    assert call["survey"] == "basically_satisfied"
    status, other = await calls.get("/api/calls/1759111260.5", "agent")
    assert status == 200 and other["survey"] is None  # never offered


async def test_confidential_callers_are_flagged_and_seen_by_the_centre(calls: Api) -> None:
    # the caller asked for confidentiality on an order of another call: this call too
    await calls.new_order(caller_name="张三丰", caller_number="13812345678", confidential=True)
    status, call = await calls.get("/api/calls/1759111200.1", "supervisor")
    assert status == 200 and call["confidential"] is True
    # the centre's roles see confidential callers, as with orders (crm.domain.masking)
    assert call["caller_number"] == "13812345678" and call["caller_name"] == "张三丰"
    status, page = await calls.get("/api/calls?to=2025-09-29", "agent")
    flags = {c["linkedid"]: c["confidential"] for c in page["items"]}
    assert flags == {"1759111200.1": True, "1759111260.5": False, "1759111320.9": False}


async def test_paging_by_cursor_and_offset(calls: Api) -> None:
    seen: list[str] = []
    query = "?limit=3"
    while True:
        status, page = await calls.get(f"/api/calls{query}", "supervisor")
        assert status == 200 and len(page["items"]) <= 3
        seen += [c["linkedid"] for c in page["items"]]
        if page["next_cursor"] is None:
            break
        query = f"?limit=3&cursor={page['next_cursor']}"
    assert len(seen) == len(set(seen)) == 8
    assert seen == await _ids(calls, "?limit=200")
    assert await _ids(calls, "?limit=2&offset=6") == seen[6:]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=yesterday", "from"),
        ("from=2025-09-29T10:00:00", "from"),  # no offset: ambiguous
        ("to=0001-01-01", "to"),
        ("outcome=lost", "outcome"),
        ("limit=201", "limit"),
        ("limit=1e2", "limit"),
        ("offset=-1", "offset"),
        ("has_order=maybe", "has_order"),
        ("agent=10a1", "agent"),
        ("cursor=bm90IGEgY3Vyc29y", "cursor"),
        ("cursor=%3Cscript%3E", "cursor"),
        ("colour=red", "colour"),
    ],
)
async def test_bad_input_names_the_parameter(calls: Api, query: str, field: str) -> None:
    status, err = await calls.get(f"/api/calls?{query}", "supervisor")
    assert status == 400, err
    assert err["error"]["field"] == field


async def test_unknown_or_malformed_linkedid(calls: Api) -> None:
    status, err = await calls.get("/api/calls/1.2", "supervisor")
    assert status == 404 and err["error"]["code"] == "not_found"
    assert (await calls.get("/api/calls/..%2F..%2Fetc", "supervisor"))[0] == 404
    assert (await calls.get("/api/calls/" + "1" * 65, "supervisor"))[0] == 404
