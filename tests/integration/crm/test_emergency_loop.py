"""No emergency slips out of the loop, over real HTTP on SQLite and PostgreSQL: not-accept
and amending out refused, stability clues on the clock, the receiving centre's replies and a
supervisor's decision carried out, alerts raised, listed and acknowledged, the figures."""

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from crm.api import create_app
from crm.db.engine import SessionFactory, session_factory
from crm.db.exchange_models import OrderAlert
from crm.domain import commands as c
from crm.domain.calendar import ChineseWorkCalendar
from crm.domain.emergency import EmergencyRules
from crm.domain.enums import AlertKind, Role
from crm.domain.lifecycle import Actor
from crm.errors import Conflict, Denied
from crm.repo.admin_changes import changes
from crm.repo.directory import create_user
from crm.segmenter import Segmenter
from crm.usecases.alerts import mark_published, raise_centre_alert, unpublished
from crm.usecases.transition import apply_command
from tests.integration.crm.crm_support import START, Api, FakeClock, seed

pytestmark = pytest.mark.asyncio(loop_scope="session")

RULES = EmergencyRules(warn_before_s=120, result_due_h=6)  # duty leaders: ids, by the fixture


class Loop(Api):
    sessions: SessionFactory
    peer: Actor

    async def alerts(self, who: str = "supervisor", query: str = "") -> list[dict[str, Any]]:
        status, body = await self.get(f"/api/alerts{query}", who)
        assert status == 200, body
        return list(body["items"])

    async def as_peer(self, order_id: int, command: c.Command) -> None:
        """What the exchange's inbound endpoint does with a signed reply from 110."""
        async with self.sessions() as session, session.begin():
            await apply_command(session, order_id, command, self.peer, now=self.clock(),
                                calendar=ChineseWorkCalendar(), rules=RULES)  # fmt: skip


@pytest.fixture
async def loop(engine: AsyncEngine, clock: FakeClock, segmenter: Segmenter) -> AsyncIterator[Loop]:
    sessions = session_factory(engine)
    seeded = await seed(sessions)
    async with sessions() as session, session.begin():
        peer, _ = await create_user(session, "110", Role.PEER, None)
        leader, token = await create_user(session, "值班领导", Role.AGENT, seeded.units["CENTRE"])
        seeded.tokens["leader"], seeded.user_ids["leader"] = token, leader.id
        # names are not unique: another agent called the same is no duty leader
        namesake, token = await create_user(session, "值班领导", Role.AGENT, seeded.units["CENTRE"])
        seeded.tokens["namesake"], seeded.user_ids["namesake"] = token, namesake.id
    # the peer user is no centre user: left out of the names shown (and logged)
    rules = replace(RULES, duty_leaders=(leader.id, peer.id))
    app = create_app(sessions, centre_code="SZ12345", clock=clock, segmenter=segmenter,
                     emergency=rules)  # fmt: skip
    async with TestClient(TestServer(app)) as client:
        api = Loop(client, seeded, clock)
        api.sessions, api.peer = sessions, Actor(peer.id, Role.PEER, None)
        yield api


def iso(at: datetime) -> str:
    return at.isoformat() + "Z"


async def test_an_emergency_is_never_closed_as_not_accepted(loop: Loop) -> None:
    order = await loop.new_order(order_type="police", text="有人持刀闹事")
    oid = order["id"]
    assert "not_accept" not in order["allowed_actions"]
    for who in ("agent", "supervisor"):
        for reason in ("emergency_line_matter", "out_of_jurisdiction"):
            status, err = await loop.act(oid, "not_accept", who, reason=reason)
            assert (status, err["error"]["code"]) == (409, "emergency_must_transfer"), err
    status, stored = await loop.get(f"/api/orders/{oid}")
    assert (
        stored["status"] == "registered" and stored["transfer_due_at"] == order["transfer_due_at"]
    )
    assert [e["action"] for e in await loop.audit(oid)] == ["register"]


async def test_a_matter_of_the_emergency_lines_is_transferred_not_refused(loop: Loop) -> None:
    oid = (await loop.new_order(order_type="consultation", text="家里着火了"))["id"]
    status, err = await loop.act(oid, "not_accept", "agent", reason="emergency_line_matter")
    assert (status, err["error"]["code"]) == (409, "emergency_must_transfer")
    assert (await loop.get(f"/api/orders/{oid}"))[1]["status"] == "registered"
    order = await loop.ok(oid, "not_accept", "agent", reason="out_of_jurisdiction")
    assert order["status"] == "not_accepted"  # the other reasons still close an order


async def test_a_stability_clue_runs_on_the_clock_to_110_and_alerts(loop: Loop) -> None:
    order = await loop.new_order(order_type="complaint", text="有人组织聚集", stability_clue=True)
    assert order["stability_clue"] is True
    assert order["transfer_due_at"] == iso(START + timedelta(minutes=10))
    assert order["allowed_actions"] == ["transfer"]
    (alert,) = await loop.alerts()
    assert (alert["kind"], alert["order_id"], alert["line"]) == (
        "stability_clue",
        order["id"],
        "110",
    )
    assert alert["published_at"] is None and alert["acknowledged_at"] is None
    assert "社会稳定" in alert["message"]
    plain = await loop.new_order(order_type="complaint", text="占道经营")
    assert plain["transfer_due_at"] is None and plain["stability_clue"] is False


async def test_major_and_above_alert_supervisors_and_duty_leaders_at_once(loop: Loop) -> None:
    await loop.new_order(order_type="consultation", severity="general")
    major = await loop.new_order(order_type="fire", text="仓库起火", severity="major")
    serious = await loop.new_order(order_type="complaint", severity="serious")
    alerts = await loop.alerts()
    assert [(a["kind"], a["order_id"]) for a in alerts] == [
        ("severity", serious["id"]),
        ("severity", major["id"]),
    ]
    assert alerts[1]["line"] == "119" and alerts[1]["message"].startswith("较大")
    status, body = await loop.get("/api/alerts", "leader")  # an agent who is a duty leader by id
    assert status == 200 and body["duty_leaders"] == ["值班领导"]
    assert [a["id"] for a in body["items"]] == [a["id"] for a in alerts]
    for who in ("agent", "urban", "namesake"):
        status, err = await loop.get("/api/alerts", who)
        assert (status, err["error"]["code"]) == (403, "role_forbidden")
    trail = await loop.audit(major["id"])
    assert [(e["action"], e["actor_role"]) for e in trail] == [
        ("register", "agent"),
        ("alert", "agent"),
    ]


async def test_only_a_supervisor_takes_an_order_out_of_emergency(loop: Loop) -> None:
    fire = await loop.new_order(order_type="fire", text="楼道冒烟")
    path = f"/api/orders/{fire['id']}"
    status, err = await loop.call("PATCH", path, json={"order_type": "complaint"})
    assert (status, err["error"]["code"]) == (403, "emergency_amend_forbidden")
    assert (await loop.get(path))[1] == fire  # nothing changed
    assert [e["action"] for e in await loop.audit(fire["id"])] == ["register"]
    status, moved = await loop.call("PATCH", path, "supervisor", json={"order_type": "help"})
    assert status == 200 and moved["transfer_due_at"] is None
    assert moved["due_date"] is not None  # back on working-day limits

    clue = await loop.new_order(order_type="complaint", stability_clue=True)
    status, err = await loop.call("PATCH", f"/api/orders/{clue['id']}",
                                  json={"stability_clue": False})  # fmt: skip
    assert (status, err["error"]["code"]) == (403, "emergency_amend_forbidden")


async def test_amended_into_a_clue_or_major_the_order_alerts_once(loop: Loop) -> None:
    oid = (await loop.new_order(order_type="complaint"))["id"]
    loop.clock.advance(minutes=3)
    path = f"/api/orders/{oid}"
    status, order = await loop.call("PATCH", path, json={"stability_clue": True})
    assert status == 200, order
    assert order["transfer_due_at"] == iso(START + timedelta(minutes=10))  # from intake
    status, order = await loop.call("PATCH", path, json={"severity": "major"})
    assert status == 200, order
    status, order = await loop.call("PATCH", path, json={"text": "补充：人数增加"})
    assert status == 200, order
    kinds = sorted(a["kind"] for a in await loop.alerts())
    assert kinds == ["severity", "stability_clue"]


async def test_the_receiving_centres_acceptance_confirms_and_its_result_closes(
    loop: Loop,
) -> None:
    oid = (await loop.new_order(order_type="medical", text="老人晕倒"))["id"]
    loop.clock.advance(minutes=2)
    order = await loop.ok(oid, "transfer", "agent", target="120")
    assert order["status"] == "transferred" and order["handed_over_at"] is None
    status, err = await loop.act(oid, "transfer_feedback", "supervisor", result="已送医")
    assert (status, err["error"]["code"]) == (409, "not_handed_over")
    loop.clock.advance(minutes=1)
    accepted_at = loop.clock()
    await loop.as_peer(oid, c.HandoverAccepted("120-20250929-0007"))
    order = (await loop.get(f"/api/orders/{oid}"))[1]
    assert order["status"] == "transferred"  # open until the result comes back
    assert order["handed_over_at"] == iso(accepted_at)
    assert order["handover_confirmed_by"] == "peer"
    assert order["result_due_at"] == iso(accepted_at + timedelta(hours=6))
    with pytest.raises(Conflict):
        await loop.as_peer(oid, c.HandoverAccepted("120-20250929-0007"))
    for who in ("agent", "supervisor"):
        status, err = await loop.act(oid, "handover_decision", who, note="电话确认")
        assert status in (403, 409), err
    await loop.as_peer(oid, c.TransferFeedback("患者已送市一院救治"))
    order = (await loop.get(f"/api/orders/{oid}"))[1]
    assert order["status"] == "closed" and order["result"] == "患者已送市一院救治"
    trail = await loop.audit(oid)
    assert [(e["action"], e["actor_role"]) for e in trail] == [
        ("register", "agent"),
        ("transfer", "agent"),
        ("handover_accepted", "peer"),
        ("transfer_feedback", "peer"),
    ]
    assert trail[2]["detail"] == {"incident_number": "120-20250929-0007", "note": "",
                                  "late": False}  # fmt: skip


async def test_a_rejected_hand_over_is_back_with_the_centre_on_its_clock(loop: Loop) -> None:
    oid = (await loop.new_order(order_type="police", text="邻里纠纷"))["id"]
    await loop.ok(oid, "transfer", "agent", target="110")
    await loop.as_peer(oid, c.HandoverRejected("不属于警情，请12345处理"))
    order = (await loop.get(f"/api/orders/{oid}"))[1]
    assert order["status"] == "registered"
    assert (order["transfer_target"], order["transferred_at"]) == (None, None)
    assert order["transfer_due_at"] == iso(START + timedelta(minutes=10))
    assert order["allowed_actions"] == ["transfer"]
    (alert,) = await loop.alerts()
    assert (alert["kind"], alert["detail"]["reason"], alert["line"]) == (
        "handover_rejected",
        "不属于警情，请12345处理",
        "110",
    )
    await loop.ok(oid, "transfer", "agent", target="110")  # sent again
    with pytest.raises(Denied):  # an agent can never act as the receiving centre
        async with loop.sessions() as session, session.begin():
            agent = Actor(loop.seed.user_ids["agent"], Role.AGENT, None)
            await apply_command(session, oid, c.HandoverAccepted("x"), agent, now=loop.clock(),
                                calendar=ChineseWorkCalendar())  # fmt: skip


async def test_a_supervisors_recorded_decision_confirms_a_hand_over(loop: Loop) -> None:
    oid = (await loop.new_order(order_type="fire", text="厨房起火"))["id"]
    await loop.ok(oid, "transfer", "agent", target="119")
    status, err = await loop.act(oid, "handover_decision", "supervisor", note="")
    assert status == 400, err
    status, err = await loop.act(oid, "handover_decision", "agent", note="接警员已确认")
    assert (status, err["error"]["code"]) == (403, "role_forbidden")
    loop.clock.advance(minutes=12)
    order = await loop.ok(oid, "handover_decision", "supervisor", note="119 接警员电话确认")
    assert order["handover_confirmed_by"] == "supervisor"
    assert order["handed_over_at"] == iso(START + timedelta(minutes=12))
    assert order["result_due_at"] == iso(START + timedelta(minutes=12, hours=6))
    assert (await loop.audit(oid))[-1]["detail"]["late"] is True
    status, err = await loop.act(oid, "handover_decision", "supervisor", note="再次确认")
    assert (status, err["error"]["code"]) == (409, "already_handed_over")
    loop.clock.advance(minutes=1)  # 119's own acceptance arrives later: the decision's time stays
    await loop.as_peer(oid, c.HandoverAccepted("119-88"))
    order = (await loop.get(f"/api/orders/{oid}"))[1]
    assert order["handed_over_at"] == iso(START + timedelta(minutes=12))
    assert order["handover_confirmed_by"] == "peer"
    order = await loop.ok(oid, "transfer_feedback", "supervisor", result="火已扑灭")
    assert order["status"] == "closed"


async def test_alerts_are_acknowledged_once_and_on_the_trail(loop: Loop) -> None:
    oid = (await loop.new_order(order_type="fire", severity="serious"))["id"]
    (alert,) = await loop.alerts(query="?unacknowledged=true")
    path = f"/api/alerts/{alert['id']}/ack"
    for who in ("agent", "namesake"):  # a user merely named like the duty leader: refused
        status, err = await loop.post(path, {"note": "x"}, who)
        assert (status, err["error"]["code"]) == (403, "role_forbidden")
    status, acked = await loop.post(path, {"note": "已通知消防支队"}, "leader")
    assert status == 200, acked
    assert acked["acknowledged_by"] == loop.seed.user_ids["leader"]
    assert acked["acknowledged_at"] == iso(START) and acked["note"] == "已通知消防支队"
    status, err = await loop.post(path, {"note": "again"}, "supervisor")
    assert (status, err["error"]["code"]) == (409, "alert_acknowledged")
    status, err = await loop.post("/api/alerts/999999/ack", {}, "supervisor")
    assert (status, err["error"]["code"]) == (404, "alert_not_found")
    assert await loop.alerts(query="?unacknowledged=true") == []
    assert len(await loop.alerts(query=f"?kind=severity&order_id={oid}")) == 1
    last = (await loop.audit(oid))[-1]
    assert (last["action"], last["detail"]["note"]) == ("alert_acknowledged", "已通知消防支队")


async def raise_trunk(loop: Loop, kind: AlertKind) -> int | None:
    actor = Actor(loop.seed.user_ids["supervisor"], Role.SUPERVISOR, None)
    async with loop.sessions() as session, session.begin():
        detail = {"line": "110", "leg": "primary"}
        return await raise_centre_alert(session, kind, "trunk-110-primary", actor, loop.clock(),
                                        detail)  # fmt: skip


async def test_a_trunk_down_alerts_once_without_an_order(loop: Loop) -> None:
    oid = (await loop.new_order(order_type="fire", severity="serious"))["id"]
    down = await raise_trunk(loop, AlertKind.TRUNK_DOWN)
    assert down is not None
    assert await raise_trunk(loop, AlertKind.TRUNK_DOWN) is None  # still down: not again
    centre, order = await loop.alerts()  # newest first; the order's alert still listed
    assert (order["kind"], order["order_id"], order["subject"]) == ("severity", oid, "")
    assert centre["id"] == down and centre["order_id"] is None
    assert (centre["subject"], centre["line"], centre["order_number"]) == (
        "trunk-110-primary", "110", None)  # fmt: skip
    assert centre["message"] == "110 主用中继线路无应答（探测失败），紧急转接将跳过该线路"
    async with loop.sessions() as session:
        assert {v.alert.id for v in await unpublished(session)} == {down, order["id"]}
    status, acked = await loop.post(
        f"/api/alerts/{down}/ack", {"note": "已联系运营商"}, "supervisor"
    )
    assert status == 200 and acked["acknowledged_at"] == iso(START), acked
    status, err = await loop.post(f"/api/alerts/{down}/ack", {}, "supervisor")
    assert (status, err["error"]["code"]) == (409, "alert_acknowledged")
    up = await raise_trunk(loop, AlertKind.TRUNK_UP)
    assert up is not None and await raise_trunk(loop, AlertKind.TRUNK_UP) is None
    assert [a["kind"] for a in await loop.alerts(query="?unacknowledged=true")] == [
        "trunk_up", "severity"]  # fmt: skip
    async with loop.sessions() as session:  # the centre's trail: raised, acknowledged, raised
        trail = [(c.subject, c.subject_id, c.action) for c in await changes(session)]
    assert trail == [("alert", down, "alert"), ("alert", down, "alert_acknowledged"),
                     ("alert", up, "alert")]  # fmt: skip
    status, figures = await loop.get("/api/figures/emergencies?from=2025-09-29&to=2025-09-29")
    assert status == 200 and figures["total"]["emergency_orders"] == 1, figures


async def test_the_emergency_figures_count_hand_overs_in_time(loop: Loop) -> None:
    in_time = (await loop.new_order(order_type="police"))["id"]
    late = (await loop.new_order(order_type="fire"))["id"]
    waiting = (await loop.new_order(order_type="medical"))["id"]
    await loop.new_order(order_type="complaint")  # not on the clock: not counted
    await loop.ok(in_time, "transfer", "agent", target="110")
    loop.clock.advance(minutes=9)
    await loop.as_peer(in_time, c.HandoverAccepted("110-1"))
    await loop.as_peer(in_time, c.TransferFeedback("已出警处置"))
    await loop.ok(late, "transfer", "agent", target="119")
    loop.clock.advance(minutes=5)
    await loop.as_peer(late, c.HandoverAccepted("119-1"))
    status, figures = await loop.get("/api/figures/emergencies?from=2025-09-29&to=2025-09-29")
    assert status == 200, figures
    assert figures["total"] == {
        "emergency_orders": 3, "handed_over": 2, "in_time": 1, "late": 1,
        "unconfirmed_overdue": 1, "still_open": 2, "result_back": 1,
    }  # fmt: skip
    assert figures["by_line"]["110"]["in_time"] == 1
    assert figures["by_line"]["110"]["result_back"] == 1
    assert figures["by_line"]["119"]["late"] == 1
    assert figures["by_line"]["120"]["unconfirmed_overdue"] == 1 and waiting
    status, empty = await loop.get("/api/figures/emergencies?from=2025-09-30&to=2025-10-01")
    assert status == 200 and empty["total"]["emergency_orders"] == 0
    status, err = await loop.get("/api/figures/emergencies?from=2025-09-29&to=2025-09-29", "urban")
    assert (status, err["error"]["code"]) == (403, "role_forbidden")
    status, err = await loop.get("/api/figures/emergencies?from=2025-09-30&to=2025-09-29")
    assert status == 400, err


async def test_no_alert_row_for_a_refused_command(loop: Loop, engine: AsyncEngine) -> None:
    oid = (await loop.new_order(order_type="police"))["id"]
    status, _ = await loop.act(oid, "transfer_feedback", "supervisor", result="x")
    assert status == 409
    async with loop.sessions() as session:
        count = await session.scalar(select(func.count()).select_from(OrderAlert))
    assert count == 0


async def test_a_matter_transferred_to_an_emergency_line_goes_on_the_clock(loop: Loop) -> None:
    oid = (await loop.new_order(order_type="help", text="求助：邻居家有异味，疑似煤气泄漏"))["id"]
    loop.clock.advance(minutes=4)
    order = await loop.ok(oid, "transfer", "agent", target="119")
    assert order["transfer_due_at"] == iso(START + timedelta(minutes=10))  # from intake
    assert order["overdue"] is False
    loop.clock.advance(minutes=7)
    assert (await loop.get(f"/api/orders/{oid}"))[1]["overdue"] is True  # unconfirmed, late
    traffic = (await loop.new_order(order_type="help", text="路口信号灯坏了"))["id"]
    assert (await loop.ok(traffic, "transfer", "agent", target="122"))["transfer_due_at"] is None


async def test_each_alert_is_published_once(loop: Loop) -> None:
    await loop.new_order(order_type="fire", severity="major")
    await loop.new_order(order_type="complaint", stability_clue=True)
    async with loop.sessions() as session:
        pending = await unpublished(session)
    assert [v.alert.kind for v in pending] == [AlertKind.SEVERITY, AlertKind.STABILITY_CLUE]
    async with loop.sessions() as session, session.begin():
        await mark_published(session, pending[0].alert.id, loop.clock())
        await mark_published(session, pending[0].alert.id, loop.clock() + timedelta(hours=1))
    async with loop.sessions() as session:
        assert [v.alert.kind for v in await unpublished(session)] == [AlertKind.STABILITY_CLUE]
    (published,) = [a for a in await loop.alerts() if a["kind"] == "severity"]
    assert published["published_at"] == iso(START)  # the first stamp stays


async def test_a_matter_110_hands_over_alerts_the_supervisors(loop: Loop) -> None:
    order = await loop.new_order(channel="police_handover", order_type="complaint",
                                 text="110转来：噪音扰民")  # fmt: skip
    (alert,) = await loop.alerts()
    assert (alert["kind"], alert["order_id"]) == ("inbound_matter", order["id"])
    assert alert["message"] == f"110转来事项，已生成工单 {order['number']}"
