"""One AMI connection and what it yields: the events, the connection markers, the errors.

`AmiProtocol` is panoramisk 1.4's ``AMIProtocol`` with its read and write paths replaced by
``telephony.ami_protocol`` (split UTF-8 characters, CR/LF header injection, malformed input)
and its loss handling replaced: pending actions fail with :class:`AmiConnectionLost` instead
of being queued for re-sending. The reconnecting session around it is ``telephony.ami``.

Routing: a ``Response`` goes to the action with its ActionID. Events carrying the ActionID of a
pending action list are that list's items; every other event (including ones carrying our
ActionID after their action finished, e.g. ``OriginateResponse``) is handed on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import overload

from panoramisk.ami_protocol import AMIProtocol

from telephony.ami_protocol import AmiParser, clip_headers

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


ActionResult = tuple[dict[str, str], list[dict[str, str]]]


@dataclass(slots=True, eq=False)
class _Pending:
    name: str
    future: asyncio.Future[ActionResult]
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

    async def request(
        self, action_id: str, name: str, data: bytes, *, is_list: bool
    ) -> ActionResult:
        """Write an encoded action and wait for its answer (and list items, if ``is_list``).
        If the wait is cancelled (timed out), a late answer is dropped."""
        if self.closed or self._close_reason is not None:
            raise AmiConnectionLost(f"{name}: not connected")
        future: asyncio.Future[ActionResult] = asyncio.get_running_loop().create_future()
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
