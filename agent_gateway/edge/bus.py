"""The message bus between the backend and the gateways, on Redis streams.

One stream carries every message for desktops. Entry ids are `<seq>-0`: one global, strictly
increasing sequence that every gateway process sees identically, so a desktop can resume on any
gateway from the last seq it saw. The backend numbers its messages itself (it is the one
publisher, see `agent_gateway.desk.outbox`) so that its own gateway can deliver them before
Redis has them; Redis refuses an id that is not above the stream's last, which makes a
retried write harmless.
A second stream carries agent commands from gateways to the backend, read through a consumer
group so a command is handled once and survives a backend restart. A command that is not one,
or that was delivered `MAX_DELIVERIES` times without ever being acknowledged (it brought the
backend down each time), is moved aside to a dead-letter stream instead of being replayed.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from agent_gateway.edge.store import dumps, text

log = logging.getLogger(__name__)

# KEYS: stream, counter. ARGV: seq (0: the next one), topic, body, maxlen. XADD comes first:
# an id at or below the stream's last fails it, and then the counter is left alone.
_PUBLISH = """
local seq = tonumber(ARGV[1])
if seq == 0 then seq = (tonumber(redis.call('GET', KEYS[2])) or 0) + 1 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], seq .. '-0', 'topic', ARGV[2], 'body', ARGV[3])
redis.call('SET', KEYS[2], seq)
return seq
"""

_PAGE = 1000
# Below redis-py's default 5 s socket timeout, or an idle blocking read ends in a timeout error.
_BLOCK_MS = 2000
_RETRY_S = (0.1, 0.5, 1.0, 2.0)
AHEAD_WAIT_S = 2.0
AHEAD_POLL_S = 0.01
MAX_DELIVERIES = 3


@dataclass(frozen=True, slots=True)
class BusMessage:
    seq: int
    topic: str
    body: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CommandEntry:
    """One entry of the commands stream; `refused` says why it was moved aside (already
    acknowledged then: answer it, never carry it out)."""

    entry_id: str
    command: dict[str, Any]
    refused: str | None = None


class ResumeGap(Exception):
    """The messages after the requested seq are no longer all on the bus: take a snapshot."""


class Bus:
    def __init__(
        self,
        redis: Redis,
        *,
        stream: str = "hotline:bus",
        commands: str = "hotline:commands",
        maxlen: int = 100_000,
    ) -> None:
        self.redis = redis
        self.stream = stream
        self.commands_stream = commands
        self.dead_commands_stream = f"{commands}:dead"
        self.maxlen = maxlen
        self._keys = (stream, f"{stream}:seq")

    async def publish(self, topic: str, body: Mapping[str, Any]) -> int:
        """Append a message (body has a "type") as the next seq, numbered by Redis; returns it.
        For tools and tests: the backend numbers its own (`publish_in`)."""
        reply = await self.redis.eval(_PUBLISH, 2, *self._keys, *self._args(0, topic, body))
        return int(reply)

    def publish_in(self, pipeline: Pipeline, message: BusMessage) -> None:
        """Queue the append of an already numbered message on `pipeline` (EVAL, not EVALSHA:
        redis-py would check the script's presence with an extra round trip per batch)."""
        args = self._args(message.seq, message.topic, message.body)
        pipeline.eval(_PUBLISH, 2, *self._keys, *args)

    def _args(self, seq: int, topic: str, body: Mapping[str, Any]) -> list[str | int]:
        return [seq, topic, dumps(body), self.maxlen]

    async def skip(self, count: int) -> int:
        """Move the sequence `count` past its last value (no message takes those seqs); return
        where it stands now."""
        return int(await self.redis.incrby(self._keys[1], count))

    async def last_seq(self) -> int:
        value = await self.redis.get(self._keys[1])
        return int(value) if value is not None else 0

    async def since(self, after_seq: int, topics: Collection[str]) -> list[BusMessage]:
        """Every message on `topics` after `after_seq`, oldest first; ResumeGap if some are gone.

        A desktop of the backend's own gateway can hold a seq the backend has not written to
        Redis yet: a seq ahead of the bus is waited for (briefly) before it counts as unknown.
        """
        last = await self.last_seq()
        deadline = asyncio.get_running_loop().time() + AHEAD_WAIT_S
        while after_seq > last and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(AHEAD_POLL_S)
            last = await self.last_seq()
        if after_seq > last:
            raise ResumeGap(f"seq {after_seq} is ahead of the bus ({last})")
        found: list[BusMessage] = []
        cursor = after_seq
        while cursor < last:
            page: Any = await self.redis.xrange(self.stream, f"({cursor}-0", "+", count=_PAGE)
            if not page:
                break
            if cursor == after_seq and _seq(page[0][0]) != after_seq + 1:
                raise ResumeGap(f"seq {after_seq + 1} has been trimmed from the bus")
            for entry_id, fields in page:
                message = _message(entry_id, fields)
                if message is not None and message.topic in topics:
                    found.append(message)
            cursor = _seq(page[-1][0])
        if cursor == after_seq < last:
            raise ResumeGap(f"seq {after_seq + 1} has been trimmed from the bus")
        return found

    async def follow(self, after_seq: int) -> AsyncGenerator[BusMessage, None]:
        """Every message after `after_seq`, forever; rides out Redis outages by retrying."""
        cursor, failures = after_seq, 0
        while True:
            raise_if_cancelling()
            try:
                reply: Any = await self.redis.xread(
                    {self.stream: f"{cursor}-0"}, count=_PAGE, block=_BLOCK_MS
                )
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                raise_if_cancelling()
                delay = _RETRY_S[min(failures, len(_RETRY_S) - 1)]
                failures += 1
                log.warning("bus read failed (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            for _stream, entries in reply or []:
                for entry_id, fields in entries:
                    cursor = _seq(entry_id)
                    message = _message(entry_id, fields)
                    if message is not None:
                        yield message

    async def submit_command(self, command: Mapping[str, Any]) -> None:
        data = dumps(command)
        await self.redis.xadd(self.commands_stream, {"command": data}, maxlen=self.maxlen)

    async def commands(
        self, group: str = "backend", consumer: str = "backend-1"
    ) -> AsyncGenerator[CommandEntry, None]:
        """Commands for the backend: first those this consumer took but never acked (it
        crashed while carrying them out), then new ones, one per read (the reader takes no
        more than it can carry out at once: only the commands in hand are left pending by a
        crash, so only they count a delivery more)."""
        try:
            await self.redis.xgroup_create(self.commands_stream, group, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        async for entry in self._pending_commands(group, consumer):
            yield entry
        while True:
            raise_if_cancelling()
            reply: Any = await self.redis.xreadgroup(
                group, consumer, {self.commands_stream: ">"}, count=1, block=_BLOCK_MS
            )
            for _stream, batch in reply or []:
                for entry_id, fields in batch:
                    yield await self._command_entry(group, text(entry_id), fields, 1)

    async def _pending_commands(
        self, group: str, consumer: str
    ) -> AsyncGenerator[CommandEntry, None]:
        """Re-deliver this consumer's unacknowledged entries, counting each delivery (XCLAIM
        to itself increments the count that XPENDING reports)."""
        after = "-"
        while True:
            page: Any = await self.redis.xpending_range(
                self.commands_stream, group, min=after, max="+", count=_PAGE,
                consumername=consumer,
            )  # fmt: skip
            if not page:
                return
            for pending in page:
                entry_id = text(pending["message_id"])
                after = f"({entry_id}"
                claimed: Any = await self.redis.xclaim(
                    self.commands_stream, group, consumer, 0, [entry_id]
                )
                if not claimed or not claimed[0][1]:  # trimmed from the stream meanwhile
                    await self.ack_command(entry_id, group)
                    continue
                deliveries = int(pending["times_delivered"]) + 1
                yield await self._command_entry(group, entry_id, claimed[0][1], deliveries)

    async def _command_entry(
        self, group: str, entry_id: str, fields: Mapping[Any, Any], deliveries: int
    ) -> CommandEntry:
        raw = ""
        try:
            raw = text(_field(fields, "command"))
            command = json.loads(raw)
            if not isinstance(command, dict):
                raise ValueError("not a JSON object")
        except (KeyError, ValueError) as exc:
            return await self._set_aside(group, entry_id, raw, {}, f"not a command: {exc}")
        if deliveries > MAX_DELIVERIES:
            reason = f"delivered {deliveries} times, never carried out to the end"
            return await self._set_aside(group, entry_id, raw, command, reason)
        return CommandEntry(entry_id, command)

    async def _set_aside(
        self, group: str, entry_id: str, raw: str, command: dict[str, Any], reason: str
    ) -> CommandEntry:
        """Move the entry to the dead-letter stream and ack it, in one transaction."""
        log.error("command entry %s moved to %s: %s", entry_id, self.dead_commands_stream, reason)
        fields: dict[Any, Any] = {"entry_id": entry_id, "reason": reason, "command": raw}
        async with self.redis.pipeline(transaction=True) as pipeline:
            pipeline.xadd(self.dead_commands_stream, fields, maxlen=self.maxlen)
            pipeline.xack(self.commands_stream, group, entry_id)
            await pipeline.execute()
        return CommandEntry(entry_id, command, refused=reason)

    async def ack_command(self, entry_id: str, group: str = "backend") -> None:
        await self.redis.xack(self.commands_stream, group, entry_id)


def raise_if_cancelling() -> None:
    """redis-py can swallow the cancellation of a blocking read, or turn it into a timeout
    error: a reading loop checks for it itself, or it would read on forever after shutdown."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


def _message(entry_id: bytes | str, fields: Mapping[Any, Any]) -> BusMessage | None:
    """The entry as a message; None (logged) if it is not one: one bad entry stops nothing."""
    try:
        seq = _seq(entry_id)
        body = json.loads(text(_field(fields, "body")))
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise ValueError("the body is not an object with a string type")
        return BusMessage(seq, text(_field(fields, "topic")), body)
    except (KeyError, ValueError) as exc:
        log.error("skipping bus entry %s: %s", text(entry_id), exc)
        return None


def _seq(entry_id: bytes | str) -> int:
    return int(text(entry_id).partition("-")[0])


def _field(fields: Mapping[Any, Any], name: str) -> Any:
    """A stream field whatever the client's decode_responses setting."""
    return fields[name] if name in fields else fields[name.encode()]
