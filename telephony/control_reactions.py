"""What the backend does by itself when a controlled call's state changes, decided from the
states before and after (pure; `CallControl` carries the reaction out over AMI)."""

from __future__ import annotations

from enum import StrEnum

from telephony.call_control import ConsultState, ControlState, Room


class Reaction(StrEnum):
    END_CALL = "end_call"  # the caller's line hung up
    AGENT_BACK = "agent_back"  # the agent redirected into the caller's room
    PARTY_TO_CALLER = "party_to_caller"  # the answered third party redirected to the caller
    KEEP_CALLER = "keep_caller"  # nothing done: the caller waits for the consult (logged)


def party_takes_over(before: ControlState, after: ControlState) -> bool:
    """The agent's leg gone (hung up, or lost) while the answered third party waits in the
    consult room: the backend moves it to the caller, as complete does (and as Atxfer does
    when the transferer hangs up). Once: on the change that made it so."""
    c = after.consult
    if after.agent_in_call or c is None or c.state is not ConsultState.ANSWERED:
        return False
    if c.party_room is not Room.CONSULT:
        return False
    was = before.consult
    return before.agent_in_call or was is None or was.party_room is not Room.CONSULT


def consult_live(state: ControlState) -> bool:
    return state.consult is not None and not state.consult.final


def reaction(before: ControlState, after: ControlState) -> Reaction | None:
    """An agent whose leg leaves during a consult never drops the caller: an answered third
    party goes to the caller (`party_takes_over`, as complete does), one still ringing does
    when it answers (the caller on hold music meanwhile). Otherwise an agent who hangs up
    leaving the caller alone (no third party in the main room) ends the call, as outside the
    rooms (the caller would hear hold music for ever); a consult that failed while the agent
    waited in the consult room brings the agent straight back to the caller."""
    c, was = after.consult, before.consult
    if party_takes_over(before, after):
        return Reaction.PARTY_TO_CALLER
    alone = c is None or c.party_room is not Room.MAIN
    if before.agent_in_call and not after.agent_in_call and alone:
        return Reaction.KEEP_CALLER if consult_live(after) else Reaction.END_CALL
    if (
        c is not None and c.state is ConsultState.FAILED
        and (was is None or was.state is not ConsultState.FAILED)
        and after.agent_in_call and after.agent_room is Room.CONSULT
    ):  # fmt: skip
        return Reaction.AGENT_BACK
    return None
