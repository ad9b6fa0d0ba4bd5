"""The one consumer of the AMI event queue: translate, track, hand effects to listeners.

Order matters (a Hangup before its QueueCallerJoin would lose a call), so exactly one task
drains the queue; listeners run inside it, one after another, and a failing listener is
logged without stopping the others or the consumer.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

from telephony.ami_connection import (
    AmiActionError,
    AmiConnected,
    AmiConnectionLost,
    AmiDisconnected,
    AmiEvent,
    AmiItem,
)
from telephony.ami_headers import MalformedEvent
from telephony.ami_protocol import clip, clip_headers
from telephony.call import Call, Effect
from telephony.dialplan import VAR_RECORDING
from telephony.event_translation import translate
from telephony.events import DomainEvent, QueueMembersListed
from telephony.list_items import channel_snapshot, queue_entry_snapshot, queue_member_snapshot
from telephony.live_snapshot import calls_from_snapshot
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

RESYNC_GETVAR_S = 5.0  # one Getvar of a rebuilt call's recording name

Listener = Callable[[Effect], Awaitable[None]]
EventListener = Callable[[DomainEvent], Awaitable[None]]


class AmiSource(Protocol):
    """What the service needs of the AMI client."""

    events: asyncio.Queue[AmiItem]

    async def action_list(
        self, name: str, timeout: float = ..., **headers: str
    ) -> list[dict[str, str]]: ...

    async def action(self, name: str, timeout: float = ..., **headers: str) -> dict[str, str]: ...


@dataclass
class ServiceStats:
    events: int = 0
    malformed: int = 0
    listener_errors: int = 0
    consumer_errors: int = 0  # an item that failed outside any listener (logged, skipped)
    resyncs: int = 0
    connected: bool = False
    last_disconnect: str = ""


class TelephonyService:
    """Owns the consumer task.

    `event_listeners` see every domain event before the tracker applies it (queue members,
    agents ringing); `listeners` see the tracker's call effects.
    """

    def __init__(
        self,
        ami: AmiSource,
        tracker: CallTracker,
        listeners: Sequence[Listener] = (),
        event_listeners: Sequence[EventListener] = (),
    ) -> None:
        self.ami = ami
        self.tracker = tracker
        self.listeners = list(listeners)
        self.event_listeners = list(event_listeners)
        self.stats = ServiceStats()
        self._task: asyncio.Task[None] | None = None
        self._resynced = asyncio.Event()
        self._booting = False  # connected, waiting for FullyBooted before the re-sync

    async def __aenter__(self) -> TelephonyService:
        self._task = asyncio.create_task(self._consume(), name="telephony-consumer")
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait_synced(self, timeout: float) -> None:
        """Wait for the re-sync that follows the current connection."""
        await asyncio.wait_for(self._resynced.wait(), timeout)

    def synced(self) -> bool:
        """The link is up and re-synced since it was last lost: the tracker knows the live
        calls."""
        return self._resynced.is_set()

    async def _consume(self) -> None:
        while True:
            item = await self.ami.events.get()
            try:
                await self.handle(item)
            except asyncio.CancelledError:
                raise
            except Exception:
                self.stats.consumer_errors += 1
                log.exception("telephony consumer: unexpected error on %r", item)
            finally:
                self.ami.events.task_done()

    async def handle(self, item: AmiItem) -> None:
        if isinstance(item, AmiEvent) and item.name == "FullyBooted" and self._booting:
            # Asterisk sends FullyBooted on login once booted, or when its boot ends: only
            # then are its modules (app_queue's QueueStatus) there to re-sync from.
            self._booting = False
            listed, effects = await self._resync()
            if listed is not None:
                for event_listener in self.event_listeners:
                    await self._call(event_listener, listed)
        elif isinstance(item, AmiEvent):
            event = self._translate(item)
            if event is None:
                return
            for event_listener in self.event_listeners:
                await self._call(event_listener, event)
            effects = self.tracker.apply(event)
        elif isinstance(item, AmiConnected):
            self.stats.connected = True
            self._booting = True
            return
        else:
            effects = self._on_disconnect(item)
        for effect in effects:
            for listener in self.listeners:
                await self._call(listener, effect)

    def _translate(self, item: AmiEvent) -> DomainEvent | None:
        self.stats.events += 1
        try:
            return translate(item.name, item.headers)
        except MalformedEvent as exc:
            self.stats.malformed += 1
            log.warning(
                "malformed AMI event %s skipped: %s; headers: %s",
                clip(item.name), exc, clip_headers(item.headers),
            )  # fmt: skip
            return None

    def _on_disconnect(self, item: AmiDisconnected) -> list[Effect]:
        self.stats.connected = False
        self.stats.last_disconnect = item.reason
        self._resynced.clear()
        effects = self.tracker.connection_lost(item.at, item.reason)
        log.warning("AMI connection lost (%s): %d live calls ended", item.reason, len(effects))
        return effects

    async def _resync(self) -> tuple[QueueMembersListed | None, list[Effect]]:
        """Rebuild the live calls (and list the queue members) after a (re)connect."""
        try:
            channels = await self.ami.action_list("CoreShowChannels")
            status = await self.ami.action_list("QueueStatus")
        except (AmiConnectionLost, AmiActionError, TimeoutError) as exc:
            log.warning("re-sync failed (%s); it runs again on the next connection", exc)
            return None, []
        now = time.time()
        try:
            snapshot = [
                channel_snapshot(h) for h in channels if h.get("Event") == "CoreShowChannel"
            ]
            entries = [queue_entry_snapshot(h) for h in status if h.get("Event") == "QueueEntry"]
            members = [
                queue_member_snapshot(h, now) for h in status if h.get("Event") == "QueueMember"
            ]
        except MalformedEvent as exc:
            log.warning("re-sync skipped a malformed list: %s", exc)
            return None, []
        live = calls_from_snapshot(snapshot, entries, now, self.tracker.inbound_context)
        try:
            live = await self._with_recordings(live)
        except AmiConnectionLost as exc:
            log.warning("re-sync failed (%s); it runs again on the next connection", exc)
            return None, []
        effects = self.tracker.resync(live, now)
        self.stats.resyncs += 1
        self._resynced.set()
        log.info("re-synced: %d channels, %d live calls", len(snapshot), len(live))
        return QueueMembersListed(now, tuple(members)), effects

    async def _with_recordings(self, live: dict[str, Call]) -> dict[str, Call]:
        """The rebuilt calls with their recording's name, as the dialplan set it on the
        caller's channel before the queue (CoreShowChannels does not list variables)."""
        names = await asyncio.gather(*(self._recording_of(call) for call in live.values()))
        return {
            linkedid: dataclasses.replace(call, recording=name) if name else call
            for (linkedid, call), name in zip(live.items(), names, strict=True)
        }

    async def _recording_of(self, call: Call) -> str:
        try:
            answer = await self.ami.action(
                "Getvar", RESYNC_GETVAR_S, Channel=call.channel, Variable=VAR_RECORDING
            )
        except (AmiActionError, TimeoutError) as exc:  # the caller hung up meanwhile, or slow
            log.warning("re-sync: no recording name for call %s (%s)", call.linkedid,
                        type(exc).__name__)  # fmt: skip
            return ""
        return answer.get("Value", "").strip()

    async def _call(self, listener: Callable[[Any], Awaitable[None]], what: object) -> None:
        try:
            await listener(what)
        except Exception:
            self.stats.listener_errors += 1
            log.exception("listener %r failed on %r", listener, what)
