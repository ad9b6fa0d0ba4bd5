"""Async AMI client: one ordered event queue, actions never re-sent, a keep-alive that notices
half-open connections, reconnect with exponential back-off.

Built on panoramisk 1.4's ``AMIProtocol`` with its own connection loop instead of
``panoramisk.Manager``, because the Manager's defects live in its loop:

- its keep-alive sends Ping but never checks the reply, so a half-open connection goes
  unnoticed; here an unanswered Ping closes the connection;
- after a reconnect it re-sends actions that were never answered (a second Originate or
  Redirect); here every pending action fails with :class:`AmiConnectionLost` instead;
- it runs coroutine callbacks as unowned tasks, losing order and exceptions; here every event
  goes, in arrival order, onto one ``asyncio.Queue`` that one consumer drains.

One connection's parsing, routing and types are ``telephony.ami_connection``.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Mapping
from types import TracebackType
from typing import Self

from telephony.ami_connection import (
    ActionResult,
    AmiActionError,
    AmiConnected,
    AmiConnectionLost,
    AmiDisconnected,
    AmiItem,
    AmiProtocol,
)
from telephony.ami_protocol import HeaderValue, encode_action

log = logging.getLogger(__name__)


class AmiClient:
    """A self-reconnecting AMI session; use as ``async with AmiClient(...) as ami:``.

    ``events`` receives, in order, :class:`AmiConnected`, the events of that connection,
    :class:`AmiDisconnected`, :class:`AmiConnected` again after a reconnect, and so on.
    Actions are written once: if the connection ends first they fail with
    :class:`AmiConnectionLost` and are never re-sent (an Originate twice is two calls).
    A dead connection is noticed within ``ping_interval + ping_timeout`` seconds.
    """

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str,
        secret: str,
        events: asyncio.Queue[AmiItem] | None = None,
        ping_interval: float = 2.0,
        ping_timeout: float = 2.0,
        backoff_initial: float = 0.1,
        backoff_max: float = 5.0,
        encoding: str = "utf-8",
    ) -> None:
        if events is not None and events.maxsize:
            raise ValueError("events queue must be unbounded: a dropped event corrupts call state")
        self.events: asyncio.Queue[AmiItem] = events if events is not None else asyncio.Queue()
        self._host = host
        self._port = port
        self._username = username
        self._secret = secret
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._backoff_initial = backoff_initial
        self._backoff_max = backoff_max
        self._encoding = encoding
        self._ids = itertools.count(1)
        self._id_prefix = f"hotline-{uuid.uuid4().hex[:8]}-"
        self._protocol: AmiProtocol | None = None
        self._is_connected = asyncio.Event()
        self._runner: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._protocol is not None and self._protocol.logged_in

    async def __aenter__(self) -> Self:
        if self._runner is not None:
            raise RuntimeError("AmiClient already started")
        self._runner = asyncio.create_task(self._run(), name=f"ami {self._host}:{self._port}")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        runner.cancel()
        try:
            await runner
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise

    async def wait_connected(self, timeout: float) -> None:
        """Wait until logged in; TimeoutError otherwise."""
        async with asyncio.timeout(timeout):
            await self._is_connected.wait()

    async def action(
        self,
        name: str,
        timeout: float = 10.0,
        **headers: HeaderValue,
    ) -> dict[str, str]:
        """Send an action, return its response. Header names are as Asterisk spells them
        (``Timeout=`` is Originate's header, ``timeout=`` ours). Raises ValueError (CR/LF/NUL),
        AmiConnectionLost, AmiActionError or TimeoutError."""
        response, _ = await self._send(name, headers, timeout, is_list=False)
        return response

    async def action_list(
        self,
        name: str,
        timeout: float = 10.0,
        **headers: HeaderValue,
    ) -> list[dict[str, str]]:
        """Send an EventList action (CoreShowChannels, QueueStatus…) and return its item events,
        without the closing ``*Complete`` event. Items never reach ``events``."""
        _, items = await self._send(name, headers, timeout, is_list=True)
        return items

    async def command(self, cli: str, timeout: float = 10.0) -> str:
        """Run a CLI command; its output lines (Asterisk 14+ ``Output`` headers) joined by LF."""
        response = await self.action("Command", timeout, Command=cli)
        return response.get("Output", "")

    async def _send(
        self, name: str, headers: Mapping[str, HeaderValue], seconds: float, *, is_list: bool
    ) -> ActionResult:
        protocol = self._protocol
        action_id = f"{self._id_prefix}{next(self._ids)}"
        data = encode_action(name, action_id, headers, self._encoding)
        if protocol is None or not protocol.logged_in:
            raise AmiConnectionLost(f"{name}: not connected to Asterisk")
        return await self._request(protocol, action_id, name, data, seconds, is_list=is_list)

    @staticmethod
    async def _request(
        protocol: AmiProtocol,
        action_id: str,
        name: str,
        data: bytes,
        seconds: float,
        *,
        is_list: bool = False,
    ) -> ActionResult:
        try:
            async with asyncio.timeout(seconds):
                return await protocol.request(action_id, name, data, is_list=is_list)
        except TimeoutError:
            raise TimeoutError(f"{name}: no answer within {seconds} s") from None

    async def _run(self) -> None:
        delay = self._backoff_initial
        while True:
            if await self._session():
                delay = self._backoff_initial
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff_max)

    async def _session(self) -> bool:
        """One connection from connect to loss; True if it got as far as a login."""
        budget = self._ping_interval + self._ping_timeout
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(budget):
                _, protocol = await loop.create_connection(
                    self._new_protocol, self._host, self._port
                )
        except (OSError, TimeoutError) as exc:
            log.warning("AMI connect to %s:%d failed: %r", self._host, self._port, exc)
            return False
        self._protocol = protocol
        try:
            action_id = f"{self._id_prefix}{next(self._ids)}"
            login = {"Username": self._username, "Secret": self._secret, "Events": "on"}
            data = encode_action("Login", action_id, login, self._encoding)
            try:
                await self._request(protocol, action_id, "Login", data, budget)
            except (AmiActionError, AmiConnectionLost, TimeoutError) as exc:
                log.warning("AMI login to %s:%d failed: %s", self._host, self._port, exc)
                protocol.abort(f"login failed: {exc}")
                return False
            log.info("AMI logged in to %s:%d (%s)", self._host, self._port, protocol.banner)
            await self._keep_alive(protocol)
            return True
        finally:
            if not protocol.closed:
                protocol.abort("AMI client closed")
                await asyncio.shield(protocol.lost)
            self._protocol = None

    async def _keep_alive(self, protocol: AmiProtocol) -> None:
        """Ping until the connection ends; an unanswered Ping means it is dead (half-open)."""
        while True:
            done, _ = await asyncio.wait({protocol.lost}, timeout=self._ping_interval)
            if done:
                return
            action_id = f"{self._id_prefix}{next(self._ids)}"
            data = encode_action("Ping", action_id, {}, self._encoding)
            try:
                await self._request(protocol, action_id, "Ping", data, self._ping_timeout)
            except AmiActionError:
                pass  # any answer proves the connection alive
            except AmiConnectionLost:
                return
            except TimeoutError:
                log.warning("AMI %s:%d: no Ping reply, connection dead", self._host, self._port)
                protocol.abort(f"no reply to Ping within {self._ping_timeout} s")
                await protocol.lost
                return

    def _new_protocol(self) -> AmiProtocol:
        return AmiProtocol(
            encoding=self._encoding,
            on_connected=self._connected,
            on_event=self.events.put_nowait,
            on_disconnected=self._disconnected,
        )

    def _connected(self) -> None:
        self._is_connected.set()
        self.events.put_nowait(AmiConnected(time.time()))

    def _disconnected(self, reason: str) -> None:
        log.warning("AMI %s:%d disconnected: %s", self._host, self._port, reason)
        self._is_connected.clear()
        self.events.put_nowait(AmiDisconnected(time.time(), reason))
