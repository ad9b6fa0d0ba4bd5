"""Callback keeping the caller's place, its pure parts: what an attempt's result makes of a
request, the placeholder's call in the tracker (and after a re-sync), the offer, the IVR
flow's reading of its arguments, the caller's record."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from call_log.mapping import facts, outcome
from crm.domain.calls import CallOutcome
from crm.domain.queue_callback import NOT_SERVED, CallbackState, after_attempt, result_of
from ivr.callback import ask_of
from telephony.call import Call, CallState
from telephony.dialplan import dialable, placeholder_channel, request_of_channel
from telephony.events import (
    AgentAnswered,
    CallerJoinedQueue,
    CallerLeftQueue,
    ChannelCreated,
    ChannelHungUp,
    ChannelVariableSet,
)
from telephony.list_items import ChannelSnapshot, QueueEntrySnapshot
from telephony.live_snapshot import calls_from_snapshot
from telephony.positions import offered, positions
from telephony.tracker import CallTracker

NOW = datetime(2026, 12, 2, 5, 0)
P1 = "1796188700.1000000000001"  # the placeholder's ;1 half: its call's Linkedid
P2 = f"{P1};2"
LOCAL = "Local/7@hotline-callback-place-00000002;2"
CITIZEN = "13900000002"


def test_a_reached_citizen_ends_the_request() -> None:
    assert after_attempt("ANSWER", 1, 3, NOW, 120).state is CallbackState.REACHED


def test_an_unreached_citizen_is_tried_again_later_then_the_request_fails() -> None:
    again = after_attempt("NOANSWER", 1, 2, NOW, 120)
    assert again.state is CallbackState.WAITING and again.next_at == NOW + timedelta(seconds=120)
    last = after_attempt("BUSY", 2, 2, NOW, 120)
    assert last.state is CallbackState.FAILED and last.next_at is None


def test_a_placeholder_no_agent_took_is_no_attempt_and_never_ends_the_request() -> None:
    again = after_attempt(NOT_SERVED, 2, 2, NOW, 120)
    assert again.state is CallbackState.WAITING and again.next_at == NOW + timedelta(seconds=120)


def test_an_attempt_no_agent_took_is_not_served() -> None:
    assert result_of("", agent_answered=False) == NOT_SERVED
    assert result_of("", agent_answered=True) == "NOANSWER"  # the agent hung up first
    assert result_of("CONGESTION", agent_answered=True) == "CONGESTION"


def placeholder_events() -> list[object]:
    return [
        ChannelCreated(10.0, P1, P2, LOCAL, "", "", "hotline-callback-place", "7"),
        CallerJoinedQueue(10.1, P1, P2, LOCAL, "hotline", 1, CITIZEN),
        AgentAnswered(20.0, P1, P2, LOCAL, "hotline", "PJSIP/1001", "王芳", "PJSIP/1001-9", 0, 1),
    ]


def tracked(*more: object) -> CallTracker:
    tracker = CallTracker()
    for event in [*placeholder_events(), *more]:
        tracker.apply(event)  # type: ignore[arg-type]
    return tracker


def test_the_placeholder_is_a_call_with_the_citizens_number_once_queued() -> None:
    call = tracked().calls[P1]
    assert (call.uniqueid, call.callback, call.caller_number) == (P2, "7", CITIZEN)
    assert call.state is CallState.TALKING and call.agent_interface == "PJSIP/1001"


def test_the_placeholders_record_says_whether_the_citizen_was_reached() -> None:
    reached = tracked(
        ChannelVariableSet(25.0, P1, "trunk-leg", "PJSIP/trunk-outbound-primary-1",
                           "HOTLINE_CALLBACK_RESULT", "ANSWER"),
        ChannelHungUp(60.0, P1, P2, LOCAL, 16, "Normal Clearing"),
    ).ended[P1]  # fmt: skip
    assert reached.end_reason.startswith("callback reached"), reached.end_reason
    missed = tracked(
        ChannelVariableSet(30.0, P1, P1, "Local/7@…;1", "HOTLINE_CALLBACK_RESULT", "NOANSWER"),
        ChannelHungUp(33.0, P1, P2, LOCAL, 16, "Normal Clearing"),
    ).ended[P1]
    assert missed.end_reason.startswith("callback not reached (NOANSWER)"), missed.end_reason


def test_a_placeholder_nobody_took_is_not_an_abandoned_call() -> None:
    tracker = CallTracker()
    for event in placeholder_events()[:2]:
        tracker.apply(event)  # type: ignore[arg-type]
    tracker.apply(ChannelHungUp(50.0, P1, P2, LOCAL, 16, "Normal Clearing"))
    call = tracker.ended[P1]
    assert call.state is CallState.ENDED and outcome(call, ()) is not CallOutcome.ABANDONED
    assert facts(call, None, ()).ivr_label == "queue_callback"  # no call in on the wall


def test_a_caller_who_left_for_a_callback_ends_so_on_its_record() -> None:
    tracker, caller = CallTracker(), "PJSIP/carrier-00000001"
    tracker.apply(ChannelCreated(1.0, "1.1", "1.1", caller, CITIZEN, "", "hotline-inbound", "1"))
    tracker.apply(CallerJoinedQueue(2.0, "1.1", "1.1", caller, "hotline", 1))
    tracker.apply(ChannelVariableSet(9.0, "1.1", "1.1", caller, "HOTLINE_CALLBACK_REQUESTED", "7"))
    tracker.apply(ChannelHungUp(12.0, "1.1", "1.1", caller, 16, "Normal Clearing"))
    call = tracker.ended["1.1"]
    assert call.end_reason == "callback requested"
    assert outcome(call, ()) is CallOutcome.CALLBACK


def test_a_resync_finds_a_placeholder_waiting_in_its_place() -> None:
    channel = ChannelSnapshot(P2, P1, LOCAL, "hotline-callback-place", "Queue", "", CITIZEN, "", 30)
    # its ;1 half (Uniqueid = Linkedid) lists the same context until an agent answers
    half = ChannelSnapshot(P1, P1, LOCAL.replace(";2", ";1"), "hotline-callback-place", "",
                           "", CITIZEN, "", 30)  # fmt: skip
    entry = QueueEntrySnapshot("hotline", P2, 30)
    calls = calls_from_snapshot([channel, half], [entry], 100.0)
    assert calls[P1].callback == "7" and calls[P1].state is CallState.QUEUED
    assert calls[P1].uniqueid == P2


def call(uniqueid: str, queued_at: float, first: str = "", **more: str) -> Call:
    return Call(uniqueid, uniqueid, f"PJSIP/carrier-{uniqueid}", more.get("number", CITIZEN), "",
                0.0, CallState.QUEUED, queue="hotline", queued_at=queued_at,
                first_queued_at=first, callback=more.get("callback", ""))  # fmt: skip


def test_a_placeholder_keeps_the_order_of_its_callers_first_join() -> None:
    b = call("2.2", 20.0, "20")
    placeholder = call("3.3", 40.0, "10", callback="7")  # placed after B, at A's place
    assert positions([b, placeholder], ["hotline"]) == {"3.3": 1, "2.2": 2}


@pytest.mark.parametrize(
    ("number", "waited_s", "callback", "offer"),
    [
        (CITIZEN, 61.0, "", True),
        (CITIZEN, 59.0, "", False),  # not waited long enough
        ("anonymous", 61.0, "", False),
        ("", 61.0, "", False),  # withheld
        ("1390000000<script>", 61.0, "", False),
        (CITIZEN, 61.0, "7", False),  # a placeholder: nobody listens
    ],
)
def test_the_offer(number: str, waited_s: float, callback: str, offer: bool) -> None:
    c = call("1.1", 0.0, "100", number=number, callback=callback)
    assert offered(c, 100.0 + waited_s, 60) is offer


@pytest.mark.parametrize(
    "variables",
    [
        {"agi_callerid": "anonymous"},
        {"agi_callerid": "unknown"},
        {"agi_callerid": "+8613900000002"},
        {"agi_callerid": "1390000000'; DROP"},
        {"agi_arg_2": "0"},
        {"agi_arg_2": "1e3"},
        {"agi_arg_1": ""},
        {"agi_uniqueid": ""},
        {"agi_arg_3": ""},  # its first join unknown: never a request placed first
        {"agi_arg_3": "0"},
        {"agi_arg_3": "17961886OO"},
    ],
)
def test_a_request_that_cannot_be_kept_is_refused(variables: dict[str, str]) -> None:
    good = {"agi_uniqueid": "1.1", "agi_callerid": CITIZEN, "agi_arg_1": "hotline",
            "agi_arg_2": "3", "agi_arg_3": "1796188600"}  # fmt: skip
    assert ask_of(lambda name: good.get(name, "")) is not None
    bad = {**good, **variables}
    assert ask_of(lambda name: bad.get(name, "")) is None


def test_the_placeholders_channel_names_its_request() -> None:
    assert placeholder_channel(7) == "Local/7@hotline-callback-place/n"
    assert request_of_channel(LOCAL) == 7
    assert request_of_channel(LOCAL.replace(";2", ";1")) is None  # the half that dials
    assert request_of_channel("Local/7@hotline-agents-00000002;2") is None
    assert request_of_channel("PJSIP/carrier-00000001") is None
    assert dialable(CITIZEN) and not dialable("١٣٩٠٠٠٠٠٠٠٢")  # no other script's digits


def test_a_caller_out_of_the_queue_for_the_key_is_no_waiting_caller() -> None:
    """Its AGI runs while the placeholder joins: one caller waiting, at position 1, never
    two; back in the queue (the key too early, or refused) it waits again."""
    tracker, caller = CallTracker(), "PJSIP/carrier-00000001"
    tracker.apply(ChannelCreated(1.0, "1.1", "1.1", caller, CITIZEN, "", "hotline-inbound", "1"))
    tracker.apply(CallerJoinedQueue(2.0, "1.1", "1.1", caller, "hotline", 1))
    tracker.apply(CallerLeftQueue(70.0, "1.1", "1.1", caller, "hotline"))
    for event in placeholder_events()[:2]:
        tracker.apply(event)  # type: ignore[arg-type]
    calls = tracker.calls.values()
    assert not tracker.calls["1.1"].in_queue
    assert positions(calls, ["hotline"]) == {P2: 1}
    tracker.apply(CallerJoinedQueue(71.0, "1.1", "1.1", caller, "hotline", 2))
    assert tracker.calls["1.1"].in_queue
