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

The protocol's read and write paths are replaced by ``telephony.ami_protocol`` (split UTF-8
characters, CR/LF header injection, malformed input).

Routing: a ``Response`` goes to the action with its ActionID. Events carrying the ActionID of a
pending :meth:`AmiClient.action_list` are that list's items; every other event (including ones
carrying our ActionID after their action finished, e.g. ``OriginateResponse``) is enqueued.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, TracebackType
from typing import Self, overload

from panoramisk.ami_protocol import AMIProtocol

from telephony.ami_protocol import AmiParser, HeaderValue, clip_headers, encode_action

__all__ = [
    "AmiActionError",
    "AmiClient",
    "AmiConnected",
    "AmiConnectionLost",
    "AmiDisconnected",
    "AmiEvent",
    "AmiItem",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AmiEvent:
    """One AMI event as Asterisk sent it.

    ``headers`` is read-only and includes ``Event``; names keep Asterisk's case. A header
    repeated within one event (``ChanVariable``) holds all its values joined with ``"\\n"``.
    """

    name: str
    headers: Mapping[str, str]

    @overload
    def get(self, key: str) -> str | None: ...
    @overload
    def get(self, key: str, default: str) -> str: ...
    def get(self, key: str, default: str | None = None) -> str | None:
        return self.headers.get(key, default)


@dataclass(frozen=True, slots=True)
class AmiConnected:
    """Logged in; enqueued before any event received on that connection."""

    at: float


@dataclass(frozen=True, slots=True)
class AmiDisconnected:
    """A logged-in connection ended (lost, declared dead, Asterisk shut down, or client closed)."""

    at: float
    reason: str


AmiItem = AmiConnected | AmiDisconnected | AmiEvent


class AmiActionError(Exception):
    """Asterisk answered ``Response: Error``; ``response`` holds the whole answer."""

    def __init__(self, action: str, response: Mapping[str, str]) -> None:
        # A failed Command says "Command output follows"; the reason is in Output.
        detail = response.get("Output") or response.get("Message", "error")
        super().__init__(f"{action}: {detail}")
        self.response = dict(response)


class AmiConnectionLost(Exception):
    """No connection, or it ended before the answer came; the action may or may not have run."""


_Result = tuple[dict[str, str], list[dict[str, str]]]


@dataclass(slots=True, eq=False)
class _Pending:
    name: str
    future: asyncio.Future[_Result]
    items: list[dict[str, str]] | None  # None: a single-response action
    response: dict[str, str] = field(default_factory=dict)


class AmiProtocol(AMIProtocol):  # type: ignore[misc]
    """One AMI connection: parses what it reads, resolves pending actions, hands events on.

    Keeps panoramisk's ``connection_made``; replaces its read path (``data_received``), its
    write path (``send`` is blocked, :meth:`request` writes validated bytes) and its loss
    handling (pending actions fail instead of being queued for re-sending). One instance per
    connection, so the incremental decoder starts afresh on every reconnect. Callbacks are
    plain functions called in stream order; nothing here spawns tasks.
    """

    transport: asyncio.Transport

    def __init__(
        self,
        *,
        encoding: str,
        on_connected: Callable[[], None],
        on_event: Callable[[AmiEvent], None],
        on_disconnected: Callable[[str], None],
    ) -> None:
        super().__init__()
        self._parser = AmiParser(encoding)
        self._on_connected = on_connected
        self._on_event = on_event
        self._on_disconnected = on_disconnected
        self._pending: dict[str, _Pending] = {}
        self._abandoned_lists: set[str] = set()
        self._close_reason: str | None = None
        self.closed = False
        self.logged_in = False
        self.lost: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    @property
    def banner(self) -> str | None:
        return self._parser.banner

    def send(self, data: object, as_list: bool = False) -> None:
        """Blocks panoramisk's unchecked write path; use :meth:`request`."""
        raise NotImplementedError("use AmiClient.action(): it validates header values")

    def data_received(self, data: bytes) -> None:
        for headers in self._parser.feed(data):
            try:
                self._route(headers)
            except Exception:
                log.exception("AMI message could not be handled: %s", clip_headers(headers))

    def connection_lost(self, exc: Exception | None) -> None:
        self._parser.close()
        reason = self._close_reason or (
            f"connection lost: {exc!r}" if exc else "connection closed by Asterisk"
        )
        self.closed = True
        pending, self._pending = self._pending, {}
        for item in pending.values():
            if not item.future.done():
                item.future.set_exception(AmiConnectionLost(f"{item.name}: {reason}"))
        if not self.lost.done():
            self.lost.set_result(reason)
        if self.logged_in:
            self.logged_in = False
            self._on_disconnected(reason)

    def abort(self, reason: str) -> None:
        """Drop the connection now (no graceful close: the peer may be gone)."""
        if self._close_reason is None and not self.closed:
            self._close_reason = reason
        self.transport.abort()

    async def request(self, action_id: str, name: str, data: bytes, *, is_list: bool) -> _Result:
        """Write an encoded action and wait for its answer (and list items, if ``is_list``).
        If the wait is cancelled (timed out), a late answer is dropped."""
        if self.closed or self._close_reason is not None:
            raise AmiConnectionLost(f"{name}: not connected")
        future: asyncio.Future[_Result] = asyncio.get_running_loop().create_future()
        self._pending[action_id] = _Pending(name, future, [] if is_list else None)
        self.transport.write(data)
        try:
            return await future
        finally:
            if self._pending.pop(action_id, None) is not None and is_list:
                self._abandoned_lists.add(action_id)

    def _route(self, headers: dict[str, str]) -> None:
        action_id = headers.get("ActionID", "")
        if "Response" in headers:
            pending = self._pending.get(action_id)
            if pending is None:
                log.debug("AMI response to no pending action dropped: %s", clip_headers(headers))
            else:
                self._answer(action_id, pending, headers)
            return
        if action_id and self._list_item(action_id, headers):
            return
        if not self.logged_in:
            log.warning("AMI event before login dropped: %s", clip_headers(headers))
            return
        name = headers["Event"]
        if name == "Shutdown":
            self._close_reason = "Asterisk shut down"
        self._on_event(AmiEvent(name, MappingProxyType(headers)))

    def _answer(self, action_id: str, pending: _Pending, headers: dict[str, str]) -> None:
        if headers["Response"] == "Error":
            del self._pending[action_id]
            pending.future.set_exception(AmiActionError(pending.name, headers))
        elif pending.items is not None and headers.get("EventList", "").lower() == "start":
            pending.response = headers  # items and the *Complete event follow
        else:
            del self._pending[action_id]
            pending.future.set_result((headers, pending.items or []))
            if pending.name == "Login":
                # Synchronously, so AmiConnected precedes events read in this same chunk.
                self.logged_in = True
                self._on_connected()

    def _list_item(self, action_id: str, headers: dict[str, str]) -> bool:
        """Take an event belonging to a list action; False if it belongs to none."""
        complete = headers.get("EventList", "").lower() == "complete"
        pending = self._pending.get(action_id)
        if pending is not None and pending.items is not None:
            if not complete:
                pending.items.append(headers)
                return True
            del self._pending[action_id]
            expected = headers.get("ListItems")
            if expected is not None and expected != str(len(pending.items)):
                log.warning(
                    "%s: %s items announced, %d received",
                    pending.name,
                    expected,
                    len(pending.items),
                )
            pending.future.set_result((pending.response, pending.items))
            return True
        if action_id in self._abandoned_lists:
            if complete:
                self._abandoned_lists.discard(action_id)
            return True
        return False


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
    ) -> _Result:
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
    ) -> _Result:
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
