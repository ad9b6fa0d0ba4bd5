"""HTTP handlers of the telephony configuration (admins only): the current version, the
versions with their diffs, a change (optimistic: base_version), a dry run and a revert.
Secrets are never sent in clear; a "******" sent back keeps the stored secret.

The wiring root gives the hooks (`TelephonyHooks`): whether the running centre can run a
document (checked at every change and revert, 422 `config_not_runnable`), and whom to tell
once a new version has committed (the processes that apply and follow it)."""

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass

from aiohttp import web

from config.telephony_config import masked_json
from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.telephony_schemas import (
    Applied,
    ApplyOut,
    ChangeOut,
    DocumentIn,
    RevertIn,
    TelephonyPut,
    Validated,
    VersionDetail,
    VersionList,
    VersionOut,
    VersionQuery,
)
from crm.db.telephony_models import TelephonyVersion
from crm.domain.enums import Role
from crm.usecases import telephony_config as store
from crm.usecases.telephony_applies import applies_of

ADMIN = frozenset({Role.ADMIN})


async def _nobody_follows(_version: int) -> None:
    """The default `TelephonyHooks.changed`: a CRM without a running centre."""


@dataclass(frozen=True)
class TelephonyHooks:
    runnable: store.Runnable | None = None
    # awaited once a new version has committed, with its number; must not raise
    changed: Callable[[int], Awaitable[None]] = _nobody_follows


HOOKS = web.AppKey("crm_telephony_hooks", TelephonyHooks)


async def _outs(ctx: Ctx, rows: Collection[TelephonyVersion]) -> list[VersionOut]:
    applies = await applies_of(ctx.session, [r.version for r in rows])
    return [
        VersionOut.model_validate(row).model_copy(update={"applied": (
            ApplyOut.model_validate(applies[row.version]) if row.version in applies else None
        )})
        for row in rows
    ]  # fmt: skip


async def _detail(ctx: Ctx, row: TelephonyVersion) -> dict[str, object]:
    out = (await _outs(ctx, [row]))[0].model_dump()
    return {**out, "document": masked_json(store.document_of(row)),
            "changes": [ChangeOut.model_validate(c) for c in row.changes]}  # fmt: skip


async def get_current(ctx: Ctx) -> web.StreamResponse:
    row = await store.current(ctx.session)
    return json(VersionDetail.model_validate(await _detail(ctx, row)))


async def list_versions(ctx: Ctx) -> web.StreamResponse:
    query = ctx.input(VersionQuery)
    rows = await store.versions(ctx.session, query.limit, query.before)
    return json(VersionList(items=await _outs(ctx, rows)))


async def get_version(ctx: Ctx) -> web.StreamResponse:
    row = await store.version(ctx.session, ctx.int_param("version"))
    return json(VersionDetail.model_validate(await _detail(ctx, row)))


async def _stored(ctx: Ctx, row: TelephonyVersion, changed: bool) -> web.StreamResponse:
    """The answer to a change or a revert; the processes told once it has committed."""
    if changed:
        number = row.version
        ctx.after_commit.append(lambda: ctx.request.app[HOOKS].changed(number))
    return json(Applied.model_validate({**await _detail(ctx, row), "changed": changed}))


async def put_config(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(TelephonyPut)
    row, changed = await store.apply_change(
        ctx.session, ctx.actor.user_id, ctx.now, body.base_version, body.document,
        ctx.request.app[HOOKS].runnable,
    )  # fmt: skip
    return await _stored(ctx, row, changed)


async def validate_config(ctx: Ctx) -> web.StreamResponse:
    runnable = ctx.request.app[HOOKS].runnable
    document = await store.check(ctx.session, ctx.input(DocumentIn).document, runnable)
    base = store.document_of(await store.current(ctx.session))
    changes = [ChangeOut.model_validate(c.as_json()) for c in store.shown_diff(base, document)]
    return json(Validated(valid=True, changes=changes))


async def revert_config(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(RevertIn)
    row, changed = await store.revert(
        ctx.session, ctx.actor.user_id, ctx.now, body.base_version, ctx.int_param("version"),
        ctx.request.app[HOOKS].runnable,
    )  # fmt: skip
    return await _stored(ctx, row, changed)


ROOT = "/api/admin/telephony"
VERSION = f"{ROOT}/versions/{{version:\\d+}}"
_INVALID = {"422": "The document refused as a whole: error.errors lists every bad field "
            "({field, message}); config_not_runnable: the running centre cannot run it (the "
            "infrastructure refuses it, or only a restart would apply it)"}  # fmt: skip
_STALE = {"409": "base_version is not the current version (error.current_version), or a "
          "concurrent change was stored first"}  # fmt: skip

ENDPOINTS = (
    Endpoint("GET", ROOT, get_current,
             "The current telephony configuration (secrets masked)", ADMIN,
             response=VersionDetail),
    Endpoint("GET", f"{ROOT}/versions", list_versions,
             "The telephony configuration's versions, newest first", ADMIN,
             query=VersionQuery, response=VersionList),
    Endpoint("GET", VERSION, get_version,
             "One version: its document (secrets masked) and what it changed", ADMIN,
             response=VersionDetail),
    Endpoint("PUT", ROOT, put_config,
             "Store a new telephony configuration, checked as a whole, as the next version "
             "(audited); a document equal to the current one stores nothing (changed: false)",
             ADMIN, body=TelephonyPut, response=Applied, errors={**_INVALID, **_STALE}),
    Endpoint("POST", f"{ROOT}/validate", validate_config,
             "Check a telephony configuration without storing it; what it would change",
             ADMIN, body=DocumentIn, response=Validated, errors=_INVALID),
    Endpoint("POST", f"{VERSION}/revert", revert_config,
             "Store an earlier version's document again as the next version (audited)",
             ADMIN, body=RevertIn, response=Applied, errors={**_INVALID, **_STALE}),
)  # fmt: skip
