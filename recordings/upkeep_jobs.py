"""The recordings' upkeep jobs: compression of checked WAVs, retention, reconciliation.

Both keep the rule "the row first, the file after" so that a crash never leaves a row pointing
at nothing: compression commits the row to the verified copy before removing the WAV,
retention commits REMOVED before deleting the file, and each run finishes what a crash
interrupted (files of rows changed in the last `LEFTOVER_WINDOW`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Collection
from datetime import datetime, timedelta
from pathlib import Path

from crm.db.call_models import Recording
from crm.db.engine import SessionFactory
from crm.domain.clock import utc_now
from crm.domain.lifecycle import Actor
from crm.jobs.overdue_sweep import system_actor
from crm.jobs.periodic import PeriodicJob
from crm.usecases.recording_upkeep import (
    RetentionCandidate,
    compression_due,
    recently_compressed,
    recently_removed,
    record_removed,
    retention_candidates,
)
from recordings.compress import SOX, CompressionFailed, Tools, compress_one, finish_removal
from recordings.reconcile import Reconciler, Report, Witness
from recordings.retention import OrderState, RetentionFacts, may_remove
from recordings.store import RecordingStore, UnsafePath

log = logging.getLogger(__name__)

LEFTOVER_WINDOW = timedelta(days=2)
BATCH = 200
MAX_ATTEMPTS = 3  # a recording whose conversion failed this often is left as WAV (logged)
SYSTEM_USER = "系统录音压缩"  # signs the orders' audit entries for a compressed recording


class Compressor(PeriodicJob):
    """Every `interval_s`: attached WAVs checked more than `after_s` ago → verified Ogg,
    `concurrency` sox processes at a time. A failed conversion is retried at the next runs,
    at most MAX_ATTEMPTS times in this process's life; the WAV is kept meanwhile."""

    name = "recording compression"

    def __init__(
        self,
        sessions: SessionFactory,
        root: Path,
        *,
        quality: int,
        after_s: float,
        interval_s: float,
        concurrency: int = 2,
        tools: Tools = SOX,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(interval_s)
        self.sessions, self.root, self.quality, self.after_s = sessions, root, quality, after_s
        self.tools, self.clock = tools, clock
        self.attempts: dict[int, int] = {}
        self.compressed = 0
        self._slots = asyncio.Semaphore(concurrency)
        self._actor: Actor | None = None

    async def run_once(self) -> None:
        now = self.clock()
        if self._actor is None:
            self._actor = await system_actor(self.sessions, SYSTEM_USER)
        async with self.sessions() as session:
            leftovers = await recently_compressed(session, now - LEFTOVER_WINDOW)
        for row in leftovers:
            if finish_removal(self.root, row):
                log.info("recording %d: original WAV removed after an interrupted run", row.id)
        after_id, checked_before = 0, now - timedelta(seconds=self.after_s)
        while True:
            async with self.sessions() as session:
                page = await compression_due(session, checked_before, BATCH, after_id)
            due = [r for r in page if self.attempts.get(r.id, 0) < MAX_ATTEMPTS]
            await asyncio.gather(*(self._one(r.id, r, self._actor) for r in due))
            if len(page) < BATCH:
                return
            after_id = page[-1].id

    async def _one(self, recording_id: int, row: Recording, actor: Actor) -> None:
        async with self._slots:
            try:
                await compress_one(self.sessions, self.root, row, self.quality, self.clock(),
                                   actor, self.tools)  # fmt: skip
            except CompressionFailed as exc:
                tries = self.attempts[recording_id] = self.attempts.get(recording_id, 0) + 1
                final = "; kept as WAV" if tries >= MAX_ATTEMPTS else "; retried later"
                log.warning("recording %d not compressed (attempt %d): %s%s",
                            recording_id, tries, exc, final)  # fmt: skip
                return
        self.attempts.pop(recording_id, None)
        self.compressed += 1
        log.info("recording %d compressed to Ogg Vorbis", recording_id)


class Retention(PeriodicJob):
    """Every `interval_s`: recordings past retention (`recordings.retention` decides) are
    marked REMOVED (removed_at) and their file deleted, each logged by id and call."""

    name = "recording retention"

    def __init__(
        self,
        sessions: SessionFactory,
        root: Path,
        *,
        retention_days: int,
        interval_s: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(interval_s)
        self.sessions, self.root, self.retention_days = sessions, root, retention_days
        self.clock = clock
        self.store = RecordingStore(root)
        self.removed = 0

    async def run_once(self) -> None:
        now = self.clock()
        async with self.sessions() as session:
            for row in await recently_removed(session, now - LEFTOVER_WINDOW):
                self._delete(row)
        after_id, checked_before = 0, now - timedelta(days=self.retention_days)
        while True:
            async with self.sessions() as session:
                page = await retention_candidates(session, checked_before, BATCH, after_id)
            for c in page:
                await self._consider(c, now)
            if len(page) < BATCH:
                return
            after_id = page[-1].recording.id

    async def _consider(self, c: RetentionCandidate, now: datetime) -> None:
        facts = RetentionFacts(
            status=c.recording.status,
            call_ended_at=c.call.ended_at,
            disposed=c.call.disposition is not None,
            orders=tuple(OrderState(o.status, o.closed_at, o.updated_at) for o in c.orders),
        )
        if not may_remove(facts, now, self.retention_days):
            return
        async with self.sessions() as session, session.begin():
            marked = await record_removed(session, c.recording.id, c.recording.path, now)
        if marked:
            self._delete(c.recording)
            self.removed += 1
            log.info("recording %d of call %s removed: past %d days of retention",
                     c.recording.id, c.recording.linkedid, self.retention_days)  # fmt: skip
        else:
            log.info("recording %d kept: it changed or an order of its call was reopened",
                     c.recording.id)  # fmt: skip

    def _delete(self, row: Recording) -> None:
        """Delete a REMOVED row's file, only through the store's safe resolution."""
        try:
            path = self.store.resolve(row.path)
        except UnsafePath as exc:
            log.error("recording %d: file not deleted, unsafe name: %s", row.id, exc)
            return
        path.unlink(missing_ok=True)


class PeriodicReconcile(PeriodicJob):
    """Every `interval_s`: a reconciliation pass with its safe repairs, Asterisk's record
    read anew each time (`witness`, None when there is none to read) against the calls up
    now (`live`, the tracker's); counts are logged."""

    name = "reconciliation"

    def __init__(
        self,
        reconciler: Reconciler,
        witness: Callable[[], Witness | None],
        live: Callable[[], Collection[str]],
        *,
        interval_s: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(interval_s)
        self.reconciler, self.witness, self.live, self.clock = reconciler, witness, live, clock
        self.last: Report | None = None

    async def run_once(self) -> None:
        witness = await asyncio.to_thread(self.witness)
        # sizes only: the checker re-verifies checksums on its own schedule
        # and only the recent rows and days: the checker re-verifies the older ones
        self.last = await self.reconciler.run(self.clock(), witness, repair=True, rehash=False,
                                              live=self.live(), recent=LEFTOVER_WINDOW)  # fmt: skip
