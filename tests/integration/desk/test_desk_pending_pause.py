"""A pause given during a call, in the desk's wrap-up on a real Redis: the wrap-up keeps the
chosen reason in Asterisk and ends in the pause; a cancel in the wrap-up puts Asterisk back
into the wrap-up pause, which then ends as usual."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from agent_gateway.desk.service import DeskService
from agent_gateway.edge.protocol import PresenceState
from telephony.events import QueueMemberChanged
from tests.integration.desk.test_desk_wrap_up import (
    RecordingAmi,
    _a_call_answered_and_ended,
    _desk,
    _listing,
)
from tests.support.polling import eventually

WRAP_UP_S = 0.3


def _paused(paused: bool, reason: str = "") -> QueueMemberChanged:
    """Asterisk's QueueMemberPause for 1001 (the agent's, a supervisor's, anyone's)."""
    return QueueMemberChanged(time.time(), "hotline", "PJSIP/1001", "王芳", 1, paused, reason,
                              False)  # fmt: skip


async def _in_state(desk: DeskService, state: PresenceState) -> None:
    async def there() -> bool:
        return desk.presences["1001"].state is state

    await eventually(there, 5, f"1001 {state}")


async def _wrapping_up_after_a_meeting_pause(desk: DeskService) -> None:
    """1001 available, then on a call during which Asterisk pauses it (会议); the call ends."""
    await desk.on_event(_listing(paused=False))

    async def meeting() -> None:
        await desk.on_event(_paused(True, "会议"))

    await _a_call_answered_and_ended(desk, during=meeting)


async def test_the_wrap_up_ends_in_the_pause_given_during_the_call(redis: Redis) -> None:
    ami = RecordingAmi()
    async with _desk(redis, ami, max_wrapup_s=WRAP_UP_S) as desk:
        await _wrapping_up_after_a_meeting_pause(desk)
        wrapping = desk.presences["1001"]
        assert (wrapping.state, wrapping.pending_pause) == (PresenceState.WRAP_UP, "会议")
        await _in_state(desk, PresenceState.PAUSED)  # at the wrap-up's deadline
        assert desk.presences["1001"].reason == "会议"
        await desk.writer.drained()
        assert ami.actions == []  # Asterisk holds 会议 all along: neither wrap-up nor unpause


async def test_a_pause_cancelled_in_the_wrap_up_leaves_the_wrap_up(redis: Redis) -> None:
    ami = RecordingAmi()
    async with _desk(redis, ami, max_wrapup_s=WRAP_UP_S) as desk:
        await _wrapping_up_after_a_meeting_pause(desk)
        await desk.on_event(_paused(False))  # 恢复 in the wrap-up: Asterisk unpaused it
        assert desk.presences["1001"].pending_pause is None
        await _in_state(desk, PresenceState.AVAILABLE)  # the wrap-up ends at its deadline
        await desk.writer.drained()
        interface = {"Interface": "PJSIP/1001"}
        assert ami.actions == [
            ("QueuePause", {**interface, "Paused": "true", "Reason": "wrap-up"}),  # back in it
            ("QueuePause", {**interface, "Paused": "false"}),
        ]
