"""The backend's part in the callback keeping the caller's place: it stores a waiting
caller's request (the IVR flow's port, before the caller is told), places each due request's
placeholder in the queue (`telephony.actions.place_callback`), follows each placeholder's call
from the tracker to the attempt's result, retries, and places again what Asterisk lost.

Requests live in the CRM (`queue_callbacks`): a backend restart loses none (a placeholder
Asterisk still holds goes on; one it no longer holds is placed again, first in its queue),
and an Asterisk restart ends the placeholders, which are placed again the same way. The
citizen's number is never logged, only the request's id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from sqlalchemy.exc import SQLAlchemyError

from config.settings import Settings
from crm.db.engine import SessionFactory
from crm.domain.calls import lost_by_asterisk
from crm.domain.clock import utc_now
from crm.domain.queue_callback import result_of
from crm.usecases import queue_callbacks as uc
from hotline_cli.tasks import TaskHealth
from ivr.callback import CallbackAsk
from telephony.actions import own_uniqueid, place_callback
from telephony.ami_connection import AmiActionError, AmiConnectionLost
from telephony.call import FINAL, CallChanged
from telephony.dialplan import request_of_channel
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

TICK_S = 1.0  # due retries are looked for this often (a new request wakes the task at once)
MARGIN_S = 60  # a placeholder outlives the queue's longest wait by this much
# A placed request whose placeholder the tracker has not seen this long after it was placed
# (the Originate failed in Asterisk, its context missing) is placed again.
PLACED_WATCH = timedelta(seconds=30)
PLACE_ERRORS = (AmiActionError, AmiConnectionLost, TimeoutError, ValueError)


class AmiCalls(Protocol):
    async def action(self, name: str, timeout: float = ..., **headers: str) -> dict[str, str]: ...

    async def action_list(
        self, name: str, timeout: float = ..., **headers: str
    ) -> list[dict[str, str]]: ...


def offer_after_s(settings: Settings) -> float | None:
    """How long a caller waits before its position announcements offer the callback key;
    None: never (no outbound trunk to call back through)."""
    return None if settings.outbound is None else float(settings.callback.offer_after_s)


class QueueCallbacks:
    def __init__(self, settings: Settings, sessions: SessionFactory) -> None:
        self.sessions = sessions
        self.attempts = settings.callback.attempts
        self.retry_after_s = settings.callback.retry_after_s
        self.timeout_s = max((q.max_wait_s for q in settings.queues), default=3600) + MARGIN_S
        # its failures: requests not stored, placeholders not placed, results not kept
        self.health = TaskHealth()
        self._wake = asyncio.Event()

    async def take(self, ask: CallbackAsk) -> int | None:
        """The IVR flow's port: the request stored (its id), None if it could not be."""
        try:
            async with self.sessions() as session, session.begin():
                request = await uc.store_request(
                    session, ask.linkedid, ask.queue, ask.number, ask.position, ask.queued_at,
                    utc_now(),
                )  # fmt: skip
        except SQLAlchemyError:
            self.health.failures += 1
            log.exception("callback request of %s not stored", ask.linkedid)
            return None
        self._wake.set()
        return request

    async def run(self, ami: AmiCalls, tracker: CallTracker, synced: Callable[[], bool]) -> None:
        """Place again what Asterisk no longer holds (the backend restarted), then place due
        requests until cancelled: only while `synced` (the AMI link up and re-synced since
        it was lost: before, the tracker does not know the live placeholders). A database
        error is logged and the loop goes on."""
        recovered = False
        while True:
            self._wake.clear()
            if synced():
                try:
                    if not recovered:
                        await self._recover(tracker)
                        recovered = True
                    await self._watch_placed(tracker)
                    await self._place_due(ami, tracker)
                except SQLAlchemyError:
                    self.health.failures += 1
                    log.exception("callback requests: database error (tried again shortly)")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), TICK_S)

    async def on_call(self, effect: CallChanged) -> None:
        """Listener: a placeholder's call ended; its attempt's result is kept (a placeholder
        Asterisk lost is placed again, the attempt not counted)."""
        call = effect.call
        if not call.callback or call.active or effect.previous in FINAL:
            return
        request, now = int(call.callback), utc_now()
        try:
            async with self.sessions() as session, session.begin():
                if lost_by_asterisk(call.end_reason):  # after the re-sync: it may be alive
                    await uc.place_again(session, request, now)  # once re-synced
                    log.info("callback %d: placeholder lost (%s); placed again", request,
                             call.end_reason)  # fmt: skip
                else:
                    result = result_of(call.callback_result, call.answered_at is not None)
                    state = await uc.record_attempt(
                        session, request, call.linkedid, result, now, self.attempts,
                        self.retry_after_s,
                    )  # fmt: skip
                    log.info("callback %d: attempt %s ended %s: %s", request, call.linkedid,
                             result, state)  # fmt: skip
        except SQLAlchemyError:
            self.health.failures += 1
            log.exception("callback %d: result of %s not kept", request, call.linkedid)
        self._wake.set()

    async def _recover(self, tracker: CallTracker) -> None:
        live = {c.linkedid for c in tracker.calls.values() if c.callback}
        async with self.sessions() as session, session.begin():
            for row in await uc.open_requests(session):
                if row.placeholder and row.placeholder not in live:
                    await uc.place_again(session, row.id, utc_now())

    async def _watch_placed(self, tracker: CallTracker) -> None:
        """A request placed over PLACED_WATCH ago whose placeholder the tracker does not hold
        is placed again (its Originate failed in Asterisk, or its end was missed)."""
        live = {c.linkedid for c in tracker.calls.values() if c.callback}
        now = utc_now()
        async with self.sessions() as session, session.begin():
            for row in await uc.placed_before(session, now - PLACED_WATCH):
                if row.placeholder not in live:
                    await uc.place_again(session, row.id, now)
                    log.warning("callback %d: placeholder %s never seen; placed again", row.id,
                                row.placeholder)  # fmt: skip

    async def _place_due(self, ami: AmiCalls, tracker: CallTracker) -> None:
        async with self.sessions() as session:
            due = [
                (r.id, r.number, r.queue, r.position, r.queued_at, r.front, r.placeholder)
                for r in await uc.due_requests(session, utc_now())
            ]
        live = {c.callback: c.linkedid for c in tracker.calls.values() if c.callback}
        for request, number, queue, position, queued_at, front, before in due:
            try:
                held = live.get(str(request)) or (before and await _held(ami, request))
            except PLACE_ERRORS as exc:
                log.warning("callback %d: channels not listed (tried again shortly): %s",
                            request, exc)  # fmt: skip
                continue
            if held:  # Asterisk still holds it
                async with self.sessions() as session, session.begin():
                    await uc.mark_placed(session, request, held, utc_now())
                log.info("callback %d: placeholder %s found again", request, held)
                continue
            placeholder = own_uniqueid(time.time())
            # marked first: a restart after the Originate finds the request placed
            async with self.sessions() as session, session.begin():
                await uc.mark_placed(session, request, placeholder, utc_now())
            try:
                await place_callback(ami, request, number, queue, position, queued_at, front,
                                     placeholder, self.timeout_s)  # fmt: skip
            except PLACE_ERRORS as exc:
                self.health.failures += 1
                log.warning("callback %d not placed (tried again shortly): %s", request, exc)
                async with self.sessions() as session, session.begin():
                    await uc.unplace(session, request, placeholder, utc_now())


async def _held(ami: AmiCalls, request: int) -> str:
    """The Linkedid of the placeholder of `request` Asterisk holds, "" if none: asked before
    a request placed before is placed again (never a second placeholder)."""
    for channel in await ami.action_list("CoreShowChannels"):
        if request_of_channel(channel.get("Channel", "")) == request:
            return channel.get("Linkedid", "") or channel.get("Uniqueid", "")
    return ""
