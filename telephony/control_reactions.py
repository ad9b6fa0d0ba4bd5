"""What the backend does by itself when a controlled call's state changes, decided from the
states before and after (pure; `CallControl` carries the reaction out over AMI)."""

from __future__ import annotations

from enum import StrEnum

from telephony.call_control import ConsultState, ControlState, Room


class Reaction(StrEnum):
    END_CALL = "end_call"  # the caller's line hung up
    AGENT_BACK = "agent_back"  # the agent redirected into the caller's room


def reaction(before: ControlState, after: ControlState) -> Reaction | None:
    """An agent who hangs up leaving the caller alone (no third party in the main room)
    ends the call, as outside the rooms (the caller would hear hold music for ever); a
    consult that failed while the agent waited in the consult room brings the agent
    straight back to the caller."""
    c, was = after.consult, before.consult
    alone = c is None or c.party_room is not Room.MAIN
    if before.agent_in_call and not after.agent_in_call and alone:
        return Reaction.END_CALL
    if (
        c is not None and c.state is ConsultState.FAILED
        and (was is None or was.state is not ConsultState.FAILED)
        and after.agent_in_call and after.agent_room is Room.CONSULT
    ):  # fmt: skip
        return Reaction.AGENT_BACK
    return None
