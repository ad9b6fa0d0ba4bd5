"""The desktop's call-control commands (hold, mute, warm transfer and three-party calls) and
the call-control state that call updates carry. Pure: no I/O; `agent_gateway.edge.protocol`
puts them into the protocol's command union and schema.

Each command acts on the agent's current call (the one it talks on at its desk); the backend
answers it only once Asterisk's events confirmed it, and every step (dialling, ringing,
answered, failed with its reason) reaches the desktops as call updates whose `control` says
where the call stands and which of these commands apply now (`allowed`).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from agent_gateway.edge.message_rules import CommandMessage, NoArgs, Out, Strict

# A consult target: 110/119/120, an agent's or a colleague's extension (digits only: it is
# dialled in a dialplan context).
Target = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,15}$")]

# The names of the control commands, as `CallControlInfo.allowed` lists them.
CONTROL_COMMAND_NAMES = (
    "hold", "resume", "mute", "unmute", "consult", "consult_complete", "consult_cancel",
    "three_way", "leave",
)  # fmt: skip


class ConsultArgs(Strict):
    """`hold`: the caller hears hold music while the agent talks to the target first;
    `three_way`: the target is dialled straight into the call (caller, agent, target)."""

    target: Target
    mode: Literal["hold", "three_way"] = "hold"


class HoldCall(CommandMessage):
    name: Literal["hold"]
    args: NoArgs = NoArgs()


class ResumeCall(CommandMessage):
    name: Literal["resume"]
    args: NoArgs = NoArgs()


class Mute(CommandMessage):
    name: Literal["mute"]
    args: NoArgs = NoArgs()


class Unmute(CommandMessage):
    name: Literal["unmute"]
    args: NoArgs = NoArgs()


class Consult(CommandMessage):
    """Warm transfer's first step (一键转接): dial the target, the caller held or with us."""

    name: Literal["consult"]
    args: ConsultArgs


class ConsultComplete(CommandMessage):
    """Hand the caller to the answered target: caller and target together, the agent gone."""

    name: Literal["consult_complete"]
    args: NoArgs = NoArgs()


class ConsultCancel(CommandMessage):
    """Hang up the target (dialling or answered): the agent is back with the caller."""

    name: Literal["consult_cancel"]
    args: NoArgs = NoArgs()


class ThreeWay(CommandMessage):
    """Bring the answered target into the caller's call: a three-party call."""

    name: Literal["three_way"]
    args: NoArgs = NoArgs()


class Leave(CommandMessage):
    """Leave a three-party call: caller and target stay together."""

    name: Literal["leave"]
    args: NoArgs = NoArgs()


CONTROL_COMMANDS = (
    HoldCall, ResumeCall, Mute, Unmute, Consult, ConsultComplete, ConsultCancel, ThreeWay, Leave,
)  # fmt: skip


# --- server → client: the control state of a call -------------------------------------------


class TrunkAttemptInfo(Out):
    line: str = Field(description="110/119/120, or the extension dialled")
    leg: str = Field(description="primary or backup (a trunk), or the endpoint")
    status: str = Field(
        description='"" while it rings, else Asterisk\'s DialStatus: ANSWER, BUSY, '
        "CONGESTION (a 503), NOANSWER, CHANUNAVAIL, CANCEL"
    )
    started_at: float
    ended_at: float | None


class ConsultInfo(Out):
    target: str
    target_kind: Literal["agent", "colleague", "emergency"]
    line: str = Field(description='the emergency line (110/119/120), "" otherwise')
    mode: Literal["hold", "three_way"]
    state: Literal[
        "dialing", "ringing", "answered", "three_way", "completed", "cancelled", "failed"
    ]
    reason: str = Field(
        description='"" or why it failed or ended: busy, no_answer, unavailable,'
        " all_trunks_down, hung_up"
    )
    started_at: float
    answered_at: float | None
    attempts: list[TrunkAttemptInfo] = Field(description="every leg dialled, in order")


class CallControlInfo(Out):
    held: bool = Field(description="the agent is away from the caller (who hears hold music)")
    muted: bool = Field(description="the caller does not hear the agent")
    agent_in_call: bool = Field(description="the agent's leg is still part of the call")
    conference: bool = Field(description="the call runs in the backend's conference rooms")
    consult: ConsultInfo | None = Field(description="the latest consult (warm transfer)")
    allowed: list[str] = Field(
        description="the control commands that apply now, and hangup / transfer when they do"
    )
    emergency_started_at: float | None = Field(
        description="when the first consult of the call to 110/119/120 began (the 10-minute "
        "clock of the hand-over)"
    )
    transfer_due_at: float | None = Field(
        default=None,
        description="the hand-over limit of the call's emergency order saved at the desk "
        "(its intake + 10 minutes)",
    )
