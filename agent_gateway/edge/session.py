"""One desktop's connection: bring it up to date, forward its frames, answer what it sends.

Ordering without loss or repeats rests on one number, `_sent`: the bus position the desktop
has been brought up to. The subscriber is registered with the hub *before* the catch-up reads
Redis (and the catch-up first lets Redis hold all published so far: `settle`), so
nothing published meanwhile is missed; any frame the hub queued that the catch-up already
covered (seq ≤ `_sent`) is skipped by the forwarder. A lock keeps catch-up and forwarding
from interleaving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from agent_gateway.edge.bus import Bus, ResumeGap
from agent_gateway.edge.command_seal import sealed
from agent_gateway.edge.hub import Subscriber, encode_message
from agent_gateway.edge.protocol import (
    Command,
    CommandResult,
    Error,
    ErrorCode,
    ErrorInfo,
    Hello,
    Ping,
    Pong,
    ProtocolError,
    Resume,
    Snapshot,
    User,
    agent_topic,
    encode,
    parse_client_message,
)
from agent_gateway.edge.ratelimit import RateLimiter, Verdict
from agent_gateway.edge.store import (
    calls_for_extension,
    read_calls,
    read_floor_notice,
    read_presence,
    read_queue_stats,
    read_spy,
    read_wall,
)
from agent_gateway.edge.supervisor_commands import (
    FLOOR_ROLES,
    SUPERVISOR_COMMAND_NAMES,
    SupervisorCommand,
    user_topic,
)
from agent_gateway.edge.tickets import TicketClaims

log = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008
CLOSE_REVOKED = 4401  # the user was disabled, their token revoked or rotated, or rebound
CLOSE_ABUSE = 4029
CLOSE_TIMEOUT_S = 2.0


class Session:
    def __init__(
        self,
        ws: ServerConnection,
        claims: TicketClaims,
        bus: Bus,
        redis: Redis,
        subscriber: Subscriber,
        limiter: RateLimiter,
        settle: Callable[[], Awaitable[None]],
        *,
        seal_key: bytes,
    ) -> None:
        self.ws = ws
        self.seal_key = seal_key  # seals what this user sends: the executor trusts only that
        self.claims = claims
        self.bus = bus
        self.redis = redis
        self.subscriber = subscriber
        self.limiter = limiter
        self.settle = settle
        self._lock = asyncio.Lock()
        self._sent: int | None = None
        self._refusing = False
        host, port, *_ = ws.remote_address
        self._who = (
            f"{claims.role} {claims.name} (user {claims.user_id}, ext {claims.extension}, "
            f"from {host}:{port})"
        )

    async def run(self, last_seq: int | None) -> None:
        """Serve the desktop until it leaves, falls behind or abuses; returns once closed."""
        log.info("%s connected (resume from %s)", self._who, last_seq)
        user = User(
            id=self.claims.user_id,
            name=self.claims.name,
            role=self.claims.role,
            extension=self.claims.extension,
        )
        tasks: set[asyncio.Task[None]] = set()
        try:
            await self.settle()
            await self.ws.send(encode(Hello(user=user, last_seq=await self.bus.last_seq())))
            await self._catch_up(last_seq)
            forward = asyncio.create_task(self._forward())
            lagging = asyncio.create_task(self._lagging())
            tasks = {forward, lagging, asyncio.create_task(self._read())}
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            if lagging in done:
                await self._drop(CLOSE_TOO_SLOW, f"too slow, resume from seq {self._sent}")
            for task in done:
                task.result()  # an unexpected error: websockets logs it and closes with 1011
        except ConnectionClosed:
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        log.info("%s disconnected (%s %s)", self._who, self.ws.close_code, self.ws.close_reason)

    async def revoke(self) -> None:
        """End the session of a user the backend no longer allows a desk."""
        await self._drop(CLOSE_REVOKED, "user disabled or credentials changed: log in again")

    async def _drop(self, code: int, reason: str) -> None:
        """Close with a reason; abort if the client does not read even that in time."""
        log.warning("%s: closing with %d: %s", self._who, code, reason)
        try:
            async with asyncio.timeout(CLOSE_TIMEOUT_S):
                await self.ws.close(code, reason)
        except TimeoutError:
            self.ws.transport.abort()

    async def _catch_up(self, after: int | None) -> None:
        """Send what the desktop lacks after seq `after`; a snapshot if None or too old."""
        async with self._lock:
            if after is not None and self._sent is not None and after >= self._sent:
                return
            await self.settle()
            head = await self.bus.last_seq()
            if after is not None:
                try:
                    missed = await self.bus.since(after, self.claims.topics)
                except ResumeGap as exc:
                    log.info("%s: cannot resume (%s): sending a snapshot", self._who, exc)
                else:
                    if self._sent is not None:  # mid-connection: it has the live ones past it
                        upto = self._sent
                    else:
                        upto = max(head, missed[-1].seq) if missed else head
                    for message in missed:
                        if message.seq <= upto:
                            await self.ws.send(encode_message(message).text)
                    self._sent = upto
                    return
            await self._send_snapshot(head)

    async def _send_snapshot(self, seq: int) -> None:
        """State as of `seq` (the backend writes the hashes before it publishes)."""
        presence = await read_presence(self.redis)
        calls = await read_calls(self.redis)
        queues: list[dict[str, Any]] = []
        wall = notice = spy = None
        extension = self.claims.extension
        if self.claims.role == "agent" and extension is not None:
            presence = {extension: presence[extension]} if extension in presence else {}
            calls = calls_for_extension(calls, extension)
            notice = await read_floor_notice(self.redis, extension)
        else:
            queues = await read_queue_stats(self.redis)
            wall = await read_wall(self.redis)
            spy = None if extension is None else await read_spy(self.redis, extension)
        snapshot = Snapshot(seq=seq, presence=presence, calls=calls, queues=queues, wall=wall,
                            floor_notice=notice, spy=spy)  # fmt: skip
        await self.ws.send(encode(snapshot))
        self._sent = seq

    async def _forward(self) -> None:
        queue = self.subscriber.queue
        while True:
            frame = await queue.get()
            async with self._lock:
                if self._sent is None or frame.seq > self._sent:
                    await self.ws.send(frame.text)
                    self._sent = frame.seq

    async def _lagging(self) -> None:
        await self.subscriber.overflowed.wait()

    async def _read(self) -> None:
        dropping: asyncio.Task[None] | None = None
        try:
            async for data in self.ws:
                if dropping is not None:
                    continue  # closing: drain what still comes so the client's close gets in
                verdict = self.limiter.check(time.monotonic())
                if verdict is Verdict.ABUSE:
                    dropping = asyncio.create_task(self._drop(CLOSE_ABUSE, "too many messages"))
                else:
                    await self._answer(data, verdict)
        finally:
            if dropping is not None:
                await dropping

    async def _answer(self, data: str | bytes, verdict: Verdict) -> None:
        try:
            message = parse_client_message(data)
            if verdict is Verdict.REFUSE:
                command_id = None if isinstance(message, Resume | Ping) else message.id
                raise ProtocolError(ErrorCode.RATE_LIMITED, "", command_id)
            await self._handle(message)
        except ProtocolError as exc:
            if verdict is Verdict.REFUSE:  # over the rate, whatever else is wrong with it
                rate = f"more than {self.limiter.rate:g} messages per second"
                exc = ProtocolError(ErrorCode.RATE_LIMITED, rate, exc.command_id)
            await self._refuse(exc)
        else:
            self._refusing = False

    async def _handle(self, message: Resume | Ping | Command | SupervisorCommand) -> None:
        if isinstance(message, Ping):
            await self.ws.send(encode(Pong()))
        elif isinstance(message, Resume):
            await self._catch_up(message.last_seq)
        elif message.name in SUPERVISOR_COMMAND_NAMES:
            if self.claims.role not in FLOOR_ROLES:
                why = f"only a supervisor or an admin may send {message.name}"
                raise ProtocolError(ErrorCode.FORBIDDEN, why, message.id)
            await self._submit(message, user_topic(self.claims.user_id))
        elif self.claims.role != "agent":
            why = f"a {self.claims.role} may not send agent commands ({message.name})"
            raise ProtocolError(ErrorCode.FORBIDDEN, why, message.id)
        else:
            await self._submit(message, agent_topic(str(self.claims.extension)))

    async def _submit(self, message: Command | SupervisorCommand, reply_topic: str) -> None:
        """Seal who sent the command (and where its result goes) and put it on the stream."""
        await self.bus.submit_command(sealed(self.seal_key, {
                "id": message.id,
                "name": message.name,
                "args": message.args.model_dump(mode="json"),
                "user_id": self.claims.user_id,
                "user_name": self.claims.name,
                "role": self.claims.role,
                "extension": self.claims.extension,
                "version": self.claims.version,  # the executor checks it is still current
                "reply_topic": reply_topic,
                "gateway_ts": time.time(),
            }))  # fmt: skip
        log.info("%s: command %s %s submitted", self._who, message.name, message.id)

    async def _refuse(self, exc: ProtocolError) -> None:
        # A flood would log every message: log the first refusal of a run only.
        if exc.code is not ErrorCode.RATE_LIMITED or not self._refusing:
            log.warning("%s: refused message: %s: %s", self._who, exc.code, exc.message)
        self._refusing = exc.code is ErrorCode.RATE_LIMITED
        error = ErrorInfo(code=exc.code, message=exc.message)
        if exc.command_id is not None:
            reply = encode(CommandResult(id=exc.command_id, ok=False, error=error))
        else:
            reply = encode(Error(code=exc.code, message=exc.message))
        await self.ws.send(reply)
