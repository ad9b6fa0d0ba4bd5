"""The call log's adapter: tracker effects in (inside the AMI consumer), call records out.

The consumer must never wait on the database, so `on_call` only maps the effect (pure, a few
microseconds) and appends it to a backlog that one writer task drains in batches, each batch
one transaction of `record_progress`. The backlog is never cut: if the database is slow or
away it grows, and its size is logged as it crosses each power of two from
`BACKLOG_WARN`; a batch that fails stays at the head and is retried. Only an update the
database refuses on its own (one bad row, not a lost connection) is set aside, logged.

After every re-sync (`QueueMembersListed` is sent once per successful one, after the tracker
took Asterisk's lists), records still in progress whose call Asterisk no longer has are
ended: the backend was away when they ended (SIGKILL, crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy.exc import DBAPIError, OperationalError

from call_log.control_mapping import control_update
from call_log.mapping import blanked, update
from crm.db.engine import SessionFactory
from crm.domain.call_progress import CallUpdate
from crm.domain.clock import utc_now
from crm.usecases.call_records import end_lost_calls, record_progress
from telephony.call import FINAL, Call, CallChanged
from telephony.call_control import ControlState
from telephony.events import DomainEvent, QueueMembersListed
from telephony.tracker import CallTracker

log = logging.getLogger(__name__)

BATCH = 200
BACKLOG_WARN = 1000
RETRY_S = (0.2, 0.5, 1.0, 2.0, 5.0)
FLUSH_ON_EXIT_S = 5.0
# The database away or slow (a lost connection, a locked SQLite, a timeout): retried. Any
# other failure is the update's own (a refused row): that update alone is set aside, logged.
TRANSIENT = (OperationalError, OSError, TimeoutError)

CallEnded = Callable[[str], None]


class Health(Protocol):
    failures: int


Supervise = Callable[[str, Callable[[], Awaitable[None]]], AbstractAsyncContextManager[Any]]


@dataclass(frozen=True)
class LostCallsCheck:
    """After a re-sync: the calls Asterisk has now; every other in-progress record ended."""

    live: frozenset[str]


Item = CallUpdate | LostCallsCheck


@dataclass
class CallLogStats:
    written: int = 0  # updates committed
    rejected: int = 0  # updates the database refused on their own, blanked too (logged)
    blanked: int = 0  # refused updates written with their free text blanked (logged)
    failures: int = 0  # batches that failed and were retried
    backlog_peak: int = 0


class CallLog:
    def __init__(
        self,
        sessions: SessionFactory,
        tracker: CallTracker,
        emergency_numbers: Collection[str],
        on_call_ended: CallEnded | None = None,
    ) -> None:
        self.sessions = sessions
        self.tracker = tracker
        self.emergency_numbers = frozenset(emergency_numbers)
        self.on_call_ended = on_call_ended
        self.stats = CallLogStats()
        self.health: Health | None = None  # the supervisor's counters, once running
        self._backlog: deque[Item] = deque()
        self._wake = asyncio.Event()
        self._warn_at = BACKLOG_WARN
        self._control: dict[str, ControlState] = {}  # each controlled call's last state

    @property
    def backlog(self) -> int:
        return len(self._backlog)

    async def on_call(self, effect: CallChanged) -> None:
        """The tracker listener: never waits."""
        self._put(update(effect, self.emergency_numbers))

    async def on_control(self, state: ControlState, call: Call) -> None:
        """The call-control listener: holds, mutes, consults and their trunk attempts, the
        agent leaving, warm transfers, as events on the call. Never waits."""
        before = self._control.get(call.linkedid)
        if state.ended or call.state in FINAL:
            self._control.pop(call.linkedid, None)
        else:
            self._control[call.linkedid] = state
        self._put(control_update(before, state, call, self.emergency_numbers))

    async def on_event(self, event: DomainEvent) -> None:
        """The event listener: a finished re-sync queues the check for lost calls."""
        if isinstance(event, QueueMembersListed):
            self._put(LostCallsCheck(frozenset(self.tracker.calls)))

    def _put(self, item: Item) -> None:
        self._backlog.append(item)
        self._wake.set()
        size = len(self._backlog)
        self.stats.backlog_peak = max(self.stats.backlog_peak, size)
        if size >= self._warn_at:
            log.warning("call log: %d updates waiting for the database", size)
            self._warn_at *= 2

    async def run(self) -> None:
        """The writer: drain the backlog in batches, forever (run under the supervisor)."""
        attempt = 0
        while True:
            if not self._backlog:
                self._wake.clear()
                self._warn_at = BACKLOG_WARN
                await self._wake.wait()
                continue
            try:
                await self._write_head()
                attempt = 0
            except TRANSIENT as exc:
                self._failed(exc)
                await asyncio.sleep(RETRY_S[min(attempt, len(RETRY_S) - 1)])
                attempt += 1

    def _failed(self, exc: BaseException) -> None:
        self.stats.failures += 1
        if self.health is not None:
            self.health.failures += 1
        log.warning("call log: writing %d waiting updates failed (%s); retrying", self.backlog,
                    type(exc).__name__)  # fmt: skip

    async def _write_head(self) -> None:
        """Write what heads the backlog, removing it only once committed (or refused)."""
        head = self._backlog[0]
        if isinstance(head, LostCallsCheck):
            await self._end_lost(head)
            return
        batch: list[CallUpdate] = []
        for item in self._backlog:
            if not isinstance(item, CallUpdate) or len(batch) >= BATCH:
                break
            batch.append(item)
        try:
            ended = await self._commit(batch)
        except TRANSIENT:
            raise  # the database is away or slow: keep the batch, retry
        except Exception:
            if len(batch) == 1:
                self._ended(await self._refused(batch[0]))
                return
            ended = await self._one_by_one(len(batch))  # find the one it refuses
        else:
            for _ in batch:
                self._backlog.popleft()
        self._ended(ended)

    async def _end_lost(self, check: LostCallsCheck) -> None:
        try:
            async with self.sessions() as session, session.begin():
                ended = await end_lost_calls(session, check.live, utc_now())
        except TRANSIENT:
            raise
        except Exception:  # a bug, not the database away: the next re-sync checks again
            log.exception("call log: ending the calls lost while away failed")
            ended = []
        self._backlog.popleft()
        if ended:
            log.info("call log: %d calls that ended unseen are closed", len(ended))
        self._ended(ended)

    async def _refused(self, item: CallUpdate) -> list[str]:
        """An update the database (or the use case) refuses on its own, at the head: written
        once more with its free text blanked (a caller's name the database will not take must
        not lose the call and its recording); only if that is refused too, set aside, loudly."""
        linkedid = item.facts.linkedid
        log.warning("call log: update of call %s refused (%s); writing it without its free "
                    "text", linkedid, _why(sys.exc_info()[1]))  # fmt: skip
        try:
            ended = await self._commit([blanked(item)])
        except TRANSIENT:
            raise  # the database went away meanwhile: the update stays at the head
        except Exception as exc:
            self._backlog.popleft()
            self.stats.rejected += 1
            if self.health is not None:
                self.health.failures += 1
            log.error("call log: update of call %s refused (%s); set aside", linkedid, _why(exc),
                      exc_info=not isinstance(exc, DBAPIError))  # fmt: skip
            return []
        self._backlog.popleft()
        self.stats.blanked += 1
        return ended

    async def _commit(self, batch: list[CallUpdate]) -> list[str]:
        async with self.sessions() as session, session.begin():
            ended = await record_progress(session, batch, utc_now())
        self.stats.written += len(batch)
        return ended

    async def _one_by_one(self, count: int) -> list[str]:
        ended: list[str] = []
        for _ in range(count):
            item = self._backlog[0]
            assert isinstance(item, CallUpdate)
            try:
                ended += await self._commit([item])
            except TRANSIENT:
                raise
            except Exception:
                ended += await self._refused(item)
                continue
            self._backlog.popleft()
        return ended

    def _ended(self, linkedids: list[str]) -> None:
        if self.on_call_ended is None:
            return
        for linkedid in linkedids:
            try:
                self.on_call_ended(linkedid)
            except Exception:
                log.exception("call log: on_call_ended failed for %s", linkedid)

    async def flush(self, timeout: float) -> None:
        """Write what is waiting (at shutdown, after the consumer stopped), within `timeout`."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while self._backlog:
                    await self._write_head()
        if self._backlog:
            log.warning("call log: %d updates not written at shutdown", self.backlog)


@asynccontextmanager
async def running_call_log(
    sessions: SessionFactory,
    tracker: CallTracker,
    emergency_numbers: Collection[str],
    supervise: Supervise,
    on_call_ended: CallEnded | None = None,
) -> AsyncIterator[CallLog]:
    """The call log with its writer running under `supervise` (hotline_cli.tasks), named
    "call log writer" on /health; on exit, what is still waiting is written (bounded)."""
    call_log = CallLog(sessions, tracker, emergency_numbers, on_call_ended)
    async with supervise("call log writer", call_log.run) as health:
        call_log.health = health
        yield call_log
    try:
        await call_log.flush(FLUSH_ON_EXIT_S)
    except Exception:
        log.exception("call log: final write failed; %d updates not written", call_log.backlog)


def _why(exc: BaseException | None) -> str:
    """A refusal named without its text: a database's message may quote the row (a caller's
    number in PostgreSQL's "Failing row contains ..."), and the logs must not hold it."""
    if isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "sqlite_errorname", "")
        return f"{type(exc.orig).__name__} {code}".strip()
    return type(exc).__name__
