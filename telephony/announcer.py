"""Queue position announcements that do not hold up app_queue.

Each announcement is a Local channel that whispers into the waiting caller (ChanSpy with
private whisper on the caller's Uniqueid) while its other half plays the position
(`CONTEXT_POSITION` in the dialplan). The caller hears it over the hold music; app_queue's
loop never waits for it, so a free agent is rung as soon as app_queue looks (README,
"free agents left unrung"). The whisper is hung up when the caller's agent starts ringing.
The estimated wait follows the position (`wait_estimate.py`), from the queue's answers as the
tracker reports them, kept here: no query per announcement.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import Iterable

from telephony.actions import AmiActions, hang_up, whisper_into
from telephony.ami_connection import AmiActionError, AmiConnectionLost
from telephony.call import WAITING, CallChanged, CallState
from telephony.dialplan import VAR_OFFER, VAR_WAIT
from telephony.positions import ANNOUNCE_EVERY_S, Announcement, due, offered
from telephony.tracker import CallTracker
from telephony.wait_estimate import KEEP_ANSWERS, Answer, estimate_wait_s
from telephony.wait_words import wait_key

log = logging.getLogger(__name__)

TICK_S = 0.5
LONGEST_ANNOUNCEMENT_S = 15.0  # a whisper older than this has ended by itself


class PositionAnnouncer:
    def __init__(
        self,
        ami: AmiActions,
        tracker: CallTracker,
        queues: Iterable[str],
        context: str,
        every_s: float = ANNOUNCE_EVERY_S,
        offer_after_s: float | None = None,
    ) -> None:
        self.ami = ami
        self.tracker = tracker
        self.queues = frozenset(queues)
        self.context = context
        self.every_s = every_s
        self.offer_after_s = offer_after_s  # the callback key offered after that wait; None: never
        self.last_said: dict[str, float] = {}  # caller Uniqueid -> when last told
        self.whispers: dict[str, tuple[str, float]] = {}  # caller Uniqueid -> (channel id, at)
        self.answers: dict[str, deque[Answer]] = {}  # queue -> its latest answers

    async def run(self) -> None:
        """Tell every due caller their position, twice a second, until cancelled."""
        while True:
            if self.queues:
                for announcement in due(
                    self.tracker.calls.values(), self.queues, self.last_said, time.time(),
                    self.every_s,
                ):  # fmt: skip
                    await self._announce(announcement)
            await asyncio.sleep(TICK_S)

    async def on_call(self, effect: CallChanged) -> None:
        """Listener: stop the whisper once the caller stops waiting for a free agent."""
        call = effect.call
        if (
            call.state is CallState.TALKING and effect.previous in WAITING
            and call.queued_at is not None and call.answered_at is not None
        ):  # fmt: skip
            answers = self.answers.setdefault(call.queue, deque(maxlen=KEEP_ANSWERS))
            answers.append(Answer(call.queued_at, call.answered_at))
        if call.state is not CallState.QUEUED or call.left_queue:
            await self._stop_whisper(call.uniqueid)
        if not call.in_queue:
            self.last_said.pop(call.uniqueid, None)

    def wait_sentence(self, a: Announcement, now: float) -> str:
        """The `CONTEXT_WAIT` extension that tells `a`'s caller their estimated wait, "" if
        the queue's recent answers do not tell it."""
        waiting = [
            c.queued_at for c in self.tracker.calls.values()
            if c.queue == a.queue and c.in_queue and c.queued_at is not None
        ]  # fmt: skip
        wait_s = estimate_wait_s(
            tuple(self.answers.get(a.queue, ())), a.position, now, min(waiting, default=None)
        )
        return "" if wait_s is None else wait_key(wait_s)

    async def _announce(self, a: Announcement) -> None:
        now = self.last_said[a.uniqueid] = time.time()
        channel_id = f"hotline-pos-{uuid.uuid4().hex[:12]}"
        wait = self.wait_sentence(a, now)
        call = self.tracker.calls.get(a.uniqueid)  # a caller's channel names its call
        offer = (
            self.offer_after_s is not None and call is not None
            and offered(call, now, self.offer_after_s)
        )  # fmt: skip
        variables = [f"{VAR_WAIT}={wait}"] * bool(wait) + [f"{VAR_OFFER}=1"] * offer
        try:
            await whisper_into(
                self.ami, a.uniqueid, self.context, str(a.position), channel_id,
                f"queue position <{a.position}>", ",".join(variables),
            )  # fmt: skip
        except (AmiActionError, AmiConnectionLost, TimeoutError) as exc:
            log.warning("position announcement for %s in %s failed: %s", a.uniqueid, a.queue, exc)
            return
        self.whispers[a.uniqueid] = (channel_id, time.time())

    async def _stop_whisper(self, uniqueid: str) -> None:
        whisper = self.whispers.pop(uniqueid, None)
        if whisper is None or time.time() - whisper[1] > LONGEST_ANNOUNCEMENT_S:
            return
        with contextlib.suppress(AmiActionError, AmiConnectionLost, TimeoutError):
            await hang_up(self.ami, whisper[0])  # it may have ended
