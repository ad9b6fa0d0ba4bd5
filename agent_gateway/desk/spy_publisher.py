"""The supervisor's spy session on their desktop: each change (SpyService listener) is
published as a `spy_session` message on the supervisor's own topic, and the live session is
kept in Redis (`SPY_KEY`, by phone) for the supervisor's snapshot, so a reload or an answer
that comes late still shows the session's controls."""

from __future__ import annotations

from typing import Any

from agent_gateway.desk.commands.spy import WHY
from agent_gateway.desk.outbox import Outbox, OutboxWriter
from agent_gateway.edge.spy_commands import SpySessionUpdate
from agent_gateway.edge.store import SPY_KEY, dumps
from agent_gateway.edge.supervisor_commands import user_topic
from telephony.spy import SpyCode, SpyPhase, SpySession

ENDED_WHY = {
    SpyCode.LEFT: "已退出监听",
    SpyCode.SPYEE_GONE: "通话已结束，监听随之结束",
    SpyCode.LOST: "后台重启期间会话已中断",
}


def update_of(s: SpySession) -> dict[str, Any]:
    phase = "ringing" if s.phase is SpyPhase.CALLING and s.ringing_at else s.phase.value
    code = SpyCode(s.end_code) if s.end_code else None
    reason = "" if code is None else ENDED_WHY.get(code) or WHY.get(code, code.value)
    return SpySessionUpdate(
        uniqueid=s.uniqueid, linkedid=s.linkedid, phone=s.phone, agent=s.agent,
        mode=s.mode.value, phase=phase, joined_at=s.joined_at, ended_at=s.ended_at,
        duration_s=s.duration_s, modes=[c.mode.value for c in s.changes], end_code=s.end_code,
        reason=reason,
    ).model_dump(mode="json")  # fmt: skip


class SpyPublisher:
    def __init__(self, writer: OutboxWriter) -> None:
        self.writer = writer

    async def on_session(self, session: SpySession) -> None:
        body = update_of(session)
        out = Outbox()
        if session.live:
            out.writes.append(lambda p: p.hset(SPY_KEY, session.phone, dumps(body)))
        else:
            out.writes.append(lambda p: p.hdel(SPY_KEY, session.phone))
        if session.requested_by is not None:
            out.publish(user_topic(session.requested_by), body)
        self.writer.submit(out)
