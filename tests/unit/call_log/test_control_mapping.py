"""Call control's changes as call-log reports: the events and the record's emergency facts."""

from __future__ import annotations

import dataclasses

from call_log.control_mapping import control_update
from call_log.mapping import utc
from crm.domain.calls import CallEventKind
from telephony.call import Call, CallState
from telephony.call_control import (
    Consult,
    ConsultMode,
    ConsultState,
    ControlState,
    Room,
    TargetKind,
    TrunkAttempt,
    caller_hung_up,
)

EMERGENCY = ("110", "119", "120")
CALL = Call("1.1", "1.1", "PJSIP/carrier-1", "13900000000", "周到", 1.0,
            state=CallState.TALKING, answered_at=5.0, agent_interface="PJSIP/1001",
            agent_channel="PJSIP/1001-2", recording="20261201/1.1.wav")  # fmt: skip
TALKING = ControlState("1.1", agent_channel="PJSIP/1001-2", caller_channel="PJSIP/carrier-1",
                       agent_room=Room.MAIN, conference=True, changed_at=6.0)  # fmt: skip
RINGING = Consult("110", TargetKind.EMERGENCY, "110", ConsultMode.HOLD, ConsultState.RINGING,
                  "", 10.0, attempts=(TrunkAttempt("110", "primary", "", 10.1),),
                  party_uniqueid="p", dial_uniqueid="p-2")  # fmt: skip


def kinds(before: ControlState | None, after: ControlState) -> list[CallEventKind]:
    return [e.kind for e in control_update(before, after, CALL, EMERGENCY).events]


def test_hold_resume_mute_unmute() -> None:
    held = dataclasses.replace(TALKING, held=True, agent_room=Room.CONSULT, changed_at=7.0)
    assert kinds(TALKING, held) == [CallEventKind.HELD]
    event = control_update(TALKING, held, CALL, EMERGENCY).events[0]
    assert event.at == utc(7.0) and event.agent == "1001"
    assert kinds(held, TALKING) == [CallEventKind.RESUMED]
    muted = dataclasses.replace(TALKING, muted=True)
    assert kinds(TALKING, muted) == [CallEventKind.MUTED]
    assert kinds(muted, TALKING) == [CallEventKind.UNMUTED]
    assert kinds(TALKING, TALKING) == []


def test_a_warm_transfer_to_110_on_record() -> None:
    held = dataclasses.replace(TALKING, held=True, agent_room=Room.CONSULT)
    ringing = dataclasses.replace(held, consult=RINGING, changed_at=10.1)
    first = control_update(held, ringing, CALL, EMERGENCY)
    assert [e.kind for e in first.events] == [CallEventKind.CONSULT_STARTED]
    assert first.events[0].detail == {"target": "110", "kind": "emergency", "line": "110",
                                      "mode": "hold"}  # fmt: skip
    assert first.facts.emergency_started_at == utc(10.0) and first.facts.emergency_line == ""
    answered = dataclasses.replace(
        RINGING, state=ConsultState.ANSWERED, answered_at=12.0, party_room=Room.CONSULT,
        attempts=(TrunkAttempt("110", "primary", "ANSWER", 10.1, 12.0),),
    )  # fmt: skip
    talking = dataclasses.replace(ringing, consult=answered, changed_at=12.0)
    second = control_update(ringing, talking, CALL, EMERGENCY).events
    assert [e.kind for e in second] == [CallEventKind.TRUNK_ATTEMPT, CallEventKind.CONSULT_ANSWERED]
    assert second[0].detail == {"line": "110", "leg": "primary", "status": "ANSWER", "ms": 1900}
    assert second[1].detail["by"] == "primary"
    done = dataclasses.replace(
        talking, agent_in_call=False, held=False, agent_room=Room.NONE, changed_at=15.0,
        consult=dataclasses.replace(answered, state=ConsultState.COMPLETED, party_room=Room.MAIN),
    )  # fmt: skip
    last = control_update(talking, done, CALL, EMERGENCY)
    assert [e.kind for e in last.events] == [CallEventKind.TRANSFERRED, CallEventKind.PARTY_LEFT]
    assert last.facts.emergency_line == "110"
    ended = dataclasses.replace(done, ended=True, changed_at=15.0)
    assert kinds(None, ended) == [  # a call log that lost its memory repeats them at the
        CallEventKind.CONSULT_STARTED, CallEventKind.TRUNK_ATTEMPT,  # same times: stored once
        CallEventKind.CONSULT_ANSWERED, CallEventKind.TRANSFERRED,
    ]  # fmt: skip


def test_a_failed_or_cancelled_consult_hands_over_nothing() -> None:
    for state, kind in ((ConsultState.FAILED, CallEventKind.CONSULT_FAILED),
                        (ConsultState.CANCELLED, CallEventKind.CONSULT_CANCELLED)):  # fmt: skip
        before = dataclasses.replace(TALKING, consult=RINGING)
        after = dataclasses.replace(
            before, consult=dataclasses.replace(RINGING, state=state, reason="all_trunks_down")
        )
        report = control_update(before, after, CALL, EMERGENCY)
        assert [e.kind for e in report.events] == [kind]
        assert report.events[0].detail["reason"] == "all_trunks_down"
        assert report.facts.emergency_line == ""


def test_a_consult_of_another_agent_starts_no_emergency_clock() -> None:
    agent = dataclasses.replace(RINGING, target="1002", target_kind=TargetKind.AGENT, line="")
    report = control_update(TALKING, dataclasses.replace(TALKING, consult=agent), CALL, EMERGENCY)
    assert report.facts.emergency_started_at is None
    done = dataclasses.replace(TALKING, agent_in_call=False, consult=dataclasses.replace(
        agent, state=ConsultState.COMPLETED))  # fmt: skip
    assert control_update(TALKING, done, CALL, EMERGENCY).facts.emergency_line == ""


def test_a_state_read_back_after_a_restart_is_restated() -> None:
    """The restarted backend reads the three-party call back from Asterisk: what led to it
    is restated (stored only where the dead backend had not written it), what follows is
    recorded as usual."""
    three = dataclasses.replace(
        RINGING, state=ConsultState.THREE_WAY, answered_at=12.0, party_room=Room.MAIN,
        attempts=(TrunkAttempt("110", "primary", "ANSWER", 10.1, 12.0),),
    )  # fmt: skip
    adopted = dataclasses.replace(TALKING, consult=three, adopted=True, changed_at=30.0)
    events = control_update(None, adopted, CALL, EMERGENCY).events
    assert [e.kind for e in events] == [CallEventKind.CONSULT_STARTED, CallEventKind.TRUNK_ATTEMPT,
                                        CallEventKind.CONSULT_ANSWERED, CallEventKind.THREE_WAY]
    assert all(e.restated for e in events)
    seen = control_update(None, dataclasses.replace(adopted, adopted=False), CALL, EMERGENCY)
    assert not any(e.restated for e in seen.events)  # a state seen live is no restatement
    left = dataclasses.replace(adopted, agent_in_call=False, agent_room=Room.NONE,
                               consult=dataclasses.replace(three, state=ConsultState.COMPLETED))
    after = control_update(adopted, left, CALL, EMERGENCY).events
    assert [e.kind for e in after] == [CallEventKind.TRANSFERRED, CallEventKind.PARTY_LEFT]
    assert not any(e.restated for e in after)


def test_the_caller_hanging_up_while_a_leg_rings_stores_the_attempt_and_the_end() -> None:
    held = dataclasses.replace(TALKING, held=True, agent_room=Room.CONSULT, consult=RINGING)
    report = control_update(held, caller_hung_up(held, 14.1), CALL, EMERGENCY)
    assert [e.kind for e in report.events] == [
        CallEventKind.TRUNK_ATTEMPT, CallEventKind.CONSULT_CANCELLED
    ]
    attempt, ended = report.events
    assert attempt.detail == {"line": "110", "leg": "primary", "status": "CANCEL", "ms": 4000}
    assert ended.at == utc(14.1) and ended.detail["reason"] == "hung_up"
