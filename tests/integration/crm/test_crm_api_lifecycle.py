"""A work order through its whole life over HTTP, on SQLite and PostgreSQL."""

import pytest

from tests.integration.crm.crm_support import Api

# async fixtures live on the session loop (pyproject), so the tests run there too
pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_happy_path_with_audit(api: Api) -> None:
    order = await api.new_order(caller_number="13812345678", location="人民路1号")
    assert order["status"] == "registered"
    assert order["number"] == "SZ12345-20250929-000001"
    assert order["due_date"] == "2025-10-27"
    oid = order["id"]
    urban = api.seed.units["URBAN"]
    order = await api.ok(oid, "dispatch", "agent", lead_unit_id=urban,
                         assist_unit_ids=[api.seed.units["POWER"]])  # fmt: skip
    assert (order["status"], order["lead_unit_id"]) == ("dispatched", urban)
    assert order["assist_unit_ids"] == [api.seed.units["POWER"]]
    await api.ok(oid, "accept", "urban")
    await api.ok(oid, "log_contact", "urban", note="已电话联系市民")
    await api.ok(oid, "reply", "urban", result="已清理占道摊位")
    order = await api.ok(oid, "callback", "agent", satisfaction="satisfied")
    assert order["status"] == "closed" and order["closed_at"] is not None
    trail = await api.audit(oid)
    assert [e["action"] for e in trail] == [
        "register",
        "dispatch",
        "accept",
        "log_contact",
        "reply",
        "callback",
    ]
    assert [e["to_status"] for e in trail][-1] == "closed"
    assert trail[2]["actor_role"] == "handler"


async def test_return_redispatch_and_rework_round(api: Api) -> None:
    oid = (await api.new_order(order_type="help"))["id"]
    urban, env = api.seed.units["URBAN"], api.seed.units["ENV"]
    await api.ok(oid, "dispatch", "agent", lead_unit_id=urban)
    order = await api.ok(oid, "return", "urban", reason="不属于本单位职责")
    assert order["status"] == "returned"
    await api.ok(oid, "dispatch", "supervisor", lead_unit_id=env)
    await api.ok(oid, "accept", "env")
    await api.ok(oid, "log_contact", "env", note="联系")
    await api.ok(oid, "reply", "env", result="处理完毕")
    order = await api.ok(oid, "callback", "agent", satisfaction="unsatisfied")
    assert order["status"] == "reopened" and order["satisfaction"] == "unsatisfied"
    api.clock.advance(days=10)  # rework starts a new time limit from today
    order = await api.ok(oid, "dispatch", "agent", lead_unit_id=env)
    assert order["rework_count"] == 1 and order["due_date"] == "2025-10-13"  # Sat 11 works
    actions = [e["action"] for e in await api.audit(oid)]
    assert actions == ["register", "dispatch", "return", "dispatch", "accept", "log_contact",
                       "reply", "rework", "dispatch"]  # fmt: skip


async def test_not_accepted_with_reason_code(api: Api) -> None:
    oid = (await api.new_order(order_type="consultation", text="咨询法院判决"))["id"]
    order = await api.ok(oid, "not_accept", "agent", reason="party_congress_court_military",
                         explanation="请向法院咨询")  # fmt: skip
    assert order["status"] == "not_accepted"
    assert order["not_accepted_reason"] == "party_congress_court_military"
    assert order["due_date"] is None and order["allowed_actions"] == []


async def test_answered_at_once_from_knowledge_base(api: Api) -> None:
    oid = (await api.new_order(order_type="consultation", text="社保卡怎么补办"))["id"]
    order = await api.ok(oid, "answer_now", "agent", answer="携带身份证到社保大厅办理",
                         knowledge_ref="KB-0012")  # fmt: skip
    assert order["status"] == "answered" and order["result"].startswith("携带")


async def test_emergency_transfer_clock(api: Api) -> None:
    order = await api.new_order(order_type="fire", text="楼道冒烟", urgency="immediate",
                                severity="major")  # fmt: skip
    assert order["due_date"] is None
    assert order["transfer_due_at"] == "2025-09-29T02:10:00Z"
    oid = order["id"]
    status, err = await api.act(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    assert (status, err["error"]["code"]) == (409, "emergency_must_transfer")
    api.clock.advance(minutes=11)
    status, page = await api.get("/api/orders?overdue=true", "supervisor")
    assert [o["id"] for o in page["items"]] == [oid]
    order = await api.ok(oid, "transfer", "agent", target="119")
    assert order["status"] == "transferred" and order["transfer_target"] == "119"
    assert (await api.audit(oid))[-1]["detail"]["late"] is True
    # the loop stays open: an agent never closes it, and no result before a confirmed hand-over
    status, err = await api.act(oid, "transfer_feedback", "agent", result="119 已处置完毕")
    assert (status, err["error"]["code"]) == (403, "role_forbidden")
    status, err = await api.act(oid, "transfer_feedback", "supervisor", result="119 已处置完毕")
    assert (status, err["error"]["code"]) == (409, "not_handed_over")
    order = await api.ok(oid, "handover_decision", "supervisor", note="119 接警员电话确认接收")
    assert order["handover_confirmed_by"] == "supervisor"
    order = await api.ok(oid, "transfer_feedback", "supervisor", result="119 已处置完毕")
    assert order["status"] == "closed"


async def test_extensions_with_approval_and_limits(api: Api) -> None:
    oid = (await api.new_order(order_type="complaint"))["id"]
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    await api.ok(oid, "accept", "urban")
    status, err = await api.act(oid, "request_extension", "urban", days=5, reason="复杂")
    assert (status, err["error"]["code"]) == (409, "extension_refused")
    for expected_due in ("2025-11-10", "2025-11-24"):
        await api.ok(oid, "request_extension", "urban", days=10, reason="需要现场勘查")
        status, err = await api.act(oid, "request_extension", "urban", days=10, reason="again")
        assert (status, err["error"]["code"]) == (409, "extension_pending")
        status, err = await api.act(oid, "decide_extension", "urban", approve=True)
        assert status == 403
        order = await api.ok(oid, "decide_extension", "supervisor", approve=True)
        assert order["due_date"] == expected_due
    assert order["extensions_granted"] == 2
    status, err = await api.act(oid, "request_extension", "urban", days=10, reason="第三次")
    assert (status, err["error"]["code"]) == (409, "extension_refused")
    assert "at most 2" in err["error"]["message"]


async def test_refused_extension_leaves_due_date(api: Api) -> None:
    oid = (await api.new_order(order_type="consultation"))["id"]
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    await api.ok(oid, "accept", "urban")
    await api.ok(oid, "request_extension", "urban", days=2, reason="需要查档")
    order = await api.ok(oid, "decide_extension", "supervisor", approve=False, note="不同意")
    assert order["due_date"] == "2025-09-30" and order["extension_requested_days"] is None


async def test_supervision_sweep_for_overdue_orders(api: Api) -> None:
    oid = (await api.new_order(order_type="consultation"))["id"]  # due 2025-09-30
    await api.ok(oid, "dispatch", "agent", lead_unit_id=api.seed.units["URBAN"])
    status, body = await api.post("/api/supervision/sweep", {}, "supervisor")
    assert (status, body["issued"]) == (200, [])
    api.clock.advance(days=2)
    status, body = await api.post("/api/supervision/sweep", {}, "supervisor")
    assert status == 200 and len(body["issued"]) == 1
    status, body = await api.post("/api/supervision/sweep", {}, "supervisor")
    assert body["issued"] == []  # once per missed due date
    status, _ = await api.post("/api/supervision/sweep", {}, "agent")
    assert status == 403
    trail = await api.audit(oid)
    assert trail[-1]["action"] == "supervise" and "督办" in trail[-1]["detail"]["note"]


async def test_repeat_is_linked_to_the_open_order(api: Api) -> None:
    first = await api.new_order(caller_number="13900000001", order_type="complaint")
    other_type = await api.new_order(caller_number="13900000001", order_type="help")
    same_place = await api.new_order(caller_number="13900000002", order_type="help",
                                     location="幸福小区3栋")  # fmt: skip
    again = await api.new_order(caller_number="13900000001", order_type="complaint")
    place_again = await api.new_order(caller_number="13900000003", order_type="help",
                                      location="幸福小区3栋")  # fmt: skip
    assert first["repeat_of_id"] is None and other_type["repeat_of_id"] is None
    assert same_place["repeat_of_id"] is None  # other number, and no place on the earlier one
    assert again["repeat_of_id"] == first["id"]  # same number, same type
    assert place_again["repeat_of_id"] == same_place["id"]  # same place, same type
    for done in (first, again):  # only open orders attract repeats
        await api.ok(done["id"], "not_accept", "agent", reason="repeat_without_new_facts")
    fresh = await api.new_order(caller_number="13900000001", order_type="complaint")
    assert fresh["repeat_of_id"] is None


async def test_calls_and_recordings_are_linked(api: Api) -> None:
    order = await api.new_order(calls=[{"linkedid": "1727575200.42"}])
    oid = order["id"]
    recording = {"linkedid": "1727575200.42", "recording": "20250929/1727575200.42.wav"}
    status, order = await api.post(f"/api/orders/{oid}/calls", recording)
    assert status == 200
    status, order = await api.post(f"/api/orders/{oid}/calls", {"linkedid": "1727575999.7"})
    assert [(c["linkedid"], c["recording"]) for c in order["calls"]] == [
        ("1727575200.42", "20250929/1727575200.42.wav"), ("1727575999.7", ""),
    ]  # fmt: skip
    assert [e["action"] for e in await api.audit(oid)].count("attach_call") == 1


async def test_order_numbers_are_sequential_per_day(api: Api) -> None:
    numbers = [(await api.new_order())["number"] for _ in range(3)]
    api.clock.advance(days=1)
    numbers.append((await api.new_order())["number"])
    assert numbers == [
        "SZ12345-20250929-000001", "SZ12345-20250929-000002", "SZ12345-20250929-000003",
        "SZ12345-20250930-000001",
    ]  # fmt: skip
