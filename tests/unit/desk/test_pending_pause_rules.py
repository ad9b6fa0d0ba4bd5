"""A pause given on a call, as Asterisk's member events and lists tell it (pure rules)."""

from __future__ import annotations

import dataclasses

from agent_gateway.desk.presence import (
    AgentPresence,
    FoundTalking,
    FoundWrappingUp,
    LoggedIn,
    Paused,
    Unpaused,
)
from agent_gateway.desk.rules import (
    WrapUp,
    presence_input_for_member,
    presence_inputs_for_listing,
    stale_wrap_up_pauses,
)
from agent_gateway.edge.protocol import WRAP_UP_REASON, PresenceState
from telephony.call import Call, CallState
from telephony.events import QueueMemberChanged, QueueMembersListed

S = PresenceState
L = "100.1"
TALKING_CALL = Call(linkedid=L, uniqueid=L, channel="PJSIP/trunk-1", caller_number="13800001234",
                    caller_name="", started_at=0.0,
                    state=CallState.TALKING, agent_interface="PJSIP/1001")  # fmt: skip


def agent(state: S, pending: str | None = None) -> AgentPresence:
    return AgentPresence("1001", "王芳", state, None, 1.0, L, pending)


def member(paused: bool, reason: str = "", queue: str = "hotline") -> QueueMemberChanged:
    return QueueMemberChanged(1.0, queue, "PJSIP/1001", "王芳", 1, paused, reason, False, False)


def test_a_pause_on_a_call_is_an_input_and_its_repeat_is_none() -> None:
    assert presence_input_for_member(member(True, "会议"), agent(S.TALKING), True) == Paused("会议")
    # Asterisk tells each queue's pause apart: the second queue's event changes nothing.
    assert presence_input_for_member(member(True, "会议"), agent(S.TALKING, "会议"), True) is None
    other = presence_input_for_member(member(True, "午饭"), agent(S.TALKING, "会议"), True)
    assert other == Paused("午饭")


def test_an_unpause_on_a_call_cancels_only_a_pending_pause() -> None:
    assert presence_input_for_member(member(False), agent(S.TALKING, "会议"), True) == Unpaused()
    assert presence_input_for_member(member(False), agent(S.WRAP_UP, "会议"), True) == Unpaused()
    assert presence_input_for_member(member(False), agent(S.TALKING), True) is None


def test_our_wrap_up_pause_is_not_a_pause_given() -> None:
    wrap = member(True, WRAP_UP_REASON)
    assert presence_input_for_member(wrap, agent(S.WRAP_UP), True) is None


def test_after_a_restart_a_pause_given_during_the_call_is_still_pending() -> None:
    listed = QueueMembersListed(50.0, (member(True, "会议"),))
    fresh = {"1001": AgentPresence.logged_out("1001", "王芳", 0.0)}
    assert presence_inputs_for_listing(listed, fresh, (TALKING_CALL,), {}) == [
        ("1001", LoggedIn()),
        ("1001", FoundTalking(L, "会议")),
    ]


def test_after_a_restart_a_wrap_up_with_a_pause_pending_resumes_with_it() -> None:
    """The wrap-up kept the pause's reason in Asterisk (not `wrap-up`): still a wrap-up."""
    listed = QueueMembersListed(50.0, (member(True, "会议"),))
    fresh = {"1001": AgentPresence.logged_out("1001", "王芳", 0.0)}
    wrap_ups = {"1001": WrapUp(L, 62.5)}
    assert presence_inputs_for_listing(listed, fresh, (), wrap_ups) == [
        ("1001", LoggedIn()),
        ("1001", FoundWrappingUp(L, 62.5, "会议")),
    ]
    assert stale_wrap_up_pauses(listed, wrap_ups, ["1001"]) == []
    # Its deadline passed while the backend was down: paused, as the agent asked.
    assert presence_inputs_for_listing(listed, fresh, (), {"1001": WrapUp(L, 49.0)})[-1] == (
        "1001",
        Paused("会议"),
    )


def test_after_an_ami_reconnect_the_same_call_changes_only_its_pending_pause() -> None:
    listed = QueueMembersListed(50.0, (member(True, "会议"),))
    talking = {"1001": dataclasses.replace(agent(S.TALKING), since=40.0)}
    assert presence_inputs_for_listing(listed, talking, (TALKING_CALL,), {}) == [
        ("1001", Paused("会议"))
    ]
    unpaused = QueueMembersListed(50.0, (member(False),))
    pending = {"1001": agent(S.TALKING, "会议")}
    assert presence_inputs_for_listing(unpaused, pending, (TALKING_CALL,), {}) == [
        ("1001", Unpaused())
    ]
    assert presence_inputs_for_listing(listed, pending, (TALKING_CALL,), {}) == []
