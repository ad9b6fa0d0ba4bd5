"""AMI → domain event translation, including what a hostile or broken peer can send."""

from __future__ import annotations

import pytest

from telephony.ami_headers import MalformedEvent
from telephony.event_translation import translate
from telephony.events import (
    AgentAnswered,
    AgentCompleted,
    CallerJoinedQueue,
    CallHeld,
    CallTransferred,
    ChannelCreated,
    ChannelHungUp,
    ChannelVariableSet,
    CompleteReason,
    DialAnswered,
    DialFailed,
    QueueMemberChanged,
)
from telephony.list_items import channel_snapshot, queue_entry_snapshot
from tests.support.ami_replay import ami_events, load_stream

BASE = {
    "Timestamp": "1795306669.558183",
    "Channel": "PJSIP/carrier-0000000a",
    "Uniqueid": "1795306669.10",
    "Linkedid": "1795306669.10",
}


def recorded(name: str) -> dict[str, str]:
    """The first event of that name in the recorded answered call."""
    return next(h for h in ami_events(load_stream("answered")) if h["Event"] == name)


def test_newchannel_from_the_recording() -> None:
    event = translate("Newchannel", recorded("Newchannel"))
    assert isinstance(event, ChannelCreated)
    assert event.caller_name == "张三丰" and event.context == "hotline-inbound"
    assert event.uniqueid == event.linkedid and event.at > 1.7e9


def test_queue_events_from_the_recording() -> None:
    joined = translate("QueueCallerJoin", recorded("QueueCallerJoin"))
    assert isinstance(joined, CallerJoinedQueue) and joined.queue == "hotline"
    answered = translate("AgentConnect", recorded("AgentConnect"))
    assert isinstance(answered, AgentAnswered)
    assert answered.interface == "PJSIP/1001" and answered.member_name == "王芳"
    complete = translate("AgentComplete", recorded("AgentComplete"))
    assert isinstance(complete, AgentCompleted) and complete.reason is CompleteReason.CALLER
    member = translate("QueueMemberStatus", recorded("QueueMemberStatus"))
    assert isinstance(member, QueueMemberChanged) and member.interface == "PJSIP/1001"


def test_an_answered_dial_from_the_recording_and_the_dials_that_are_not() -> None:
    event = translate("DialEnd", recorded("DialEnd"))
    assert isinstance(event, DialAnswered)
    assert event.channel == "PJSIP/carrier-00000000"  # the caller dialled the agent
    assert event.dest_channel == "PJSIP/1001-00000001"
    busy = {**BASE, "DestChannel": "PJSIP/1002-0000000b", "DialStatus": "BUSY"}
    failed = translate("DialEnd", busy)  # a failed leg: its status, for the consult's attempts
    assert isinstance(failed, DialFailed) and failed.status == "BUSY"
    assert failed.dest_channel == "PJSIP/1002-0000000b"
    originated = {"Timestamp": "1.0", "DestChannel": "Local/1@x-0000;1", "DialStatus": "ANSWER"}
    assert translate("DialEnd", originated) is None  # an Originate: no calling channel


def test_hangup_cause() -> None:
    event = translate("Hangup", {**BASE, "Cause": "16", "Cause-txt": "Normal Clearing"})
    assert isinstance(event, ChannelHungUp) and event.cause == 16


def test_unknown_and_unused_events_translate_to_none() -> None:
    assert translate("TestEvent", {"Event": "TestEvent"}) is None
    assert translate("Newexten", {**BASE, "Application": "AGI"}) is None
    assert translate("VarSet", {**BASE, "Variable": "BRIDGEPEER", "Value": "x"}) is None


def test_only_hotline_variables_are_kept() -> None:
    event = translate("VarSet", {**BASE, "Variable": "HOTLINE_IVR_CHOICE", "Value": "2"})
    assert isinstance(event, ChannelVariableSet) and event.value == "2"


@pytest.mark.parametrize(
    ("name", "headers"),
    [
        ("Newchannel", {k: v for k, v in BASE.items() if k != "Linkedid"}),
        ("Hangup", {**BASE, "Timestamp": "yesterday"}),
        ("Hangup", {**BASE, "Cause": "16; DROP TABLE"}),
        ("QueueCallerJoin", {**BASE, "Position": "1"}),  # no Queue
        ("AgentComplete", {**BASE, "Queue": "q", "Interface": "PJSIP/1", "Reason": "boom"}),
        ("Hangup", {"Event": "Hangup"}),  # truncated to its first line
    ],
)
def test_malformed_events_raise_a_clear_error(name: str, headers: dict[str, str]) -> None:
    with pytest.raises(MalformedEvent):
        translate(name, headers)


def test_hostile_values_are_kept_as_inert_data() -> None:
    hostile = 'x"\\;\nAction: Hangup ${SHELL(rm -rf /)}' + "长" * 5000
    event = translate("Newchannel", {**BASE, "CallerIDName": hostile, "CallerIDNum": "<unknown>"})
    assert isinstance(event, ChannelCreated)
    assert event.caller_name == hostile and event.caller_number == ""


def test_hold() -> None:
    held = translate("Hold", {**BASE, "MusicClass": "default"})
    assert isinstance(held, CallHeld) and held.held
    unheld = translate("Unhold", BASE)
    assert isinstance(unheld, CallHeld) and not unheld.held


def test_transfers() -> None:
    blind = translate(
        "BlindTransfer",
        {
            "Timestamp": "1.0",
            "TransfereeChannel": "PJSIP/carrier-1",
            "TransfereeUniqueid": "1.1",
            "TransfereeLinkedid": "1.1",
            "Extension": "110",
        },
    )
    assert isinstance(blind, CallTransferred) and blind.kind == "blind" and blind.target == "110"


ATXFER = {
    "Timestamp": "1796179727.993344", "Result": "Success",
    "OrigTransfererChannel": "PJSIP/1001-00000001", "OrigTransfererUniqueid": "1796179726.19",
    "OrigTransfererLinkedid": "1796179725.18", "OrigTransfererExten": "12345",
    "SecondTransfererChannel": "PJSIP/1001-00000001", "SecondTransfererUniqueid": "1796179726.19",
    "SecondTransfererExten": "12345", "TransfereeChannel": "PJSIP/carrier-00000000",
    "TransfereeUniqueid": "1796179725.18", "TransfereeConnectedLineNum": "110",
    "DestType": "Bridge",
}  # fmt: skip


@pytest.mark.parametrize(
    ("extra", "target"),
    [
        ({"TransferTargetChannel": "Local/110@hotline-agents-00000000;1",
          "TransferTargetExten": "110"}, "110"),  # consulted, then the agent hung up
        ({}, ""),  # the agent hung up while 110 rang: Asterisk names no target (the tracker)
        ({"SecondTransfererUniqueid": "1796179726.20", "SecondTransfererExten": "1002"}, "1002"),
    ],
)  # fmt: skip
def test_the_target_of_an_attended_transfer(extra: dict[str, str], target: str) -> None:
    """(Headers of Asterisk 16's AttendedTransfer after AMI Atxfer from the agent's leg.)"""
    event = translate("AttendedTransfer", {**ATXFER, **extra})
    assert isinstance(event, CallTransferred) and event.kind == "attended"
    assert (event.linkedid, event.uniqueid, event.target) == ("1796179725.18", "1796179726.19",
                                                              target)  # fmt: skip


def test_snapshots() -> None:
    ch = channel_snapshot(
        {
            **BASE,
            "Context": "hotline-inbound",
            "Application": "Queue",
            "BridgeId": "",
            "Duration": "01:02:03",
            "CallerIDName": "张三",
        }
    )
    assert ch.duration_s == 3723 and ch.caller_name == "张三"
    with pytest.raises(MalformedEvent):
        channel_snapshot({**BASE, "Duration": "forever"})
    entry = queue_entry_snapshot({"Queue": "hotline", "Uniqueid": "1.1", "Wait": "7"})
    assert entry.wait_s == 7


def test_agent_complete_without_its_channels_is_not_malformed() -> None:
    """As Asterisk 16 sent it under load (app_queue found both channels destroyed)."""
    seen = {
        "Event": "AgentComplete", "Privilege": "agent,all", "Timestamp": "1796109094.784877",
        "Queue": "hotline", "Interface": "PJSIP/1002", "MemberName": "李娜", "HoldTime": "1",
        "TalkTime": "2", "Reason": "caller",
    }  # fmt: skip
    assert translate("AgentComplete", seen) is None
    agent_leg = {"DestChannel": "PJSIP/1002-00000009", "DestUniqueid": "1796109090.21",
                 "DestLinkedid": "1796109090.20"}  # fmt: skip
    assert translate("AgentComplete", {**seen, **agent_leg}) is None  # only the caller's gone
    with pytest.raises(MalformedEvent):  # with its caller channel, a broken one is still refused
        translate("AgentComplete", {**seen, "Uniqueid": "1.1", "Channel": "PJSIP/c-1"})
