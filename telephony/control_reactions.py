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
    REQUEUE = "requeue"  # the caller back in its queue, at the front


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


def with_caller(state: ControlState) -> bool:
    """Someone of the call besides the caller: the agent's leg (with the caller or on hold),
    or a third party in the caller's room (a warm transfer to a colleague or 110 completed)."""
    c = state.consult
    return state.agent_in_call or (c is not None and c.party_room is Room.MAIN)


def reaction(before: ControlState, after: ControlState) -> Reaction | None:
    """The caller is never dropped by a leg that leaves during a consult, nor left alone:
    - the agent's leg gone with the third party answered: it goes to the caller
      (`party_takes_over`, as complete does); still ringing: the caller holds (hold music)
      and gets it when it answers;
    - the last one with the caller gone (the agent, the agent a call was handed to, the
      party a warm transfer left with the caller), no consult pending: the call ends (the
      caller would hear hold music for ever);
    - the consult the caller waited for failed or ended with nobody else left: the caller
      goes back to its queue, at the front, for the next free agent;
    - a consult that failed while the agent waited in the consult room: the agent straight
      back to the caller."""
    c, was = after.consult, before.consult
    if party_takes_over(before, after):
        return Reaction.PARTY_TO_CALLER
    if with_caller(before) and not with_caller(after):
        return Reaction.KEEP_CALLER if consult_live(after) else Reaction.END_CALL
    if consult_live(before) and not consult_live(after) and not with_caller(after):
        return Reaction.REQUEUE
    if (
        c is not None and c.state is ConsultState.FAILED
        and (was is None or was.state is not ConsultState.FAILED)
        and after.agent_in_call and after.agent_room is Room.CONSULT
    ):  # fmt: skip
        return Reaction.AGENT_BACK
    return None


def who_left(before: ControlState, after: ControlState) -> str:
    """Who the caller was with last, for the call's end reason ("hung up by …"): the agent
    (whoever has the call), else the third party a warm transfer left it with."""
    if before.agent_in_call and not after.agent_in_call:
        return "agent"
    c = after.consult
    return "third party" if c is None else f"transfer target {c.target}"
