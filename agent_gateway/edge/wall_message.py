"""The `wall` message: the supervisors' live wall (wallboard), the whole floor at a glance.
Pure: no I/O; `agent_gateway.edge.protocol` lists it among the bus messages and in the schema.

Published to the supervisors' topic whenever its content changes (the backend looks every
few seconds and on every call or agent change) and kept for their snapshot. Durations are
sent as instants (`since`, `queued_at`, `answered_at`, `due_at`): the page counts them on,
so the message does not change every second. `v` is the wall's own format version.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from agent_gateway.edge.message_rules import Out

WALL_VERSION = 1


class WallCounts(Out):
    """A queue's calls decided in a window (today, or the last hour), from the call records."""

    offered: int = Field(description="answered + abandoned, less the short abandons")
    answered: int
    answered_in_goal: int = Field(description="answered within the queue's goal_s of queueing")
    abandoned: int = Field(description="every caller who gave up in the queue")
    abandoned_short: int = Field(description="gave up in under short_abandon_s: not offered")
    longest_wait_s: float = Field(description="the longest wait decided in the window")
    service_level: float | None = Field(description="answered_in_goal / offered (0..1)")
    surveyed: int = Field(description="answered calls whose caller answered the survey")
    satisfied: int = Field(description="of those, satisfied or basically satisfied")
    satisfaction_rate: float | None = Field(description="满意率: satisfied / surveyed (0..1)")


class WallQueue(Out):
    queue: str
    goal_s: float = Field(description="the queue's answer goal (its service_level_s)")
    waiting: int = Field(description="callers waiting in the queue now")
    oldest_queued_at: float | None = Field(
        description="epoch s: when the longest-waiting caller joined (the longest wait)"
    )
    longest_wait_s: float = Field(description="the longest current wait at `at`")
    today: WallCounts
    last_hour: WallCounts
    agents_by_state: dict[str, int] = Field(
        description="the queue's members by state: available, ringing, talking, wrap_up, "
        "paused (all reasons), logged_out"
    )
    paused_by_reason: dict[str, int]


class WallAgent(Out):
    extension: str
    name: str
    state: str
    reason: str | None = Field(description="the pause reason")
    pending_pause: str | None = Field(
        default=None, description="on a call: the reason of the pause that starts when it is done"
    )
    since: float = Field(description="epoch s: in this state since")
    queues: list[str]
    call_id: str | None = Field(description="the Linkedid of the agent's current call")
    call_answered_at: float | None = Field(description="epoch s: its talk began")
    calls_today: int
    average_talk_s: float | None
    average_wrap_up_s: float | None


class WallCall(Out):
    """A live call in a queue or with an agent (no caller details: the calls panel has them)."""

    call_id: str = Field(description="the call's Linkedid")
    queue: str | None
    state: str = Field(description="queued, ringing, talking or transferred")
    agent_extension: str | None
    queued_at: float | None
    answered_at: float | None


class WallEmergency(Out):
    call_id: str
    agent_extension: str | None
    started_at: float = Field(description="epoch s: the consult or transfer to 110/119/120 began")
    due_at: float = Field(description="epoch s: the 10-minute limit (or its order's limit)")


AlertKindName = Literal["long_wait", "long_pause", "emergency_clock"]


class WallAlert(Out):
    key: str = Field(description="one occurrence: raised once, kept until it is over")
    kind: AlertKindName
    raised_at: float
    message: str = Field(description="in Chinese, for display")
    queue: str | None = None
    extension: str | None = None
    call_id: str | None = None


class WallTrunk(Out):
    """An emergency trunk leg as qualify (SIP OPTIONS) finds it."""

    line: str = Field(description="the trunk's number: 110, 119, 120")
    leg: str = Field(description="primary or backup")
    state: str = Field(description="reachable, unreachable or unknown")
    since: float | None = Field(description="epoch s it entered the state; null: none seen")


class Wall(Out):
    type: Literal["wall"] = "wall"
    v: int = WALL_VERSION
    at: float = Field(description="epoch s the figures were computed at")
    day: str = Field(description="the centre's local day (Asia/Shanghai) the figures are of")
    goal_s: float = Field(
        description="the answer goal of a queue without its own ([supervision] service_goal_s); "
        "each queue's is its goal_s"
    )
    short_abandon_s: float
    queues: list[WallQueue]
    agents: list[WallAgent]
    calls: list[WallCall]
    emergencies: list[WallEmergency]
    alerts: list[WallAlert]
    trunks: list[WallTrunk] = Field(default_factory=list, description="primary first per line")
