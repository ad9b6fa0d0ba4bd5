"""The trunk legs' health as the call process publishes it for the HTTP process (crm imports
no telephony): one JSON snapshot in Redis, rewritten on every change and at every re-sync,
with the time it was written. A call process that stopped leaves its last snapshot: the
reader sees how old it is (`reported_at`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from crm.api.trunks import NONE_REPORTED, TrunkLegOut, TrunksOut
from telephony.trunk_health import LegHealth, ordered

log = logging.getLogger(__name__)

TRUNKS_KEY = "hotline:trunks"


def trunks_out(health: Mapping[str, LegHealth], now: float) -> TrunksOut:
    legs = [
        TrunkLegOut(line=h.line, leg=h.leg, state=h.state.value, since=h.since or None,
                    rtt_ms=h.rtt_ms)
        for h in ordered(health)
    ]  # fmt: skip
    return TrunksOut(reported_at=now, legs=legs)


class TrunkStatus:
    """The monitor's `publish`: the snapshot into Redis, then `after` (the wall's wake-up)."""

    def __init__(self, redis: Redis, after: Callable[[], None] = lambda: None) -> None:
        self.redis = redis
        self.after = after

    async def __call__(self, health: Mapping[str, LegHealth]) -> None:
        """Never raises: Redis down loses this snapshot only (the next change or re-sync
        writes the whole table again); the monitor and a live apply go on."""
        try:
            await self.redis.set(TRUNKS_KEY, trunks_out(health, time.time()).model_dump_json())
        except (RedisError, OSError) as exc:
            log.warning("trunk states not published: %s", type(exc).__name__)
            return
        self.after()


async def read_trunks(redis: Redis) -> TrunksOut:
    """The last snapshot (none reported, or unreadable: no legs, `reported_at` null)."""
    try:
        raw = await redis.get(TRUNKS_KEY)
        return NONE_REPORTED if raw is None else TrunksOut.model_validate_json(raw)
    except (RedisError, OSError, ValidationError) as exc:
        log.warning("no trunk states to serve: %s", type(exc).__name__)
        return NONE_REPORTED
