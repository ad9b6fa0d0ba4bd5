"""The control state of a call rebuilt from Asterisk's lists after a backend restart: who is
in the caller's room and in the consult room, the hold-music player, the consulted party
and the trunk leg it answered on."""

from __future__ import annotations

from telephony.call import Call, CallState
from telephony.call_control import ConsultMode, ConsultState, Room, TargetKind
from telephony.dialplan import call_of_consult_party, consult_party_id
from telephony.list_items import ChannelSnapshot
from telephony.live_control import RoomMember, controls_from_snapshot, room_member

L = "1700000000.1"
CALLER = "PJSIP/carrier-00000001"
AGENT = "PJSIP/1001-00000002"
PLAYER = f"Local/{L}@hotline-hold-music-00000003;1"
PARTY = "Local/110@hotline-consult-00000004;1"
DIALLER = "Local/110@hotline-consult-00000004;2"
TRUNK = "PJSIP/trunk-110-backup-00000005"
CALL = Call(L, L, CALLER, "13900000000", "周到", 1.0, state=CallState.TALKING,
            answered_at=2.0, agent_interface="PJSIP/1001", agent_channel=AGENT)  # fmt: skip
KINDS = {"110": TargetKind.EMERGENCY, "1002": TargetKind.AGENT}


def ch(name: str, uniqueid: str, bridge: str = "", duration_s: int = 30) -> ChannelSnapshot:
    return ChannelSnapshot(uniqueid, L, name, "hotline-room-party", "ConfBridge", bridge,
                           "", "", duration_s)  # fmt: skip


CHANNELS = [ch(CALLER, L), ch(AGENT, "100.2"), ch(PLAYER, "moh-ab"),
            ch(PARTY, "ctl-cd", duration_s=12), ch(DIALLER, "ctl-cd-2", "b7"),
            ch(TRUNK, "100.5", "b7")]  # fmt: skip


def main(*channels: str, muted: str = "") -> list[RoomMember]:
    return [RoomMember(f"m{L}", c, c == muted) for c in channels]


def consult(*channels: str) -> list[RoomMember]:
    return [RoomMember(f"c{L}", c) for c in channels]


def test_a_caller_on_hold_with_the_hold_music_player() -> None:
    found = controls_from_snapshot(
        [CALL], main(CALLER, PLAYER) + consult(AGENT), CHANNELS, KINDS, 100.0
    )[L]
    st = found.state
    assert (st.conference, st.held, st.agent_room, st.agent_in_call) == (
        True, True, Room.CONSULT, True
    )  # fmt: skip
    assert (st.agent_channel, st.caller_channel, st.consult) == (AGENT, CALLER, None)
    assert found.player == "moh-ab" and st.adopted  # its history is on record already


def test_a_three_party_call_with_110_answered_on_the_backup_trunk() -> None:
    found = controls_from_snapshot(
        [CALL], main(CALLER, AGENT, PARTY, muted=AGENT), CHANNELS, KINDS, 100.0
    )[L]
    st, c = found.state, found.state.consult
    assert c is not None and found.player == ""
    assert (st.held, st.muted, st.agent_room) == (False, True, Room.MAIN)
    assert (c.state, c.mode, c.target, c.target_kind, c.line) == (
        ConsultState.THREE_WAY, ConsultMode.THREE_WAY, "110", TargetKind.EMERGENCY, "110"
    )  # fmt: skip
    assert (c.party_channel, c.party_uniqueid, c.dial_uniqueid, c.party_room) == (
        PARTY, "ctl-cd", "ctl-cd-2", Room.MAIN
    )  # fmt: skip
    assert [(a.line, a.leg, a.status) for a in c.attempts] == [("110", "backup", "ANSWER")]
    assert c.answered_at == c.started_at == 88.0


def test_a_consult_answered_while_the_caller_holds() -> None:
    found = controls_from_snapshot(
        [CALL], main(CALLER, PLAYER) + consult(AGENT, PARTY), CHANNELS, KINDS, 100.0
    )[L]
    c = found.state.consult
    assert c is not None and found.state.held
    assert (c.state, c.mode, c.party_room) == (ConsultState.ANSWERED, ConsultMode.HOLD,
                                               Room.CONSULT)  # fmt: skip


def test_caller_and_110_left_together_by_the_agent() -> None:
    st = controls_from_snapshot([CALL], main(CALLER, PARTY), CHANNELS, KINDS, 100.0)[L].state
    assert st.consult is not None and st.consult.state is ConsultState.COMPLETED
    assert not st.agent_in_call and st.agent_room is Room.NONE


def test_a_local_the_tracker_took_for_the_agent_is_not_the_agent() -> None:
    wrong = Call(L, L, CALLER, "139", "", 1.0, state=CallState.TALKING, agent_channel=PLAYER)
    st = controls_from_snapshot(
        [wrong], main(CALLER, PLAYER) + consult(AGENT), CHANNELS, KINDS, 100.0
    )[L].state
    assert (st.agent_channel, st.agent_room) == (AGENT, Room.CONSULT)


def test_a_call_still_in_the_queues_bridge_is_not_under_control() -> None:
    assert controls_from_snapshot([CALL], consult(AGENT), CHANNELS, KINDS, 100.0) == {}
    assert controls_from_snapshot([CALL], [], CHANNELS, KINDS, 100.0) == {}


def test_a_confbridge_list_item() -> None:
    item = {"Event": "ConfbridgeList", "Conference": f"m{L}", "Channel": AGENT, "Muted": "Yes"}
    assert room_member(item) == RoomMember(f"m{L}", AGENT, True)
    assert not room_member({**item, "Muted": "No"}).muted


def test_a_consult_still_ringing_is_tied_to_its_call_by_the_party_id() -> None:
    """In no room yet, the consult's Local is found by its Uniqueid (named for the call):
    ringing on the trunk leg its Dial opened (that leg's Linkedid is the Local's). Another
    call's ringing consult is not taken for it."""
    party_id, other_id = consult_party_id(L, "ab12"), consult_party_id("1700000000.9", "cd34")

    def leg(name: str, uniqueid: str, linkedid: str, duration_s: int) -> ChannelSnapshot:
        return ChannelSnapshot(uniqueid, linkedid, name, "hotline-consult", "Dial", "", "", "",
                               duration_s)  # fmt: skip

    ringing = [
        leg("Local/120@hotline-consult-00000006;1", party_id, party_id, 4),
        leg("Local/120@hotline-consult-00000006;2", f"{party_id}-2", party_id, 4),
        leg("PJSIP/trunk-120-primary-00000008", "100.8", party_id, 3),
        leg("Local/119@hotline-consult-00000009;1", other_id, other_id, 9),
        leg("PJSIP/trunk-119-backup-0000000a", "100.10", other_id, 9),
    ]
    kinds = {**KINDS, "120": TargetKind.EMERGENCY, "119": TargetKind.EMERGENCY}
    held = controls_from_snapshot(
        [CALL], main(CALLER, PLAYER) + consult(AGENT), CHANNELS + ringing, kinds, 100.0
    )[L].state
    c = held.consult
    assert c is not None and held.held
    assert (c.state, c.mode, c.target, c.line, c.party_room) == (
        ConsultState.RINGING, ConsultMode.HOLD, "120", "120", Room.NONE
    )  # fmt: skip
    assert (c.party_channel, c.party_uniqueid, c.dial_uniqueid) == (
        "Local/120@hotline-consult-00000006;1", party_id, f"{party_id}-2"
    )  # fmt: skip
    assert [(a.line, a.leg, a.status, a.started_at, a.ended_at) for a in c.attempts] == [
        ("120", "primary", "", 97.0, None)
    ]
    assert c.started_at == 96.0 and c.answered_at is None
    three = controls_from_snapshot([CALL], main(CALLER, AGENT), CHANNELS + ringing, kinds, 100.0)
    assert (c := three[L].state.consult) is not None and c.mode is ConsultMode.THREE_WAY
    alone = controls_from_snapshot([CALL], main(CALLER, AGENT), CHANNELS + ringing[3:], kinds, 1)
    assert alone[L].state.consult is None


def test_a_party_id_names_its_call() -> None:
    party = consult_party_id(L, "3fa2")
    assert call_of_consult_party(party) == L
    for other in (f"{party}-2", L, "moh-ab", "ctl-", f"ctl-{L}", "ctl--ab"):
        assert call_of_consult_party(other) is None, other
