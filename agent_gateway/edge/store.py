"""The shared live state desktops' snapshots are built from, in two Redis hashes.

The backend writes them (and must write before it publishes the matching bus message, so a
snapshot taken at seq S includes every change up to S); gateways only read them.
`hotline:presence`: extension → presence message JSON; `hotline:calls`: Linkedid → call JSON.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)

PRESENCE_KEY = "hotline:presence"
CALLS_KEY = "hotline:calls"
QUEUE_STATS_KEY = "hotline:queue_stats"
WALL_KEY = "hotline:wall"  # the latest `wall` message (supervisors' snapshot)
FLOOR_NOTICES_KEY = "hotline:floor:notices"  # extension → its last floor_notice (its snapshot)
SPY_KEY = "hotline:spy"  # supervisor's phone → its live `spy_session` message


async def read_presence(redis: Redis) -> dict[str, dict[str, Any]]:
    raw: Mapping[Any, Any] = await redis.hgetall(PRESENCE_KEY)
    return {text(k): v for k, v in _loads_each(raw).items()}


async def read_calls(redis: Redis) -> list[dict[str, Any]]:
    raw: Mapping[Any, Any] = await redis.hgetall(CALLS_KEY)
    return list(_loads_each(raw).values())


async def read_queue_stats(redis: Redis) -> list[dict[str, Any]]:
    raw: Mapping[Any, Any] = await redis.hgetall(QUEUE_STATS_KEY)
    decoded = _loads_each(raw)
    return [decoded[key] for key in sorted(decoded)]


async def read_wall(redis: Redis) -> dict[str, Any] | None:
    raw = await redis.get(WALL_KEY)
    return None if raw is None else _loads_each({WALL_KEY: raw}).get(WALL_KEY)


async def read_floor_notice(redis: Redis, extension: str) -> dict[str, Any] | None:
    raw = await redis.hget(FLOOR_NOTICES_KEY, extension)
    return None if raw is None else _loads_each({extension: raw}).get(extension)
async def read_spy(redis: Redis, phone: str) -> dict[str, Any] | None:
    raw = await redis.hget(SPY_KEY, phone)
    return None if raw is None else _loads_each({phone: raw}).get(phone)


def calls_for_extension(calls: list[dict[str, Any]], extension: str) -> list[dict[str, Any]]:
    """The calls an agent's desktop may see: the one it talks on and those ringing it."""
    return [
        call
        for call in calls
        if call.get("agent_extension") == extension
        or extension in (call.get("ringing_extensions") or ())
    ]


def _loads_each(raw: Mapping[Any, Any]) -> dict[Any, dict[str, Any]]:
    """Decode each value; one corrupt entry is logged and left out, not fatal to a snapshot."""
    decoded = {}
    for key, value in raw.items():
        try:
            item = json.loads(value)
        except ValueError:
            item = None
        if isinstance(item, dict):
            decoded[key] = item
        else:
            log.error("ignoring undecodable entry %r in a snapshot hash", text(key))
    return decoded


def dumps(value: Mapping[str, Any]) -> str:
    """Compact JSON with Chinese as is: hashes, bus bodies and frames are all written so."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def text(value: bytes | str) -> str:
    """A Redis reply as str, whatever the client's decode_responses setting."""
    return value.decode() if isinstance(value, bytes) else value
