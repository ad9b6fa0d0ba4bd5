"""The supervisors' listen / whisper / barge commands (part of the supervisor commands of
`supervisor_commands.py`: accepted only from supervisors' and admins' tickets, answered on
the sender's own topic). Pure: no I/O.

The supervisor's phone is the one its user is bound to (the ticket's extension): the backend
rings it; the call is named by its Linkedid (`call_id`, as call updates name it).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from agent_gateway.edge.message_rules import CommandMessage, Out, Strict

SpyMode = Literal["listen", "whisper", "barge"]
CallId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,64}$")]


class SpyStartArgs(Strict):
    linkedid: CallId = Field(description="the call to join (its call_id)")
    mode: SpyMode = Field(description="listen: hear both, heard by nobody; whisper: heard by "
                          "the agent only; barge: heard by both")  # fmt: skip


class SpyModeArgs(Strict):
    mode: SpyMode


class NoArgs(Strict):
    pass


class SpyStart(CommandMessage):
    """Ring the supervisor's phone; once answered it joins the call in `mode`."""

    name: Literal["spy_start"]
    args: SpyStartArgs


class SpyModeChange(CommandMessage):
    """Switch the supervisor's session to another mode (the phone does not ring again)."""

    name: Literal["spy_mode"]
    args: SpyModeArgs


class SpyLeave(CommandMessage):
    """Leave the call (the supervisor's spy channel is hung up)."""

    name: Literal["spy_leave"]
    args: NoArgs = Field(default_factory=NoArgs)


SPY_COMMANDS = (SpyStart, SpyModeChange, SpyLeave)
SPY_COMMAND_NAMES = ("spy_start", "spy_mode", "spy_leave")


class SpySessionUpdate(Out):
    """A change of the supervisor's spy session (calling, ringing, joined, a mode, ended or
    failed with why), on the supervisor's own topic; the live one is in its snapshot."""

    type: Literal["spy_session"] = "spy_session"
    uniqueid: str = Field(description="the supervisor's spy channel")
    linkedid: str = Field(description="the spied call (its call_id)")
    phone: str
    agent: str
    mode: SpyMode
    phase: str = Field(description="calling, ringing, joined, switching or ended")
    joined_at: float | None
    ended_at: float | None
    duration_s: float | None
    modes: list[SpyMode] = Field(description="each mode confirmed, in order")
    end_code: str = Field(description="once ended: left, no_answer, spyee_gone, lost, ...")
    reason: str = Field(description="once ended: why, in Chinese")
