"""HTTP handlers of the telephony configuration (admins only): the current version, the
versions with their diffs, a change (optimistic: base_version), a dry run and a revert.
Secrets are never sent in clear; a "******" sent back keeps the stored secret."""

from aiohttp import web

from config.config_diff import diff
from config.telephony_config import masked_json
from crm.api.context import Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.telephony_schemas import (
    Applied,
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

ADMIN = frozenset({Role.ADMIN})


def _detail(row: TelephonyVersion) -> dict[str, object]:
    out = VersionOut.model_validate(row).model_dump()
    return {**out, "document": masked_json(store.document_of(row)),
            "changes": [ChangeOut.model_validate(c) for c in row.changes]}  # fmt: skip


async def get_current(ctx: Ctx) -> web.StreamResponse:
    return json(VersionDetail.model_validate(_detail(await store.current(ctx.session))))


async def list_versions(ctx: Ctx) -> web.StreamResponse:
    query = ctx.input(VersionQuery)
    rows = await store.versions(ctx.session, query.limit, query.before)
    return json(VersionList(items=[VersionOut.model_validate(r) for r in rows]))


async def get_version(ctx: Ctx) -> web.StreamResponse:
    row = await store.version(ctx.session, ctx.int_param("version"))
    return json(VersionDetail.model_validate(_detail(row)))


async def put_config(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(TelephonyPut)
    row, changed = await store.apply_change(
        ctx.session, ctx.actor.user_id, ctx.now, body.base_version, body.document
    )
    return json(Applied.model_validate({**_detail(row), "changed": changed}))


async def validate_config(ctx: Ctx) -> web.StreamResponse:
    document = await store.check(ctx.session, ctx.input(DocumentIn).document)
    base = store.document_of(await store.current(ctx.session))
    changes = [ChangeOut.model_validate(c.as_json()) for c in diff(base, document)]
    return json(Validated(valid=True, changes=changes))


async def revert_config(ctx: Ctx) -> web.StreamResponse:
    body = ctx.input(RevertIn)
    row, changed = await store.revert(
        ctx.session, ctx.actor.user_id, ctx.now, body.base_version, ctx.int_param("version")
    )
    return json(Applied.model_validate({**_detail(row), "changed": changed}))


ROOT = "/api/admin/telephony"
VERSION = f"{ROOT}/versions/{{version:\\d+}}"
_INVALID = {"422": "The document refused as a whole: error.errors lists every bad field "
            "({field, message})"}  # fmt: skip
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
             ADMIN, body=RevertIn, response=Applied, errors=_STALE),
)  # fmt: skip
