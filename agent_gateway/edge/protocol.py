"""The agent desktop protocol: JSON text frames over a websocket, versioned by PROTOCOL_VERSION.

Pure: no I/O. Client → server messages are validated strictly (unknown fields are refused) so
a desktop bug shows up as a clear error instead of a half-understood command. Server → client
models build the bus bodies, which the gateway forwards as they are (plus "seq").
docs/agent_protocol.md describes every message; docs/agent_protocol.schema.json is generated
from them by `protocol_schema.py`. Elsewhere: `call_commands`, `revisit_commands` (calls back),
`control_commands`, `supervisor_commands`, the supervisors' `alert` (`alert_message`, trunk
legs down included) and `wall` (`wall_message`, the trunk legs' states), `message_rules`."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    NonNegativeInt,
    StringConstraints,
    TypeAdapter,
    ValidationError,
)

from agent_gateway.edge import supervisor_commands as sup
from agent_gateway.edge.call_commands import Dispose, RecordingPause, RecordingResume, SaveOrder
from agent_gateway.edge.control_commands import (
    CONTROL_COMMAND_NAMES,
    CallControlInfo,
    Consult,
    ConsultCancel,
    ConsultComplete,
    HoldCall,
    Leave,
    Mute,
    ResumeCall,
    ThreeWay,
    Unmute,
)
from agent_gateway.edge.message_rules import CONTROL, CommandMessage, NoArgs, OneLine, Out, Strict
from agent_gateway.edge.revisit_commands import RevisitCall, RevisitResult

PROTOCOL_VERSION = 1
SUPERVISORS = "supervisors"  # the bus topic of every supervisor's and admin's desktop


def agent_topic(extension: str) -> str:
    """The bus topic of one agent's desktop."""
    return f"agent.{extension}"


# The reason the backend pauses an agent's queue membership while they wrap up a call, so
# that Asterisk does not ring them; it is not a pause the agent chose, so no agent may pick it.
WRAP_UP_REASON = "wrap-up"

Role: TypeAlias = Literal["agent", "supervisor", "admin"]


class PresenceState(StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    RINGING = "ringing"
    TALKING = "talking"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


class ErrorCode(StrEnum):
    """Why the gateway refused a client message (sent in `error` or `command_result`)."""

    MALFORMED_JSON = "malformed_json"
    INVALID_MESSAGE = "invalid_message"
    UNKNOWN_TYPE = "unknown_type"
    UNKNOWN_COMMAND = "unknown_command"
    INVALID_ARGS = "invalid_args"
    FORBIDDEN = "forbidden"
    RATE_LIMITED = "rate_limited"


class ProtocolError(Exception):
    """A client message the gateway refuses; `command_id` is set when the reply can name it."""

    def __init__(self, code: ErrorCode, message: str, command_id: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.command_id = command_id


# --- client → server -------------------------------------------------------------------------


QueueName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]


class Resume(Strict):
    """Replay what was published after `last_seq`, then continue live."""

    type: Literal["resume"]
    last_seq: NonNegativeInt


class Ping(Strict):
    type: Literal["ping"]


class QueuesArgs(Strict):
    queues: list[QueueName] | None = Field(default=None, max_length=32)


def reserved_pause_reason(reason: str) -> bool:
    """The backend's own wrap-up reason (in any case, spaced): an agent's pause with it would
    be taken for the backend's wrap-up, shown as available and lifted after a restart."""
    return reason.strip().casefold() == WRAP_UP_REASON


def _not_reserved(reason: str) -> str:
    if reserved_pause_reason(reason):
        raise ValueError(f"{WRAP_UP_REASON!r} is reserved for the backend's wrap-up pause")
    return reason


class PauseArgs(Strict):
    reason: Annotated[
        str, StringConstraints(min_length=1, max_length=32), OneLine, AfterValidator(_not_reserved)
    ]


class TransferArgs(Strict):
    target: Annotated[str, StringConstraints(pattern=r"^[0-9]{2,15}$")]
    mode: Literal["blind"] = "blind"


class Login(CommandMessage):
    name: Literal["login"]
    args: QueuesArgs = QueuesArgs()


class Logout(CommandMessage):
    name: Literal["logout"]
    args: QueuesArgs = QueuesArgs()


class Pause(CommandMessage):
    name: Literal["pause"]
    args: PauseArgs


class Unpause(CommandMessage):
    name: Literal["unpause"]
    args: NoArgs = NoArgs()


class Hangup(CommandMessage):
    name: Literal["hangup"]
    args: NoArgs = NoArgs()


class Transfer(CommandMessage):
    name: Literal["transfer"]
    args: TransferArgs


class WrapupDone(CommandMessage):
    name: Literal["wrapup_done"]
    args: NoArgs = NoArgs()


Command = Annotated[
    Login | Logout | Pause | Unpause | Hangup | Transfer | WrapupDone | SaveOrder | Dispose
    | RecordingPause | RecordingResume | HoldCall | ResumeCall | Mute | Unmute | Consult
    | ConsultComplete | ConsultCancel | ThreeWay | Leave | RevisitCall | RevisitResult,
    Field(discriminator="name"),
]  # fmt: skip
ClientMessage = Annotated[Resume | Ping | Command, Field(discriminator="type")]

COMMAND_NAMES = frozenset(
    ("login", "logout", "pause", "unpause", "hangup", "transfer", "wrapup_done", "save_order",
     "dispose", "recording_pause", "recording_resume", "revisit_call", "revisit_result",
     *CONTROL_COMMAND_NAMES,
     *sup.SUPERVISOR_COMMAND_NAMES)
)  # fmt: skip
_CLIENT_TYPES = frozenset(("resume", "ping", "command"))
_client_adapter: TypeAdapter[Resume | Ping | Command] = TypeAdapter(ClientMessage)
_supervisor_adapter: TypeAdapter[sup.SupervisorCommand] = TypeAdapter(sup.SupervisorCommand)


def parse_client_message(text: str | bytes) -> Resume | Ping | Command | sup.SupervisorCommand:
    """Parse one client frame, or raise ProtocolError saying precisely what is wrong."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProtocolError(ErrorCode.MALFORMED_JSON, f"not JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, "a message is a JSON object")
    kind = raw.get("type")
    if kind not in _CLIENT_TYPES:
        raise ProtocolError(ErrorCode.UNKNOWN_TYPE, f"unknown message type {_short(kind)}")
    raw_id = raw.get("id")
    nameable = isinstance(raw_id, str) and 0 < len(raw_id) <= 64 and not CONTROL.search(raw_id)
    command_id = raw_id if nameable else None
    if kind == "command" and raw.get("name") not in COMMAND_NAMES:
        raise ProtocolError(
            ErrorCode.UNKNOWN_COMMAND, f"unknown command {_short(raw.get('name'))}", command_id
        )
    floor = kind == "command" and raw.get("name") in sup.SUPERVISOR_COMMAND_NAMES
    try:
        return (_supervisor_adapter if floor else _client_adapter).validate_python(raw)
    except ValidationError as exc:
        tags = 1 if floor else 2 if kind == "command" else 1
        if command_id is not None:  # a command we can name: its arguments are wrong
            raise ProtocolError(ErrorCode.INVALID_ARGS, _describe(exc, tags), command_id) from None
        raise ProtocolError(ErrorCode.INVALID_MESSAGE, _describe(exc, tags)) from None


def _short(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _describe(exc: ValidationError, tags: int) -> str:
    """Pydantic's errors without the offending input (which may be large or hostile)."""
    parts = []
    for err in exc.errors(include_url=False, include_input=False):
        # The loc starts with the discriminators' tags ("command", "pause"): drop them.
        where = ".".join(str(p) for p in err["loc"][tags:]) or "message"
        parts.append(f"{where}: {err['msg']}")
    return "; ".join(parts)


# --- server → client -------------------------------------------------------------------------


class User(Out):
    id: int
    name: str
    role: Role
    extension: str | None


class Hello(Out):
    type: Literal["hello"] = "hello"
    v: int = PROTOCOL_VERSION
    user: User
    last_seq: int = Field(description="the newest seq on the bus when the desktop connected")


class Snapshot(Out):
    type: Literal["snapshot"] = "snapshot"
    seq: int = Field(description="the state includes every message up to this seq")
    presence: dict[str, dict[str, Any]] = Field(description="extension → presence message")
    calls: list[dict[str, Any]]
    queues: list[dict[str, Any]] = Field(default=[], description="supervisors: queue_stats")
    wall: dict[str, Any] | None = Field(default=None, description="supervisors: the last wall")
    floor_notice: dict[str, Any] | None = Field(default=None, description="agents: the last one")
    spy: dict[str, Any] | None = Field(default=None, description="their live spy_session")


class Caller(Out):
    number: str
    name: str | None = None
    masked: bool = False


class IvrChoice(Out):
    choice: str | None = None
    label: str | None = None


class ScreenPop(Out):
    type: Literal["screen_pop"] = "screen_pop"
    call_id: str = Field(description="the call's Linkedid")
    extension: str
    caller: Caller
    ivr: IvrChoice
    queue: str | None
    wait_s: float
    ami_ts: float | None = Field(description="Asterisk's event timestamp (epoch seconds)")
    history: list[dict[str, Any]] = Field(description="summaries of the caller's earlier orders")
    open_orders: list[dict[str, Any]]
    draft_order: dict[str, Any]
    callback: bool = Field(
        default=False,
        description="a callback keeping the caller's place (回拨): the agent answers first, "
        "then the caller's number is dialled",
    )


class CallUpdate(Out):
    type: Literal["call_update"] = "call_update"
    call_id: str
    state: str = Field(
        description="in_ivr, queued, ringing, talking, transferred, ended or abandoned"
    )
    agent_extension: str | None
    at: float
    reason: str | None = None
    caller: Caller | None = Field(default=None, description="masked when confidential")
    queue: str | None = None
    ivr: IvrChoice | None = Field(default=None, description="the caller's IVR menu choice")
    held: bool = Field(default=False, description="the call is on hold")
    control: CallControlInfo | None = Field(
        default=None, description="hold, mute and consult (warm transfer) of the agent's call"
    )
    recording_paused: bool = Field(
        default=False, description="the agent paused the call's recording (recording_pause)"
    )


class Presence(Out):
    type: Literal["presence"] = "presence"
    extension: str
    name: str
    state: PresenceState
    reason: str | None
    since: float
    call_id: str | None
    pending_pause: str | None = Field(
        default=None, description="on a call: the reason of the pause that starts when it is done"
    )


class QueueStats(Out):
    type: Literal["queue_stats"] = "queue_stats"
    queue: str
    waiting: int
    longest_wait_s: float
    agents_by_state: dict[str, int]
    answered_today: int
    abandoned_today: int
    goal_s: float = Field(description="the queue's answer goal (its service_level_s)")
    service_level_15s: float | None = Field(
        description="share (0..1) of today's offered calls answered within goal_s (15 s by "
        "default; the name is kept for compatibility)"
    )


class ErrorInfo(Out):
    code: str
    message: str


class CommandResult(Out):
    type: Literal["command_result"] = "command_result"
    id: str
    ok: bool
    error: ErrorInfo | None = None
    result: dict[str, Any] | None = None


class Error(Out):
    type: Literal["error"] = "error"
    code: str
    message: str


class Pong(Out):
    type: Literal["pong"] = "pong"


def encode(message: BaseModel) -> str:
    """A server message as the text frame sent to desktops."""
    return message.model_dump_json()
