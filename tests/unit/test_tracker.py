"""The call tracker's transition table, re-sync and connection loss, on made-up events."""

from __future__ import annotations

import dataclasses

import pytest

from telephony.call import Call, CallState
from telephony.events import (
    AgentAnswered,
    AgentCompleted,
    AgentRinging,
    AgentRingNoAnswer,
    CallerAbandonedQueue,
    CallerJoinedQueue,
    CallHeld,
    CallTransferred,
    ChannelCreated,
    ChannelHungUp,
    ChannelLeftBridge,
    ChannelVariableSet,
    CompleteReason,
    ConferenceJoined,
    ConferenceLeft,
    DialAnswered,
    DomainEvent,
)
from telephony.list_items import ChannelSnapshot, QueueEntrySnapshot
from telephony.live_snapshot import calls_from_snapshot
from telephony.tracker import TRANSITIONS, CallTracker

L = "100.1"  # linkedid = caller's uniqueid
CALLER = "PJSIP/carrier-00000001"


def created(
    at: float = 100.0, context: str = "hotline-inbound", uniqueid: str = L
) -> ChannelCreated:
    return ChannelCreated(at, L, uniqueid, CALLER, "13800000000", "张三", context, "12345")


def joined(at: float = 101.0) -> CallerJoinedQueue:
    return CallerJoinedQueue(at, L, L, CALLER, "hotline", 1)


def ringing(at: float = 101.5, iface: str = "PJSIP/1001") -> AgentRinging:
    return AgentRinging(at, L, L, CALLER, "hotline", iface, "王芳", f"{iface}-00000002")


def no_answer(at: float = 102.0, iface: str = "PJSIP/1001") -> AgentRingNoAnswer:
    return AgentRingNoAnswer(at, L, L, CALLER, "hotline", iface, "王芳", f"{iface}-00000002")


def answered(at: float = 103.0) -> AgentAnswered:
    return AgentAnswered(at, L, L, CALLER, "hotline", "PJSIP/1001", "王芳", "x", 2, 1)


def completed(at: float = 110.0, reason: CompleteReason = CompleteReason.AGENT) -> AgentCompleted:
    return AgentCompleted(at, L, L, CALLER, "hotline", "PJSIP/1001", "王芳", "x", reason, 7)


def hangup(at: float = 110.5, uniqueid: str = L) -> ChannelHungUp:
    return ChannelHungUp(at, L, uniqueid, CALLER, 16, "Normal Clearing")


def variable(name: str, value: str, at: float = 100.5) -> ChannelVariableSet:
    return ChannelVariableSet(at, L, L, CALLER, name, value)


def run(*events: DomainEvent) -> CallTracker:
    tracker = CallTracker()
    for event in events:
        tracker.apply(event)
    return tracker


def test_a_whole_answered_call() -> None:
    t = run(
        created(),
        variable("HOTLINE_IVR_CHOICE", "1"),
        joined(),
        ringing(),
        answered(),
        completed(),
        hangup(),
    )
    call = t.ended[L]
    assert call.state is CallState.ENDED and call.end_reason == "hung up by agent"
    assert call.ivr_choice == "1" and call.agent_name == "王芳"
    assert call.wait_time_s == 2.0 and call.talk_time_s == 7.5


def test_ring_no_answer_goes_back_to_queued_then_another_agent() -> None:
    t = run(created(), joined(), ringing(), no_answer())
    assert t.calls[L].state is CallState.QUEUED and t.calls[L].ringing == ()
    t.apply(ringing(iface="PJSIP/1002"))
    t.apply(ringing(iface="PJSIP/1003"))
    t.apply(no_answer(iface="PJSIP/1002"))
    assert t.calls[L].state is CallState.RINGING and t.calls[L].ringing == ("PJSIP/1003",)


def test_abandon_while_ringing() -> None:
    t = run(created(), joined(), ringing(), CallerAbandonedQueue(105.0, L, L, CALLER, "hotline", 4))
    call = t.ended[L]
    assert call.state is CallState.ABANDONED and call.wait_time_s == 4.0
    assert t.apply(hangup()) == []  # already final: nothing more


def test_hang_up_in_ivr_and_while_queued() -> None:
    assert run(created(), hangup(101.0)).ended[L].end_reason == "caller hung up in IVR"
    assert run(created(), joined(), hangup(104.0)).ended[L].state is CallState.ABANDONED


def test_transfer() -> None:
    t = run(created(), joined(), answered(), completed(reason=CompleteReason.TRANSFER))
    assert t.calls[L].state is CallState.TRANSFERRED
    t2 = run(created(), joined(), answered(), CallTransferred(104.0, L, L, CALLER, "blind", "110"))
    assert t2.calls[L].state is CallState.TRANSFERRED
    t2.apply(hangup())
    assert t2.ended[L].state is CallState.ENDED


def test_a_transfer_keeps_its_target_whichever_event_comes_first() -> None:
    blind = CallTransferred(104.0, L, L, CALLER, "blind", "110")
    first = run(created(), joined(), answered(), blind, completed(reason=CompleteReason.TRANSFER))
    assert first.calls[L].transfer_target == "110"
    after = run(created(), joined(), answered(), completed(reason=CompleteReason.TRANSFER), blind)
    assert after.calls[L].transfer_target == "110"
    assert after.calls[L].state is CallState.TRANSFERRED


def test_who_takes_the_caller_after_a_blind_transfer() -> None:
    t = run(created(), joined(), answered(), CallTransferred(104.0, L, L, CALLER, "blind", "1002"))
    assert t.apply(DialAnswered(105.0, L, "100.7", "PJSIP/1001-9", "PJSIP/1003-a")) == []
    (effect,) = t.apply(DialAnswered(105.0, L, L, CALLER, "PJSIP/1002-0000000c"))
    assert effect.call.transfer_answered_by == "PJSIP/1002"
    assert effect.call.agent_interface == "PJSIP/1001"  # who answered first stays


def test_the_agent_a_call_was_transferred_to_can_hold_it() -> None:
    t = run(created(), joined(), answered(), CallTransferred(104.0, L, L, CALLER, "blind", "1002"))
    t.apply(CallHeld(105.0, L, L, CALLER, held=True))
    assert t.calls[L].held


def test_hold_and_unhold_while_talking() -> None:
    t = run(created(), joined(), answered(), CallHeld(104.0, L, L, CALLER, held=True))
    assert t.calls[L].held and t.calls[L].state is CallState.TALKING
    t.apply(CallHeld(105.0, L, L, CALLER, held=False))
    assert not t.calls[L].held


def test_agent_leg_hang_up_does_not_end_the_call() -> None:
    t = run(created(), joined(), answered(), hangup(uniqueid="100.2"))
    assert t.calls[L].state is CallState.TALKING


def test_only_inbound_caller_channels_start_calls() -> None:
    assert run(created(context="hotline-agents")).calls == {}
    assert run(created(uniqueid="100.9")).calls == {}
    t = run(created(), created())  # a second Newchannel (e.g. after re-sync) changes nothing
    assert len(t.calls) == 1


def test_events_for_unknown_calls_are_counted_not_fatal() -> None:
    t = run(joined(), answered(), hangup())
    assert t.calls == {} and t.ignored == 3


ALL_EVENTS: list[DomainEvent] = [
    joined(),
    ringing(),
    no_answer(),
    answered(),
    completed(),
    hangup(),
    CallerAbandonedQueue(1.0, L, L, CALLER, "hotline", 1),
    CallTransferred(1.0, L, L, CALLER, "blind", "110"),
    variable("HOTLINE_IVR_CHOICE", "3"),
    CallHeld(1.0, L, L, CALLER, held=True),
    DialAnswered(1.0, L, L, CALLER, "PJSIP/1002-0000000c"),
]


@pytest.mark.parametrize(
    "state", [s for s in CallState if s not in {CallState.ENDED, CallState.ABANDONED}]
)
@pytest.mark.parametrize("event", ALL_EVENTS, ids=lambda e: type(e).__name__)
def test_every_pair_outside_the_table_leaves_the_call_alone(
    state: CallState, event: DomainEvent
) -> None:
    tracker = CallTracker()
    tracker.apply(created())
    tracker.calls[L] = dataclasses.replace(tracker.calls[L], state=state)
    before = tracker.calls[L]
    effects = tracker.apply(event)
    if (type(event), state) in TRANSITIONS:
        assert len(effects) == 1 and effects[0].previous is state
    else:
        assert effects == [] and tracker.calls[L] == before


def test_connection_lost_ends_every_live_call_with_a_reason() -> None:
    t = run(created(), joined())
    effects = t.connection_lost(120.0, "connection reset")
    assert [e.call.state for e in effects] == [CallState.ENDED]
    assert t.ended[L].end_reason == "asterisk connection lost: connection reset"
    assert t.calls == {}


def snapshot(app: str, bridge: str = "") -> list[ChannelSnapshot]:
    channels = [ChannelSnapshot(L, L, CALLER, "hotline-inbound", app, bridge, "138", "张三", 30)]
    if bridge:
        channels.append(
            ChannelSnapshot(
                "100.2",
                L,
                "PJSIP/1001-00000002",
                "hotline-agents",
                "AppQueue",
                bridge,
                "1001",
                "王芳",
                20,
            )
        )
    return channels


def test_calls_from_snapshot() -> None:
    talking = calls_from_snapshot(snapshot("Queue", "b1"), [], at=200.0)[L]
    assert talking.state is CallState.TALKING and talking.agent_interface == "PJSIP/1001"
    assert talking.started_at == 170.0
    queued = calls_from_snapshot(snapshot("Queue"), [QueueEntrySnapshot("hotline", L, 12)], 200.0)
    assert queued[L].state is CallState.QUEUED and queued[L].queued_at == 188.0
    assert calls_from_snapshot(snapshot("AGI"), [], 200.0)[L].state is CallState.IN_IVR


def test_calls_in_their_rooms_from_snapshot() -> None:
    """A call under control: the caller in its ConfBridge room with a Local (the consulted
    110) and the agent; or on hold: the agent alone in the consult room, the caller with the
    hold-music player (not the agent); or alone, the agent gone. All still talking."""
    caller, agent = snapshot("ConfBridge", "conf1")
    caller = dataclasses.replace(caller, context="hotline-room-caller", application="ConfBridge")
    agent = dataclasses.replace(agent, context="hotline-room-party", application="ConfBridge")
    local = ChannelSnapshot("300.1", L, "Local/110@hotline-consult-00000001;1",
                            "hotline-room-party", "ConfBridge", "conf1", "", "", 5)  # fmt: skip
    three = calls_from_snapshot([caller, local, agent], [], 200.0)[L]
    assert three.state is CallState.TALKING and three.agent_channel == "PJSIP/1001-00000002"
    player = ChannelSnapshot("moh-1", L, f"Local/{L}@hotline-hold-music-00000003;1",
                             "hotline-room-party", "ConfBridge", "conf1", "", "", 5)  # fmt: skip
    away = dataclasses.replace(agent, context="hotline-room-consult", bridge_id="conf2")
    held = calls_from_snapshot([caller, player, away], [], 200.0)[L]
    assert held.state is CallState.TALKING and held.agent_channel == "PJSIP/1001-00000002"
    assert held.agent_interface == "PJSIP/1001" and held.in_rooms  # who hangs up tells the end
    alone = calls_from_snapshot([caller], [], 200.0)[L]
    assert alone.state is CallState.TALKING and alone.agent_channel == ""


def test_resync_makes_the_tracker_match_asterisk() -> None:
    t = run(created(), joined())
    other = Call("900.1", "900.1", "PJSIP/carrier-9", "139", "李四", 150.0, CallState.TALKING)
    effects = t.resync({"900.1": other}, at=200.0)
    assert set(t.calls) == {"900.1"}
    assert t.ended[L].end_reason == "not found in Asterisk after re-sync"
    assert len(effects) == 2


def test_resync_revives_a_call_ended_by_a_lost_link_that_asterisk_still_has() -> None:
    t = run(created(), joined(), ringing(), answered())
    t.connection_lost(150.0, "network blip")
    live = calls_from_snapshot(snapshot("Queue", "b1"), [], at=160.0)
    t.resync(live, at=160.0)
    call = t.calls[L]
    assert call.state is CallState.TALKING and call.end_reason == "" and call.ended_at is None
    assert call.answered_at == 103.0  # what we knew beats the snapshot's guess


AGENT_LEG = "x"  # the agent's channel as `answered()` names it


def into_rooms(at: float = 105.0) -> list[DomainEvent]:
    """The first control action: caller and agent redirected out of the queue's bridge (the
    caller leaves it first, app_queue then says Reason=caller), into their rooms."""
    return [
        ChannelLeftBridge(at, L, L, CALLER),
        ChannelLeftBridge(at, L, "100.2", AGENT_LEG),
        completed(at, CompleteReason.CALLER),
        ConferenceJoined(at + 0.1, L, L, CALLER, f"m{L}"),
        ConferenceJoined(at + 0.1, L, "100.2", AGENT_LEG, f"c{L}"),  # on hold
    ]


def agent_hangup(at: float) -> ChannelHungUp:
    return ChannelHungUp(at, L, "100.2", AGENT_LEG, 16, "Normal Clearing")


def test_a_controlled_call_the_agent_ends_is_ended_by_the_agent() -> None:
    t = run(created(), joined(), ringing(), answered(), *into_rooms())
    call = t.calls[L]
    assert call.state is CallState.TALKING and call.in_rooms and call.completed_by == ""
    t.apply(ChannelLeftBridge(106.0, L, "100.2", AGENT_LEG))  # resume: leaves the consult room
    t.apply(agent_hangup(107.0))
    assert t.calls[L].state is CallState.TALKING  # the caller's line still up
    t.apply(hangup(107.2))  # hung up by the backend: nobody else was with the caller
    assert t.ended[L].end_reason == "hung up by agent"


def test_a_controlled_call_the_caller_ends_is_ended_by_the_caller() -> None:
    t = run(created(), joined(), ringing(), answered(), *into_rooms(),
            ChannelLeftBridge(106.0, L, "100.2", AGENT_LEG), hangup(108.0),
            agent_hangup(108.1))  # fmt: skip
    assert t.ended[L].end_reason == "hung up by caller"


def test_the_caller_leaving_its_room_first_ended_the_call_whoever_hangs_up_first() -> None:
    """ConfBridge drops the agent (end_marked) when the caller leaves; the agent's Hangup can
    reach AMI before the caller's, whose channel still closes its recording."""
    t = run(created(), joined(), ringing(), answered(), *into_rooms(),
            ChannelLeftBridge(106.0, L, "100.2", AGENT_LEG),
            ConferenceJoined(106.0, L, "100.2", AGENT_LEG, f"m{L}"),
            ConferenceLeft(108.0, L, L, CALLER, f"m{L}"), agent_hangup(108.1))  # fmt: skip
    t.left_last(L, "agent")  # call control saw the agent go last
    t.apply(hangup(108.3))
    assert t.ended[L].end_reason == "hung up by caller"


def test_a_call_never_controlled_keeps_the_bridge_witness() -> None:
    t = run(created(), joined(), ringing(), answered(),
            ChannelLeftBridge(108.0, L, "100.2", AGENT_LEG),
            completed(108.0, CompleteReason.CALLER), agent_hangup(108.0),
            hangup(108.1))  # fmt: skip
    assert not t.ended[L].in_rooms and t.ended[L].end_reason == "hung up by agent"
    other_room = run(created(), joined(), ringing(), answered(),
                     ConferenceJoined(105.0, L, L, CALLER, "m999.9"))  # fmt: skip
    assert not other_room.calls[L].in_rooms


def test_the_agent_hanging_up_before_the_caller_ends_its_talk_not_the_call() -> None:
    """Queue's `c`: the caller stays for the survey; the talk (and the agent's part) ended."""
    t = run(created(), joined(), ringing(), answered(),
            ChannelLeftBridge(108.0, L, "100.2", AGENT_LEG), agent_hangup(108.1))  # fmt: skip
    call = t.calls[L]
    assert call.state is CallState.TALKING and call.in_survey and call.completed_by == "agent"
    assert call.talk_time_s == pytest.approx(5.1)
    t.apply(hangup(120.0))  # after the survey
    assert t.ended[L].talk_time_s == pytest.approx(5.1) and not t.ended[L].in_survey


def test_an_attended_transfer_is_no_agent_hang_up_at_its_start_nor_at_its_end() -> None:
    """Atxfer moves the agent's leg into a consultation bridge (it leaves the queue's); its
    hang-up completes the transfer, and Asterisk says so first."""
    start = ChannelLeftBridge(105.0, L, "100.2", AGENT_LEG)
    t = run(created(), joined(), ringing(), answered(), start)
    assert not t.calls[L].in_survey
    t.apply(CallTransferred(108.0, L, "100.2", AGENT_LEG, "attended", "110"))
    t.apply(completed(108.0, CompleteReason.TRANSFER))
    t.apply(agent_hangup(108.1))
    call = t.calls[L]
    assert call.state is CallState.TRANSFERRED and not call.in_survey


def test_a_transfer_completed_while_its_target_rang_goes_to_the_atxfer_extension() -> None:
    """A "blond" transfer: AttendedTransfer names no target; Atxfer's Local channel did."""
    local = ChannelCreated(105.0, L, "105.1", "Local/110@hotline-agents-00000000;1", "", "",
                           "hotline-agents", "110")  # fmt: skip
    t = run(created(), joined(), ringing(), answered(), local)
    assert t.calls[L].consult_target == "110"
    t.apply(CallTransferred(106.0, L, "100.2", AGENT_LEG, "attended", ""))
    assert (t.calls[L].state, t.calls[L].transfer_target) == (CallState.TRANSFERRED, "110")
    other = run(created(), joined(), ringing(), answered(), local)
    other.apply(CallTransferred(106.0, L, L, CALLER, "blind", ""))  # only an attended one
    assert other.calls[L].transfer_target == ""
