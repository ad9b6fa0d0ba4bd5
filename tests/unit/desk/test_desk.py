"""What desktops are told about calls and agents: pops, updates, records, presence inputs."""

from __future__ import annotations

import dataclasses

import pytest

from agent_gateway.desk.presence import (
    AgentPresence,
    Answered,
    CallEnded,
    FoundTalking,
    FoundWrappingUp,
    LoggedIn,
    LoggedOut,
    Paused,
    Ringing,
    TookOver,
    Unpaused,
    WrapUpDone,
)
from agent_gateway.desk.rules import (
    WrapUp,
    audience,
    call_record,
    call_update,
    is_login,
    memberships,
    presence_input_for_member,
    presence_input_for_ring_no_answer,
    presence_inputs_for_call,
    presence_inputs_for_listing,
    screen_pop,
    stale_wrap_up_pauses,
    wrap_ups_from_records,
)
from agent_gateway.edge.protocol import WRAP_UP_REASON, PresenceState
from crm.domain.caller import NO_NUMBER, CallerSummary
from crm.domain.masking import mask_number
from telephony.call import Call, CallChanged, CallState
from telephony.dialplan import DUTY_QUEUE
from telephony.events import (
    AgentAnswered,
    AgentRinging,
    AgentRingNoAnswer,
    ChannelHungUp,
    DialAnswered,
    QueueMemberChanged,
    QueueMembersListed,
)

L = "100.1"
CALL = Call(
    linkedid=L, uniqueid=L, channel="PJSIP/carrier-1", caller_number="13800001234",
    caller_name="张三" * 60, started_at=100.0, state=CallState.RINGING, ivr_choice="2",
    ivr_label="complaint", queue="complaint", queued_at=101.0, ringing=("PJSIP/1002",),
)  # fmt: skip


def presence(ext: str, state: PresenceState, call_id: str | None = None, reason: str | None = None
             ) -> AgentPresence:  # fmt: skip
    return AgentPresence(ext, "王芳", state, reason, 1.0, call_id)


def member(iface: str = "PJSIP/1001", paused: bool = False, reason: str = "", removed: bool = False,
           queue: str = "hotline") -> QueueMemberChanged:  # fmt: skip
    return QueueMemberChanged(1.0, queue, iface, "王芳", 1, paused, reason, False, removed)


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("13800001234", "138****1234"),
        ("12345", "*2345"),
        ("8765432", "***5432"),
        ("110", "***"),
        ("", ""),
    ],
)
def test_mask_number(number: str, masked: str) -> None:
    assert mask_number(number) == masked


def test_screen_pop_lists_history_and_masks_confidential_callers() -> None:
    history = ({"number": "A", "status": "dispatched"}, {"number": "B", "status": "closed"})
    summary = CallerSummary(history=history, open_orders=history[:1], confidential=True)
    pop = screen_pop(CALL, "1002", 103.5, summary)
    assert pop.caller.number == "138****1234" and pop.caller.masked
    assert pop.wait_s == 2.5 and pop.ami_ts == 103.5
    assert [h["number"] for h in pop.open_orders] == ["A"] and len(pop.history) == 2
    assert pop.draft_order["order_type"] == "complaint"
    assert len(pop.draft_order["caller_name"]) == 100  # the CRM's limit
    assert screen_pop(CALL, "1002", 103.5, NO_NUMBER).caller.number == "13800001234"


def test_call_update_and_record_mask_the_same_way() -> None:
    update = call_update(CALL, 104.0, confidential=True)
    assert update.caller is not None and update.caller.number == "138****1234"
    record = call_record(CALL, confidential=True)
    assert record["caller_number"] == "138****1234" and record["masked"] is True
    assert record["ringing_extensions"] == ["1002"]


def test_call_update_names_queue_and_ivr_choice_as_the_record_does() -> None:
    update = call_update(CALL, 104.0, confidential=False)
    assert update.queue == "complaint" and update.caller is not None
    assert update.caller.name == CALL.caller_name and update.caller.number == "13800001234"
    assert update.ivr is not None and (update.ivr.choice, update.ivr.label) == ("2", "complaint")


def test_audience_includes_agents_who_rang_for_the_call() -> None:
    ended = dataclasses.replace(CALL, state=CallState.ABANDONED, ringing=())
    assert audience(ended, [presence("1002", PresenceState.RINGING, L)]) == {"1002"}
    assert audience(CALL, []) == {"1002"}


def test_presence_inputs_for_call_lifecycle() -> None:
    ring = AgentRinging(101.5, L, L, "c", "complaint", "PJSIP/1002", "李娜", "PJSIP/1002-1")
    assert presence_inputs_for_call(CallChanged(CALL, CallState.QUEUED, ring), []) == [
        ("1002", Ringing(L))
    ]
    answer = AgentAnswered(102.0, L, L, "c", "complaint", "PJSIP/1002", "李娜", "x", 1, 1)
    talking = dataclasses.replace(CALL, state=CallState.TALKING)
    assert presence_inputs_for_call(CallChanged(talking, CallState.RINGING, answer), []) == [
        ("1002", Answered(L))
    ]
    ended = dataclasses.replace(CALL, state=CallState.ENDED)
    others = [presence("1002", PresenceState.TALKING, L), presence("1001", PresenceState.AVAILABLE)]
    assert presence_inputs_for_call(CallChanged(ended, CallState.TALKING, None), others) == [
        ("1002", CallEnded(L))
    ]


def test_the_agent_who_hung_up_wraps_up_while_the_caller_is_in_the_survey() -> None:
    talking = dataclasses.replace(CALL, state=CallState.TALKING, agent_channel="PJSIP/1002-1")
    in_survey = dataclasses.replace(talking, agent_left_at=110.0, completed_by="agent")
    leg = ChannelHungUp(110.0, L, "100.2", "PJSIP/1002-1", 16, "Normal Clearing")
    on_it = [presence("1002", PresenceState.TALKING, L)]
    assert presence_inputs_for_call(CallChanged(in_survey, CallState.TALKING, leg), on_it) == [
        ("1002", CallEnded(L))
    ]
    # the caller's own hang-ups and the call's end later tell the wrapping-up agent nothing
    assert presence_inputs_for_call(CallChanged(talking, CallState.TALKING, leg), on_it) == []
    ended = dataclasses.replace(in_survey, state=CallState.ENDED)
    wrapping = [presence("1002", PresenceState.WRAP_UP, L)]
    assert presence_inputs_for_call(CallChanged(ended, CallState.TALKING, None), wrapping) == []


def test_ring_no_answer_frees_the_agent() -> None:
    event = AgentRingNoAnswer(1.0, L, L, "c", "hotline", "PJSIP/1001", "王芳", "x")
    assert presence_input_for_ring_no_answer(event) == ("1001", CallEnded(L))


def test_member_events_as_presence_inputs() -> None:
    out = presence("1001", PresenceState.LOGGED_OUT)
    available = presence("1001", PresenceState.AVAILABLE)
    assert presence_input_for_member(member(), out, True) == LoggedIn()
    assert presence_input_for_member(member(paused=True, reason="午餐"), available, True) == Paused(
        "午餐"
    )
    paused = presence("1001", PresenceState.PAUSED, reason="午餐")
    assert presence_input_for_member(member(paused=True, reason="午餐"), paused, True) is None
    assert presence_input_for_member(member(), paused, True) == Unpaused()
    wrap = presence("1001", PresenceState.WRAP_UP, L)
    assert presence_input_for_member(member(paused=True, reason=WRAP_UP_REASON), wrap, True) is None
    assert presence_input_for_member(member(removed=True), available, True) is None
    assert presence_input_for_member(member(removed=True), available, False) == LoggedOut()


def test_listing_after_reconnect_brings_presence_in_line() -> None:
    listed = QueueMembersListed(5.0, (
        member("PJSIP/1001", paused=True, reason="培训"),
        member("PJSIP/1002", queue="complaint"),
        member("PJSIP/9999"),
    ))  # fmt: skip
    presences = {
        "1001": presence("1001", PresenceState.AVAILABLE),
        "1002": presence("1002", PresenceState.LOGGED_OUT),
        "1003": presence("1003", PresenceState.AVAILABLE),
    }
    assert memberships(listed, presences) == {"1001": {"hotline"}, "1002": {"complaint"},
                                              "1003": set()}  # fmt: skip
    assert presence_inputs_for_listing(listed, presences) == [
        ("1001", Paused("培训")),
        ("1002", LoggedIn()),
        ("1003", LoggedOut()),
    ]


def test_a_duty_phone_is_no_login() -> None:
    """The duty queue's static members are phones, not logins: an agent on duty but logged
    out at the desk stays logged out; its change events are ignored too."""
    listed = QueueMembersListed(5.0, (member("PJSIP/1001", queue=DUTY_QUEUE),))
    presences = {"1001": presence("1001", PresenceState.AVAILABLE)}
    assert memberships(listed, presences) == {"1001": set()}
    assert presence_inputs_for_listing(listed, presences) == [("1001", LoggedOut())]
    assert not is_login(member("PJSIP/1001", queue=DUTY_QUEUE)) and is_login(member())


# --- presence after a restart or an AMI reconnect: Asterisk's member list is the truth ------

AGENTS = ("1001", "1002", "1003", "1004")
LOGGED_OUT = {ext: presence(ext, PresenceState.LOGGED_OUT) for ext in AGENTS}  # a fresh backend


def test_after_a_restart_a_wrap_up_pause_resumes_to_its_recorded_deadline() -> None:
    listed = QueueMembersListed(50.0, (
        member("PJSIP/1001", paused=True, reason=WRAP_UP_REASON),
        member("PJSIP/1001", paused=True, reason=WRAP_UP_REASON, queue="complaint"),
        member("PJSIP/1002", paused=True, reason=WRAP_UP_REASON),  # its deadline has passed
        member("PJSIP/1003", paused=True, reason=WRAP_UP_REASON),  # nothing recorded
        member("PJSIP/1004"),
    ))  # fmt: skip
    wrap_ups = {"1001": WrapUp("L9", 62.5), "1002": WrapUp("L8", 49.0)}
    assert presence_inputs_for_listing(listed, LOGGED_OUT, (), wrap_ups) == [
        ("1001", LoggedIn()),
        ("1001", FoundWrappingUp("L9", 62.5)),
        ("1002", LoggedIn()),
        ("1003", LoggedIn()),
        ("1004", LoggedIn()),
    ]
    assert stale_wrap_up_pauses(listed, wrap_ups, AGENTS) == ["1002", "1003"]


def test_after_a_restart_a_pause_the_agent_chose_is_kept_with_its_reason() -> None:
    listed = QueueMembersListed(50.0, (
        member("PJSIP/1001", paused=True, reason="休息"),
        member("PJSIP/1002", paused=True, reason=""),
        member("PJSIP/1003", paused=True, reason="午餐"),
        member("PJSIP/1003", paused=True, reason=WRAP_UP_REASON, queue="complaint"),
    ))  # fmt: skip
    assert presence_inputs_for_listing(listed, LOGGED_OUT, (), {}) == [
        ("1001", LoggedIn()),
        ("1001", Paused("休息")),
        ("1002", LoggedIn()),
        ("1002", Paused("暂停")),
        ("1003", LoggedIn()),
        ("1003", Paused("午餐")),
    ]  # 1004, in no queue, stays logged out
    # Lifting 1003's wrap-up pause would lift its lunch too (QueuePause covers every queue).
    assert stale_wrap_up_pauses(listed, {}, AGENTS) == []


def test_after_a_restart_an_agent_on_a_re_synced_call_is_talking() -> None:
    talking = dataclasses.replace(CALL, state=CallState.TALKING, agent_interface="PJSIP/1002",
                                  ringing=())  # fmt: skip
    queued = dataclasses.replace(CALL, linkedid="200.1", state=CallState.QUEUED, ringing=())
    listed = QueueMembersListed(50.0, (member("PJSIP/1001"), member("PJSIP/1002")))
    presences = {ext: LOGGED_OUT[ext] for ext in ("1001", "1002")}
    assert presence_inputs_for_listing(listed, presences, (talking, queued), {}) == [
        ("1001", LoggedIn()),
        ("1002", LoggedIn()),
        ("1002", FoundTalking(L)),
    ]


def test_after_an_ami_reconnect_presence_follows_asterisk() -> None:
    listed = QueueMembersListed(50.0, (
        member("PJSIP/1001", paused=True, reason=WRAP_UP_REASON),  # still wrapping up
        member("PJSIP/1002"),  # Asterisk restarted without our wrap-up pause
        member("PJSIP/1003"),  # the lunch pause is gone
        member("PJSIP/1004", paused=True, reason="培训"),
    ))  # fmt: skip
    presences = {
        "1001": presence("1001", PresenceState.WRAP_UP, "L1"),
        "1002": presence("1002", PresenceState.WRAP_UP, "L2"),
        "1003": presence("1003", PresenceState.PAUSED, reason="午餐"),
        "1004": presence("1004", PresenceState.WRAP_UP, "L4"),
    }
    wrap_ups = {"1001": WrapUp("L1", 60.0), "1002": WrapUp("L2", 60.0), "1004": WrapUp("L4", 60.0)}
    assert presence_inputs_for_listing(listed, presences, (), wrap_ups) == [
        ("1002", WrapUpDone()),
        ("1003", Unpaused()),
        ("1004", Paused("培训")),
    ]
    assert stale_wrap_up_pauses(listed, wrap_ups, AGENTS) == []


def test_after_an_ami_reconnect_a_lost_call_or_a_lost_membership_is_set_right() -> None:
    listed = QueueMembersListed(50.0, (
        member("PJSIP/1001"),
        member("PJSIP/1002", paused=True, reason=WRAP_UP_REASON),
    ))  # fmt: skip
    presences = {
        "1001": presence("1001", PresenceState.TALKING, "L1"),  # a call Asterisk no longer has
        "1002": presence("1002", PresenceState.PAUSED, reason="午餐"),
        "1003": presence("1003", PresenceState.WRAP_UP, "L3"),  # in no queue any more
    }
    wrap_ups = {"1002": WrapUp("L2", 70.0)}
    assert presence_inputs_for_listing(listed, presences, (), wrap_ups) == [
        ("1001", LoggedOut()),
        ("1001", LoggedIn()),
        ("1002", Unpaused()),
        ("1002", FoundWrappingUp("L2", 70.0)),
        ("1003", LoggedOut()),
    ]


def test_wrap_up_records_read_back_from_redis() -> None:
    records: dict[str, str | bytes] = {
        "1001": '{"call_id":"L1","deadline":1700000060.5}',
        "1002": b'{"call_id":"L2","deadline":1700000070}',
        "1003": "not json",
        "1004": '{"call_id":"","deadline":1}',
        "1005": '{"call_id":"L5","deadline":"soon"}',
        "1006": '["L6", 1]',
    }
    found, bad = wrap_ups_from_records(records)
    assert found == {"1001": WrapUp("L1", 1700000060.5), "1002": WrapUp("L2", 1700000070.0)}
    assert bad == ["1003", "1004", "1005", "1006"]
    assert WrapUp("L1", 5.5).to_record() == {"call_id": "L1", "deadline": 5.5}


def test_a_blind_transfer_taken_by_another_agent_moves_the_call_to_it() -> None:
    answered = dataclasses.replace(CALL, state=CallState.TALKING, answered_at=102.0,
                                   agent_interface="PJSIP/1002")  # fmt: skip
    sent = dataclasses.replace(answered, state=CallState.TRANSFERRED, transfer_target="1003")
    taken = dataclasses.replace(sent, transfer_answered_by="PJSIP/1003")
    dial = DialAnswered(130.0, L, L, "c", "PJSIP/1003-0000000a")
    assert presence_inputs_for_call(CallChanged(taken, CallState.TRANSFERRED, dial), []) == [
        ("1003", TookOver(L))
    ]
    # who has the caller now, for the desktops (the outcome is asked for there)
    assert call_update(taken, 131.0, confidential=False).agent_extension == "1003"
    assert call_record(taken, confidential=False)["agent_extension"] == "1003"
    assert call_update(sent, 129.0, confidential=False).agent_extension == "1002"
    to_110 = dataclasses.replace(sent, transfer_target="110", transfer_answered_by="PJSIP/sbc")
    assert presence_inputs_for_call(CallChanged(to_110, CallState.TRANSFERRED, dial), []) == []
    assert call_update(to_110, 131.0, confidential=False).agent_extension == "1002"
