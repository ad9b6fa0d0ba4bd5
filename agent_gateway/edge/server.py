"""The websocket edge: handshake checks, one bus reader per process, one Session per desktop.

Stateless apart from its connections: it needs only Redis and the ticket secret, so any number
of gateway processes can serve desktops side by side; each reads the whole bus once and fans
out locally. The backend's own gateway reads no bus: the backend's publisher hands it every
message as it is numbered, before Redis has it (a screen pop's shortest way to a desktop).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass
from types import TracebackType
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from redis.asyncio import Redis
from redis.exceptions import RedisError
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.http11 import Request, Response

from agent_gateway.edge.admission import claim_ticket, desk_user_generation, desk_users
from agent_gateway.edge.bus import Bus, BusMessage, raise_if_cancelling
from agent_gateway.edge.command_seal import seal_key
from agent_gateway.edge.hub import Hub
from agent_gateway.edge.ratelimit import RateLimiter
from agent_gateway.edge.session import CLOSE_TIMEOUT_S, Session
from agent_gateway.edge.tickets import InvalidTicket, TicketClaims, verify_ticket
from config.fields import secret_weakness

log = logging.getLogger(__name__)

# A client flooding at more than `ABUSE_FACTOR` bursts of refusals is disconnected.
ABUSE_FACTOR = 3
# How often every session's user is checked against the backend's list (admission.py).
RECHECK_S = 5.0


class LocalPublisher(Protocol):
    """The bus's publisher in this very process (the backend's `OutboxWriter`)."""

    def attach(self, sink: Callable[[BusMessage], None]) -> None: ...

    def detach(self, sink: Callable[[BusMessage], None]) -> None: ...

    @property
    def submitted(self) -> int: ...

    async def stored(self, seq: int) -> None: ...


@dataclass(frozen=True, slots=True)
class _Admitted:
    claims: TicketClaims
    last_seq: int | None


class GatewayServer:
    """Async context manager: entering listens and starts the bus reader (or attaches to the
    `local` publisher), leaving stops both."""

    def __init__(
        self,
        bus: Bus,
        redis: Redis,
        *,
        host: str,
        port: int,
        secret: bytes,
        allowed_origins: Collection[str],
        max_message_bytes: int = 64 * 1024,
        queue_size: int = 1000,
        commands_per_second: int = 20,
        local: LocalPublisher | None = None,
        recheck_s: float = RECHECK_S,
    ) -> None:
        if (weakness := secret_weakness(secret.decode(errors="replace"))) is not None:
            raise ValueError(f"the ticket secret {weakness}")  # forged tickets otherwise
        self.bus = bus
        self.redis = redis
        self.host = host
        self.requested_port = port
        self.secret = secret
        self.allowed_origins = frozenset(allowed_origins)
        self.max_message_bytes = max_message_bytes
        self.queue_size = queue_size
        self.commands_per_second = commands_per_second
        self.hub = Hub()
        self.local = local
        self.recheck_s = recheck_s
        self.recheck_failures = 0  # failed rechecks and revokes (the backend's /health shows it)
        self._sessions: set[Session] = set()
        # What the handshake learnt, for the connection handler (websockets keeps no user data).
        self._admitted: weakref.WeakKeyDictionary[ServerConnection, _Admitted] = (
            weakref.WeakKeyDictionary()
        )
        self._server: Server | None = None
        self._reader: asyncio.Task[None] | None = None
        self._recheck: asyncio.Task[None] | None = None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the gateway is not listening")
        port: int = next(iter(self._server.sockets)).getsockname()[1]
        return port

    async def __aenter__(self) -> GatewayServer:
        if self.local is not None:
            self.local.attach(self.hub.dispatch)
        else:
            start = await self.bus.last_seq()
            self._reader = asyncio.create_task(self.hub.pump(self.bus.follow(start)))
        try:
            self._server = await serve(
                self._serve,
                self.host,
                self.requested_port,
                process_request=self._check_handshake,
                max_size=self.max_message_bytes,
                # Per-message deflate costs ~100 KB of zlib state per connection and CPU per
                # frame; screen pops are small and latency matters more.
                compression=None,
                close_timeout=CLOSE_TIMEOUT_S,
            )
        except BaseException:
            await self._stop_feed()
            raise
        self._recheck = asyncio.create_task(self._recheck_forever(), name="desk users recheck")
        log.info("agent gateway listening on ws://%s:%d", self.host, self.port)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._recheck is not None:
            self._recheck.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._recheck
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        await self._stop_feed()

    async def settle(self) -> None:
        """Wait until Redis holds every message published so far in this process (those the
        hub dispatched, and any from before it was attached), so that a snapshot or catch-up
        read from Redis after it misses nothing the hub sent before."""
        if self.local is not None:
            await self.local.stored(self.local.submitted)

    async def wait(self) -> None:
        """Return only if the bus reader fails (it rides out Redis outages by itself)."""
        if self._reader is None:
            raise RuntimeError("the gateway has no bus reader")
        await asyncio.shield(self._reader)

    async def _stop_feed(self) -> None:
        if self.local is not None:
            self.local.detach(self.hub.dispatch)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader

    async def _check_handshake(self, ws: ServerConnection, request: Request) -> Response | None:
        """Refuse a foreign page (403), a missing, bad, expired or used ticket or a user no
        longer allowed a desk (401), a bad last_seq (400); 503 while Redis cannot say."""
        origins = request.headers.get_all("Origin")
        if len(origins) > 1 or (origins and origins[0] not in self.allowed_origins):
            return _refuse(ws, 403, f"origin {origins} not allowed")
        query = parse_qs(urlsplit(request.path).query)
        tickets = query.get("ticket", [])
        if len(tickets) != 1:
            return _refuse(ws, 401, "one ticket query parameter is required")
        now = time.time()
        try:
            claims = verify_ticket(self.secret, tickets[0], now)
        except InvalidTicket as exc:
            return _refuse(ws, 401, f"invalid ticket: {exc}")
        last_seq: int | None = None
        if "last_seq" in query:
            text = query["last_seq"][-1]
            if not text.isdigit() or not text.isascii():
                return _refuse(ws, 400, f"last_seq {text[:20]!r} is not a sequence number")
            last_seq = int(text)
        try:
            generation = await desk_user_generation(self.redis, claims.user_id)
            if generation != claims.version:
                return _refuse(ws, 401, f"user {claims.user_id} is no longer allowed a desk")
            if not await claim_ticket(self.redis, claims.jti, claims.exp - now + 1):
                return _refuse(ws, 401, "ticket already used: get a new one")
        except RedisError as exc:
            return _refuse(ws, 503, f"cannot check the ticket now: {exc}")
        self._admitted[ws] = _Admitted(claims, last_seq)
        return None

    async def _recheck_forever(self) -> None:
        """Re-check every `recheck_s`. No failure ends it (a dead recheck would leave
        disabled users their desks): each is logged at once and counted. While Redis is
        unreachable sessions are left as they are."""
        while True:
            await asyncio.sleep(self.recheck_s)
            try:
                await self._recheck_once()
            except RedisError as exc:
                self.recheck_failures += 1
                log.warning("cannot re-check desk users: %s", exc)
            except Exception:
                self.recheck_failures += 1
                log.exception("re-checking desk users failed; again in %g s", self.recheck_s)
            raise_if_cancelling()  # redis-py may have swallowed a cancellation meanwhile

    async def _recheck_once(self) -> None:
        """Close the sessions of users the backend no longer lists with their ticket's
        generation; one that fails to close does not keep the others open (each is cut
        off on its own)."""
        allowed = await desk_users(self.redis)
        doomed = [
            session
            for session in self._sessions
            if allowed.get(session.claims.user_id) != session.claims.version
        ]
        await asyncio.gather(*(self._cut_off(session) for session in doomed))

    async def _cut_off(self, session: Session) -> None:
        try:
            await session.revoke()
        except Exception:
            self.recheck_failures += 1
            who = session.claims
            log.exception("cutting off user %s (ext %s) failed", who.user_id, who.extension)

    async def _serve(self, ws: ServerConnection) -> None:
        admitted = self._admitted.pop(ws)
        subscriber = self.hub.subscribe(admitted.claims.topics, self.queue_size)
        rate = self.commands_per_second
        limiter = RateLimiter(rate, rate, ABUSE_FACTOR * rate, time.monotonic())
        session = Session(
            ws, admitted.claims, self.bus, self.redis, subscriber, limiter, self.settle,
            seal_key=seal_key(self.secret),
        )  # fmt: skip
        self._sessions.add(session)
        try:
            await session.run(admitted.last_seq)
        finally:
            self._sessions.discard(session)
            self.hub.unsubscribe(subscriber)


def _refuse(ws: ServerConnection, status: int, why: str) -> Response:
    log.warning("refused websocket handshake from %s: %d %s", ws.remote_address, status, why)
    return ws.respond(status, why + "\n")


async def run_gateway(
    redis_url: str,
    host: str,
    port: int,
    secret: bytes,
    allowed_origins: Collection[str],
    recheck_s: float = RECHECK_S,
) -> None:
    """Serve desktops until cancelled (the `python -m agent_gateway.edge` process)."""
    redis = Redis.from_url(redis_url)
    try:
        async with GatewayServer(
            Bus(redis), redis, host=host, port=port, secret=secret,
            allowed_origins=allowed_origins, recheck_s=recheck_s,
        ) as server:  # fmt: skip
            await server.wait()
    finally:
        await redis.aclose()
