"""HTTP handlers for the directory and the admin-edited tables (rules, calendar)."""

from typing import Any

from aiohttp import web
from sqlalchemy.exc import IntegrityError

from crm.api.admin_schemas import (
    CalendarDayOut,
    CalendarList,
    CalendarPut,
    CalendarPutOut,
    CalendarQuery,
    RuleIn,
    RuleList,
    RuleOut,
    TokenOut,
    UnitIn,
    UnitList,
    UnitOut,
    UserCreated,
    UserIn,
    UserList,
    UserOut,
    UserPatch,
)
from crm.api.context import AUTH, USERS_CHANGED, Ctx
from crm.api.endpoint import Endpoint, json
from crm.db.models import ResponsibilityRuleRow
from crm.domain.enums import Role
from crm.errors import Conflict, InvalidInput, NotFound
from crm.repo import admin_changes, directory, rules
from crm.repo import calendar as calendar_repo
from crm.usecases import calendar as calendar_usecase
from crm.usecases import users

ADMIN = frozenset({Role.ADMIN})
CENTRE_STAFF = frozenset({Role.ADMIN, Role.SUPERVISOR})


async def list_units(ctx: Ctx) -> web.StreamResponse:
    units = await directory.list_units(ctx.session)
    return json(UnitList(items=[UnitOut.model_validate(u) for u in units]))


async def create_unit(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(UnitIn)
    if await directory.unit_by_code(ctx.session, body.code) is not None:
        raise Conflict("duplicate_code", f"unit code {body.code} exists", "code")
    unit = await directory.create_unit(ctx.session, body.code, body.name, body.kind)
    await _audit(ctx, "unit", unit.id, "created", body.model_dump(mode="json"))
    return json(UnitOut.model_validate(unit), status=201)


async def _require_unit(ctx: Ctx, unit_id: int) -> None:
    if await directory.get_unit(ctx.session, unit_id) is None:
        raise InvalidInput("unknown_unit", f"no unit {unit_id}", "unit_id")


async def _audit(
    ctx: Ctx, subject: str, subject_id: int | None, action: str, detail: dict[str, Any]
) -> None:
    await admin_changes.record(
        ctx.session, ctx.actor.user_id, ctx.now, subject, subject_id, action, detail
    )


def _rule_detail(row: ResponsibilityRuleRow) -> dict[str, Any]:
    return RuleOut.model_validate(row).model_dump(mode="json", exclude={"id"})


def _users_changed(ctx: Ctx) -> None:
    """Once committed: forget cached tokens here, and tell the desktops' side."""
    ctx.after_commit.append(ctx.request.app[AUTH].invalidate)
    ctx.after_commit.append(ctx.request.app[USERS_CHANGED])


async def list_users(ctx: Ctx) -> web.StreamResponse:
    found = await directory.list_users(ctx.session)
    return json(UserList(items=[UserOut.model_validate(u) for u in found]))


async def create_user(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(UserIn)
    if body.role is Role.HANDLER and body.unit_id is None:
        raise InvalidInput("unit_required", "a department handler belongs to a unit", "unit_id")
    if body.unit_id is not None:
        await _require_unit(ctx, body.unit_id)
    try:
        user, token = await users.add_user(
            ctx.session, ctx.actor.user_id, ctx.now, body.name, body.role, body.unit_id,
            body.agent_extension, ctx.settings.supervisor_phones, ctx.settings.department_phones,
        )  # fmt: skip
    except IntegrityError as exc:  # a concurrent admin bound the extension first
        raise Conflict("extension_taken", "extension bound meanwhile", "agent_extension") from exc
    _users_changed(ctx)
    out = UserOut.model_validate(user).model_dump()
    return json(UserCreated(**out, token=token), status=201)


async def update_user(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(UserPatch)
    user = await users.require_user(ctx.session, ctx.int_param("user_id"))
    try:
        changed = await users.change_user(
            ctx.session, ctx.actor.user_id, ctx.now, user, active=body.active,
            agent_extension=body.agent_extension,
            rebind="agent_extension" in body.model_fields_set,
            supervisor_phones=ctx.settings.supervisor_phones,
            department_phones=ctx.settings.department_phones,
        )  # fmt: skip
    except IntegrityError as exc:
        raise Conflict("extension_taken", "extension bound meanwhile", "agent_extension") from exc
    if changed:
        _users_changed(ctx)
    return json(UserOut.model_validate(user))


async def rotate_token(ctx: Ctx) -> web.StreamResponse:
    user = await users.require_user(ctx.session, ctx.int_param("user_id"))
    token = await users.rotate_token(ctx.session, ctx.actor.user_id, ctx.now, user)
    _users_changed(ctx)
    return json(TokenOut(id=user.id, token=token))


async def revoke_token(ctx: Ctx) -> web.StreamResponse:
    user = await users.require_user(ctx.session, ctx.int_param("user_id"))
    await users.revoke_token(ctx.session, ctx.actor.user_id, ctx.now, user)
    _users_changed(ctx)
    return web.Response(status=204)


async def list_rules(ctx: Ctx) -> web.StreamResponse:
    rows = await rules.list_rows(ctx.session)
    return json(RuleList(items=[RuleOut.model_validate(r) for r in rows]))


def _fill(row: ResponsibilityRuleRow, body: RuleIn) -> None:
    row.unit_id = body.unit_id
    row.unit_role = body.unit_role
    row.keywords = list(dict.fromkeys(body.keywords))
    row.order_types = [t.value for t in dict.fromkeys(body.order_types)]
    row.note = body.note


async def create_rule(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(RuleIn)
    if not body.keywords and not body.order_types:
        raise InvalidInput("empty_rule", "give keywords, order types or both", "keywords")
    await _require_unit(ctx, body.unit_id)
    row = ResponsibilityRuleRow()
    _fill(row, body)
    ctx.session.add(row)
    await ctx.session.flush()
    await _audit(ctx, "rule", row.id, "created", _rule_detail(row))
    return json(RuleOut.model_validate(row), status=201)


async def _rule(ctx: Ctx) -> ResponsibilityRuleRow:
    row = await rules.get_row(ctx.session, ctx.int_param("rule_id"))
    if row is None:
        raise NotFound("rule_not_found", f"no rule {ctx.int_param('rule_id')}")
    return row


async def update_rule(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(RuleIn)
    row = await _rule(ctx)
    await _require_unit(ctx, body.unit_id)
    before = _rule_detail(row)
    _fill(row, body)
    await ctx.session.flush()
    after = _rule_detail(row)
    changes = {k: [v, after[k]] for k, v in before.items() if v != after[k]}
    if changes:
        await _audit(ctx, "rule", row.id, "changed", {"changes": changes})
    return json(RuleOut.model_validate(row))


async def delete_rule(ctx: Ctx) -> web.StreamResponse:
    row = await _rule(ctx)
    await _audit(ctx, "rule", row.id, "deleted", _rule_detail(row))
    await ctx.session.delete(row)
    await ctx.session.flush()
    return web.Response(status=204)


async def list_calendar(ctx: Ctx) -> web.StreamResponse:
    year = ctx.input(CalendarQuery).year
    days = await calendar_repo.list_days(ctx.session, year)
    items = [CalendarDayOut(day=d.day, workday=d.is_workday, name=d.name) for d in days]
    published = await calendar_repo.published_years(ctx.session, year)
    return json(CalendarList(items=items, published_years=published))


async def put_calendar(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(CalendarPut)
    days = [(d.day, d.workday, d.name) for d in body.days]
    if len({d for d, _, _ in days}) != len(days):
        raise InvalidInput("duplicate_day", "a day appears twice", "days")
    years = sorted(set(body.published_years))
    if not days and not years:
        raise InvalidInput("nothing_to_put", "give days or published years", "days")
    try:
        recounted = await calendar_usecase.put_days(ctx.session, days, ctx.actor, ctx.now, years)
    except IntegrityError as exc:  # a concurrent admin wrote the same day first
        raise Conflict("concurrent_edit", "calendar changed meanwhile, retry") from exc
    return json(CalendarPutOut(written=len(days), recounted_orders=recounted))


RULE = "/api/routing/rules/{rule_id:\\d+}"
USER = "/api/users/{user_id:\\d+}"

ENDPOINTS = (
    Endpoint("GET", "/api/units", list_units, "Units (centre and departments)",
             response=UnitList),
    Endpoint("POST", "/api/units", create_unit, "Add a unit", ADMIN, body=UnitIn,
             response=UnitOut, status=201),
    Endpoint("GET", "/api/users", list_users, "Users (never their tokens)", ADMIN,
             response=UserList),
    Endpoint("POST", "/api/users", create_user,
             "Add a user (an agent with the agent extension it works as); returns its token "
             "once", ADMIN, body=UserIn, response=UserCreated, status=201),
    Endpoint("PATCH", USER, update_user,
             "Disable or enable a user, bind or unbind its agent extension; audited, and "
             "ends the user's open desktops", ADMIN, body=UserPatch, response=UserOut),
    Endpoint("POST", f"{USER}/token", rotate_token,
             "Rotate the user's token: returns the new one once, the old one stops working",
             ADMIN, response=TokenOut),
    Endpoint("DELETE", f"{USER}/token", revoke_token,
             "Revoke the user's token: none works until it is rotated", ADMIN, status=204),
    Endpoint("GET", "/api/routing/rules", list_rules, "The responsibility list", CENTRE_STAFF,
             response=RuleList),
    Endpoint("POST", "/api/routing/rules", create_rule, "Add a responsibility rule", ADMIN,
             body=RuleIn, response=RuleOut, status=201),
    Endpoint("PUT", RULE, update_rule, "Replace a responsibility rule", ADMIN, body=RuleIn,
             response=RuleOut),
    Endpoint("DELETE", RULE, delete_rule, "Remove a responsibility rule", ADMIN, status=204),
    Endpoint("GET", "/api/calendar/days", list_calendar,
             "Admin-entered holidays and adjusted working days", query=CalendarQuery,
             response=CalendarList),
    Endpoint("PUT", "/api/calendar/days", put_calendar,
             "Add or replace calendar days (years chinese-calendar does not know yet are counted "
             "over predicted statutory holidays, without the unpublished adjusted working "
             "weekends; each entered day wins over the prediction), and mark years whose whole "
             "schedule is entered as published (counted without predictions, no longer "
             "provisional); provisional due dates are recounted", ADMIN, body=CalendarPut,
             response=CalendarPutOut),
)  # fmt: skip
