"""Real AMI traffic recorded from Asterisk 16 (tests/fixtures/ami), replayed through parser,
translator and call tracker without Asterisk."""

from __future__ import annotations

import pytest

from telephony.call import CallState
from tests.support.ami_replay import ami_events, load_stream, replay

# Chunk sizes that cut messages, lines and UTF-8 characters at every kind of place.
CHUNKS = [1, 7, 100, 4096, 1 << 20]


@pytest.mark.parametrize("chunk", CHUNKS)
def test_answered_call(chunk: int) -> None:
    tracker, effects, malformed = replay(load_stream("answered"), chunk_size=chunk)
    assert malformed == 0 and tracker.calls == {}
    [call] = tracker.ended.values()
    assert call.caller_name == "张三丰" and call.caller_number == "13900000001"
    assert call.state is CallState.ENDED and call.end_reason == "hung up by caller"
    assert (call.ivr_choice, call.ivr_label, call.queue) == ("1", "consult", "hotline")
    assert call.agent_interface == "PJSIP/1001" and call.agent_name == "王芳"
    assert call.agent_channel.startswith("PJSIP/1001-")
    assert call.recording == f"{call.recording.split('/')[0]}/{call.uniqueid}.wav"
    assert call.wait_time_s is not None and 0.7 < call.wait_time_s < 2
    assert call.talk_time_s is not None and call.talk_time_s > 1
    assert [e.call.state for e in effects] == [
        CallState.IN_IVR,  # Newchannel
        CallState.IN_IVR,  # HOTLINE_QUEUE default
        CallState.IN_IVR,  # HOTLINE_IVR_CHOICE
        CallState.IN_IVR,  # HOTLINE_IVR_LABEL (the IVR's HOTLINE_QUEUE is the same: no change)
        CallState.IN_IVR,  # HOTLINE_RECORDING
        CallState.QUEUED,
        CallState.RINGING,
        CallState.RINGING,  # QueueCallerLeave (Asterisk sends it before AgentConnect): out of it
        CallState.TALKING,
        CallState.TALKING,  # AgentComplete (before any BridgeLeave here): who ended it
        CallState.ENDED,
    ]


@pytest.mark.parametrize("chunk", CHUNKS)
def test_dtmf_choice_for_the_complaint_queue(chunk: int) -> None:
    tracker, _, _ = replay(load_stream("complaint_choice"), chunk_size=chunk)
    [call] = tracker.ended.values()
    assert (call.ivr_choice, call.ivr_label, call.queue) == ("2", "complaint", "complaint")
    assert call.agent_name == "李娜"


def test_hang_up_in_the_ivr() -> None:
    tracker, _, _ = replay(load_stream("ivr_hangup"))
    [call] = tracker.ended.values()
    assert call.state is CallState.ENDED and call.end_reason == "caller hung up in IVR"
    assert call.queued_at is None and call.wait_time_s is None and call.talk_time_s is None


def test_abandoned_in_the_queue() -> None:
    tracker, effects, _ = replay(load_stream("abandoned"))
    [call] = tracker.ended.values()
    assert call.state is CallState.ABANDONED and call.answered_at is None
    assert call.wait_time_s is not None and 2 < call.wait_time_s < 3.5
    # QueueCallerAbandon ends it; the Hangup that follows changes nothing more.
    assert [e.call.state for e in effects].count(CallState.ABANDONED) == 1


def test_agent_hangs_up() -> None:
    """Asterisk's AgentComplete says Reason=caller here; the bridge knows better."""
    tracker, _, _ = replay(load_stream("agent_hangup"))
    [call] = tracker.ended.values()
    assert call.completed_by == "agent" and call.end_reason == "hung up by agent"


def test_the_agent_hangs_up_and_the_caller_stays_for_the_survey() -> None:
    """Queue's `c`: the agent's leg hangs up first, the caller answers the survey (key 2) and
    the centre hangs up; AgentComplete comes only then. The talk ends at the agent's hang-up."""
    stream = load_stream("agent_hangup_survey")
    agent_leg_hangup = next(
        float(h["Timestamp"]) for h in ami_events(stream)
        if h["Event"] == "Hangup" and h["Channel"].startswith("PJSIP/1001-")
    )  # fmt: skip
    _, effects, malformed = replay(stream)
    left = next(e.call for e in effects if e.call.agent_left_at is not None)
    assert malformed == 0 and left.in_survey and left.state is CallState.TALKING
    assert (left.agent_left_at, left.completed_by) == (agent_leg_hangup, "agent")
    call = effects[-1].call
    assert call.state is CallState.ENDED and not call.in_survey
    assert call.end_reason == "hung up by agent" and call.survey == "basically_satisfied"
    assert call.answered_at is not None and call.ended_at is not None
    assert call.talk_time_s == agent_leg_hangup - call.answered_at
    assert call.ended_at - agent_leg_hangup > 3  # the survey: no talk


def test_busy_hour_every_call_accounted_for() -> None:
    stream = load_stream("busy_hour")
    tracker, _, malformed = replay(stream, chunk_size=333)
    calls = list(tracker.ended.values())
    assert malformed == 0 and tracker.calls == {} and len(calls) == 12
    assert {c.state for c in calls} == {CallState.ENDED, CallState.ABANDONED}
    answered = [c for c in calls if c.answered_at is not None]
    assert {c.agent_interface for c in answered} == {"PJSIP/1001", "PJSIP/1002"}
    assert all(c.caller_name.startswith("市民") for c in calls)


def test_the_event_filter_kept_the_stream_small() -> None:
    """manager.conf's whitelist: no Newexten, no RTCP, only HOTLINE_ VarSets."""
    names = [h["Event"] for h in ami_events(load_stream("answered"))]
    assert "Newexten" not in names and not any(n.startswith("RTCP") for n in names)
    varsets = [h["Variable"] for h in ami_events(load_stream("answered")) if h["Event"] == "VarSet"]
    assert varsets and all(v.startswith("HOTLINE_") for v in varsets)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_key_9_is_with_110_as_a_transfer_there_and_in_no_queue(chunk: int) -> None:
    """The IVR's key 9: with 110 (as after a blind transfer there, for the wall and the desk)
    from the moment the IVR names the line, never in the fallback queue the dialplan set
    before the IVR; the trunk leg that answered is known."""
    tracker, effects, malformed = replay(load_stream("emergency_key"), chunk_size=chunk)
    assert malformed == 0 and tracker.calls == {}
    [call] = tracker.ended.values()
    assert (call.ivr_choice, call.ivr_label, call.queue) == ("9", "emergency", "")
    assert call.transfer_target == "110" and call.queued_at is None
    assert call.transfer_answered_by == "PJSIP/trunk-110-primary"
    assert call.end_reason == "sent by the IVR to 110" and call.answered_at is None
    states = [(e.call.state, e.call.queue) for e in effects]
    assert states == [
        (CallState.IN_IVR, ""),  # Newchannel
        (CallState.IN_IVR, "hotline"),  # HOTLINE_QUEUE, the dialplan's fallback
        (CallState.IN_IVR, "hotline"),  # HOTLINE_IVR_CHOICE
        (CallState.IN_IVR, "hotline"),  # HOTLINE_IVR_LABEL
        (CallState.TRANSFERRED, ""),  # HOTLINE_EMERGENCY
        (CallState.TRANSFERRED, ""),  # HOTLINE_RECORDING
        (CallState.TRANSFERRED, ""),  # DialEnd ANSWER: the trunk's leg took the caller
        (CallState.ENDED, ""),
    ]
