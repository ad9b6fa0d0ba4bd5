"""A warm transfer (or a three-party call) handed to another agent, and a caller never left
alone in its room: the pure rules (control machine, reactions, tracker, call-log events,
the re-queue dialplan)."""

from __future__ import annotations

import asyncio
from functools import reduce
from pathlib import Path

import pytest

from call_log.control_mapping import control_events
from config.secrets import resolve_secrets
from config.settings import load_settings
from crm.domain.calls import CallEventKind
from telephony.asterisk_config import Layout, render
from telephony.call import Call, CallState
from telephony.call_control import (
    Consult,
    ConsultMode,
    ConsultState,
    ControlCode,
    ControlState,
    Room,
    TargetKind,
    apply,
    started,
)
from telephony.call_control_service import CallControl
from telephony.call_targets import Target
from telephony.control_reactions import Reaction, reaction, who_left
from telephony.control_rules import caller_alone, commands_allowed
from telephony.control_store import ControlFailed
from telephony.events import (
    AgentAnswered,
    CallerJoinedQueue,
    ChannelCreated,
    ChannelHungUp,
    ConferenceJoined,
    ConferenceLeft,
    DialStarted,
    DomainEvent,
    TrunksFailed,
)
from telephony.positions import positions
from telephony.tracker import CallTracker
from tests.unit.test_call_control_service import CALL, SuccessfulAmi

L = "1700000000.1"
CALLER, AGENT = "PJSIP/carrier-00000001", "PJSIP/1001-00000002"
PARTY, DIAL = "ctl-ab", "ctl-ab-2"
TAKER = "Local/1002@hotline-consult-00000003;1"
MAIN, CONSULT = f"m{L}", f"c{L}"


def joined(channel: str, room: str, uniqueid: str = "u", at: float = 1.0) -> ConferenceJoined:
    return ConferenceJoined(at, L, uniqueid, channel, room)


def left(channel: str, room: str, uniqueid: str = "u", at: float = 1.0) -> ConferenceLeft:
    return ConferenceLeft(at, L, uniqueid, channel, room)


def hung(channel: str, uniqueid: str, at: float = 30.0) -> ChannelHungUp:
    return ChannelHungUp(at, L, uniqueid, channel, 16, "Normal Clearing")


def run(state: ControlState, *events: DomainEvent) -> ControlState:
    return reduce(apply, events, state)


def consulting(target: str, kind: TargetKind, mode: ConsultMode = ConsultMode.HOLD
               ) -> ControlState:  # fmt: skip
    """Caller and agent in the rooms, the agent consulting `target` (dialled, not answered)."""
    st = ControlState(L, agent_channel=AGENT, caller_channel=CALLER)
    agent_room = CONSULT if mode is ConsultMode.HOLD else MAIN
    st = run(st, joined(CALLER, MAIN), joined(AGENT, agent_room))
    line = target if kind is TargetKind.EMERGENCY else ""
    c = Consult(target, kind, line, mode, ConsultState.DIALING, "", 10.0,
                party_uniqueid=PARTY, dial_uniqueid=DIAL)  # fmt: skip
    st = started(st, c)
    local = f"Local/{target}@hotline-consult-00000003;1"
    dest = f"PJSIP/{target}-00000004" if kind is TargetKind.AGENT else "PJSIP/trunk-110-primary-4"
    return run(
        st, ChannelCreated(10.1, L, PARTY, local, "", "", "", ""),
        DialStarted(10.2, L, DIAL, local.replace(";1", ";2"), dest, "d"),
    )  # fmt: skip


def handed_to_1002() -> tuple[ControlState, ControlState]:
    """1002 answered the consult, 1001 completed the transfer: (before, after) its hang-up."""
    st = run(consulting("1002", TargetKind.AGENT), joined(TAKER, CONSULT, PARTY, 12.0))
    st = run(st, left(TAKER, CONSULT, PARTY, 13.0), joined(TAKER, MAIN, PARTY, 13.01))
    return st, run(st, hung(AGENT, "a", 14.0))


def test_a_warm_transfer_to_another_agent_hands_it_the_call_with_its_controls() -> None:
    before, after = handed_to_1002()
    assert after.taken_by == "1002" and after.agent_channel == TAKER
    assert after.agent_in_call and after.agent_room is Room.MAIN and not after.held
    assert after.consult is not None and after.consult.state is ConsultState.COMPLETED
    assert after.consult.party_room is Room.NONE  # its leg is the agent leg now
    assert commands_allowed(after) == {"hold", "consult", "mute", "hangup"}
    assert reaction(before, after) is None  # nobody hung up: 1002 has the caller
    held = run(after, left(TAKER, MAIN, PARTY), joined(TAKER, CONSULT, PARTY))
    assert held.held and caller_alone(held)  # the caller hears hold music
    assert commands_allowed(held) == {"resume", "hangup"}
    back = run(held, joined(TAKER, MAIN, PARTY))
    assert not back.held and not caller_alone(back)


def test_leaving_a_three_party_call_with_another_agent_hands_it_the_call() -> None:
    st = run(consulting("1002", TargetKind.AGENT, ConsultMode.THREE_WAY),
             joined(TAKER, MAIN, PARTY, 12.0))  # fmt: skip
    assert st.three_party and st.taken_by == ""
    after = run(st, hung(AGENT, "a", 14.0))
    assert after.taken_by == "1002" and after.agent_channel == TAKER and after.agent_in_call


def test_a_transfer_to_110_hands_nothing_over() -> None:
    st = run(consulting("110", TargetKind.EMERGENCY), joined(TAKER, CONSULT, PARTY, 12.0))
    st = run(st, joined(TAKER, MAIN, PARTY, 13.0), hung(AGENT, "a", 14.0))
    assert st.consult is not None and st.consult.state is ConsultState.COMPLETED
    assert not st.agent_in_call and st.taken_by == ""


def test_the_agent_handed_the_call_hanging_up_ends_it_for_the_caller() -> None:
    _, handed = handed_to_1002()
    gone = run(handed, left(TAKER, MAIN, PARTY, 20.0), hung(TAKER, PARTY, 20.1))
    assert not gone.agent_in_call
    assert reaction(handed, gone) is Reaction.END_CALL
    assert who_left(handed, gone) == "agent"


def test_the_operator_a_transfer_left_the_caller_with_hanging_up_ends_the_call() -> None:
    st = run(consulting("110", TargetKind.EMERGENCY), joined(TAKER, CONSULT, PARTY, 12.0))
    done = run(st, joined(TAKER, MAIN, PARTY, 13.0), hung(AGENT, "a", 14.0))
    gone = run(done, left(TAKER, MAIN, PARTY, 20.0))
    assert reaction(done, gone) is Reaction.END_CALL
    assert who_left(done, gone) == "transfer target 110"
    assert reaction(gone, run(gone, hung(TAKER, PARTY, 20.1))) is None  # once


def test_the_agent_lost_then_the_consult_failing_puts_the_caller_back_in_its_queue() -> None:
    ringing = consulting("110", TargetKind.EMERGENCY)
    lost = run(ringing, hung(AGENT, "a", 11.0))
    assert reaction(ringing, lost) is Reaction.KEEP_CALLER  # the caller holds for 110
    failed = run(lost, TrunksFailed(14.0, L, DIAL, "Local/110@x;2", "110"))
    assert failed.consult is not None and failed.consult.state is ConsultState.FAILED
    assert reaction(lost, failed) is Reaction.REQUEUE
    assert reaction(failed, run(failed, hung(TAKER, PARTY, 14.1))) is None  # once


def test_an_agent_consulted_never_answering_with_the_agent_lost_requeues_the_caller() -> None:
    ringing = consulting("1002", TargetKind.AGENT)
    lost = run(ringing, hung(AGENT, "a", 11.0))
    unanswered = run(lost, hung(TAKER, PARTY, 41.0))  # Dial's 30 s ran out
    assert unanswered.consult is not None and unanswered.consult.state is ConsultState.FAILED
    assert reaction(lost, unanswered) is Reaction.REQUEUE


def test_a_consult_failing_with_the_agent_there_requeues_nothing() -> None:
    ringing = consulting("110", TargetKind.EMERGENCY)
    failed = run(ringing, TrunksFailed(14.0, L, DIAL, "Local/110@x;2", "110"))
    assert reaction(ringing, failed) is Reaction.AGENT_BACK


def test_the_tracker_follows_the_caller_back_into_its_queue_for_a_fresh_agent() -> None:
    tracker = CallTracker()
    tracker.apply(ChannelCreated(0.0, L, L, CALLER, "13800000000", "张三", "hotline-inbound",
                                 "12345"))  # fmt: skip
    tracker.apply(CallerJoinedQueue(1.0, L, L, CALLER, "hotline", 1))
    tracker.apply(AgentAnswered(2.0, L, L, CALLER, "hotline", "PJSIP/1001", "王芳", AGENT, 1, 1))
    tracker.apply(joined(CALLER, MAIN, L, 3.0))
    tracker.handed_to(L, "PJSIP/1002")
    tracker.apply(hung(AGENT, "a", 4.0))
    call = tracker.calls[L]
    assert call.in_rooms and call.outcome_owner == "PJSIP/1002"
    tracker.apply(CallerJoinedQueue(5.0, L, L, CALLER, "hotline", 1))
    back = tracker.calls[L]
    assert back.state is CallState.QUEUED and not back.in_rooms and back.completed_by == ""
    assert back.transfer_answered_by == "" and back.agent_channel == ""
    other = "1700000004.5"
    tracker.apply(ChannelCreated(4.0, other, other, "PJSIP/carrier-5", "139", "", "hotline-inbound",
                                 "12345"))  # fmt: skip
    tracker.apply(CallerJoinedQueue(4.5, other, other, "PJSIP/carrier-5", "hotline", 1))
    assert back.requeued and not tracker.calls[other].requeued
    # told its position first, ahead of the caller who joined before it came back
    assert positions(tracker.calls.values(), ["hotline"]) == {L: 1, other: 2}
    tracker.apply(AgentAnswered(6.0, L, L, CALLER, "hotline", "PJSIP/1003", "李", "PJSIP/1003-9",
                                1, 1))  # fmt: skip
    again = tracker.calls[L]
    assert again.state is CallState.TALKING and again.outcome_owner == "PJSIP/1003"
    assert again.agent_channel == "PJSIP/1003-9"


def test_the_end_reason_names_who_was_last_with_the_caller() -> None:
    tracker = CallTracker()
    tracker.apply(ChannelCreated(0.0, L, L, CALLER, "138", "", "hotline-inbound", "12345"))
    tracker.apply(CallerJoinedQueue(1.0, L, L, CALLER, "hotline", 1))
    tracker.apply(AgentAnswered(2.0, L, L, CALLER, "hotline", "PJSIP/1001", "王芳", AGENT, 1, 1))
    tracker.apply(joined(CALLER, MAIN, L, 3.0))
    tracker.apply(hung(AGENT, "a", 4.0))  # the agent completed a transfer to 110
    tracker.left_last(L, "transfer target 110")
    tracker.apply(hung(CALLER, L, 9.0))
    assert tracker.ended[L].end_reason == "hung up by transfer target 110"


def test_the_call_record_keeps_who_answered_and_whom_it_was_handed_to() -> None:
    tracker = CallTracker()
    tracker.apply(ChannelCreated(0.0, L, L, CALLER, "138", "", "hotline-inbound", "12345"))
    tracker.apply(CallerJoinedQueue(1.0, L, L, CALLER, "hotline", 1))
    tracker.apply(AgentAnswered(2.0, L, L, CALLER, "hotline", "PJSIP/1001", "王芳", AGENT, 1, 1))
    call = tracker.calls[L]
    before, after = handed_to_1002()
    events = control_events(before, after, call)
    kinds = [(e.kind, e.agent) for e in events]
    assert (CallEventKind.TRANSFERRED, "1001") in kinds
    assert (CallEventKind.PARTY_LEFT, "1001") in kinds
    taken = [e for e in events if e.kind is CallEventKind.ANSWERED]
    assert [(e.agent, e.detail["after_transfer"]) for e in taken] == [("1002", True)]
    held = run(after, joined(TAKER, CONSULT, PARTY, 20.0))
    assert [(e.kind, e.agent) for e in control_events(after, held, call)] == [
        (CallEventKind.HELD, "1002")
    ]  # fmt: skip


def test_the_requeue_context_puts_the_caller_first_in_its_queue(tmp_path: Path) -> None:
    settings = resolve_secrets(load_settings(environ={"HOTLINE_PATHS__STATE_DIR": str(tmp_path)}))
    text = render(settings, Layout(tmp_path / "asterisk"))["extensions.conf"]
    requeue = text.split("[hotline-requeue]\n", 1)[1].split("\n\n", 1)[0]
    assert requeue.splitlines()[0] == "exten => _X.,1,Set(QUEUE_PRIO=10)"
    assert "Queue(${HOTLINE_QUEUE},tc,," in requeue


def _control(*targets: str) -> tuple[SuccessfulAmi, CallControl]:
    ami = SuccessfulAmi()
    tracker = CallTracker()
    tracker.calls[L] = CALL
    kinds = {t: Target(t, TargetKind.AGENT if t.startswith("10") else TargetKind.EMERGENCY,
                       "" if t.startswith("10") else t) for t in targets}  # fmt: skip
    return ami, CallControl(ami, tracker, kinds, confirm_s=0.3)


async def test_the_agent_handed_the_call_acts_on_its_own_leg_and_may_consult_the_first() -> None:
    ami, cc = _control("1001", "1002")
    _, handed = handed_to_1002()
    cc._states[L] = handed  # as the events built it (test_a_warm_transfer_to_another_agent…)
    assert cc.agent_leg(CALL) == TAKER  # the desk's hang-up hangs up this leg
    with pytest.raises(ControlFailed) as refused:
        await cc.consult(CALL, "1002", "hold")  # itself
    assert refused.value.code is ControlCode.BAD_TARGET
    with pytest.raises(ControlFailed):  # nothing dialled in this Asterisk: not confirmed
        await cc.consult(CALL, "1001", "three_way")  # the agent who handed it over
    originated = [h["Channel"] for name, h in ami.sent if name == "Originate"]
    assert originated == ["Local/1001@hotline-consult/n"]


async def test_a_caller_put_back_in_its_queue_leaves_call_control() -> None:
    ami, cc = _control("110")
    lost = run(consulting("110", TargetKind.EMERGENCY), hung(AGENT, "a", 11.0))
    cc._states[L] = lost
    seen: list[ControlState] = []

    async def listener(st: ControlState, call: Call) -> None:
        seen.append(st)

    cc.add_listener(listener)
    await cc.on_event(TrunksFailed(14.0, L, DIAL, "Local/110@x;2", "110"))
    await asyncio.sleep(0.05)  # the follow-up runs as a task of its own
    assert ("Redirect", {"Channel": CALLER, "Context": "hotline-requeue", "Exten": L,
                         "Priority": "1"}) in ami.sent  # fmt: skip
    await cc.on_event(CallerJoinedQueue(14.5, L, L, CALLER, "hotline", 1))
    assert cc.state(L) is None and seen[-1].ended and not seen[-1].agent_in_call
