"""A call's recording, checked and attached to the call and to the call's order(s).

Attaching happens whichever comes first: the checker finds the finished file (`mark_attached`
attaches it to every order the call already has) or an order is saved for a call whose
recording is already checked (registration and linking a call call `attach_to_orders`). Both
lock the call's recording rows first, so whichever commits second sees the other's write,
and the order's audit trail is read before writing: each order gets one `recording_attached`
entry per recording, never two. Later checks recompute the checksum: a mismatch is ALTERED.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from crm.db.prepared import DriverConnection
from crm.domain.calls import RecordingStatus
from crm.domain.lifecycle import Actor
from crm.repo import audit
from crm.repo import recordings as repo
from crm.repo.recordings import Db, RecordingRow

log = logging.getLogger(__name__)

ATTACHED_ACTION = "recording_attached"
PROBLEMS = (RecordingStatus.MISSING, RecordingStatus.TRUNCATED)
REPAIRED = "repaired:"  # how an attached recording's problem starts when its file was repaired


@dataclass(frozen=True)
class CheckedFile:
    """What a finished recording's file holds; for a file repaired before it was checked,
    the checksum of the file as it was found and what was repaired."""

    size_bytes: int
    duration_s: float
    sha256: str
    source_sha256: str = ""  # '' : the file is the one Asterisk finished (`sha256`)
    repaired: str = ""


@dataclass(frozen=True)
class Attachment:
    """A call's recording(s) attached to one of its orders; `filled`: the recording name
    written into the order's empty `order_calls.recording` ('' if it had one)."""

    order_id: int
    linkedid: str
    filled: str


async def pending_recordings(db: Db, limit: int = 100, after_id: int = 0) -> list[RecordingRow]:
    """PENDING recordings of calls that have ended, the files to look at: a page by id after
    `after_id` (pages, so that rows that keep failing never hide the others)."""
    return await repo.pending_of_ended_calls(db, limit, after_id)


async def mark_attached(
    db: Db, recording: RecordingRow, checked: CheckedFile, actor: Actor, now: datetime
) -> list[Attachment] | None:
    """Store a PENDING recording's checked facts (its first checksum kept as the source's,
    or the checksum of the file as found before it was repaired, and what was repaired as
    its problem) and attach it to the call's orders (what was attached where). A recording
    no longer PENDING (checked meanwhile) is left as it is: None. The caller commits."""
    locked = {r.id: r for r in await repo.lock_recordings_of_call(db, recording.linkedid)}
    current = locked.get(recording.id)
    if current is None or current.status is not RecordingStatus.PENDING:
        return None
    values = {
        "status": RecordingStatus.ATTACHED, "size_bytes": checked.size_bytes,
        "duration_s": checked.duration_s, "sha256": checked.sha256,
        "source_sha256": checked.source_sha256 or checked.sha256,
        "problem": f"{REPAIRED} {checked.repaired}"[:200] if checked.repaired else "",
        "checked_at": now, "verified_at": now,
    }  # fmt: skip
    await repo.set_fields(db, recording.id, RecordingStatus.PENDING, values)
    return await attach_to_orders(db, recording.linkedid, actor, now)


async def mark_unusable(
    db: Db, recording_id: int, status: RecordingStatus, problem: str, now: datetime
) -> None:
    """A PENDING recording whose file never came (MISSING) or never finished (TRUNCATED)."""
    if status not in PROBLEMS:
        raise ValueError(f"{status} is not a problem status")
    values = {"status": status, "problem": problem[:200], "checked_at": now}
    await repo.set_fields(db, recording_id, RecordingStatus.PENDING, values)


async def attach_to_orders(
    db: Db, linkedid: str, actor: Actor, now: datetime, *, order_id: int | None = None
) -> list[Attachment]:
    """Attach the call's checked (ATTACHED) recordings to its orders (or to `order_id` only)
    that do not have them yet: `order_calls.recording` filled in if empty, one audit entry
    per order and recording (from and to the order's status: nothing else changes). Meant for
    every path that links a call to an order."""
    recordings = [
        r
        for r in await repo.lock_recordings_of_call(db, linkedid)
        if r.status is RecordingStatus.ATTACHED
    ]
    if not recordings:
        return []
    written: list[Attachment] = []
    for order in await repo.orders_of_call(db, linkedid, order_id):
        done = await repo.attached_recording_ids(db, order.order_id, ATTACHED_ACTION)
        todo = [r for r in recordings if r.id not in done]
        if not todo:
            continue
        filled = "" if order.recording else todo[0].path
        if filled:
            await repo.fill_order_call_recording(db, order.order_call_id, filled)
        driver = await DriverConnection.of(db)
        for rec in todo:
            detail = {
                "recording_id": rec.id, "linkedid": linkedid, "path": rec.path,
                "sha256": rec.sha256, "duration_s": rec.duration_s,
            }  # fmt: skip
            if rec.problem.startswith(REPAIRED):
                detail["repaired"] = rec.problem
            await audit.append(
                driver, order.order_id, actor, ATTACHED_ACTION, order.status, order.status,
                now, detail,
            )  # fmt: skip
        written.append(Attachment(order.order_id, linkedid, filled))
        log.info("recording %s attached to order id %d", todo[0].path, order.order_id)
    return written


async def due_for_verification(
    db: Db, now: datetime, every_s: float, limit: int
) -> list[RecordingRow]:
    """ATTACHED recordings not verified for `every_s` seconds, the longest unverified first."""
    return await repo.due_for_verification(db, now - timedelta(seconds=every_s), limit)


async def mark_verified(
    db: Db, recording: RecordingRow, sha256: str | None, now: datetime
) -> RecordingStatus:
    """The outcome of recomputing an ATTACHED recording's checksum: unchanged (still
    ATTACHED, verified now), another checksum (ALTERED) or no file any more (MISSING). A
    recording changed meanwhile in the database (compressed, removed) is left as it is: the
    status it has then is returned as ATTACHED's "nothing to report"."""
    values: dict[str, object] = {"verified_at": now}
    status = RecordingStatus.ATTACHED
    if sha256 is None:
        status, values["problem"] = RecordingStatus.MISSING, "file gone at re-verification"
    elif sha256 != recording.sha256:
        status = RecordingStatus.ALTERED
        values["problem"] = f"sha256 {sha256[:16]}… instead of {recording.sha256[:16]}…"
    values["status"] = status
    changed = await repo.set_fields(
        db, recording.id, RecordingStatus.ATTACHED, values,
        expect_path=recording.path, expect_sha256=recording.sha256,
    )  # fmt: skip
    return status if changed else RecordingStatus.ATTACHED


async def count_with_status(db: Db, status: RecordingStatus) -> int:
    return await repo.count_with_status(db, status)
