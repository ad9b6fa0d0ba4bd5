"""HTTP handlers for alerts (supervisors, admins, duty leaders) and the emergency figures."""

import logging
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta

from aiohttp import web

from crm.api.alert_schemas import (
    AckIn,
    AlertList,
    AlertOut,
    AlertQuery,
    FiguresOut,
    FiguresQuery,
    LineFiguresOut,
)
from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.views import aware, maybe_aware
from crm.domain.clock import local_midnight_utc
from crm.domain.emergency import EmergencyRules
from crm.domain.enums import CENTRE_ROLES
from crm.errors import InvalidInput
from crm.usecases import alerts, emergency_figures

log = logging.getLogger(__name__)


def alert_out(view: alerts.AlertView, rules: EmergencyRules) -> AlertOut:
    a, o = view.alert, view.order
    return AlertOut(
        id=a.id, kind=a.kind, order_id=a.order_id, subject=a.subject or "",
        order_number=o.number if o else None, order_type=o.order_type if o else None,
        severity=o.severity if o else None, stability_clue=bool(o and o.stability_clue),
        line=view.line(), raised_at=aware(a.raised_at), due_at=maybe_aware(view.due_at()),
        message=view.message(rules), detail=a.detail, published_at=maybe_aware(a.published_at),
        acknowledged_by=a.acknowledged_by, acknowledged_at=maybe_aware(a.acknowledged_at),
        note=a.note,
    )  # fmt: skip


async def list_alerts(ctx: Ctx) -> web.StreamResponse:
    rules = ctx.settings.emergency
    await alerts.check_reader(ctx.session, ctx.actor, rules)
    query = ctx.input(AlertQuery)
    views = await alerts.list_alerts(
        ctx.session, unacknowledged=query.unacknowledged, kind=query.kind,
        order_id=query.order_id, limit=query.limit,
    )  # fmt: skip
    items = [alert_out(v, rules) for v in views]
    leaders = await alerts.duty_leaders(ctx.session, rules)
    if leaders.missing:
        log.error("duty leaders %s are not active centre users: left out", leaders.missing)
    return json(AlertList(items=items, duty_leaders=leaders.names()))


async def acknowledge(ctx: Ctx) -> web.StreamResponse:
    rules = ctx.settings.emergency
    await alerts.check_reader(ctx.session, ctx.actor, rules)
    body = ctx.input(AckIn)
    view = await alerts.acknowledge(
        ctx.session, ctx.int_param("alert_id"), ctx.actor, body.note, ctx.now
    )
    return json(alert_out(view, rules))


def _instant(value: date | datetime, end: bool) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None)
    return local_midnight_utc(value + timedelta(days=1) if end else value)


async def emergency_figures_route(ctx: Ctx) -> web.StreamResponse:
    query = ctx.input(FiguresQuery)
    start, end = _instant(query.from_, False), _instant(query.to, True)
    if end <= start:
        raise InvalidInput("invalid_range", "to must come after from", "to")
    found = await emergency_figures.figures(ctx.session, start, end, ctx.now)
    return json(
        FiguresOut(
            period_start=aware(start),
            period_end=aware(end),
            total=LineFiguresOut(**asdict(found.total)),
            by_line={line: LineFiguresOut(**asdict(f)) for line, f in found.by_line.items()},
        )
    )


# supervisors and admins; an agent only if a duty leader by id (checked by the use case)
_READERS = CENTRE_ROLES

ENDPOINTS = (
    Endpoint("GET", "/api/alerts", list_alerts,
             "Alerts about orders and the centre's own (a trunk leg down), newest first "
             "(supervisors, admins, the duty leaders)",
             _READERS, query=AlertQuery, response=AlertList),
    Endpoint("POST", "/api/alerts/{alert_id:\\d+}/ack", acknowledge,
             "Acknowledge an alert once, with a note (audited on its order, or in the "
             "centre's trail)", _READERS,
             body=AckIn, response=AlertOut, errors={"404": "no such alert",
                                                    "409": "already acknowledged"}),
    Endpoint("GET", "/api/figures/emergencies", emergency_figures_route,
             "Emergency orders registered in a period: handed over in time, late, open, "
             "results back; by line", CENTRE_ROLES, query=FiguresQuery, response=FiguresOut),
)  # fmt: skip
