"""Reconciliation: what our call records, the recordings' rows, the files on disk and
Asterisk's own record (CDR, queue_log) disagree on, and the repairs that are safe.

Listed (see `Kind`): answered calls without an order or a disposition; answered calls without
a recording (a file found for one gets a PENDING row on repair, for the checker); files on disk
no row knows (a header-only file of an unanswered call excepted); recordings missing or
altered (re-hashed; marked on repair, by a guarded write, so that a row the compressor moved
on meanwhile is left alone; a WAV that came back intact is re-queued for its check, an Ogg
copy attached again on its checksum); calls in Asterisk's record missing from ours,
answered/unanswered disagreements (a call Asterisk saw answered while the backend was down
gets its answer time and a PENDING row for its file on repair), and calls we left open, or
ended at a re-sync with a guessed end, that Asterisk saw end (its end taken on repair).
Nothing here deletes a file, and nothing printed carries a caller number: calls are named by
Linkedid, orders by number.

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
from recordings.compress import PART_SUFFIX
from recordings.store import RecordingStore, UnsafePath
from recordings.wav import HEAD_BYTES, WavError, parse_header

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".ogg")
ENDED_BY_WITNESS = "ended while the backend was down (Asterisk's record)"
NOT_FOUND = "file not found"
SETTLED = timedelta(hours=4)  # no hotline call lasts this long
BATCH = 500  # recording rows read at a time
WAV_HEADER = 44  # Asterisk's: a file no longer than this holds no audio


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


def audio_files(root: Path, older_than: float, from_day: str = "") -> Iterator[tuple[str, float]]:
    """(relative path, mtime) of the recordings on disk (`YYYYMMDD/<name>.wav|.ogg`), last
    modified before the epoch time `older_than`, in day directories from `from_day` on;
    partial copies are no recordings."""
    if not root.is_dir():
        return
    for day in sorted(os.scandir(root), key=lambda e: e.name):
        if not day.is_dir(follow_symlinks=False) or day.name < from_day:
            continue
        for entry in sorted(os.scandir(day.path), key=lambda e: e.name):
            name = entry.name
            if name.endswith(PART_SUFFIX) or not name.endswith(AUDIO_SUFFIXES):
                continue
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < older_than:
                yield f"{day.name}/{name}", entry.stat().st_mtime


def holds_audio(path: Path) -> bool:
    """Whether the file has audio after its header (MixMonitor leaves a header-only file for a
    caller no agent answered); an unreadable header counts as audio, to be looked at."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            head = f.read(HEAD_BYTES)
    except OSError:
        return False
    if path.suffix != ".wav":
        return size > 0
    try:
        return size > parse_header(head, size).data_offset
    except WavError:
        return size > WAV_HEADER


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
        self.store = RecordingStore(root)

    async def run(
        self,
        now: datetime,
        witness: Witness | None,
        repair: bool,
        *,
        rehash: bool = True,
        live: Collection[str] | None = None,
        recent: timedelta | None = None,
    ) -> Report:
        """`rehash`: compare each recording's SHA-256 (else its size only, a cheaper pass);
        `live`: the Linkedids Asterisk has up now, if known (a call's CDR is written in
        parts, at each change of its other party, so "ended" in it is final only once the
        call is no longer up, or after `SETTLED` when that is not known); `recent`: look only
        at recording rows and day directories that young (the periodic pass; the checker
        re-verifies older ones), else at all."""
        report = Report()
        cutoff = now - self.grace
        since = None if recent is None else now - recent
        async with self.sessions() as session:
            no_outcome = await q.answered_without_outcome(session, cutoff)
            no_recording = await q.answered_without_recording(session, cutoff)
        for call in no_outcome:
            agent = call.agent_extension or "?"
            report.findings.append(Finding(Kind.NO_OUTCOME, call.linkedid,
                                           detail=f"answered by {agent}"))  # fmt: skip
        from_day = "" if since is None else f"{since:%Y%m%d}"
        unknown = await self._files(report, no_recording, cutoff, now, repair, from_day)
        await self._rows(report, since, now, repair, rehash)
        if witness is not None:
            await self._witness(report, witness, cutoff, now, repair, live, unknown)
        for kind, count in report.counts().items():
            if count:
                log.warning("reconcile: %d %s", count, kind)
        return report

    async def _files(self, report: Report, no_recording: list[CallRecord], cutoff: datetime,
                     now: datetime, repair: bool, from_day: str) -> dict[str, str]:  # fmt: skip
        """Files no row knows, and answered calls without a recording (with its file?); the
        files no row knows, by call."""
        epoch = (cutoff - datetime(1970, 1, 1)).total_seconds()
        files = await asyncio.to_thread(lambda: list(audio_files(self.root, epoch, from_day)))
        report.files_seen = len(files)
        async with self.sessions() as session:
            known = await q.known_paths(session, (path for path, _ in files))
        unknown = {path: Path(path).stem for path, _ in files if path not in known}
        by_call = {stem: path for path, stem in unknown.items()}
        wanting = {c.linkedid for c in no_recording}
        async with self.sessions() as session:
            calls = await q.calls_by_linkedid(session, unknown.values())
        for path, stem in sorted(unknown.items()):
            if stem in wanting and by_call[stem] == path:
                continue  # reported below, as the call's
            call = calls.get(stem)
            audible = True
            if call is not None and call.answered_at is None:
                # MixMonitor starts before the queue: a caller who never reached an agent
                # leaves a header-only file, which needs no row
                audible = await asyncio.to_thread(holds_audio, self.root / path)
                if not audible:
                    report.unanswered_call_files += 1
                    continue
            detail = "no call on record" if call is None else "the call has other recordings"
            if call is not None and call.answered_at is None:
                detail = "the call is on record as unanswered, yet its file holds audio"
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
        return by_call

    async def _rows(self, report: Report, since: datetime | None, now: datetime,
                    repair: bool, rehash: bool) -> None:  # fmt: skip
        """Checked recordings re-hashed, a page at a time: missing or altered (and back)."""
        after_id = 0
        while True:
            async with self.sessions() as session:
                page = await q.kept_recordings(session, after_id, BATCH, since)
            await self._page(report, page, now, repair, rehash)
            if len(page) < BATCH:
                return
            after_id = page[-1].id

    async def _page(self, report: Report, rows: list[Recording], now: datetime,
                    repair: bool, rehash: bool) -> None:  # fmt: skip
        looked_at = [r for r in rows if r.status in {RecordingStatus.ATTACHED,
                     RecordingStatus.MISSING, RecordingStatus.ALTERED}]  # fmt: skip
        report.recordings_checked += len(looked_at)
        async with self.sessions() as session:
            orders = await q.order_numbers(session, {r.linkedid for r in looked_at})
        for row in looked_at:
            # a row once marked is only put back on its checksum, whatever the pass
            problem = await self._problem(row, rehash or row.status is not RecordingStatus.ATTACHED)
            if not problem and row.status is RecordingStatus.ATTACHED:
                continue
            kind = Kind.MISSING if row.status is RecordingStatus.MISSING else Kind.ALTERED
            if not problem and row.format == "wav":  # the stored WAV is back: check it anew
                status, detail, done = (RecordingStatus.PENDING,
                                        "the file is back with its checksum",
                                        "re-queued for its check")  # fmt: skip
            elif not problem:  # a compressed copy has no header to check: its checksum is all
                status, detail, done = (RecordingStatus.ATTACHED,
                                        "the file is back with its checksum",
                                        "attached again")  # fmt: skip
            elif problem == NOT_FOUND:
                kind, status, detail, done = (Kind.MISSING, RecordingStatus.MISSING,
                                              "no file on disk", "marked missing")  # fmt: skip
            else:
                kind, status, detail, done = (Kind.ALTERED, RecordingStatus.ALTERED, problem,
                                              "marked altered")  # fmt: skip
            repaired = ""
            if repair and status is not row.status:
                async with self.sessions() as session, session.begin():
                    written = await q.set_recording_status(session, row.id, row.path, row.status,
                                                           status, problem, now)  # fmt: skip
                if not written:
                    continue  # it moved on since read (compressed, removed): next pass looks
                repaired = done
            report.findings.append(Finding(kind, row.linkedid, row.path, row.id,
                                           tuple(orders.get(row.linkedid, ())), detail,
                                           repaired))  # fmt: skip

    async def _problem(self, row: Recording, rehash: bool) -> str:
        """"" if the row's file is the one checked, else what is wrong with it."""
        try:
            path = self.store.resolve(row.path)
        except UnsafePath as exc:
            return str(exc)
        if not path.is_file():
            return NOT_FOUND
        if not rehash:
            size = path.stat().st_size
            ok = row.size_bytes in (None, size)
            return "" if ok else f"{size} bytes instead of {row.size_bytes}"
        digest = await self.store.sha256(row.path)
        if digest is None:
            return NOT_FOUND
        if digest == row.sha256:
            return ""
        return f"sha256 {digest[:12]}… instead of {row.sha256[:12]}…"

    async def _witness(self, report: Report, witness: Witness, cutoff: datetime,
                       now: datetime, repair: bool, live: Collection[str] | None,
                       files: dict[str, str]) -> None:  # fmt: skip
        """Our records against Asterisk's, for the calls Asterisk saw end before `cutoff`;
        `files`: the files no row knows, by call."""
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
            answered = await self._answered(report, call, theirs, now, repair, files)
            if q.ends_unseen(call):
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
                ours_end = "none" if call.ended_at is None else "guessed at a re-sync"
                report.findings.append(Finding(Kind.END_MISSING, linkedid,
                    detail=f"Asterisk: ended {theirs.ended_at:%Y-%m-%d %H:%M:%S}; "
                           f"ours: {ours_end}", repaired=repaired))  # fmt: skip
            if answered is not None:
                report.findings.append(answered)

    async def _answered(self, report: Report, call: CallRecord, theirs: WitnessCall,
                        now: datetime, repair: bool,
                        files: dict[str, str]) -> Finding | None:  # fmt: skip
        """The answered/unanswered disagreement, if any; on repair, a call Asterisk saw
        answered (while the backend was down) becomes answered, with a PENDING row for its
        file."""
        if (call.answered_at is not None) == theirs.answered:
            return None
        ours_says = "answered" if call.answered_at is not None else "not answered"
        theirs_says = "answered" if theirs.answered else "not answered"
        repaired = ""
        if repair and theirs.answered and theirs.answered_at is not None:
            path = files.get(call.linkedid, "")
            async with self.sessions() as session, session.begin():
                if await q.answered_from_witness(session, call.linkedid, theirs.answered_at, now):
                    repaired = "answered, from Asterisk's record"
                    if path:
                        row = await q.add_pending_recording(session, call.linkedid, path, now)
                        repaired += f"; pending row {row.id} added for its file"
            if repaired:
                call.answered_at = theirs.answered_at  # what the end's repair goes by
        return Finding(Kind.ANSWERED_DISAGREES, call.linkedid,
                       detail=f"ours: {ours_says}; Asterisk: {theirs_says}",
                       repaired=repaired)  # fmt: skip
