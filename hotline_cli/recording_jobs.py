"""The recordings' background jobs as one part of the backend: compression (if
`recordings.compress`), retention and the periodic reconciliation with its repairs.

It lives in the wiring root because the reconciliation reads Asterisk's own record, whose
files the telephony layout names, while `recordings/` may not import telephony.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta

from config.settings import Settings
from crm.db.engine import SessionFactory
from recordings.reconcile import Reconciler, Witness, load_witness
from recordings.upkeep_jobs import Compressor, PeriodicReconcile, Retention
from telephony.asterisk_config import layout_for
from telephony.dialplan import CARRIER_ENDPOINT, TECH

RETENTION_INTERVAL_S = 3600.0
# Calls that ended less than this ago are left alone by reconciliation: still in wrap-up,
# their file and record still being finished.
GRACE_S = 300.0


# The periodic pass reads the newest part of Asterisk's files only (days of calls).
WITNESS_TAIL_BYTES = 64 << 20


def witness_of(settings: Settings, max_bytes: int | None = None) -> Witness:
    """Asterisk's record of the calls (CDR CSV and queue_log in its log directory)."""
    layout = layout_for(settings)
    return load_witness(layout.cdr_csv, layout.queue_log, f"{TECH}/{CARRIER_ENDPOINT}-",
                        max_bytes)  # fmt: skip


def grace(settings: Settings, grace_s: float = GRACE_S) -> timedelta:
    return timedelta(seconds=max(grace_s, settings.gateway.max_wrapup_s + 60))


@dataclass
class RecordingUpkeep:
    compressor: Compressor | None
    retention: Retention | None
    reconcile: PeriodicReconcile

    @property
    def failures(self) -> int:
        jobs = (self.compressor, self.retention, self.reconcile)
        return sum(job.failures for job in jobs if job is not None)


@asynccontextmanager
async def recording_upkeep(
    settings: Settings, sessions: SessionFactory, live: Callable[[], Collection[str]]
) -> AsyncIterator[RecordingUpkeep]:
    """`live`: the Linkedids of the calls up now (the tracker's)."""
    r, root = settings.recordings, settings.recordings_dir
    async with AsyncExitStack() as stack:
        compressor = retention = None
        if r.enabled and r.compress:
            poll_s = min(60.0, max(r.check_interval_s, r.compress_after_s / 2))
            compressor = await stack.enter_async_context(Compressor(
                sessions, root, quality=r.compress_quality, after_s=r.compress_after_s,
                interval_s=poll_s,
            ))  # fmt: skip
        if r.enabled:
            retention = await stack.enter_async_context(Retention(
                sessions, root, retention_days=r.retention_days, interval_s=RETENTION_INTERVAL_S,
            ))  # fmt: skip
        reconciler = Reconciler(sessions, root, grace(settings))
        reconcile = await stack.enter_async_context(PeriodicReconcile(
            reconciler, lambda: witness_of(settings, WITNESS_TAIL_BYTES), live,
            interval_s=r.reconcile_interval_s,
        ))  # fmt: skip
        yield RecordingUpkeep(compressor, retention, reconcile)
