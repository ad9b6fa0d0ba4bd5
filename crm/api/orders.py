"""HTTP handlers for work orders: thin adapters from JSON to the use cases and back."""

import asyncio
from datetime import timedelta
from typing import Any

from aiohttp import web

from crm.api.context import SEGMENTER, Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.schemas import (
    AuditList,
    AuditOut,
    HistoryOut,
    HistoryQuery,
    ListQuery,
    OrderOut,
    OrderPage,
    OrderPatch,
    SuggestionOut,
    SweepOut,
    TransitionIn,
)
from crm.api.spreadsheet import BOM, csv_rows
from crm.api.views import aware, history_out, order_out
from crm.db.models import WorkOrder
from crm.db.prepared import DriverConnection
from crm.domain.clock import local_midnight_utc
from crm.domain.enums import CALL_TAKER_ROLES, CENTRE_ROLES, Role
from crm.domain.lifecycle import Actor
from crm.domain.masking import caller_view, mask_audit_detail, sees_confidential
from crm.domain.routing import suggest
from crm.errors import Denied, NotFound
from crm.intake import CallIn, OrderIn, new_order
from crm.repo import audit, directory, orders, rules
from crm.usecases.amend import amend_order
from crm.usecases.overdue_notices import issue_overdue_notices
from crm.usecases.recordings import attach_to_orders
from crm.usecases.register import register_order
from crm.usecases.transition import apply_command, load_visible, visibility_unit

EXPORT_PAGE = 500


async def create_order(ctx: Ctx) -> web.StreamResponse:
    order = await register_order(
        ctx.tx,
        new_order(ctx.input(OrderIn)),
        ctx.actor,
        centre_code=ctx.settings.centre_code,
        now=ctx.now,
        calendar=await ctx.calendar(),
    )
    return json(order_out(order, ctx.actor, ctx.today, ctx.now), status=201)


def _filter(query: ListQuery, actor: Actor) -> orders.OrderFilter:
    """The repository's filter; searching by caller number is for those who see numbers.

    Anyone else sees confidential callers' numbers masked, and matching a guessed number
    against them would unmask it (10,000 guesses cover four hidden digits), so they are
    refused outright rather than given a filtered answer that still says "no match".
    """
    if query.caller_number is not None and not sees_confidential(actor.role):
        raise Denied(
            "caller_number_filter_forbidden",
            f"role {actor.role.value} may not search orders by caller number",
            "caller_number",
        )
    before = query.date_to + timedelta(days=1) if query.date_to else None
    return orders.OrderFilter(
        status=query.status,
        unit_id=query.unit_id,
        order_type=query.order_type,
        overdue=query.overdue,
        registered_from=local_midnight_utc(query.date_from) if query.date_from else None,
        registered_before=local_midnight_utc(before) if before else None,
        caller_number=query.caller_number,
    )


async def list_orders(ctx: Ctx) -> web.StreamResponse:
    query = ctx.input(ListQuery)
    total, items = await orders.list_orders(
        ctx.session,
        _filter(query, ctx.actor),
        visible_to_unit=visibility_unit(ctx.actor),
        today=ctx.today,
        now=ctx.now,
        offset=(query.page - 1) * query.page_size,
        limit=query.page_size,
    )
    page = OrderPage(
        total=total,
        page=query.page,
        page_size=query.page_size,
        items=[order_out(o, ctx.actor, ctx.today, ctx.now) for o in items],
    )
    return json(page)


_EXPORT_COLUMNS = (
    "number", "registered_at", "channel", "order_type", "urgency", "severity", "status",
    "caller_name", "caller_number", "location", "lead_unit_id", "due_date", "text",
)  # fmt: skip


async def export_orders(ctx: Ctx) -> web.StreamResponse:
    """CSV of every filtered order, masked for the reader like API answers.

    Streamed in keyset pages of EXPORT_PAGE rows, each read in a short session of its own and
    written (the client's reading awaited) before the next is fetched, with a turn of the event
    loop between pages: a large export neither sits whole in memory nor holds the loop or a
    database connection (SQLite's one) between pages. The keyset, (registered_at, id), never
    changes, so every order matching the filter throughout is exported once. The order list's `page`
    and `page_size` do not apply.
    """
    flt = _filter(ctx.input(ListQuery), ctx.actor)
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="orders.csv"',
        }
    )
    await response.prepare(ctx.request)
    await response.write((BOM + csv_rows([_EXPORT_COLUMNS])).encode())
    after = None
    while True:
        async with ctx.short_session() as session:
            page = await orders.export_page(
                session, flt, visible_to_unit=visibility_unit(ctx.actor), today=ctx.today,
                now=ctx.now, after=after, limit=EXPORT_PAGE,
            )  # fmt: skip
        if not page:
            break
        await response.write(csv_rows(_export_row(o, ctx.actor) for o in page).encode())
        after = (page[-1].registered_at, page[-1].id)
        await asyncio.sleep(0)  # SQLite runs inline and a local client never pauses the
        # writes: without this turn, an export would hold its loop from first page to last
    await response.write_eof()
    return response


def _export_row(o: WorkOrder, actor: Actor) -> list[Any]:
    caller = caller_view(o.caller_name, o.caller_number, o.confidential, actor.role)
    return [
        o.number, aware(o.registered_at).isoformat(), o.channel.value,
        o.order_type.value, o.urgency.value, o.severity.value, o.status.value,
        caller.name, caller.number, o.location, o.lead_unit_id or "",
        o.due_date.isoformat() if o.due_date else "", o.text,
    ]  # fmt: skip


async def get_order(ctx: Ctx) -> web.StreamResponse:
    order = await load_visible(ctx.session, ctx.int_param("order_id"), ctx.actor)
    return json(order_out(order, ctx.actor, ctx.today, ctx.now))


async def transition(ctx: Ctx) -> web.StreamResponse:
    command = ctx.input(TransitionIn).root.command()
    order = await apply_command(
        ctx.session,
        ctx.int_param("order_id"),
        command,
        ctx.actor,
        now=ctx.now,
        calendar=await ctx.calendar(),
        rules=ctx.settings.emergency,
    )
    return json(order_out(order, ctx.actor, ctx.today, ctx.now))


async def amend(ctx: Ctx) -> web.StreamResponse:
    order, _ = await amend_order(
        ctx.session,
        ctx.int_param("order_id"),
        ctx.input(OrderPatch).model_dump(exclude_unset=True),
        ctx.actor,
        now=ctx.now,
        calendar=await ctx.calendar(),
    )
    return json(order_out(order, ctx.actor, ctx.today, ctx.now))


async def order_audit(ctx: Ctx) -> web.StreamResponse:
    order = await load_visible(ctx.session, ctx.int_param("order_id"), ctx.actor)
    entries = await audit.history(ctx.session, order.id)
    # an order once confidential keeps its earlier caller details hidden too
    confidential = order.confidential or any(
        True in e.detail.get("changes", {}).get("confidential", ()) for e in entries
    )
    return json(
        AuditList(
            items=[
                AuditOut.model_validate(e).model_copy(
                    update={
                        "at": aware(e.at),
                        "detail": mask_audit_detail(e.detail, confidential, ctx.actor.role),
                    }
                )
                for e in entries
            ]
        )
    )


async def attach_call(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(CallIn)
    order = await load_visible(ctx.session, ctx.int_param("order_id"), ctx.actor, for_update=True)
    if orders.add_call(order, body.linkedid, body.recording, ctx.now):
        await audit.append(
            await DriverConnection.of(ctx.session), order.id, ctx.actor, "attach_call",
            order.status, order.status, ctx.now,
            {"linkedid": body.linkedid, "recording": body.recording},
        )  # fmt: skip
    await ctx.session.flush()
    if await attach_to_orders(ctx.session, body.linkedid, ctx.actor, ctx.now, order_id=order.id):
        await ctx.session.refresh(order, ["calls"])  # a recording name may have been filled in
    return json(order_out(order, ctx.actor, ctx.today, ctx.now))


async def suggestion(ctx: Ctx) -> web.StreamResponse:
    order = await load_visible(ctx.session, ctx.int_param("order_id"), ctx.actor)
    centre = await directory.centre_unit(ctx.session)
    if centre is None:
        raise NotFound("no_centre_unit", "no centre unit is configured")
    rule_list = await rules.load_rules(ctx.session)
    segmenter = ctx.request.app[SEGMENTER].get()
    segmenter.add_words(k for r in rule_list for k in r.keywords)
    words = segmenter.words(f"{order.text} {order.location}")
    s = suggest(words, order.order_type, rule_list, centre.id)
    return json(
        SuggestionOut(
            lead_unit_id=s.lead_unit_id,
            assist_unit_ids=list(s.assist_unit_ids),
            matched_rule_ids=list(s.matched_rule_ids),
            matched_keywords=list(s.matched_keywords),
            first_contact=s.first_contact,
        )
    )


async def caller_history(ctx: Ctx) -> web.StreamResponse:
    number = ctx.request.match_info["number"]
    items = await orders.caller_history(ctx.session, number, ctx.input(HistoryQuery).limit)
    return json(HistoryOut(number=number, items=[history_out(i, ctx.actor) for i in items]))


async def supervision_sweep(ctx: Ctx) -> web.StreamResponse:
    noticed = await issue_overdue_notices(
        ctx.session, ctx.actor, now=ctx.now, calendar=await ctx.calendar()
    )
    return json(SweepOut(issued=[o.number for o in noticed]))


ORDER = "/api/orders/{order_id:\\d+}"

ENDPOINTS = (
    Endpoint("POST", "/api/orders", create_order, "Register a work order", CALL_TAKER_ROLES,
             body=OrderIn, response=OrderOut, status=201),
    Endpoint("GET", "/api/orders", list_orders, "List orders (handlers: their unit's only)",
             query=ListQuery, response=OrderPage),
    Endpoint("GET", "/api/orders/export.csv", export_orders, "Export orders as CSV",
             query=ListQuery, content_type="text/csv", transaction=False),
    Endpoint("GET", ORDER, get_order, "One order", response=OrderOut),
    Endpoint("PATCH", ORDER, amend,
             "Correct the intake details before dispatch (409 once dispatched)", CALL_TAKER_ROLES,
             body=OrderPatch, response=OrderOut),
    Endpoint("POST", ORDER + "/transitions", transition,
             "Apply a lifecycle action (409 if the order's state does not allow it)",
             body=TransitionIn, response=OrderOut),
    Endpoint("GET", ORDER + "/audit", order_audit, "The order's audit trail",
             response=AuditList),
    Endpoint("POST", ORDER + "/calls", attach_call, "Link a call (Linkedid) and its recording",
             CALL_TAKER_ROLES, body=CallIn, response=OrderOut),
    Endpoint("GET", ORDER + "/suggestion", suggestion,
             "Suggested lead and assisting units from the responsibility list",
             CALL_TAKER_ROLES, response=SuggestionOut),
    Endpoint("GET", "/api/callers/{number:[0-9+*#-]{1,32}}/history", caller_history,
             "A caller's newest orders (screen pop)", CENTRE_ROLES,
             query=HistoryQuery, response=HistoryOut),
    Endpoint("POST", "/api/supervision/sweep", supervision_sweep,
             "Issue supervision notices (督办) for overdue orders",
             frozenset({Role.SUPERVISOR}), response=SweepOut),
)  # fmt: skip
