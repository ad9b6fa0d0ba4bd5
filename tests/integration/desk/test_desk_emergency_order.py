"""The desk's part of a warm transfer to 110/119/120, on a real Redis and a real CRM database
(SQLite and PostgreSQL): the control state reaches the desktops as call updates and the
snapshot's call record; an agent whose leg left the call wraps up; an emergency order saved
after the agent reached the operator is transferred to that line in the same save (audited,
as the agent, its hand-over stored for the receiving centre), and not when the consult
failed, went to a colleague, or the order is no emergency."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC
from typing import Any

from sqlalchemy import select

from agent_gateway.edge.bus import BusMessage
from agent_gateway.edge.store import CALLS_KEY
from crm.db.exchange_models import Handover
from crm.db.models import AuditEntry, WorkOrder
from crm.domain.enums import HandoverDirection, Status, TransferTarget
from telephony.call_control import (
    Consult,
    ConsultMode,
    ConsultState,
    ControlState,
    Room,
    TargetKind,
    TrunkAttempt,
)
from tests.integration.crm.conftest import (  # noqa: F401  (the fixtures, for both databases)
    database_url,
    postgres_template,
    postgres_url,
    sqlite_template,
)
from tests.integration.desk.test_desk_outcome import ARRIVED, Desk, desk  # noqa: F401

POLICE = {"order_type": "police", "text": "有人持刀闹事", "location": "幸福路 8 号"}


def consult(linkedid: str, state: ConsultState, kind: TargetKind = TargetKind.EMERGENCY,
            reason: str = "") -> ControlState:  # fmt: skip
    line = "110" if kind is TargetKind.EMERGENCY else ""
    attempt = TrunkAttempt(line or "2001", "primary", "ANSWER", ARRIVED + 20, ARRIVED + 24)
    c = Consult(
        target=line or "2001", target_kind=kind, line=line, mode=ConsultMode.HOLD, state=state,
        reason=reason, started_at=ARRIVED + 20,
        answered_at=ARRIVED + 24 if state is not ConsultState.FAILED else None,
        attempts=(attempt,),
    )  # fmt: skip
    return ControlState(
        linkedid, held=True, conference=True, consult=c, agent_channel="PJSIP/1001-1",
        caller_channel=f"PJSIP/carrier-{linkedid}", agent_room=Room.CONSULT,
    )  # fmt: skip


async def _order(at: Desk, order_id: int) -> tuple[WorkOrder, list[AuditEntry]]:
    async with at.sessions() as session:
        order = await session.get(WorkOrder, order_id)
        assert order is not None
        trail = await session.scalars(
            select(AuditEntry).where(AuditEntry.order_id == order_id).order_by(AuditEntry.id)
        )
        return order, list(trail)


async def test_an_emergency_order_saved_after_reaching_110_is_transferred_to_it(
    desk: Desk,  # noqa: F811
) -> None:
    call = await desk.answered("1764590100.1", "1001")
    await desk.service.on_control(consult(call.linkedid, ConsultState.RINGING), call)
    await desk.service.on_control(consult(call.linkedid, ConsultState.ANSWERED), call)
    await desk.service.on_control(consult(call.linkedid, ConsultState.THREE_WAY), call)
    saved = await desk.run("save_order", "1001", order={**POLICE, "call_id": call.linkedid})
    assert saved["transferred_to"] == "110"
    order, trail = await _order(desk, saved["order_id"])
    assert order.status is Status.TRANSFERRED and order.transfer_target is TransferTarget.POLICE_110
    assert [(e.action, e.to_status, e.actor_id) for e in trail][-1] == (
        "transfer", Status.TRANSFERRED, desk.users["1001"]
    )
    assert order.transfer_due_at is not None  # the desk's clock: intake + 10 min
    due = order.transfer_due_at.replace(tzinfo=UTC).timestamp()
    assert saved["transfer_due_at"] == due
    assert 599 <= due - order.registered_at.replace(tzinfo=UTC).timestamp() <= 601
    async with desk.sessions() as session:  # one click: the hand-over to 110 follows
        handovers = list(await session.scalars(
            select(Handover).where(Handover.order_id == order.id)))  # fmt: skip
    assert [(h.direction, h.line, h.linkedid) for h in handovers] == [
        (HandoverDirection.OUTBOUND, "110", call.linkedid)
    ]
    await desk.service.writer.drained()  # the desktops' record of the call shows its clock
    raw = await desk.service.redis.hget(CALLS_KEY, call.linkedid)
    assert raw is not None and json.loads(raw)["control"]["transfer_due_at"] == due


async def test_no_transfer_without_the_operator_reached_or_for_other_orders(
    desk: Desk,  # noqa: F811
) -> None:
    cases: list[tuple[str, ControlState | None, dict[str, Any]]] = [
        ("1764590200.1", None, POLICE),  # no consult at all
        ("1764590200.2", consult("1764590200.2", ConsultState.RINGING), POLICE),
        ("1764590200.3", consult("1764590200.3", ConsultState.FAILED, reason="all_trunks_down"),
         POLICE),
        ("1764590200.4", consult("1764590200.4", ConsultState.THREE_WAY, TargetKind.COLLEAGUE),
         POLICE),
        ("1764590200.5", consult("1764590200.5", ConsultState.THREE_WAY),
         {"order_type": "complaint", "text": "噪音扰民"}),
        # 110 answered, the agent found it not 110's matter and cancelled.
        ("1764590200.6", consult("1764590200.6", ConsultState.CANCELLED), POLICE),
    ]  # fmt: skip
    for linkedid, state, form in cases:
        call = await desk.answered(linkedid, "1001")
        if state is not None and state.consult is not None:
            if state.consult.state is ConsultState.CANCELLED:  # answered first
                answered = dataclasses.replace(state.consult, state=ConsultState.ANSWERED)
                await desk.service.on_control(dataclasses.replace(state, consult=answered), call)
            await desk.service.on_control(state, call)
        saved = await desk.run("save_order", "1001", order={**form, "call_id": linkedid})
        assert "transferred_to" not in saved, linkedid
        order, _ = await _order(desk, saved["order_id"])
        assert order.status is Status.REGISTERED, linkedid
        await desk.ended(call)
        await desk.run("wrapup_done", "1001")


async def test_the_control_state_reaches_desktops_and_a_completed_transfer_wraps_up(
    desk: Desk,  # noqa: F811
) -> None:
    sent: list[BusMessage] = []
    desk.service.writer.attach(sent.append)  # as the in-process gateway gets them

    def updates(topic: str) -> list[dict[str, Any]]:
        return [m.body for m in sent if m.topic == topic and m.body["type"] == "call_update"]

    call = await desk.answered("1764590300.1", "1001")
    answered = consult(call.linkedid, ConsultState.ANSWERED)
    await desk.service.on_control(answered, call)
    await desk.service.writer.drained()
    raw = await desk.service.redis.hget(CALLS_KEY, call.linkedid)
    assert raw is not None
    record = json.loads(raw)
    assert record["control"]["consult"]["state"] == "answered"
    assert record["control"]["allowed"] == ["consult_cancel", "consult_complete", "three_way"]
    assert record["control"]["emergency_started_at"] == ARRIVED + 20
    to_agent = updates("agent.1001")
    assert to_agent[-1]["control"]["consult"]["attempts"][0]["status"] == "ANSWER"
    assert to_agent[-1]["held"] is True
    assert desk.state("1001").value == "talking"
    assert answered.consult is not None
    completed = dataclasses.replace(
        answered.consult, state=ConsultState.COMPLETED, party_room=Room.MAIN
    )
    done = dataclasses.replace(
        answered, held=False, agent_in_call=False, agent_room=Room.NONE, consult=completed
    )
    await desk.service.on_control(done, call)
    assert desk.state("1001").value == "wrap_up"  # the caller is with 110, the agent is done
    supervisors = updates("supervisors")
    assert supervisors[-1]["control"]["consult"]["state"] == "completed"
    assert supervisors[-1]["control"]["allowed"] == []


async def test_the_control_verbs_refuse_what_does_not_apply_sending_nothing(
    desk: Desk,  # noqa: F811
) -> None:
    """Refused with the adapter's code before any action reaches Asterisk: no call at this
    desk, a consult of yourself or of a number nobody may consult, a step of a consult that
    was never started, a resume without a hold."""
    assert await desk.refused("hold", "1001") == "no_call"
    assert await desk.refused("consult", "1001", target="110") == "no_call"
    await desk.answered("1764590400.1", "1001")
    sent = len(desk.ami.actions)
    assert await desk.refused("consult", "1001", target="1001") == "bad_target"
    assert await desk.refused("consult", "1001", target="9999") == "bad_target"
    for step in ("consult_complete", "consult_cancel", "three_way", "leave"):
        assert await desk.refused(step, "1001") == "no_consult", step
    assert await desk.refused("resume", "1001") == "not_now"
    assert await desk.refused("hold", "1002") == "no_call"  # not the other agent's call
    assert desk.ami.actions[sent:] == []
