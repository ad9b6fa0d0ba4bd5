"""The recording checker: finished recordings checked and attached, checksums verified again,
and an alarm when the recordings' disk runs low.

Every `interval_s`, and at once when woken (`wake()`: a call has ended), it looks at the
PENDING recordings of ended calls. A finished file (its WAV header agrees with its size) is
ATTACHED with its size, duration and SHA-256 and attached to the call's orders. A file not
there or not finished yet is looked at again next round, until `grace_s` after its call
ended: MixMonitor writes the header when it closes the file, a moment after the hang-up (its
thread drains what it still holds). A file still absent that long after is MISSING, logged
as an error. One still unfinished (Asterisk died before writing the header's sizes, a full
disk cut it short) is repaired: rewritten with a header giving the whole frames of audio it
holds, the checksum of the file as found kept as `source_sha256`, what was wrong as the row's
problem, ATTACHED and attached to the orders (their audit entry says it was repaired); one
with no audio to keep (not a WAV, only a header) is TRUNCATED. A file that still changed
within `grace_s` is being written (a backlog of audio flushed under load) and is waited for.

Each round also recomputes the checksum of a few ATTACHED recordings, those verified longest
ago (after `reverify_after_s`): another checksum is ALTERED, logged as an error and counted
in the alarms. One bad row or file is logged and skipped; the loop never ends by itself.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from config.settings import Settings
from crm.db.engine import SessionFactory
from crm.domain.calls import RecordingStatus
from crm.domain.clock import utc_now
from crm.domain.lifecycle import Actor
from crm.jobs.overdue_sweep import system_actor
from crm.jobs.periodic import PeriodicJob
from crm.repo.recordings import RecordingRow
from crm.usecases import recordings as uc
from recordings.store import FileCheck, FileState, RecordingStore, Repaired, UnsafePath

log = logging.getLogger(__name__)

Step = Callable[[RecordingRow, Actor], Awaitable[None]]

SYSTEM_USER = "系统录音核验"
GRACE_S = 10.0  # after the call ended, how long a file may stay absent or unfinished
REVERIFY_AFTER_S = 86400.0  # each recording's checksum is recomputed about once a day
VERIFY_BATCH = 5  # recordings re-verified per round: a steady trickle, not a burst of I/O
PENDING_BATCH = 100


@dataclass
class CheckerStats:
    rounds: int = 0  # rounds completed
    failures: int = 0  # rounds or rows that raised
    attached: int = 0
    repaired: int = 0  # attached after their unfinished file was repaired
    missing: int = 0
    truncated: int = 0
    altered: int = 0  # ALTERED recordings in the database, as last counted
    disk_free_mb: float | None = None
    disk_low: bool = False


class RecordingChecker(PeriodicJob):
    """Checks once entered, then every `interval_s` or when woken (a call's end committed),
    until left (crm.jobs.periodic)."""

    name = "recording checks"

    def __init__(
        self,
        sessions: SessionFactory,
        store: RecordingStore,
        *,
        interval_s: float,
        min_free_mb: float,
        grace_s: float = GRACE_S,
        reverify_after_s: float = REVERIFY_AFTER_S,
    ) -> None:
        super().__init__(interval_s)
        self.sessions = sessions
        self.store = store
        self.min_free_mb = min_free_mb
        self.grace_s = grace_s
        self.reverify_after_s = reverify_after_s
        self.stats = CheckerStats()
        self.actor: Actor | None = None

    @classmethod
    def from_settings(cls, settings: Settings, sessions: SessionFactory) -> RecordingChecker:
        return cls(
            sessions, RecordingStore(settings.recordings_dir),
            interval_s=settings.recordings.check_interval_s,
            min_free_mb=settings.recordings.min_free_mb,
        )  # fmt: skip

    def alarms(self) -> dict[str, str]:
        """What operators must see on /health (no personal data)."""
        found: dict[str, str] = {}
        if self.stats.disk_low:
            free = self.stats.disk_free_mb
            found["recordings_disk_low"] = (
                "recordings directory unusable" if free is None
                else f"{free:.1f} MB free for recordings, below the {self.min_free_mb:.0f} MB set"
            )  # fmt: skip
        if self.stats.altered:
            found["recordings_altered"] = f"{self.stats.altered} recording(s) altered on disk"
        return found

    async def start(self) -> None:
        self.actor = await system_actor(self.sessions, SYSTEM_USER)

    async def run_once(self) -> None:
        assert self.actor is not None, "entered: start() found the system user"
        try:
            await self.check_once(self.actor)
        except Exception:
            self.stats.failures += 1
            raise

    async def check_once(self, actor: Actor) -> None:
        """One round: the disk, the pending recordings, a few re-verifications."""
        await self._check_disk()
        after_id = 0
        while True:  # every page: rows that keep failing never hide newer ones
            async with self.sessions() as session:
                page = await uc.pending_recordings(session, PENDING_BATCH, after_id)
            for row in page:
                await self._guarded(self._check_pending, row, actor)
            if len(page) < PENDING_BATCH:
                break
            after_id = page[-1].id
        async with self.sessions() as session:
            due = await uc.due_for_verification(
                session, utc_now(), self.reverify_after_s, VERIFY_BATCH
            )
        for row in due:
            await self._guarded(self._verify, row, actor)
        async with self.sessions() as session:
            self.stats.altered = await uc.count_with_status(session, RecordingStatus.ALTERED)
        self.stats.rounds += 1

    async def _guarded(self, step: Step, row: RecordingRow, actor: Actor) -> None:
        try:
            await step(row, actor)
        except Exception:
            self.stats.failures += 1
            log.exception("recording %d (%s): check failed; tried again later", row.id, row.path)

    async def _check_pending(self, row: RecordingRow, actor: Actor) -> None:
        now = utc_now()
        try:
            found = await self.store.check(row.path)
        except UnsafePath as exc:
            await self._problem(row, RecordingStatus.MISSING, f"unsafe name: {exc}", now)
            return
        if found.state is FileState.FINISHED:
            await self._attach(row, found, actor, now)
            return
        if not self._past_grace(row.ended_at, now) or found.idle_s < self.grace_s:
            return  # MixMonitor may still be closing it (or still writing): next round
        if found.state is FileState.ABSENT:
            await self._problem(row, RecordingStatus.MISSING, found.problem, now)
            return
        problem = found.problem
        try:
            fixed = await self.store.repair(row.path)
        except OSError as exc:  # the original is as it was; reconciliation lists it
            fixed, problem = None, f"{problem}; not repaired: {exc.strerror or exc}"
        if fixed is not None and fixed.check.state is FileState.FINISHED:
            await self._attach(row, fixed.check, actor, now, fixed)
        else:
            await self._problem(row, RecordingStatus.TRUNCATED, problem, now)

    async def _attach(self, row: RecordingRow, found: FileCheck, actor: Actor, now: datetime,
                      fixed: Repaired | None = None) -> None:  # fmt: skip
        duration_s = found.duration_s or 0.0
        checked = uc.CheckedFile(
            found.size_bytes, duration_s, found.sha256,
            fixed.source_sha256 if fixed else "", fixed.problem if fixed else "",
        )  # fmt: skip
        async with self.sessions() as session, session.begin():
            attached = await uc.mark_attached(session, row, checked, actor, now)
        if attached is None:
            return  # checked meanwhile (another checker process)
        self.stats.attached += 1
        if fixed is not None:
            self.stats.repaired += 1
            log.warning("recording %d (%s) repaired: %s", row.id, row.path, fixed.problem)
        log.info(
            "recording %s attached: %d bytes, %.1f s, to %d order(s)",
            row.path, found.size_bytes, duration_s, len(attached),
        )  # fmt: skip

    def _past_grace(self, ended_at: datetime | None, now: datetime) -> bool:
        return ended_at is not None and (now - ended_at).total_seconds() >= self.grace_s

    async def _problem(
        self, row: RecordingRow, status: RecordingStatus, problem: str, now: datetime
    ) -> None:
        async with self.sessions() as session, session.begin():
            await uc.mark_unusable(session, row.id, status, problem, now)
        if status is RecordingStatus.MISSING:
            self.stats.missing += 1
        else:
            self.stats.truncated += 1
        log.error("recording %d (%s) is %s: %s", row.id, row.path, status.value, problem)

    async def _verify(self, row: RecordingRow, _actor: Actor) -> None:
        sha256 = await self.store.sha256(row.path)
        async with self.sessions() as session, session.begin():
            status = await uc.mark_verified(session, row, sha256, utc_now())
        if status is not RecordingStatus.ATTACHED:
            log.error("recording %d (%s) is %s at re-verification", row.id, row.path, status)

    async def _check_disk(self) -> None:
        """The disk alarm: raised (an error logged once) while free space is below the
        minimum or the directory cannot be looked at, cleared when space returns. Calls go on
        meanwhile: Asterisk answers them even when MixMonitor cannot write."""
        reason = ""
        try:
            free: float | None = await self.store.free_mb()
        except OSError as exc:
            free, reason = None, f" ({self.store.root}: {exc.strerror})"
        low = free is None or free < self.min_free_mb
        self.stats.disk_free_mb = free
        if low and not self.stats.disk_low:
            self.stats.disk_low = True
            log.error("recordings disk low: %s%s", self.alarms()["recordings_disk_low"], reason)
        elif self.stats.disk_low and not low:
            self.stats.disk_low = False
            log.info("recordings disk has room again: %.0f MB free", free)
