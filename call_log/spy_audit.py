"""The audit of supervisors' spy sessions: every change of a session (SpyService listener,
inside the AMI consumer) is queued, and one writer task stores it in the CRM
(`crm.usecases.spy_sessions`), so the consumer never waits on the database. A write that
fails is retried (each change carries all the session's facts) after 1, 2, 4… s, and given
up after MAX_TRIES, counted in `dropped` (the task's failures in the health report)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime

from call_log.mapping import maybe_utc, utc
from crm.db.call_models import SpySession as SpySessionRow
from crm.db.engine import SessionFactory
from crm.domain.clock import utc_now
from crm.usecases.spy_sessions import SpyFacts, open_sessions, record
from telephony.spy import ModeChange, SpyMode, SpyPhase, SpySession

log = logging.getLogger(__name__)

RETRY_S = 1.0  # the first retry; each next one waits twice as long
MAX_TRIES = 8  # then the session's change is given up (about 2 minutes of retries)


def facts_of(s: SpySession) -> SpyFacts:
    return SpyFacts(
        uniqueid=s.uniqueid, supervisor_id=s.requested_by, phone=s.phone, linkedid=s.linkedid,
        agent=s.agent, modes=tuple((c.mode.value, utc(c.at)) for c in s.changes),
        requested_at=utc(s.requested_at), joined_at=maybe_utc(s.joined_at),
        ended_at=maybe_utc(s.ended_at), duration_s=s.duration_s, end_code=s.end_code,
        recording=s.recording,
    )  # fmt: skip


def _epoch(at: datetime) -> float:
    return at.replace(tzinfo=UTC).timestamp()


def session_of(row: SpySessionRow) -> SpySession:
    """An open session on record, as SpyService knew it before a restart."""
    changes = tuple(ModeChange(SpyMode(m["mode"]), _epoch(datetime.fromisoformat(m["at"])))
                    for m in row.modes)  # fmt: skip
    return SpySession(
        uniqueid=row.uniqueid, phone=row.phone, linkedid=row.linkedid, agent=row.agent,
        spyee_channel="", mode=changes[-1].mode if changes else SpyMode.LISTEN,
        requested_at=_epoch(row.requested_at),
        phase=SpyPhase.JOINED if row.joined_at else SpyPhase.CALLING,
        joined_at=_epoch(row.joined_at) if row.joined_at else None, changes=changes,
        recording=row.recording, requested_by=row.supervisor_id,
    )  # fmt: skip


class SpyAudit:
    def __init__(self, sessions: SessionFactory, clock: Callable[[], float] = time.monotonic
                 ) -> None:  # fmt: skip
        self.sessions = sessions
        self.clock = clock
        self.failures = 0
        self.dropped = 0  # sessions given up after MAX_TRIES (a task failure: an alarm)
        self._retries: dict[str, tuple[int, float]] = {}  # uniqueid → tries, next try at
        self._latest: dict[str, SpySession] = {}
        self._wake = asyncio.Event()

    async def open_sessions(self) -> list[SpySession]:
        """SpyService.recover: the sessions on record with no end."""
        async with self.sessions() as db:
            return [session_of(row) for row in await open_sessions(db)]

    async def on_session(self, session: SpySession) -> None:
        """SpyService listener: the latest facts of the session, written soon."""
        self._latest[session.uniqueid] = session
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.flush()

    async def flush(self) -> None:
        pending, self._latest = self._latest, {}
        now = self.clock()
        for uniqueid, s in pending.items():
            tries, due = self._retries.get(uniqueid, (0, 0.0))
            if due > now:  # backing off: kept for its turn
                self._latest.setdefault(uniqueid, s)
                continue
            try:
                async with self.sessions() as db, db.begin():
                    await record(db, facts_of(s), utc_now())
            except Exception as exc:
                self.failures += 1
                tries += 1
                if tries >= MAX_TRIES:
                    self._retries.pop(uniqueid, None)
                    self.dropped += 1
                    log.error("spy session %s not stored after %d tries: given up (%s)",
                              uniqueid, tries, exc)  # fmt: skip
                    continue
                delay = RETRY_S * 2 ** (tries - 1)
                log.warning("spy session %s not stored (%s): retried in %g s", uniqueid, exc,
                            delay, exc_info=tries == 1)  # fmt: skip
                self._retries[uniqueid] = (tries, now + delay)
                self._latest.setdefault(uniqueid, s)
                asyncio.get_running_loop().call_later(delay, self._wake.set)
            else:
                self._retries.pop(uniqueid, None)
