"""The pure call-control machine: rooms, consults, their attempts and reasons, what applies."""

from __future__ import annotations

import dataclasses
from functools import reduce

from telephony.call_control import (
    Consult,
    ConsultMode,
    ConsultState,
    ControlState,
    Room,
    TargetKind,
    apply,
    cancel_requested,
    started,
)
from telephony.control_reactions import consult_live, party_takes_over
from telephony.control_rules import caller_alone, commands_allowed
from telephony.events import (
    ChannelCreated,
    ChannelHungUp,
    ConferenceJoined,
    ConferenceLeft,
    ConferenceMuted,
    DialAnswered,
    DialFailed,
    DialStarted,
    DomainEvent,
    TrunksFailed,
)

L = "1700000000.1"
CALLER, AGENT = "PJSIP/carrier-00000001", "PJSIP/1001-00000002"
PARTY, DIAL = "ctl-ab", "ctl-ab-2"
LOCAL1 = "Local/110@hotline-consult-00000003;1"
MAIN, CONSULT = f"m{L}", f"c{L}"


def control() -> ControlState:
    return ControlState(L, agent_channel=AGENT, caller_channel=CALLER)


def consult(mode: ConsultMode = ConsultMode.HOLD, kind: TargetKind = TargetKind.EMERGENCY
            ) -> Consult:  # fmt: skip
    line = "110" if kind is TargetKind.EMERGENCY else ""
    return Consult("110" if line else "1002", kind, line, mode, ConsultState.DIALING, "",
                   10.0, party_uniqueid=PARTY, dial_uniqueid=DIAL)  # fmt: skip


def joined(channel: str, room: str, uniqueid: str = "u", at: float = 1.0) -> ConferenceJoined:
    return ConferenceJoined(at, L, uniqueid, channel, room)


def run(state: ControlState, *events: DomainEvent) -> ControlState:
    return reduce(apply, events, state)


def dial(dest: str, at: float) -> DialStarted:
    return DialStarted(at, PARTY, DIAL, "Local/110@hotline-consult-00000003;2", dest, "d")


def failed(dest: str, status: str, at: float) -> DialFailed:
    return DialFailed(at, PARTY, DIAL, "Local/110@hotline-consult-00000003;2", dest, status)


def hung(channel: str, uniqueid: str, at: float = 30.0) -> ChannelHungUp:
    return ChannelHungUp(at, L, uniqueid, channel, 16, "Normal Clearing")


IN_ROOMS = (joined(CALLER, MAIN), joined(AGENT, MAIN))


def test_into_the_rooms_and_hold() -> None:
    st = run(control(), *IN_ROOMS)
    assert st.conference and st.agent_room is Room.MAIN and not st.held
    held = run(st, ConferenceLeft(2.0, L, "u", AGENT, MAIN), joined(AGENT, CONSULT))
    assert held.held and held.agent_room is Room.CONSULT
    # No mute away from the caller; hang-up, but no blind transfer in the rooms.
    assert commands_allowed(held) == {"resume", "hangup"}
    back = run(held, joined(AGENT, MAIN))
    assert not back.held and commands_allowed(back) == {"hold", "consult", "mute", "hangup"}


def test_mute_is_the_agents_own_and_a_move_unmutes() -> None:
    st = run(control(), *IN_ROOMS)
    assert run(st, ConferenceMuted(2.0, L, "x", CALLER, MAIN, True)) is st  # not the agent
    muted = run(st, ConferenceMuted(2.0, L, "u", AGENT, MAIN, True))
    assert muted.muted and "unmute" in commands_allowed(muted)
    assert not run(muted, joined(AGENT, CONSULT)).muted


def test_warm_transfer_to_110_its_attempts_and_completion() -> None:
    st = started(run(control(), *IN_ROOMS, joined(AGENT, CONSULT)), consult())
    assert commands_allowed(st) == {"cancel"}
    st = run(
        st,
        ChannelCreated(10.1, PARTY, PARTY, LOCAL1, "", "", "", ""),
        dial("PJSIP/trunk-110-primary-00000004", 10.2),
        failed("PJSIP/trunk-110-primary-00000004", "CONGESTION", 10.3),
        dial("PJSIP/trunk-110-backup-00000005", 10.3),
        DialAnswered(12.0, PARTY, DIAL, "Local/110@x;2", "PJSIP/trunk-110-backup-00000005"),
    )
    assert st.consult is not None and st.consult.party_channel == LOCAL1
    assert [(a.line, a.leg, a.status) for a in st.consult.attempts] == [
        ("110", "primary", "CONGESTION"),
        ("110", "backup", "ANSWER"),
    ]
    assert st.consult.state is ConsultState.RINGING and st.consult.answered_at == 12.0
    st = run(st, joined(LOCAL1, CONSULT, PARTY, 12.01))
    assert st.consult is not None and st.consult.state is ConsultState.ANSWERED
    assert commands_allowed(st) == {"complete", "three_way", "cancel"}
    moved = run(st, ConferenceLeft(13.0, PARTY, PARTY, LOCAL1, CONSULT),
                joined(LOCAL1, MAIN, PARTY, 13.01))  # fmt: skip
    assert moved.consult is not None and moved.consult.state is ConsultState.ANSWERED  # on the way
    done = run(moved, hung(AGENT, "a"))
    assert done.consult is not None and done.consult.state is ConsultState.COMPLETED
    assert not done.agent_in_call and commands_allowed(done) == frozenset()
    gone = run(done, hung(LOCAL1, PARTY))  # 110 hung up: final stays final, out of the room
    assert gone.consult == dataclasses.replace(done.consult, party_room=Room.NONE)


def test_three_way_and_leave() -> None:
    st = started(run(control(), *IN_ROOMS), consult(ConsultMode.THREE_WAY))
    st = run(st, dial("PJSIP/trunk-110-primary-1", 1.0), joined(LOCAL1, MAIN, PARTY, 2.0))
    assert st.three_party and st.consult is not None and st.consult.answered_at == 2.0
    assert commands_allowed(st) == {"leave", "cancel", "mute"}
    left = run(st, hung(AGENT, "a"))
    assert left.consult is not None and left.consult.state is ConsultState.COMPLETED


def test_cancel_and_a_party_that_hangs_up_by_itself() -> None:
    st = started(run(control(), *IN_ROOMS, joined(AGENT, CONSULT)), consult())
    st = run(st, dial("PJSIP/trunk-110-primary-1", 1.0), joined(LOCAL1, CONSULT, PARTY, 2.0))
    cancelled = run(cancel_requested(st), hung(LOCAL1, PARTY))
    assert cancelled.consult is not None and cancelled.consult.state is ConsultState.CANCELLED
    assert cancelled.consult.reason == ""
    itself = run(st, hung(LOCAL1, PARTY))
    assert itself.consult is not None and itself.consult.reason == "hung_up"


def _failed_over(base: ControlState, primary: str, backup: str, event: bool) -> ControlState:
    """Both legs of 110 tried and failed with these DialStatus, then the dialplan's
    UserEvent (event) or only the Local's hang-up."""
    end = TrunksFailed(4.1, PARTY, DIAL, "Local/110@x;2", "110") if event else hung(LOCAL1, PARTY)
    return run(
        base,
        dial("PJSIP/trunk-110-primary-1", 1.0),
        failed("PJSIP/trunk-110-primary-1", primary, 1.1),
        dial("PJSIP/trunk-110-backup-2", 1.1),
        failed("PJSIP/trunk-110-backup-2", backup, 4.1),
        end,
    )  # fmt: skip


def test_why_a_consult_failed() -> None:
    base = started(run(control(), *IN_ROOMS, joined(AGENT, CONSULT)), consult())
    down = _failed_over(base, "CONGESTION", "CHANUNAVAIL", event=True)
    assert down.consult is not None and down.consult.state is ConsultState.FAILED
    assert down.consult.reason == "all_trunks_down"
    assert down.agent_room is Room.CONSULT  # the adapter brings the agent back
    # Without the dialplan's UserEvent, two failed legs of a line say the same.
    no_event = run(down, hung(LOCAL1, PARTY))
    assert no_event.consult == down.consult
    legs_only = _failed_over(base, "CONGESTION", "CHANUNAVAIL", event=False)
    assert legs_only.consult is not None and legs_only.consult.reason == "all_trunks_down"
    # A trunk that was up but busy or not answering: what the last leg said, not "down".
    for primary, backup, reason in (
        ("BUSY", "NOANSWER", "no_answer"),
        ("CONGESTION", "NOANSWER", "no_answer"),
        ("NOANSWER", "BUSY", "busy"),
        ("NOANSWER", "CHANUNAVAIL", "unavailable"),
    ):
        for event in (True, False):
            st = _failed_over(base, primary, backup, event)
            assert st.consult is not None and st.consult.reason == reason, (primary, backup)
    # A line with one trunk, down: all its trunks are down.
    one = run(base, dial("PJSIP/trunk-110-primary-1", 1.0),
              failed("PJSIP/trunk-110-primary-1", "CHANUNAVAIL", 1.1),
              TrunksFailed(1.2, PARTY, DIAL, "Local/110@x;2", "110"))  # fmt: skip
    assert one.consult is not None and one.consult.reason == "all_trunks_down"
    # Legs the dialplan skipped (qualify found them unreachable): not dialled, still down.
    for dialled, skipped, reason in (
        ((), 2, "all_trunks_down"),  # both known down: told at once, nothing dialled
        (("CONGESTION",), 1, "all_trunks_down"),  # primary skipped, the backup's 503
        (("NOANSWER",), 1, "no_answer"),  # primary skipped, the backup rang out
        ((), 0, "unavailable"),  # nothing dialled, nothing skipped: no line to blame
    ):
        st = base
        for i, status in enumerate(dialled):
            leg = f"PJSIP/trunk-110-backup-{i}"
            st = run(st, dial(leg, 1.0 + i), failed(leg, status, 1.1 + i))
        st = run(st, TrunksFailed(3.0, PARTY, DIAL, "Local/110@x;2", "110", skipped))
        assert st.consult is not None and st.consult.reason == reason, (dialled, skipped)
        assert len(st.consult.attempts) == len(dialled)
    agent = started(run(control(), *IN_ROOMS), consult(kind=TargetKind.AGENT))
    for status, reason in (
        ("BUSY", "busy"), ("NOANSWER", "no_answer"), ("CHANUNAVAIL", "unavailable"),
        ("CONGESTION", "unavailable"),
    ):  # fmt: skip
        st = run(agent, dial("PJSIP/1002-1", 1.0), failed("PJSIP/1002-1", status, 2.0),
                 hung(LOCAL1, PARTY, 2.1))  # fmt: skip
        assert st.consult is not None and st.consult.state is ConsultState.FAILED
        assert st.consult.reason == reason
        assert st.consult.attempts[0].leg == "1002"


def test_other_channels_change_nothing() -> None:
    st = started(run(control(), *IN_ROOMS), consult())
    others = (
        joined("PJSIP/1002-9", MAIN, "x"), joined(AGENT, "m1700000000.9"),
        hung("PJSIP/trunk-110-primary-7", "t"),
        DialStarted(1.0, L, CALLER.split("/")[1], CALLER, "PJSIP/1001-2", "y"),
    )  # fmt: skip
    assert run(st, *others) is st
    assert dataclasses.replace(st) == st


def test_before_any_control_action() -> None:
    assert commands_allowed(None) == {"hold", "mute", "consult", "hangup", "transfer"}
    # Not yet in the rooms (the first action is on its way): a blind transfer still applies.
    assert "transfer" in commands_allowed(control())


def test_the_caller_alone_needs_hold_music() -> None:
    st = run(control(), *IN_ROOMS)
    assert not caller_alone(st) and not caller_alone(control())  # with the agent; not in rooms
    held = run(st, joined(AGENT, CONSULT))
    assert caller_alone(held)
    consulting = started(held, consult())
    assert caller_alone(run(consulting, joined(LOCAL1, CONSULT, PARTY, 2.0)))
    assert not caller_alone(run(consulting, joined(LOCAL1, MAIN, PARTY, 2.0)))  # completing
    assert not caller_alone(dataclasses.replace(held, ended=True))


def test_the_agent_lost_during_a_consult_hands_the_caller_to_the_third_party() -> None:
    st = started(run(control(), *IN_ROOMS, joined(AGENT, CONSULT)), consult())
    ringing = run(st, dial("PJSIP/trunk-110-primary-1", 1.0))
    gone = run(ringing, hung(AGENT, "a", 2.0))  # the handset put down while 110 rings
    assert not gone.agent_in_call and consult_live(gone) and caller_alone(gone)  # hold music
    assert not party_takes_over(ringing, gone)  # nobody to hand over to yet
    answered = run(gone, joined(LOCAL1, CONSULT, PARTY, 3.0))
    assert answered.consult is not None and answered.consult.state is ConsultState.ANSWERED
    assert party_takes_over(gone, answered)  # 110 answered: to the caller
    talking = run(st, dial("PJSIP/trunk-110-primary-1", 1.0), joined(LOCAL1, CONSULT, PARTY, 2.0))
    left = run(talking, hung(AGENT, "a", 3.0))  # hung up while talking to 110
    assert party_takes_over(talking, left)
    on_the_way = run(left, ConferenceLeft(3.1, PARTY, PARTY, LOCAL1, CONSULT))
    assert not party_takes_over(left, on_the_way)  # once
    done = run(on_the_way, joined(LOCAL1, MAIN, PARTY, 3.2))
    assert done.consult is not None and done.consult.state is ConsultState.COMPLETED
    assert not party_takes_over(talking, run(talking, joined(AGENT, MAIN)))  # agent still on
