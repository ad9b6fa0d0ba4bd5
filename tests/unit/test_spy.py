"""The pure spy sessions: which leg is spied, what a request may not do, how Asterisk's events
move a session, the ChanSpy events' translation and the dialplan that runs them."""

from __future__ import annotations

import dataclasses

import pytest

from telephony.call import Call, CallState
from telephony.call_control import Consult, ConsultMode, ConsultState, ControlState, Room
from telephony.call_control import TargetKind as Kind
from telephony.dialplan import VAR_SPY_RECORDING
from telephony.event_translation import translate
from telephony.events import (
    ChannelCreated,
    ChannelHungUp,
    ChannelRinging,
    ChannelVariableSet,
    ConferenceJoined,
    SpyEvent,
)
from telephony.spy import (
    SpyCode,
    SpyMode,
    SpyPhase,
    SpySession,
    applied,
    refusal,
    spy_exten,
    spyee_of,
    switching,
)

L = "1700000000.1"
CALLER, AGENT = "PJSIP/carrier-00000001", "PJSIP/1001-00000002"
SPY = "1700000009.123456789012"
CALL = Call(L, L, CALLER, "13900001111", "周到", 0.0, state=CallState.TALKING,
            agent_interface="PJSIP/1001", agent_channel=AGENT)  # fmt: skip
SESSION = SpySession(SPY, "8001", L, "1001", AGENT, SpyMode.LISTEN, 10.0)
ROOMS = ControlState(L, conference=True, agent_channel=AGENT, caller_channel=CALLER,
                     agent_room=Room.MAIN)  # fmt: skip


def consult_of(target: str) -> Consult:
    return Consult(target, Kind.COLLEAGUE, "", ConsultMode.THREE_WAY, ConsultState.THREE_WAY,
                   "", 1.0)  # fmt: skip


def test_the_agents_leg_is_spied_until_the_agent_left() -> None:
    assert spyee_of(CALL, None) == AGENT
    assert spyee_of(CALL, ROOMS) == AGENT
    assert spyee_of(CALL, dataclasses.replace(ROOMS, agent_in_call=False)) == CALLER


@pytest.mark.parametrize(
    ("call", "channels", "control", "sessions", "code"),
    [
        (None, [], None, [], SpyCode.NO_CALL),
        (dataclasses.replace(CALL, state=CallState.ENDED), [], None, [], SpyCode.CALL_ENDED),
        (dataclasses.replace(CALL, state=CallState.QUEUED, agent_channel=""), [CALLER], None, [],
         SpyCode.NOT_TALKING),
        (CALL, [CALLER], None, [], SpyCode.NO_CHANNEL),  # the agent's leg is not in Asterisk
        (CALL, [CALLER, AGENT, "PJSIP/8001-00000007"], None, [], SpyCode.OWN_CALL),
        (CALL, [CALLER, AGENT], dataclasses.replace(ROOMS, consult=consult_of("8001")), [],
         SpyCode.OWN_CALL),  # the agent consulted the supervisor's phone
        (CALL, [CALLER, AGENT], None, [SESSION], SpyCode.ALREADY_SPYING),
    ],
)  # fmt: skip
def test_refusals(
    call: Call | None, channels: list[str], control: ControlState | None,
    sessions: list[SpySession], code: SpyCode,
) -> None:  # fmt: skip
    why = refusal(call, "8001", sessions, channels, control)
    assert why is not None and why[0] is code


def test_a_talking_call_may_be_spied_by_another_supervisor_too() -> None:
    other = dataclasses.replace(SESSION, phone="8002", spyer_channel="PJSIP/8002-00000009")
    assert refusal(CALL, "8001", [other], [CALLER, AGENT], None) is None


def test_a_session_joins_switches_and_ends_by_asterisks_events() -> None:
    s = applied(SESSION, ChannelCreated(10.1, SPY, SPY, "PJSIP/8001-00000003", "", "", "", ""))
    s = applied(s, ChannelRinging(10.2, SPY, SPY, "PJSIP/8001-00000003"))
    assert (s.spyer_channel, s.ringing_at, s.phase) == ("PJSIP/8001-00000003", 10.2,
                                                        SpyPhase.CALLING)  # fmt: skip
    started = SpyEvent(10.5, SPY, s.spyer_channel, L, AGENT, started=True)
    s = applied(s, started)
    assert (s.phase, s.joined_at, [c.mode for c in s.changes]) == (SpyPhase.JOINED, 10.5,
                                                                   ["listen"])  # fmt: skip
    assert applied(s, dataclasses.replace(started, at=11.0)) == s  # no switch asked: no change
    s = applied(switching(s, SpyMode.WHISPER), SpyEvent(12.0, SPY, s.spyer_channel, "", "", False))
    assert s.phase is SpyPhase.SWITCHING  # the old ChanSpy stopped
    s = applied(s, ChannelVariableSet(12.01, SPY, SPY, s.spyer_channel, VAR_SPY_RECORDING,
                                      "20261201/1700000009.123456789012.wav"))  # fmt: skip
    s = applied(s, dataclasses.replace(started, at=12.1))
    assert [(c.mode, c.at) for c in s.changes] == [("listen", 10.5), ("whisper", 12.1)]
    assert s.recording == "20261201/1700000009.123456789012.wav"
    s = applied(s, ChannelHungUp(20.5, SPY, SPY, s.spyer_channel, 16, "Normal Clearing"))
    assert (s.phase, s.end_code, s.duration_s) == (SpyPhase.ENDED, "left", 10.0)
    other = SpyEvent(21.0, "1.2", "PJSIP/8002-1", L, AGENT, started=True)
    assert applied(s, other) == s


def test_a_phone_that_never_answered_ends_the_session_unjoined() -> None:
    s = applied(SESSION, ChannelHungUp(40.0, SPY, SPY, "PJSIP/8001-00000003", 19, "No Answer"))
    assert (s.phase, s.end_code, s.duration_s) == (SpyPhase.ENDED, "no_answer", None)


def test_barge_on_a_call_in_its_rooms_joins_the_agents_room() -> None:
    assert spy_exten(SpyMode.BARGE, None) == "barge"
    assert spy_exten(SpyMode.BARGE, ROOMS) == "room-main"
    assert spy_exten(SpyMode.BARGE, dataclasses.replace(ROOMS, agent_room=Room.CONSULT)) == (
        "room-consult"
    )
    assert spy_exten(SpyMode.WHISPER, ROOMS) == "whisper"
    s = applied(switching(dataclasses.replace(SESSION, phase=SpyPhase.JOINED), SpyMode.BARGE),
                ConferenceJoined(5.0, SPY, SPY, "PJSIP/8001-00000003", f"m{L}"))  # fmt: skip
    assert (s.phase, s.changes[-1].mode) == (SpyPhase.JOINED, "barge")


def test_chanspy_events_translate() -> None:
    headers = {"Timestamp": "1700000010.5", "SpyerChannel": "PJSIP/8001-00000003",
               "SpyerUniqueid": SPY, "SpyeeChannel": AGENT, "SpyeeUniqueid": "1700000000.2"}
    assert translate("ChanSpyStart", headers) == SpyEvent(
        1700000010.5, SPY, "PJSIP/8001-00000003", "1700000000.2", AGENT, started=True)
    stop = translate("ChanSpyStop", {k: v for k, v in headers.items() if "Spyee" not in k})
    assert stop == SpyEvent(1700000010.5, SPY, "PJSIP/8001-00000003", "", "", started=False)
    channel = {"Timestamp": "1.0", "Linkedid": SPY, "Uniqueid": SPY, "Channel": "PJSIP/8001-3"}
    assert translate("Newstate", {**channel, "ChannelState": "5"}) == ChannelRinging(
        1.0, SPY, SPY, "PJSIP/8001-3")
    assert translate("Newstate", {**channel, "ChannelState": "6"}) is None
