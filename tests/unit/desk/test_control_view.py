"""What desktops are told of a call's control: the controls that apply, a consult's steps,
the emergency clock's start and the line an emergency order is transferred to."""

from __future__ import annotations

import dataclasses

from agent_gateway.desk.control_view import (
    ControlStates,
    agent_left,
    allowed,
    control_info,
    taker,
)
from agent_gateway.desk.rules import call_record, call_update
from agent_gateway.edge.protocol import CallUpdate
from telephony.call import Call, CallState
from telephony.call_control import (
    Consult,
    ConsultMode,
    ConsultState,
    ControlState,
    Room,
    TargetKind,
    TrunkAttempt,
    handed_over,
)

L = "200.1"
TALKING = Call(
    linkedid=L, uniqueid=L, channel="PJSIP/carrier-1", caller_number="13800001234",
    caller_name="张三", started_at=100.0, state=CallState.TALKING, queue="hotline",
    agent_interface="PJSIP/1001", agent_channel="PJSIP/1001-00000002", answered_at=110.0,
)  # fmt: skip
WITH_CALLER = ControlState(
    L, conference=True, agent_channel="PJSIP/1001-00000002", agent_room=Room.MAIN
)


def consult(
    state: ConsultState, kind: TargetKind = TargetKind.EMERGENCY, **more: object
) -> Consult:
    line = "110" if kind is TargetKind.EMERGENCY else ""
    fields: dict[str, object] = dict(
        target="110" if line else "1002", target_kind=kind, line=line, mode=ConsultMode.HOLD,
        state=state, reason="", started_at=120.0,
    )  # fmt: skip
    return Consult(**(fields | more))  # type: ignore[arg-type]


def held_with(c: Consult) -> ControlState:
    return dataclasses.replace(WITH_CALLER, held=True, agent_room=Room.CONSULT, consult=c)


def test_no_control_while_the_call_rings_or_once_it_ended() -> None:
    for state in (CallState.RINGING, CallState.QUEUED, CallState.ENDED):
        assert allowed(None, dataclasses.replace(TALKING, state=state)) == []
        assert allowed(WITH_CALLER, dataclasses.replace(TALKING, state=state)) == []


def test_a_talking_call_offers_hold_mute_and_consult_not_resume_or_complete() -> None:
    assert allowed(None, TALKING) == ["consult", "hangup", "hold", "mute", "transfer"]
    # In the rooms: no blind transfer (it acts on the queue's bridge).
    assert allowed(WITH_CALLER, TALKING) == ["consult", "hangup", "hold", "mute"]
    on_hold = dataclasses.replace(WITH_CALLER, held=True, agent_room=Room.CONSULT)
    assert allowed(on_hold, TALKING) == ["hangup", "resume"]
    muted = dataclasses.replace(WITH_CALLER, muted=True)
    assert "unmute" in allowed(muted, TALKING) and "mute" not in allowed(muted, TALKING)


def test_complete_three_way_and_cancel_only_once_the_consult_is_answered() -> None:
    assert allowed(held_with(consult(ConsultState.RINGING)), TALKING) == ["consult_cancel"]
    answered = held_with(consult(ConsultState.ANSWERED, answered_at=130.0))
    assert allowed(answered, TALKING) == ["consult_cancel", "consult_complete", "three_way"]
    three = dataclasses.replace(
        WITH_CALLER, consult=consult(ConsultState.THREE_WAY, answered_at=130.0)
    )
    assert allowed(three, TALKING) == ["consult_cancel", "leave", "mute"]
    failed = dataclasses.replace(WITH_CALLER, consult=consult(ConsultState.FAILED, reason="busy"))
    # Back with the caller; no hang-up while a consult is live (above), again once it is over.
    assert allowed(failed, TALKING) == ["consult", "hangup", "hold", "mute"]
    gone = dataclasses.replace(three, agent_in_call=False)
    assert allowed(gone, TALKING) == []


def test_the_update_carries_the_consult_with_every_trunk_attempt() -> None:
    attempts = (
        TrunkAttempt("119", "primary", "CONGESTION", 121.0, 121.2),
        TrunkAttempt("119", "backup", "", 121.3),
    )
    c = consult(ConsultState.RINGING, attempts=attempts, target="119", line="119")
    info = control_info(held_with(c), TALKING, 120.0)
    update = call_update(TALKING, 122.0, False, control=info)
    data = update.model_dump(mode="json")
    assert data["held"] is True  # the caller hears hold music while the agent consults
    assert data["control"]["consult"]["state"] == "ringing"
    assert data["control"]["consult"]["attempts"] == [
        {"line": "119", "leg": "primary", "status": "CONGESTION", "started_at": 121.0,
         "ended_at": 121.2},
        {"line": "119", "leg": "backup", "status": "", "started_at": 121.3, "ended_at": None},
    ]  # fmt: skip
    assert data["control"]["emergency_started_at"] == 120.0
    CallUpdate.model_validate(data)  # the protocol's model reads it back
    assert call_record(TALKING, False, control=info)["control"] == data["control"]


def test_the_emergency_clock_starts_with_the_first_emergency_consult_only() -> None:
    states = ControlStates()
    states.changed(held_with(consult(ConsultState.RINGING, kind=TargetKind.AGENT)))
    assert states.emergency_started == {}
    states.changed(held_with(consult(ConsultState.DIALING, started_at=150.0)))
    states.changed(held_with(consult(ConsultState.FAILED, started_at=150.0, reason="busy")))
    states.changed(held_with(consult(ConsultState.DIALING, started_at=170.0)))
    assert states.info(TALKING).emergency_started_at == 150.0


def test_the_line_reached_is_kept_past_the_call_for_the_order_saved_at_wrap_up() -> None:
    states = ControlStates()
    states.changed(held_with(consult(ConsultState.RINGING)))
    assert states.emergency_line(L) is None  # not reached yet
    states.changed(held_with(consult(ConsultState.FAILED, reason="all_trunks_down")))
    assert states.emergency_line(L) is None  # never reached
    states.changed(held_with(consult(ConsultState.ANSWERED, answered_at=130.0)))
    assert states.emergency_line(L) is None  # the agent talks to 110 first
    states.changed(held_with(consult(ConsultState.CANCELLED, answered_at=130.0)))
    assert states.emergency_line(L) is None  # "not 110's matter": cancelled, not reached
    for reached in (ConsultState.THREE_WAY, ConsultState.COMPLETED):
        again = ControlStates()
        again.changed(held_with(consult(ConsultState.ANSWERED, answered_at=130.0)))
        again.changed(held_with(consult(reached, answered_at=130.0)))
        again.changed(held_with(consult(ConsultState.CANCELLED, answered_at=130.0)))
        again.forget(L)  # the call ended
        assert again.emergency_line(L) == "110", reached
        assert again.info(TALKING).consult is None
    other = ControlStates()
    other.changed(held_with(consult(ConsultState.COMPLETED, kind=TargetKind.COLLEAGUE)))
    assert other.emergency_line(L) is None  # a colleague is no emergency line


def test_the_agent_leaves_once_when_its_leg_goes() -> None:
    three = dataclasses.replace(WITH_CALLER, consult=consult(ConsultState.THREE_WAY))
    left = dataclasses.replace(three, agent_in_call=False, agent_room=Room.NONE)
    assert agent_left(three, left)
    assert agent_left(None, left)
    assert not agent_left(left, left)
    assert not agent_left(WITH_CALLER, three)


def test_the_agent_consulted_takes_the_call_once_it_has_the_caller() -> None:
    agent = consult(ConsultState.THREE_WAY, kind=TargetKind.AGENT, party_uniqueid="p",
                    party_channel="Local/1002@hotline-consult-1;1", party_room=Room.MAIN)
    three = dataclasses.replace(WITH_CALLER, consult=agent)
    completed = dataclasses.replace(agent, state=ConsultState.COMPLETED)
    left = handed_over(dataclasses.replace(
        three, agent_in_call=False, agent_room=Room.NONE, consult=completed))
    assert taker(three, three) is None  # three-way: the first agent still has the call
    assert taker(three, left) == "1002"  # left the three-way (or completed the transfer)
    assert agent_left(three, left) == "1001"  # done with it: it wraps up
    assert taker(left, left) is None  # once
    assert agent_left(left, left) is None
    gone = dataclasses.replace(left, agent_in_call=False, agent_room=Room.NONE)
    assert agent_left(left, gone) == "1002"  # the agent it was handed to hung up
    emergency = handed_over(dataclasses.replace(
        left, taken_by="", consult=consult(ConsultState.COMPLETED, party_room=Room.MAIN)))
    assert taker(three, emergency) is None  # 110 is no agent of ours
