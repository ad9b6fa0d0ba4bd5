"""The tracker's calls as call-log reports: recorded AMI traffic replayed, and made-up calls
for what the recordings do not hold (110, a lost Asterisk, holds, transfers)."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from call_log.mapping import update
from crm.domain.call_progress import CallUpdate
from crm.domain.calls import CallEventKind, CallOutcome
from telephony.events import (
    AgentAnswered,
    CallerJoinedQueue,
    CallHeld,
    CallTransferred,
    ChannelCreated,
    ChannelHungUp,
    ChannelVariableSet,
    DialAnswered,
)
from telephony.tracker import CallTracker
from tests.support.ami_replay import load_stream, replay

EMERGENCY = {"110", "119", "120"}
L, CALLER, AGENT = "100.1", "PJSIP/carrier-00000001", "PJSIP/1001-00000002"


def reports(name: str) -> list[CallUpdate]:
    _tracker, effects, malformed = replay(load_stream(name))
    assert malformed == 0
    return [update(e, EMERGENCY) for e in effects]


def kinds(updates: list[CallUpdate]) -> list[str]:
    return [e.kind.value for u in updates for e in u.events]


def test_an_answered_call_as_recorded() -> None:
    updates = reports("answered")
    last = updates[-1].facts
    # the values below are read from tests/fixtures/ami/answered.ami
    assert last.linkedid == "1795307173.0" and last.outcome is CallOutcome.ANSWERED
    assert last.caller_number == "13900000001" and last.caller_name == "张三丰"
    assert (last.ivr_choice, last.ivr_label, last.queue) == ("1", "consult", "hotline")
    assert last.answered_at == datetime(2026, 11, 22, 0, 26, 15, 338866)  # naive UTC
    assert last.agent_extension == "1001" and last.agent_name == "王芳"
    assert kinds(updates) == ["queued", "ringing", "answered", "ended"]
    answered = next(e for u in updates for e in u.events if e.kind is CallEventKind.ANSWERED)
    assert answered.agent == "1001"
    rang = [u.facts.rang_at for u in updates if u.facts.rang_at is not None]
    assert rang == [datetime(2026, 11, 22, 0, 26, 14, 529269)]  # AgentCalled's Timestamp
    assert updates[-1].recording == "20261122/1795307173.0.wav"
    # a recording is reported only once the call is answered
    assert all(u.recording == "" for u in updates if u.facts.answered_at is None)
    assert all(u.facts.outcome is CallOutcome.IN_PROGRESS for u in updates[:-1])


def test_abandoned_and_ivr_hang_up_as_recorded() -> None:
    abandoned = reports("abandoned")
    assert abandoned[-1].facts.outcome is CallOutcome.ABANDONED
    assert kinds(abandoned) == ["queued", "ended"]
    assert abandoned[-1].recording == ""
    ivr = reports("ivr_hangup")
    assert ivr[-1].facts.outcome is CallOutcome.IVR_HANGUP and ivr[-1].facts.queued_at is None
    assert kinds(ivr) == ["ended"]


def test_a_caller_the_ivr_refused_as_a_nuisance_ends_as_nuisance_not_ivr_hangup() -> None:
    t = CallTracker()
    t.apply(ChannelCreated(100.0, L, L, CALLER, "13800000000", "", "hotline-inbound", "12345"))
    t.apply(ChannelVariableSet(100.1, L, L, CALLER, "HOTLINE_QUEUE", "hotline"))  # dialplan's
    t.apply(ChannelVariableSet(100.4, L, L, CALLER, "HOTLINE_REFUSED", "nuisance"))
    ended = _last(t, ChannelHungUp(109.0, L, L, CALLER, 16, "Normal Clearing"))
    assert ended.facts.outcome is CallOutcome.NUISANCE and ended.facts.queued_at is None
    assert ended.facts.end_reason == "refused in IVR: nuisance"
    assert [e.kind for e in ended.events] == [CallEventKind.ENDED]


def test_a_caller_the_ivr_sent_to_110_is_on_record_as_emergency_with_the_trunk_leg() -> None:
    t = CallTracker()
    t.apply(ChannelCreated(100.0, L, L, CALLER, "13800000000", "", "hotline-inbound", "12345"))
    t.apply(ChannelVariableSet(100.1, L, L, CALLER, "HOTLINE_QUEUE", "hotline"))  # dialplan's
    for name, value in (("HOTLINE_IVR_CHOICE", "9"), ("HOTLINE_IVR_LABEL", "emergency")):
        t.apply(ChannelVariableSet(101.0, L, L, CALLER, name, value))
    sent = _last(t, ChannelVariableSet(101.1, L, L, CALLER, "HOTLINE_EMERGENCY", "110"))
    assert sent.facts.emergency_line == "110" and sent.facts.ivr_label == "emergency"
    assert sent.facts.queue == ""  # never in the fallback queue
    taken = _last(t, DialAnswered(104.0, L, L, CALLER, "PJSIP/trunk-110-backup-00000003"))
    (event,) = taken.events
    assert (event.kind, event.agent) == (CallEventKind.ANSWERED, "")
    assert event.detail == {
        "after_transfer": False,
        "target": "110",
        "trunk": "PJSIP/trunk-110-backup",
    }
    ended = _last(t, ChannelHungUp(150.0, L, L, CALLER, 16, "Normal Clearing"))
    assert ended.facts.outcome is CallOutcome.EMERGENCY and ended.facts.queued_at is None
    assert ended.facts.end_reason == "sent by the IVR to 110" and ended.facts.queue == ""


def _talking() -> CallTracker:
    t = CallTracker()
    t.apply(ChannelCreated(100.0, L, L, CALLER, "13800000000", "张三", "hotline-inbound", "12345"))
    t.apply(CallerJoinedQueue(101.0, L, L, CALLER, "hotline", 1))
    t.apply(AgentAnswered(103.0, L, L, CALLER, "hotline", "PJSIP/1001", "王芳", AGENT, 2, 1))
    return t


def _last(t: CallTracker, event: object) -> CallUpdate:
    (effect,) = t.apply(event)  # type: ignore[arg-type]
    return update(effect, EMERGENCY)


def test_a_call_transferred_to_110_ends_as_emergency() -> None:
    t = _talking()
    moved = _last(t, CallTransferred(110.0, L, L, CALLER, "blind", "110"))
    (event,) = moved.events
    assert event.kind is CallEventKind.TRANSFERRED and event.agent == "1001"
    assert event.detail == {"target": "110", "kind": "blind"}
    assert moved.facts.emergency_line == "110" and moved.facts.outcome is CallOutcome.IN_PROGRESS
    ended = _last(t, ChannelHungUp(150.0, L, L, CALLER, 16, "Normal Clearing"))
    assert ended.facts.outcome is CallOutcome.EMERGENCY and ended.facts.emergency_line == "110"


def test_a_call_transferred_to_another_agent_stays_answered() -> None:
    t = _talking()
    moved = _last(t, CallTransferred(110.0, L, L, CALLER, "blind", "1002"))
    assert moved.facts.emergency_line == "" and moved.events[0].detail["target"] == "1002"
    taken = _last(t, DialAnswered(112.0, L, L, CALLER, "PJSIP/1002-0000000c"))
    (event,) = taken.events
    assert (event.kind, event.agent) == (CallEventKind.ANSWERED, "1002")
    assert event.detail == {"after_transfer": True, "target": "1002"}
    assert taken.facts.agent_extension == "1001"  # who answered first
    ended = _last(t, ChannelHungUp(150.0, L, L, CALLER, 16, "Normal Clearing"))
    assert ended.facts.outcome is CallOutcome.ANSWERED


def test_holds_are_events_with_who_held() -> None:
    t = _talking()
    held = _last(t, CallHeld(104.0, L, "100.2", AGENT, held=True))
    resumed = _last(t, CallHeld(106.0, L, "100.2", AGENT, held=False))
    assert [(e.kind, e.agent) for e in held.events + resumed.events] == [
        (CallEventKind.HELD, "1001"), (CallEventKind.RESUMED, "1001")
    ]  # fmt: skip


def test_lost_asterisk_fails_unanswered_calls_and_keeps_answered_ones() -> None:
    queued = CallTracker()
    queued.apply(ChannelCreated(100.0, L, L, CALLER, "138", "", "hotline-inbound", "12345"))
    queued.apply(CallerJoinedQueue(101.0, L, L, CALLER, "hotline", 1))
    (lost,) = queued.connection_lost(120.0, "EOF")
    assert update(lost, EMERGENCY).facts.outcome is CallOutcome.FAILED
    (lost_talk,) = _talking().connection_lost(120.0, "EOF")
    report = update(lost_talk, EMERGENCY)
    assert report.facts.outcome is CallOutcome.ANSWERED
    assert report.facts.end_reason.startswith("asterisk connection lost")
    assert [e.kind for e in report.events] == [CallEventKind.ENDED]


def test_a_revived_call_reports_no_events_and_no_recording() -> None:
    t = _talking()
    live = {L: dataclasses.replace(t.calls[L], answered_at=130.0, recording="")}
    fresh = CallTracker()
    (revived,) = fresh.resync(live, 130.0)
    report = update(revived, EMERGENCY)
    assert report.events == () and report.recording == ""
    assert report.facts.outcome is CallOutcome.IN_PROGRESS


def test_long_texts_are_cut_to_their_columns() -> None:
    t = CallTracker()
    t.apply(ChannelCreated(100.0, L, L, CALLER, "1" * 50, "名" * 100, "hotline-inbound", "1"))
    (effect,) = t.apply(ChannelHungUp(101.0, L, L, CALLER, 16, ""))
    facts = update(effect, EMERGENCY).facts
    assert len(facts.caller_number) == 32 and len(facts.caller_name) == 80


def test_control_characters_and_nul_are_taken_out_of_free_text() -> None:
    # A SIP display name may carry NUL (PostgreSQL refuses it) and control characters
    t = CallTracker()
    name, number = "张\x00三\x1b[31m丰\x7f\u200b", "139\x0000\t0001"
    t.apply(ChannelCreated(100.0, L, L, CALLER, number, name, "hotline-inbound", "1"))
    (effect,) = t.apply(ChannelHungUp(101.0, L, L, CALLER, 16, "bye\x00\n"))
    facts = update(effect, EMERGENCY).facts
    assert facts.caller_name == "张三[31m丰\u200b" and facts.caller_number == "139000001"
    assert all("\x00" not in str(v) for v in dataclasses.astuple(facts))
    (ended,) = update(effect, EMERGENCY).events
    assert ended.detail == {"reason": facts.end_reason} and "\x00" not in facts.end_reason
