"""HTTP handlers for call records: the centre's view of every call, read-only.

Only the centre's roles read calls (a handling unit sees its orders, not the hotline's
traffic). Callers are masked by the orders' rule (`crm.domain.masking.caller_view`): a call
is confidential if an order of the call, or any order of its caller, asked for it.
"""

import base64
import binascii
import re
from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from crm.api.call_schemas import (
    LINKEDID_PATTERN,
    CallDetailOut,
    CallEventOut,
    CallListQuery,
    CallOrderOut,
    CallPage,
    CallRecordingOut,
    CallRecordOut,
    aware_utc,
)
from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.db.call_models import CallRecord
from crm.domain.clock import local_midnight_utc
from crm.domain.enums import CENTRE_ROLES, Role
from crm.domain.masking import caller_view
from crm.errors import InvalidInput, NotFound
from crm.repo import call_records as repo

_LINKEDID = re.compile(LINKEDID_PATTERN)


def _instant(value: date | datetime, end: bool) -> datetime:
    """A filter bound as naive UTC: a day starts at China-local midnight (`to`: the next)."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return local_midnight_utc(value + timedelta(days=1) if end else value)


def encode_cursor(record: CallRecord) -> str:
    raw = f"{record.started_at.isoformat()}|{record.linkedid}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        started, _, linkedid = base64.urlsafe_b64decode(cursor).decode().partition("|")
        at = datetime.fromisoformat(started)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        at, linkedid = None, ""
    if at is None or at.tzinfo is not None or not _LINKEDID.fullmatch(linkedid):
        raise InvalidInput("invalid_value", "cursor is not one this API gave", "cursor")
    return at, linkedid


def _filter(query: CallListQuery) -> repo.CallFilter:
    started_from = _instant(query.from_, end=False) if query.from_ is not None else None
    started_before = _instant(query.to, end=True) if query.to is not None else None
    return repo.CallFilter(
        started_from=started_from, started_before=started_before, outcome=query.outcome,
        queue=query.queue, agent=query.agent, caller_number=query.caller_number,
        disposition=query.disposition, has_order=query.has_order,
    )  # fmt: skip


def _record_out(
    record: CallRecord,
    orders: list[tuple[int, str, bool]],
    caller_confidential: bool,
    role: Role,
) -> dict[str, object]:
    confidential = caller_confidential or any(c for _i, _n, c in orders)
    view = caller_view(record.caller_name, record.caller_number, confidential, role)
    return {
        "linkedid": record.linkedid, "caller_number": view.number, "caller_name": view.name,
        "confidential": confidential, "started_at": aware_utc(record.started_at),
        "ivr_choice": record.ivr_choice, "ivr_label": record.ivr_label, "queue": record.queue,
        "queued_at": aware_utc(record.queued_at), "rang_at": aware_utc(record.rang_at),
        "answered_at": aware_utc(record.answered_at), "ended_at": aware_utc(record.ended_at),
        "wait_s": record.wait_s, "talk_s": record.talk_s,
        "agent_extension": record.agent_extension, "agent_name": record.agent_name,
        "outcome": record.outcome, "end_reason": record.end_reason,
        "emergency_line": record.emergency_line,
        "emergency_started_at": aware_utc(record.emergency_started_at),
        "survey": record.survey,
        "disposition": record.disposition,
        "disposition_note": record.disposition_note,
        "disposed_at": aware_utc(record.disposed_at),
        "orders": [CallOrderOut(id=i, number=n) for i, n, _c in orders],
    }  # fmt: skip


async def list_calls(ctx: Ctx) -> web.StreamResponse:
    query = ctx.input(CallListQuery)
    after = decode_cursor(query.cursor) if query.cursor is not None else None
    records = await repo.list_records(
        ctx.session, _filter(query), limit=query.limit + 1, offset=query.offset, after=after
    )
    page, more = records[: query.limit], len(records) > query.limit
    linkedids = [r.linkedid for r in page]
    orders = await repo.orders_of_calls(ctx.session, linkedids)
    confidential = await repo.confidential_callers(ctx.session, {r.caller_number for r in page})
    items = [
        CallRecordOut.model_validate(
            _record_out(
                r, orders.get(r.linkedid, []), r.caller_number in confidential, ctx.actor.role
            )
        )
        for r in page
    ]
    next_cursor = encode_cursor(page[-1]) if more and page else None
    return json(CallPage(items=items, limit=query.limit, offset=query.offset,
                         next_cursor=next_cursor))  # fmt: skip


async def get_call(ctx: Ctx) -> web.StreamResponse:
    linkedid = ctx.request.match_info["linkedid"]
    record = await ctx.session.get(CallRecord, linkedid)
    if record is None:
        raise NotFound("not_found", f"no call {linkedid}")
    orders = (await repo.orders_of_calls(ctx.session, [linkedid])).get(linkedid, [])
    confidential = bool(await repo.confidential_callers(ctx.session, {record.caller_number}))
    events = [
        CallEventOut(at=e.at.replace(tzinfo=UTC), kind=e.kind, agent=e.agent, detail=e.detail)
        for e in await repo.events_of(ctx.session, linkedid)
    ]
    recordings = [
        CallRecordingOut(
            id=r.id, part=r.part, kind=r.kind, status=r.status, duration_s=r.duration_s,
            sha256=r.sha256,
        )
        for r in await repo.recordings_of(ctx.session, linkedid)
    ]
    out = _record_out(record, orders, confidential, ctx.actor.role)
    return json(CallDetailOut.model_validate({**out, "events": events, "recordings": recordings}))


ENDPOINTS = (
    Endpoint("GET", "/api/calls", list_calls,
             "List call records, newest first (filters, keyset or offset paging)", CENTRE_ROLES,
             query=CallListQuery, response=CallPage),
    Endpoint("GET", f"/api/calls/{{linkedid:{LINKEDID_PATTERN}}}", get_call,
             "One call: its record, events in order, recordings and orders", CENTRE_ROLES,
             response=CallDetailOut),
)  # fmt: skip
