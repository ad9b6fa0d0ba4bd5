"""Reconciliation: what our call records, the recordings' rows, the files on disk and
Asterisk's own record (CDR, queue_log) disagree on, and the repairs that are safe.

Listed (see `Kind`): answered calls without an order or a disposition; answered calls without
a recording (a file found for one gets a PENDING row on repair, for the checker); files on disk
no row knows; recordings missing or altered (re-hashed; marked on repair; a file that came
back intact is re-queued for its check); calls in Asterisk's record missing from ours,
answered/unanswered disagreements, and calls we left open that Asterisk saw end (their end
filled in on repair). Nothing here deletes a file, and nothing printed carries a caller number:
calls are named by Linkedid, orders by number.

Everything younger than `grace` is left alone: a call just ended is still in wrap-up, its
file still being finished, its record still being written.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Collection, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from crm.db.call_models import CallRecord, Recording
from crm.db.engine import SessionFactory
from crm.domain.calls import CallOutcome, RecordingStatus
from crm.usecases import reconcile as q
from recordings.asterisk_witness import (
    WitnessCall,
    parse_cdr_csv,
    parse_queue_log,
    witness_calls,
)
from recordings.compress import PART_SUFFIX, sha256_of

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".ogg")
ENDED_BY_WITNESS = "ended while the backend was down (Asterisk's record)"
NOT_FOUND = "file not found"
SETTLED = timedelta(hours=4)  # no hotline call lasts this long


class Kind(StrEnum):
    NO_OUTCOME = "answered_without_outcome"
    NO_RECORDING = "answered_without_recording"
    ORPHAN_FILE = "file_without_call"
    MISSING = "recording_missing"
    ALTERED = "recording_altered"
    NOT_IN_OURS = "asterisk_call_not_in_our_records"
    ANSWERED_DISAGREES = "answered_disagrees_with_asterisk"
    END_MISSING = "end_missing_asterisk_has_it"


@dataclass(frozen=True)
class Finding:
    kind: Kind
    linkedid: str = ""
    path: str = ""
    recording_id: int | None = None
    orders: tuple[str, ...] = ()
    detail: str = ""
    repaired: str = ""  # what --repair did, "" if nothing


@dataclass(frozen=True)
class Witness:
    calls: dict[str, WitnessCall]
    bad_lines: int
    sources: tuple[str, ...]  # the files read


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    witness_calls: int = 0
    witness_bad_lines: int = 0
    files_seen: int = 0
    unanswered_call_files: int = 0  # files of calls no agent answered: no row, no finding
    recordings_checked: int = 0

    def counts(self) -> dict[str, int]:
        return {k.value: sum(f.kind is k for f in self.findings) for k in Kind}

    def to_json(self) -> str:
        return json.dumps({
            "counts": self.counts(),
            "findings": [asdict(f) for f in self.findings],
            "witness_calls": self.witness_calls, "witness_bad_lines": self.witness_bad_lines,
            "files_seen": self.files_seen, "unanswered_call_files": self.unanswered_call_files,
            "recordings_checked": self.recordings_checked,
        }, ensure_ascii=False, indent=2)  # fmt: skip


def _tail(path: Path, max_bytes: int | None) -> str:
    """The file's text, or its last `max_bytes` from the first whole line on."""
    if not path.is_file():
        return ""
    with path.open("rb") as f:
        size = f.seek(0, os.SEEK_END)
        start = 0 if max_bytes is None else max(0, size - max_bytes)
        f.seek(start)
        data = f.read()
    if start:
        data = data[data.find(b"\n") + 1 :] if b"\n" in data else b""
    return data.decode("utf-8", errors="replace")


def load_witness(cdr_csv: Path, queue_log: Path, caller_channel_prefix: str,
                 max_bytes: int | None = None) -> Witness:  # fmt: skip
    """Read Asterisk's record (either file may be absent; with `max_bytes`, the newest part
    of each file only, the periodic job's way); bad lines are counted."""

    def text(path: Path) -> str:
        return _tail(path, max_bytes)

    cdr, queue = parse_cdr_csv(text(cdr_csv)), parse_queue_log(text(queue_log))
    sources = tuple(str(p) for p in (cdr_csv, queue_log) if p.is_file())
    return Witness(witness_calls(cdr.items, queue.items, caller_channel_prefix),
                   cdr.bad_lines + queue.bad_lines, sources)  # fmt: skip


def audio_files(root: Path, older_than: float) -> Iterator[tuple[str, float]]:
    """(relative path, mtime) of the recordings on disk (`YYYYMMDD/<name>.wav|.ogg`), last
    modified before the epoch time `older_than`; partial copies are no recordings."""
    if not root.is_dir():
        return
    for day in sorted(os.scandir(root), key=lambda e: e.name):
        if not day.is_dir(follow_symlinks=False):
            continue
        for entry in sorted(os.scandir(day.path), key=lambda e: e.name):
            name = entry.name
            if name.endswith(PART_SUFFIX) or not name.endswith(AUDIO_SUFFIXES):
                continue
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < older_than:
                yield f"{day.name}/{name}", entry.stat().st_mtime


def _outcome_for(call: CallRecord, seen: WitnessCall) -> CallOutcome:
    if call.answered_at is not None or seen.answered:
        return CallOutcome.ANSWERED
    if seen.abandoned:
        return CallOutcome.ABANDONED
    return CallOutcome.FAILED if seen.queued else CallOutcome.IVR_HANGUP


class Reconciler:
    """One reconciliation pass (`run`): the findings, and with `repair` the safe repairs."""

    def __init__(self, sessions: SessionFactory, root: Path, grace: timedelta) -> None:
        self.sessions, self.root, self.grace = sessions, root, grace

    async def run(
        self,
        now: datetime,
        witness: Witness | None,
        repair: bool,
        *,
        rehash: bool = True,
        live: Collection[str] | None = None,
    ) -> Report:
        """`rehash`: compare each recording's SHA-256 (else its size only, a cheaper pass);
        `live`: the Linkedids Asterisk has up now, if known (a call's CDR is written in
        parts, at each change of its other party, so "ended" in it is final only once the
        call is no longer up, or after `SETTLED` when that is not known)."""
        report = Report()
        cutoff = now - self.grace
        async with self.sessions() as session:
            no_outcome = await q.answered_without_outcome(session, cutoff)
            no_recording = await q.answered_without_recording(session, cutoff)
            rows = await q.kept_recordings(session)
            known_paths = await q.all_recording_paths(session)
        for call in no_outcome:
            agent = call.agent_extension or "?"
            report.findings.append(Finding(Kind.NO_OUTCOME, call.linkedid,
                                           detail=f"answered by {agent}"))  # fmt: skip
        await self._files(report, no_recording, known_paths, cutoff, now, repair)
        await self._rows(report, rows, now, repair, rehash)
        if witness is not None:
            await self._witness(report, witness, cutoff, now, repair, live)
        for kind, count in report.counts().items():
            if count:
                log.warning("reconcile: %d %s", count, kind)
        return report

    async def _files(self, report: Report, no_recording: list[CallRecord], known: set[str],
                     cutoff: datetime, now: datetime, repair: bool) -> None:  # fmt: skip
        """Files no row knows, and answered calls without a recording (with its file?)."""
        epoch = (cutoff - datetime(1970, 1, 1)).total_seconds()
        files = await asyncio.to_thread(lambda: list(audio_files(self.root, epoch)))
        report.files_seen = len(files)
        unknown = {path: Path(path).stem for path, _ in files if path not in known}
        by_call = {stem: path for path, stem in unknown.items()}
        wanting = {c.linkedid for c in no_recording}
        async with self.sessions() as session:
            calls = await q.calls_by_linkedid(session, unknown.values())
        for path, stem in sorted(unknown.items()):
            if stem in wanting and by_call[stem] == path:
                continue  # reported below, as the call's
            call = calls.get(stem)
            if call is not None and call.answered_at is None:
                # MixMonitor starts before the queue: a caller who never reached an agent
                # leaves a header-only file, which needs no row
                report.unanswered_call_files += 1
                continue
            detail = "no call on record" if call is None else "the call has other recordings"
            if str(Path(path).with_suffix(".ogg")) in known and path.endswith(".wav"):
                detail = "the original of a compressed recording (the compression job removes it)"
            report.findings.append(Finding(Kind.ORPHAN_FILE, stem if call else "", path,
                                           detail=detail))  # fmt: skip
        for call in no_recording:
            path = by_call.get(call.linkedid, "")
            repaired = ""
            if path and repair:
                async with self.sessions() as session, session.begin():
                    row = await q.add_pending_recording(session, call.linkedid, path, now)
                repaired = f"pending row {row.id} added for its check"
            report.findings.append(Finding(
                Kind.NO_RECORDING, call.linkedid, path,
                detail="its file is on disk without a row" if path else "no file found",
                repaired=repaired))  # fmt: skip

    async def _rows(self, report: Report, rows: list[Recording], now: datetime,
                    repair: bool, rehash: bool) -> None:  # fmt: skip
        """Checked recordings re-hashed: missing or altered (and back again)."""
        looked_at = [r for r in rows if r.status in {RecordingStatus.ATTACHED,
                     RecordingStatus.MISSING, RecordingStatus.ALTERED}]  # fmt: skip
        report.recordings_checked = len(looked_at)
        async with self.sessions() as session:
            orders = await q.order_numbers(session, {r.linkedid for r in looked_at})
        for row in looked_at:
            problem = await self._problem(row, rehash)
            if not problem and row.status is RecordingStatus.ATTACHED:
                continue
            if not problem:  # marked missing or altered once, the stored file is back
                kind = Kind.MISSING if row.status is RecordingStatus.MISSING else Kind.ALTERED
                status, detail, done = (RecordingStatus.PENDING,
                                        "the file is back with its checksum",
                                        "re-queued for its check")  # fmt: skip
            elif problem == NOT_FOUND:
                kind, status, detail, done = (Kind.MISSING, RecordingStatus.MISSING,
                                              "no file on disk", "marked missing")  # fmt: skip
            else:
                kind, status, detail, done = (Kind.ALTERED, RecordingStatus.ALTERED, problem,
                                              "marked altered")  # fmt: skip
            repaired = ""
            if repair and status is not row.status:
                async with self.sessions() as session, session.begin():
                    await q.set_recording_status(session, row.id, status, problem, now)
                repaired = done
            report.findings.append(Finding(kind, row.linkedid, row.path, row.id,
                                           tuple(orders.get(row.linkedid, ())), detail,
                                           repaired))  # fmt: skip

    async def _problem(self, row: Recording, rehash: bool) -> str:
        """"" if the row's file is the one checked, else what is wrong with it."""
        path = self.root / row.path
        if not path.is_file():
            return NOT_FOUND
        if not rehash:
            size = path.stat().st_size
            ok = row.size_bytes in (None, size)
            return "" if ok else f"{size} bytes instead of {row.size_bytes}"
        digest = await asyncio.to_thread(sha256_of, path)
        if digest == row.sha256:
            return ""
        return f"sha256 {digest[:12]}… instead of {row.sha256[:12]}…"

    async def _witness(self, report: Report, witness: Witness, cutoff: datetime,
                       now: datetime, repair: bool,
                       live: Collection[str] | None) -> None:  # fmt: skip
        """Our records against Asterisk's, for the calls Asterisk saw end before `cutoff`."""
        report.witness_bad_lines = witness.bad_lines
        seen = {k: c for k, c in witness.calls.items() if c.ended_at <= cutoff}
        report.witness_calls = len(seen)
        async with self.sessions() as session:
            ours = await q.calls_by_linkedid(session, seen)
        for linkedid, theirs in sorted(seen.items()):
            call = ours.get(linkedid)
            if call is None:
                report.findings.append(Finding(Kind.NOT_IN_OURS, linkedid,
                    detail=f"Asterisk: {'answered' if theirs.answered else 'not answered'}, "
                           f"ended {theirs.ended_at:%Y-%m-%d %H:%M:%S}"))  # fmt: skip
                continue
            if call.ended_at is None:
                if live is not None and linkedid in live:
                    continue  # still up: what Asterisk wrote was a part of the call
                settled = live is not None or theirs.ended_at <= now - SETTLED
                repaired = "" if settled else "none: it may still be up (no live view)"
                if repair and settled:
                    async with self.sessions() as session, session.begin():
                        if await q.end_from_witness(session, linkedid, theirs.ended_at,
                                                    _outcome_for(call, theirs),
                                                    ENDED_BY_WITNESS, now):  # fmt: skip
                            repaired = "end filled in from Asterisk's record"
                report.findings.append(Finding(Kind.END_MISSING, linkedid,
                    detail=f"Asterisk: ended {theirs.ended_at:%Y-%m-%d %H:%M:%S}",
                    repaired=repaired))  # fmt: skip
            if (call.answered_at is not None) != theirs.answered:
                ours_says = "answered" if call.answered_at is not None else "not answered"
                theirs_says = "answered" if theirs.answered else "not answered"
                report.findings.append(Finding(Kind.ANSWERED_DISAGREES, linkedid,
                    detail=f"ours: {ours_says}; Asterisk: {theirs_says}"))  # fmt: skip
