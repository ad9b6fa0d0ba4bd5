"""The supervisors' commands (their own set, apart from the agents') and the notice a floor
action leaves on the agent's desktop. Pure: no I/O; `agent_gateway.edge.protocol` parses them
and puts them into the schema.

A supervisor command is accepted by the gateway only from a supervisor's or an admin's ticket
(an agent command only from an agent's): each is sealed with the sender's role, which the
executor checks again against the verb's entry, and answered on the sender's own topic
(`user_topic`), never on an agent's. Its target (an agent's extension, a queue) is an
argument, checked by the backend against what exists.

A new supervisor command is one model here, added to `SUPERVISOR_COMMANDS` and
`SupervisorCommand`, plus its verb in the backend's table (roles `FLOOR_ROLES`).
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, StringConstraints

from agent_gateway.edge.message_rules import CONTROL, CommandMessage, Out, Strict
from agent_gateway.edge.overflow_message import OverflowSwitch
from agent_gateway.edge.spy_commands import (
    SPY_COMMAND_NAMES,
    SPY_COMMANDS,
    SpyLeave,
    SpyModeChange,
    SpySessionUpdate,
    SpyStart,
)

FLOOR_ROLES = frozenset({"supervisor", "admin"})  # the roles that may send these commands

# The pause reasons an agent picks at the desk (agent.html's 示忙原因): a forced pause uses one
# of them, so the agent's presence and the wall show it as any other pause.
PauseReason = Literal["小休", "培训", "午餐", "会议"]
PAUSE_REASONS: tuple[str, ...] = get_args(PauseReason)
MAX_REASON_CHARS = 200


def user_topic(user_id: int) -> str:
    """The bus topic of one user's own desktop: a supervisor's command results and notices."""
    return f"user.{user_id}"


def _reason_text(value: str) -> str:
    if CONTROL.search(value):
        raise ValueError("control characters (CR, LF, NUL, ...) are not allowed")
    if not value.strip():
        raise ValueError("a reason is required")
    return value


# Why the supervisor acts: required, one line, stored in the audit and shown to the agent.
ReasonText = Annotated[
    str, StringConstraints(min_length=1, max_length=MAX_REASON_CHARS), AfterValidator(_reason_text)
]
AgentExtension = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,15}$")]
FloorQueue = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class FloorArgs(Strict):
    extension: AgentExtension = Field(description="the agent acted on")
    reason: ReasonText


class ForcePauseArgs(FloorArgs):
    pause_reason: PauseReason = Field(description="the pause the agent is put in")


class MoveQueueArgs(FloorArgs):
    from_queue: FloorQueue = Field(description="the queue the agent leaves")
    to_queue: FloorQueue = Field(description="the queue the agent joins (at its penalty there)")


class AssignQueueArgs(FloorArgs):
    queue: FloorQueue = Field(description="the queue an overflow seat serves now, penalty 0")


class ForcePause(CommandMessage):
    """Pause an agent in every queue (Asterisk stops ringing them), with a desk pause reason."""

    name: Literal["force_pause"]
    args: ForcePauseArgs


class ForceUnpause(CommandMessage):
    name: Literal["force_unpause"]
    args: FloorArgs


class ForceLogout(CommandMessage):
    """Take an agent out of every queue it is a member of."""

    name: Literal["force_logout"]
    args: FloorArgs


class MoveQueue(CommandMessage):
    """Add the agent to one queue and remove it from another."""

    name: Literal["move_queue"]
    args: MoveQueueArgs


class AssignQueue(CommandMessage):
    """An overflow seat serves the queue now, as a first-choice member (not only on overflow)."""

    name: Literal["assign_queue"]
    args: AssignQueueArgs


SUPERVISOR_COMMANDS = (
    ForcePause, ForceUnpause, ForceLogout, MoveQueue, AssignQueue, *SPY_COMMANDS
)  # fmt: skip
SupervisorCommand = Annotated[
    ForcePause | ForceUnpause | ForceLogout | MoveQueue | AssignQueue
    | SpyStart | SpyModeChange | SpyLeave,
    Field(discriminator="name"),
]  # fmt: skip
SUPERVISOR_COMMAND_NAMES = frozenset(
    ("force_pause", "force_unpause", "force_logout", "move_queue", "assign_queue",
     *SPY_COMMAND_NAMES)
)  # fmt: skip


# --- server → client ------------------------------------------------------------------------


class FloorNotice(Out):
    """A supervisor acted on an agent: on the agent's topic and the supervisor's own."""

    type: Literal["floor_notice"] = "floor_notice"
    action: str = Field(description="the supervisor command carried out (force_pause, ...)")
    extension: str = Field(description="the agent acted on")
    by_user_id: int
    by_name: str
    by_role: str
    queue: str | None = Field(description="the queue joined, for move_queue and assign_queue")
    reason: str = Field(description="the supervisor's reason text")
    text: str = Field(description="what the agent's desktop shows (Chinese)")
    at: float


# on the bus (the overflow seats' switches too)
SUPERVISOR_MESSAGES: tuple[type[Out], ...] = (FloorNotice, SpySessionUpdate, OverflowSwitch)
