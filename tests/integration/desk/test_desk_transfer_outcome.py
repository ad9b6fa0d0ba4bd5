"""A call blind-transferred to another agent gets its outcome from the agent who has the
caller last: through the desk's verb table on a real Redis and a real CRM database (SQLite and
PostgreSQL), the agent who passed the call on is not asked for one, the one who took it is."""

from __future__ import annotations

import json
from dataclasses import replace

from agent_gateway.desk.presence import Paused
from agent_gateway.edge.protocol import PresenceState
from agent_gateway.edge.store import CALLS_KEY
from crm.domain.calls import Disposition
from telephony.call import Call, CallChanged, CallState
from telephony.call_control import (
    Consult,
    ConsultMode,
    ConsultState,
    ControlState,
    Room,
    TargetKind,
    handed_over,
)
from telephony.events import CallTransferred, DialAnswered
from tests.integration.crm.conftest import (  # noqa: F401  (the fixtures, for both databases)
    database_url,
    postgres_template,
    postgres_url,
    sqlite_template,
)
from tests.integration.desk.test_desk_outcome import ORDER, Desk, _record, desk  # noqa: F401


async def _passed_on(desk: Desk, linkedid: str) -> Call:  # noqa: F811
    """A call answered at 1001 and blind-transferred to 1002, who took it."""
    call = await desk.answered(linkedid, "1001")
    # 1001 sends the caller to 1002 (BlindTransfer), the dialplan's Dial reaches 1002's phone
    sent = replace(call, state=CallState.TRANSFERRED, transfer_target="1002")
    desk.tracker.calls[call.linkedid] = sent
    blind = CallTransferred(20.0, call.linkedid, call.uniqueid, call.channel, "blind", "1002")
    await desk.service.on_call(CallChanged(sent, CallState.TALKING, blind))
    taken = replace(sent, transfer_answered_by="PJSIP/1002")
    desk.tracker.calls[call.linkedid] = taken
    dial = DialAnswered(22.0, call.linkedid, call.uniqueid, call.channel, "PJSIP/1002-00000009")
    await desk.service.on_call(CallChanged(taken, CallState.TRANSFERRED, dial))
    return taken


async def test_the_agent_who_took_a_blind_transfer_owns_the_outcome(desk: Desk) -> None:  # noqa: F811
    taken = await _passed_on(desk, "1764590000.7")
    call = taken
    assert desk.state("1002") is PresenceState.TALKING
    assert desk.service.presences["1002"].call_id == call.linkedid

    await desk.ended(taken)
    assert desk.state("1002") is PresenceState.WRAP_UP

    # 1001 passed the call on: not asked for its outcome, and may not give it
    assert await desk.refused("dispose", "1001", call_id=call.linkedid,
                              disposition="test") == "not_your_call"  # fmt: skip
    assert desk.state("1001") is PresenceState.WRAP_UP
    assert await desk.run("wrapup_done", "1001") == {}
    assert desk.state("1001") is PresenceState.AVAILABLE

    # 1002 has the caller last: asked, and its disposition is the call's (it may also save
    # the call's order, which 1001 answered: an order would do as well)
    assert await desk.refused("wrapup_done", "1002") == "outcome_required"
    result = await desk.run("dispose", "1002", call_id=call.linkedid,
                            disposition="answered_at_once")  # fmt: skip
    assert result["disposition"] == "answered_at_once"
    assert await desk.run("wrapup_done", "1002") == {}
    assert desk.state("1002") is PresenceState.AVAILABLE
    record = await _record(desk, call.linkedid)
    assert record is not None and record.disposition is Disposition.ANSWERED_AT_ONCE
    assert record.disposed_by == desk.users["1002"]


async def test_the_agent_who_took_a_blind_transfer_may_save_its_order(desk: Desk) -> None:  # noqa: F811
    taken = await _passed_on(desk, "1764590000.8")
    saved = await desk.run("save_order", "1002", order={**ORDER, "call_id": taken.linkedid})
    assert saved["call_id"] == taken.linkedid
    await desk.ended(taken)
    assert await desk.run("wrapup_done", "1002") == {}  # the order is the call's outcome


def _with_1002(linkedid: str, state: ConsultState, agent_in_call: bool) -> ControlState:
    """Call control's state of a warm transfer (consult in hold mode) from 1001 to 1002;
    completed, as the machine has it then: handed over, 1002's leg the call's agent leg."""
    room = Room.CONSULT if state is ConsultState.ANSWERED else Room.MAIN
    c = Consult("1002", TargetKind.AGENT, "", ConsultMode.HOLD, state, "", 30.0,
                answered_at=32.0, party_channel="Local/1002@hotline-consult-0001;1",
                party_uniqueid="ctl-1", dial_uniqueid="ctl-1-2", party_room=room)  # fmt: skip
    return handed_over(ControlState(
        linkedid, held=agent_in_call, conference=True, consult=c, agent_in_call=agent_in_call,
        agent_channel="PJSIP/1001-1", caller_channel=f"PJSIP/carrier-{linkedid}",
        agent_room=Room.CONSULT if agent_in_call else Room.NONE,
    ))  # fmt: skip


async def test_the_agent_a_warm_transfer_completed_to_takes_the_call(desk: Desk) -> None:  # noqa: F811
    call = await desk.answered("1764590000.9", "1001")
    await desk.service.apply_command_input("1002", Paused("会议"))  # answers consults all the same
    await desk.service.on_control(_with_1002(call.linkedid, ConsultState.ANSWERED, True), call)
    assert desk.state("1002") is PresenceState.PAUSED  # talking to 1001, not on the call yet
    await desk.service.on_control(_with_1002(call.linkedid, ConsultState.COMPLETED, False), call)
    # 1002 has the caller: on the call, its outcome owner; 1001 wraps up.
    assert desk.state("1002") is PresenceState.TALKING
    assert desk.service.presences["1002"].call_id == call.linkedid
    assert desk.state("1001") is PresenceState.WRAP_UP
    now = desk.tracker.calls[call.linkedid]
    assert now.outcome_owner == "PJSIP/1002" and now.state is CallState.TALKING
    await desk.service.writer.drained()  # the desks' record of the call names 1002
    raw = await desk.service.redis.hget(CALLS_KEY, call.linkedid)
    assert raw is not None and json.loads(raw)["agent_extension"] == "1002"
    saved = await desk.run("save_order", "1002", order={**ORDER, "call_id": call.linkedid})
    assert saved["call_id"] == call.linkedid
    assert await desk.refused("dispose", "1001", call_id=call.linkedid,
                              disposition="test") == "not_your_call"  # fmt: skip
    assert await desk.run("wrapup_done", "1001") == {}  # 1001 owes no outcome
    await desk.ended(now)
    assert desk.state("1002") is PresenceState.WRAP_UP
    assert await desk.run("wrapup_done", "1002") == {}  # its order is the call's outcome
