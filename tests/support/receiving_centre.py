"""A stand-in receiving centre (110's platform) for the tests: a small real aiohttp server.

It checks every hand-over's signature (with the secret it shares with us), keeps each message
once by its `Idempotency-Key` (a repeat is answered 200 again, not kept twice), can be told to
fail its first N attempts (503) or hang (`hold`: no answer until that event is set),
records every attempt and every message kept, and posts
signed replies and matters to our endpoint the way the real platform would.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

from crm.domain import exchange_signing as signing
from hotline_cli.demo.ports import free_tcp_port


@dataclass
class Attempt:
    key: str
    status: int


@dataclass
class ReceivingCentre:
    secret: bytes
    line: str = "110"
    fail_first: int = 0
    sender_id: str = "12345"  # who it takes hand-overs from (X-Exchange-Peer)
    hold: asyncio.Event | None = None
    port: int = field(default_factory=free_tcp_port)
    attempts: list[Attempt] = field(default_factory=list)
    kept: dict[str, dict[str, Any]] = field(default_factory=dict)  # key → message, once
    changed: asyncio.Condition = field(default_factory=asyncio.Condition)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/exchange/v1/messages"

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.hold is not None:
            await self.hold.wait()
        key = request.headers.get(signing.IDEMPOTENCY_HEADER, "")
        timestamp = signing.parse_timestamp(request.headers.get(signing.TIMESTAMP_HEADER, ""))
        signed = timestamp is not None and signing.valid(
            self.secret, timestamp, body, request.headers.get(signing.SIGNATURE_HEADER, "")
        )
        if not signed or request.headers.get(signing.PEER_HEADER) != self.sender_id:
            status = 401
        elif len(self.attempts) < self.fail_first:
            status = 503
        else:
            message = json.loads(body)
            status = 200 if message.get("message_id") == key else 422
            if status == 200:
                self.kept.setdefault(key, message)
        async with self.changed:
            self.attempts.append(Attempt(key, status))
            self.changed.notify_all()
        return web.json_response({"status": status}, status=status)

    async def wait_for(self, predicate: Any, timeout: float) -> None:
        """Wait (with a deadline) until `predicate(self)` holds."""
        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(lambda: predicate(self))

    async def __aenter__(self) -> ReceivingCentre:
        app = web.Application()
        app.router.add_post("/exchange/v1/messages", self._receive)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def __aexit__(self, *_: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def message(self, kind: str, **fields: Any) -> dict[str, Any]:
        """A message of ours as the platform would write it (fresh id, sent now)."""
        return {"format_version": "1.0", "message_id": str(uuid.uuid4()), "kind": kind,
                "sent_at": datetime.now(UTC).isoformat(), **fields}  # fmt: skip

    async def post(
        self,
        endpoint: str,
        message: dict[str, Any] | bytes,
        *,
        secret: bytes | None = None,
        timestamp: int | None = None,
        key: str | None = None,
        chunked: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """Post `message` to our endpoint, signed (`secret`, `timestamp`: to forge or age it;
        `chunked`: without a Content-Length)."""
        body = message if isinstance(message, bytes) else json.dumps(message).encode()
        message_id = key or (message.get("message_id", "") if isinstance(message, dict) else "")
        headers = signing.headers(self.line, secret or self.secret,
                                  int(time.time()) if timestamp is None else timestamp,
                                  body, message_id or "none")  # fmt: skip

        async def pieces() -> AsyncIterator[bytes]:
            for at in range(0, len(body), 1024):
                yield body[at : at + 1024]
                await asyncio.sleep(0.01)  # each piece its own arrival

        async with (
            aiohttp.ClientSession() as client,
            client.post(endpoint, data=pieces() if chunked else body, headers=headers) as response,
        ):
            answer: dict[str, Any] = await response.json()
            return response.status, answer
