"""Who may be connected, in Redis: one-handshake tickets and the users still allowed a desk.

The edge has no database: the backend publishes `hotline:desk_users` (user id → credential
generation, for active users holding a token) from the CRM, and gateways compare each
session's ticket `version` with it. A user missing from the hash, or with another generation
(disabled, token revoked or rotated, agent binding changed), is refused. A ticket's `jti` is
claimed with SET NX when it is used, so a second handshake with it is refused by every gateway
sharing the Redis.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

from agent_gateway.edge.store import text

DESK_USERS_KEY = "hotline:desk_users"
TICKET_KEY_PREFIX = "hotline:ticket:"


async def publish_desk_users(redis: Redis, generations: Mapping[int, int]) -> None:
    """Replace the whole list at once (one MULTI/EXEC: readers see the old or the new one)."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(DESK_USERS_KEY)
        if generations:
            pipe.hset(DESK_USERS_KEY, mapping={str(k): str(v) for k, v in generations.items()})
        await pipe.execute()


async def allow_desk_user(redis: Redis, user_id: int, generation: int) -> None:
    """One user as the database has them now (the ticket endpoint just read them)."""
    await redis.hset(DESK_USERS_KEY, str(user_id), str(generation))


async def desk_users(redis: Redis) -> dict[int, int]:
    raw: Mapping[Any, Any] = await redis.hgetall(DESK_USERS_KEY)
    allowed = {}
    for key, value in raw.items():
        user_id, generation = text(key), text(value)
        if user_id.isdigit() and generation.isdigit():
            allowed[int(user_id)] = int(generation)
    return allowed


async def desk_user_generation(redis: Redis, user_id: int) -> int | None:
    value = await redis.hget(DESK_USERS_KEY, str(user_id))
    generation = None if value is None else text(value)
    return int(generation) if generation is not None and generation.isdigit() else None


async def claim_ticket(redis: Redis, jti: str, ttl_s: float) -> bool:
    """True for the first use of ticket `jti`; kept as long as the ticket could still verify."""
    claimed = await redis.set(TICKET_KEY_PREFIX + jti, b"1", nx=True, px=max(1, int(ttl_s * 1000)))
    return bool(claimed)
