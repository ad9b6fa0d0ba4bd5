"""What a controlled call's state allows and needs (pure): the commands that apply now (the
desk enables only these), and whether the caller waits alone (it then hears hold music)."""

from __future__ import annotations

from telephony.call_control import ConsultState, ControlState, Room


def caller_alone(state: ControlState) -> bool:
    """The caller in its room with nobody else of the call: it needs hold music."""
    if not state.conference or state.ended or state.agent_room is Room.MAIN:
        return False
    c = state.consult
    return c is None or c.party_room is not Room.MAIN


def commands_allowed(state: ControlState | None) -> frozenset[str]:
    """The commands that apply to a talking call now (the desk enables only these): hold,
    resume, mute, unmute, consult, complete, three_way, cancel, leave, and the desk's
    hangup and blind transfer. Hang-up waits until a consult is over (complete or cancel
    it: the caller is never dropped with it); a blind transfer acts on the queue's bridge,
    so only while the call is not in the rooms."""
    if state is None:
        return frozenset({"hold", "mute", "consult", "hangup", "transfer"})
    if not state.agent_in_call:
        return frozenset()
    consult = state.consult if state.consult is not None and not state.consult.final else None
    allowed: set[str] = set()
    if consult is None:
        allowed |= {"resume"} if state.held else {"hold", "consult"}
        allowed |= {"hangup"} if state.conference else {"hangup", "transfer"}
    elif consult.state is ConsultState.ANSWERED:
        allowed |= {"complete", "three_way", "cancel"}
    elif consult.state is ConsultState.THREE_WAY:
        allowed |= {"leave", "cancel"}
    else:
        allowed |= {"cancel"}  # still dialling or ringing
    if state.agent_room is Room.MAIN:
        allowed |= {"unmute"} if state.muted else {"mute"}
    return frozenset(allowed)
