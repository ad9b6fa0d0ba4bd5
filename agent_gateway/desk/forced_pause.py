"""The pauses a supervisor forced: kept in Redis (extension → the pause reason), so the
agent's own unpause is refused while that pause holds, across backend restarts too.

A mark counts only while the agent is still paused (or the pause is pending, on a call) with
the reason the supervisor set: a pause that ended another way (a logout, Asterisk's own
change) leaves a stale mark that refuses nothing and is dropped by the agent's next own pause
or unpause."""

from __future__ import annotations

from typing import Any

from redis.asyncio import Redis

from agent_gateway.desk.presence import AgentPresence

FORCED_PAUSES_KEY = "hotline:floor:forced_pauses"
FORCED_WORDS = "班长已将您置为暂停，请联系班长"


class ForcedPauses:
    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def mark(self, extension: str, reason: str) -> None:
        await self.redis.hset(FORCED_PAUSES_KEY, extension, reason)

    async def clear(self, extension: str) -> None:
        await self.redis.hdel(FORCED_PAUSES_KEY, extension)

    async def holds(self, presence: AgentPresence) -> bool:
        """Is the agent paused now by a supervisor's forced pause, or is it pending (forced
        during a call)?"""
        chosen = presence.chosen_pause
        if chosen is None:
            return False
        raw: Any = await self.redis.hget(FORCED_PAUSES_KEY, presence.extension)
        if raw is None:
            return False
        reason = raw.decode() if isinstance(raw, bytes) else str(raw)
        return reason == chosen
