"""The adapter of supervisors' listen / whisper / barge: AMI actions for each request,
confirmed by Asterisk's events (`ChanSpyStart` of the session's spy channel, its `Hangup`),
never by "Success"; the pure sessions of `spy.py` fed from the one ordered consumer.

Start: the supervisor's phone is originated (Async) into `CONTEXT_SPY`, extension = mode;
answered, it runs ChanSpy on the full name of the call's channel (`spy.spyee_of`). A switch
Redirects the answered spy channel to another mode's extension (the phone does not ring
again). Leave: the spy channel hung up. Whisper and barge are recorded on the spy channel
(MixMonitor by the dialplan, one file per session named by its Uniqueid, muted while back
in listen), so the supervisor's voice is kept apart from the call's own recording.
Nothing is left in Asterisk by a request that fails: the spy channel is hung up, and when
the spied channel hangs up before the spy joined (ChanSpy would wait for it forever) too.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection

from telephony import actions
from telephony.ami_connection import AmiActionError, AmiConnectionLost
from telephony.call_control import ControlState
from telephony.control_resync import AmiLists
from telephony.dialplan import CONTEXT_SPY, VAR_SPY_CALL, VAR_SPYEE, extension_of
from telephony.events import (
    ChannelCreated,
    ChannelHungUp,
    DomainEvent,
    QueueMembersListed,
    SpyEvent,
)
from telephony.spy import (
    RECORDED,
    SpyCode,
    SpyFailed,
    SpyMode,
    SpyPhase,
    SpySession,
    adopted,
    applied,
    ended,
    refusal,
    spy_exten,
    spyee_of,
    switching,
)
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

RING_S = 30.0  # how long the supervisor's phone rings
CONFIRM_S = 10.0  # how long a switch or a leave waits for Asterisk's events
KEEP_ENDED = 200  # sessions remembered (live ones always): what a request waits on

# How a session that ended before joining failed (other ends: the call ended first).
_FAILED_AS_IS = frozenset({SpyCode.NO_ANSWER, SpyCode.NOT_CONFIRMED, SpyCode.LEFT, SpyCode.LOST})

SpyListener = Callable[[SpySession], Awaitable[None]]
Recover = Callable[[], Awaitable[list[SpySession]]]  # the sessions on record as still open
ControlOf = Callable[[str], ControlState | None]


def _new_uniqueid() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**12):012d}"


class SpyService:
    def __init__(
        self,
        ami: AmiLists,
        tracker: CallTracker,
        control_of: ControlOf,
        phones: Collection[str],
        ring_s: float = RING_S,
        confirm_s: float = CONFIRM_S,
    ) -> None:
        self.ami = ami
        self.tracker = tracker
        self.control_of = control_of
        self.phones = frozenset(phones)
        self.ring_s = ring_s
        self.confirm_s = confirm_s
        self.sessions: dict[str, SpySession] = {}  # spy channel's Uniqueid → live session
        self.listeners: list[SpyListener] = []
        self.refusal_listeners: list[SpyListener] = []  # a refused start, as an ended session
        self.listener_errors = 0
        self.recover: Recover | None = None  # set by the app: the audit's open sessions
        self._recovered = False
        self._last: OrderedDict[str, SpySession] = OrderedDict()  # live and recently ended
        self._spyee_gone: set[str] = set()
        self._leaving: set[str] = set()  # left by the supervisor (maybe while ringing)
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Condition()

    def session_of(self, phone: str) -> SpySession | None:
        """The phone's live session, if any."""
        return next((s for s in self.sessions.values() if s.phone == phone), None)

    # -- requests -----------------------------------------------------------------------

    async def start(
        self, phone: str, linkedid: str, mode: SpyMode | str, requested_by: int | None = None
    ) -> SpySession:
        """Ring `phone` to join the call `linkedid` in `mode`: the session calling once
        Asterisk accepted the Originate (its changes go to the listeners; `joined` waits for
        the join), or SpyFailed (refused, not accepted) with nothing left in Asterisk."""
        mode = SpyMode(mode)
        call, control = self.tracker.get(linkedid), self.control_of(linkedid)
        try:
            if phone not in self.phones:
                raise SpyFailed(SpyCode.NOT_A_SUPERVISOR_PHONE, f"{phone} is no supervisor's")
            if any(linkedid in (s.uniqueid, s.spyer_channel) for s in self.sessions.values()):
                raise SpyFailed(SpyCode.SPY_CHANNEL, "a spy channel is not spied on")
            listed = await self._channels()
            of_call = [name for name, lid in listed.items() if lid == linkedid]
            why = refusal(call, phone, self.sessions.values(), of_call, control)
            if why is not None:
                raise SpyFailed(*why)
        except SpyFailed as exc:  # on the audit too: the refusal as its end, never joined
            now = time.time()
            agent = extension_of(call.agent_interface) or "" if call else ""
            refused = SpySession(_new_uniqueid(), phone, linkedid, agent, "", mode, now,
                                 phase=SpyPhase.ENDED, ended_at=now, end_code=exc.code.value,
                                 requested_by=requested_by)  # fmt: skip
            for listener in self.refusal_listeners:
                await listener(refused)
            raise
        assert call is not None
        uniqueid = _new_uniqueid()
        session = SpySession(
            uniqueid=uniqueid, phone=phone, linkedid=linkedid,
            agent=extension_of(call.agent_interface) or "",
            spyee_channel=spyee_of(call, control), mode=mode, requested_at=time.time(),
            requested_by=requested_by,
        )  # fmt: skip
        await self._set(session)
        try:
            await actions.originate_spy(
                self.ami, phone, CONTEXT_SPY, spy_exten(mode, control),
                f"{VAR_SPYEE}={session.spyee_channel},{VAR_SPY_CALL}={linkedid}",
                uniqueid, f"spy <{session.agent or linkedid}>", self.ring_s,
            )  # fmt: skip
        except (AmiActionError, AmiConnectionLost, TimeoutError) as exc:
            await self._end(uniqueid, SpyCode.NOT_CONFIRMED)
            raise SpyFailed(SpyCode.NOT_CONFIRMED, f"Asterisk refused: {exc}") from exc
        self._later(self._watch(uniqueid))
        return self._last[uniqueid]

    async def joined(self, uniqueid: str) -> SpySession:
        """The session once joined, or SpyFailed with why it ended first."""
        session = await self._until(uniqueid, lambda s: s.phase is SpyPhase.JOINED,
                                    self.ring_s + 2 * self.confirm_s)  # fmt: skip
        if session.phase is SpyPhase.ENDED:
            code = SpyCode(session.end_code)
            raise SpyFailed(code if code in _FAILED_AS_IS else SpyCode.CALL_ENDED, "ended first")
        return session

    async def _watch(self, uniqueid: str) -> None:
        """A started session joined in time (the recording muted as its mode asks), or its
        phone hung up and the session ended (`_until`): the start's answer does not wait."""
        with contextlib.suppress(SpyFailed):
            session = await self._until(uniqueid, lambda s: s.phase is SpyPhase.JOINED,
                                        self.ring_s + self.confirm_s)  # fmt: skip
            if session.live:
                await self._recorded(session)

    async def switch(self, phone: str, mode: SpyMode | str) -> SpySession:
        """The phone's session in `mode` (confirmed by the new ChanSpyStart), not rung again."""
        mode = SpyMode(mode)
        session = self._live(phone)
        if session.phase is not SpyPhase.JOINED:
            raise SpyFailed(SpyCode.NOT_NOW, "the supervisor has not joined yet")
        call = self.tracker.get(session.linkedid)
        if call is None or not call.active or session.uniqueid in self._spyee_gone:
            raise SpyFailed(SpyCode.CALL_ENDED, "the call has ended")
        if mode is session.mode:
            return session
        await self._set(switching(session, mode))
        try:
            exten = spy_exten(mode, self.control_of(session.linkedid))
            await actions.redirect(self.ami, session.spyer_channel, CONTEXT_SPY, exten)
        except (AmiActionError, AmiConnectionLost, TimeoutError) as exc:
            await self._set(session)  # still in its old mode
            raise SpyFailed(SpyCode.NOT_CONFIRMED, f"Asterisk refused: {exc}") from exc
        done = await self._until(session.uniqueid, lambda s: s.phase is SpyPhase.JOINED,
                                 self.confirm_s)  # fmt: skip
        if done.phase is SpyPhase.ENDED:
            raise SpyFailed(SpyCode.CALL_ENDED, "the spy ended during the switch")
        return await self._recorded(done)

    async def leave(self, phone: str) -> SpySession:
        """The spy channel hung up, ringing or joined; the ended session. A phone originated
        but whose channel Asterisk has not made yet is hung up once it is made."""
        session = self._live(phone)
        self._leaving.add(session.uniqueid)
        await self._hang_up(session.uniqueid)
        return await self._until(session.uniqueid, lambda s: False, self.confirm_s)

    # -- events -------------------------------------------------------------------------

    async def on_event(self, event: DomainEvent) -> None:
        """Every domain event, in Asterisk's order (an event listener of the consumer)."""
        key = event.spyer_uniqueid if isinstance(event, SpyEvent) else getattr(
            event, "uniqueid", None)  # fmt: skip
        session = self.sessions.get(key) if isinstance(key, str) else None
        if session is not None:
            after = applied(session, event)
            if after.phase is SpyPhase.ENDED and session.uniqueid in self._spyee_gone:
                after = dataclasses.replace(after, end_code=SpyCode.SPYEE_GONE.value)
            elif after.phase is SpyPhase.ENDED and session.uniqueid in self._leaving:
                after = dataclasses.replace(after, end_code=SpyCode.LEFT.value)
            elif isinstance(event, ChannelCreated) and session.uniqueid in self._leaving:
                self._later(self._hang_up(session.uniqueid))  # left before it was made
            if after != session:
                await self._set(after)
            return
        if isinstance(event, QueueMembersListed):  # a re-sync
            if self.recover is not None and not self._recovered:
                self._recovered = True
                self._later(self._adopt(self.recover))
            elif self.sessions:
                self._later(self._forget_lost())
            return
        if isinstance(event, ChannelHungUp):
            for s in list(self.sessions.values()):
                if s.spyee_channel == event.channel and s.uniqueid not in self._spyee_gone:
                    # ChanSpy's E ends a joined spy, but not one still ringing or switching
                    # (it would wait for the channel for ever), nor a barge in a room.
                    self._spyee_gone.add(s.uniqueid)
                    self._later(self._hang_up(s.uniqueid))

    async def _adopt(self, recover: Recover) -> None:
        """After the first re-sync: the sessions on record as open (a backend restarted
        while they ran) adopted if Asterisk still lists their spy channel in CONTEXT_SPY,
        else ended `lost` now; a phone still ringing from before is let go. Answered is
        joined (the join may not have reached the record before the backend died)."""
        try:
            opened = await recover()
            listed = await self.ami.action_list("CoreShowChannels")
        except Exception as exc:  # the database or Asterisk away: tried at the next re-sync
            self._recovered = False
            log.warning("open spy sessions not recovered (%s): tried again later", exc)
            return
        spying = {c.get("Uniqueid"): c for c in listed if c.get("Event") == "CoreShowChannel"
                  and c.get("Context") == CONTEXT_SPY}  # fmt: skip
        log.info("%d open spy sessions on record, %d spy channels", len(opened), len(spying))
        now = time.time()
        for s in opened:
            if s.uniqueid in self._last:
                continue
            channel = spying.get(s.uniqueid)
            if channel is not None and channel.get("ChannelStateDesc") == "Up":
                call = self.tracker.get(s.linkedid)
                spyee = spyee_of(call, self.control_of(s.linkedid)) if call else ""
                log.info("spy %s of phone %s adopted", s.uniqueid, s.phone)
                await self._set(adopted(s, channel, spyee, now))
                continue
            if channel is not None:
                await self._hang_up(s.uniqueid)
            await self._set(ended(s, now, SpyCode.LOST))

    async def _forget_lost(self) -> None:
        """After a reconnect: sessions whose spy channel Asterisk no longer has ended while
        the events were lost (their end time is when this was found)."""
        try:
            listed = await self.ami.action_list("CoreShowChannels")
        except (AmiActionError, AmiConnectionLost, TimeoutError) as exc:
            log.warning("spy re-sync failed (%s): sessions kept as they were", exc)
            return
        alive = {c.get("Uniqueid") for c in listed if c.get("Event") == "CoreShowChannel"}
        for uniqueid in [u for u in self.sessions if u not in alive]:
            await self._end(uniqueid, SpyCode.LOST)

    # -- helpers ------------------------------------------------------------------------

    def _live(self, phone: str) -> SpySession:
        session = self.session_of(phone)
        if session is None:
            raise SpyFailed(SpyCode.NOT_SPYING, f"phone {phone} is not spying")
        return session

    async def _channels(self) -> dict[str, str]:
        """Every channel Asterisk has now → its Linkedid."""
        try:
            listed = await self.ami.action_list("CoreShowChannels")
        except (AmiActionError, AmiConnectionLost, TimeoutError) as exc:
            raise SpyFailed(SpyCode.NOT_CONFIRMED, f"cannot list channels: {exc}") from exc
        return {c["Channel"]: c.get("Linkedid", "") for c in listed
                if c.get("Event") == "CoreShowChannel" and "Channel" in c}  # fmt: skip

    async def _recorded(self, session: SpySession) -> SpySession:
        """The spy channel's recording (started by the dialplan at the first whisper or
        barge) muted while the supervisor is back in listen, unmuted in whisper or barge."""
        if session.recording:
            try:
                await actions.mute_recording(
                    self.ami, session.spyer_channel, session.mode not in RECORDED
                )
            except (AmiActionError, AmiConnectionLost, TimeoutError) as exc:
                log.error("spy %s: recording not (un)muted: %s", session.uniqueid, exc)
        return session

    async def _hang_up(self, uniqueid: str) -> None:
        with contextlib.suppress(AmiActionError, AmiConnectionLost, TimeoutError):
            await actions.hang_up(self.ami, uniqueid)  # by Uniqueid: it may be gone already

    def _later(self, work: Awaitable[None]) -> None:
        async def run() -> None:
            try:
                await work
            except Exception:
                log.exception("spy task failed")

        task = asyncio.create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _end(self, uniqueid: str, code: SpyCode) -> None:
        session = self.sessions.get(uniqueid)
        if session is not None:
            await self._set(ended(session, time.time(), code))

    async def _set(self, session: SpySession) -> None:
        if session.live:
            self.sessions[session.uniqueid] = session
        else:
            self.sessions.pop(session.uniqueid, None)
            self._spyee_gone.discard(session.uniqueid)
            self._leaving.discard(session.uniqueid)
        self._last[session.uniqueid] = session
        self._last.move_to_end(session.uniqueid)
        while len(self._last) > KEEP_ENDED:
            self._last.popitem(last=False)
        async with self._changed:
            self._changed.notify_all()
        for listener in self.listeners:
            try:
                await listener(session)
            except Exception:
                self.listener_errors += 1
                log.exception("spy listener %r failed", listener)

    async def _until(
        self, uniqueid: str, done: Callable[[SpySession], bool], seconds: float
    ) -> SpySession:
        """The session once `done` holds or it has ended; not confirmed in time: the spy
        channel hung up (nothing stays behind) and SpyFailed(not_confirmed)."""
        try:
            async with asyncio.timeout(seconds), self._changed:
                while True:
                    session = self._last[uniqueid]
                    if done(session) or not session.live:
                        return session
                    await self._changed.wait()
        except TimeoutError:
            await self._hang_up(uniqueid)
            await self._end(uniqueid, SpyCode.NOT_CONFIRMED)
            raise SpyFailed(SpyCode.NOT_CONFIRMED, "Asterisk did not confirm it in time") from None
