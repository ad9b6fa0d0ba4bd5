"""HTTP handlers for call recordings: metadata, download, signed playback links, the trail.

An `<audio src>` cannot send a bearer token, so a page asks (with its token) for a playback
link, signed for one recording, one user and a few minutes; each request on that link is
authorised again as that user (still active, still allowed). Every link issued, play and
download, and every refusal of one, is appended to `recording_access`. Serving reads in
short sessions of its own: no transaction (SQLite's one connection) is held while a file
streams.
"""

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from aiohttp import web
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from crm.api.context import CLOCK, RECORDINGS, SESSIONS, Ctx
from crm.api.endpoint import Endpoint, json
from crm.api.errors import error_response, invalid_input
from crm.api.openapi import Operation
from crm.api.recording_files import (
    RangeNotSatisfiable,
    RecordingFile,
    check_range,
    locate,
    on_prepare,
)
from crm.api.recording_schemas import (
    AccessList,
    AccessOut,
    CallRecordingsQuery,
    LinkOut,
    PlayQuery,
    RecordingList,
    RecordingOut,
)
from crm.api.schemas import MAX_ID
from crm.db.call_models import Recording
from crm.domain import playback_links as links
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.errors import Conflict, CrmError, Denied, Gone, InvalidInput, NotFound
from crm.repo.directory import get_user
from crm.usecases import recording_access as access
from crm.usecases.recording_access import AccessAction

log = logging.getLogger(__name__)

RECORDING = "/api/recordings/{recording_id:\\d+}"
PLAY_PATH = RECORDING + "/play"
_REFUSALS_ON_TRAIL = (Denied, Gone, Conflict)


def _out(r: Recording) -> RecordingOut:
    return RecordingOut(
        id=r.id, linkedid=r.linkedid, part=r.part, kind=r.kind, status=r.status, format=r.format,
        duration_s=r.duration_s, size_bytes=r.size_bytes, sha256=r.sha256,
        checked_at=r.checked_at.replace(tzinfo=UTC) if r.checked_at else None,
    )  # fmt: skip


def _recording_id(request: web.Request) -> int:
    raw = request.match_info["recording_id"]
    value = int(raw) if len(raw) <= 10 else 0  # no 10,000-digit int() from a URL
    if not 1 <= value <= MAX_ID:
        raise InvalidInput("invalid_value", f"recording_id must be between 1 and {MAX_ID}",
                           "recording_id")  # fmt: skip
    return value


async def _append(request: web.Request, recording_id: int, actor: Actor,
                  action: AccessAction, status: int, now: datetime) -> None:  # fmt: skip
    async with request.app[SESSIONS]() as session, session.begin():
        access.append(session, recording_id, actor, action, status, now,
                      request.headers.get("Range", ""))  # fmt: skip


async def _audible(request: web.Request, session: AsyncSession, recording_id: int,
                   actor: Actor, action: AccessAction, now: datetime) -> Recording:  # fmt: skip
    """The recording `actor` may hear now, or the refusal raised once it is on the trail."""
    try:
        return await access.audible(session, recording_id, actor)
    except NotFound:
        log.warning("recording %d: unknown (%s by user %d)", recording_id, action, actor.user_id)
        raise
    except _REFUSALS_ON_TRAIL as exc:
        await session.rollback()
        await _append(request, recording_id, actor, action, cast(CrmError, exc).status, now)
        raise


async def _playable(request: web.Request, recording_id: int, actor: Actor,
                    action: AccessAction, now: datetime) -> tuple[Recording, Path]:  # fmt: skip
    """The recording and its file, or the refusal raised once it is on the trail."""
    async with request.app[SESSIONS]() as session:
        recording = await _audible(request, session, recording_id, actor, action, now)
    try:
        return recording, locate(request.app[RECORDINGS].root, recording)
    except Gone as exc:
        await _append(request, recording_id, actor, action, exc.status, now)
        raise


async def _serve(request: web.Request, recording_id: int, actor: Actor,
                 action: AccessAction, now: datetime) -> web.StreamResponse:  # fmt: skip
    recording, path = await _playable(request, recording_id, actor, action, now)
    try:
        size = path.stat().st_size
    except OSError as exc:  # removed (retention, an operator) since it was located
        log.error("recording %d: file %s gone while serving it (%s)", recording_id,
                  recording.path, exc.strerror)  # fmt: skip
        await _append(request, recording_id, actor, action, Gone.status, now)
        raise Gone("recording_file_missing",
                   f"the file of recording {recording_id} is missing") from None  # fmt: skip
    try:
        check_range(request, size)
    except RangeNotSatisfiable as exc:
        await _append(request, recording_id, actor, action, exc.status, now)
        return error_response(exc.status, exc.code, exc.message,
                              headers={"Content-Range": f"bytes */{exc.size}"})  # fmt: skip

    async def on_trail(status: int) -> None:
        await _append(request, recording_id, actor, action, status, now)

    disposition = "attachment" if action is AccessAction.DOWNLOAD else "inline"
    return RecordingFile(path, recording, disposition, on_trail)


async def get_recording(ctx: Ctx) -> web.StreamResponse:
    recording_id = ctx.int_param("recording_id")
    async with ctx.short_session() as session:
        try:
            recording = await access.visible(session, recording_id, ctx.actor)
        except Denied as exc:
            await session.rollback()
            await _append(ctx.request, recording_id, ctx.actor, AccessAction.METADATA,
                          exc.status, ctx.now)  # fmt: skip
            raise
    return json(_out(recording))


async def call_recordings(ctx: Ctx) -> web.StreamResponse:
    """A call's recordings; a refusal is on the trail of each recording the call has."""
    linkedid = ctx.input(CallRecordingsQuery).linkedid
    async with ctx.short_session() as session:
        try:
            parts = await access.visible_parts(session, linkedid, ctx.actor)
        except Denied as exc:
            ids = await access.recording_ids(session, linkedid)
            await session.rollback()
            async with ctx.short_session() as trail, trail.begin():
                for recording_id in ids:
                    access.append(trail, recording_id, ctx.actor, AccessAction.LIST,
                                  exc.status, ctx.now)  # fmt: skip
            raise
    return json(RecordingList(items=[_out(r) for r in parts]))


async def download(ctx: Ctx) -> web.StreamResponse:
    return await _serve(ctx.request, ctx.int_param("recording_id"), ctx.actor,
                        AccessAction.DOWNLOAD, ctx.now)  # fmt: skip


async def issue_link(ctx: Ctx) -> web.StreamResponse:
    recording_id = ctx.int_param("recording_id")
    await _playable(ctx.request, recording_id, ctx.actor, AccessAction.LINK, ctx.now)
    files = ctx.request.app[RECORDINGS]
    now_s = ctx.now.replace(tzinfo=UTC).timestamp()
    link = links.issue(files.link_key, recording_id, ctx.actor.user_id, now_s, files.link_ttl_s)
    await _append(ctx.request, recording_id, ctx.actor, AccessAction.LINK, 201, ctx.now)
    url = (f"/api/recordings/{recording_id}/play"
           f"?user={link.user_id}&expires={link.expires}&sig={link.signature}")  # fmt: skip
    return json(LinkOut(url=url, expires_at=datetime.fromtimestamp(link.expires, UTC)), 201)


async def access_trail(ctx: Ctx) -> web.StreamResponse:
    entries = await access.trail(ctx.session, ctx.int_param("recording_id"))
    return json(AccessList(items=[
        AccessOut(at=e.at.replace(tzinfo=UTC), user_id=e.user_id, role=e.role, action=e.action,
                  byte_range=e.byte_range, status=e.status)
        for e in entries
    ]))  # fmt: skip


async def play(request: web.Request) -> web.StreamResponse:
    """A playback link's GET: no bearer token; the signed user, re-checked, is the actor."""
    recording_id = _recording_id(request)
    try:
        query = PlayQuery.model_validate_strings(dict(request.query))
    except ValidationError as exc:
        raise invalid_input(exc, False) from exc
    files, now = request.app[RECORDINGS], request.app[CLOCK]()
    link = links.PlaybackLink(recording_id, query.user, query.expires, query.sig)
    verdict = links.check(files.link_key, link, now.replace(tzinfo=UTC).timestamp())
    if verdict is links.LinkCheck.FORGED:
        # no verified user: logged, not put on a user's trail (anyone could fill it); logged
        # only while this client is not forging links by the dozen
        client = request.remote or ""
        if files.forged.retry_after(client) is None:
            log.warning("recording %d: forged playback link (names user %d) from %s",
                        recording_id, query.user, client)  # fmt: skip
        files.forged.failed(client)
        raise Denied("link_invalid", "this playback link is not valid")
    async with request.app[SESSIONS]() as session:
        user = await get_user(session, query.user)
    if user is None:
        raise Denied("link_invalid", "this playback link's user is unknown")
    actor = Actor(user.id, user.role, user.unit_id)
    if not user.active:
        log.warning("recording %d: playback link of disabled user %d", recording_id, user.id)
        await _append(request, recording_id, actor, AccessAction.PLAY, 403, now)
        raise Denied("link_invalid", "this playback link's user may no longer listen")
    if verdict is links.LinkCheck.EXPIRED:
        await _append(request, recording_id, actor, AccessAction.PLAY, 403, now)
        raise Denied("link_expired", "this playback link has expired; ask for a new one")
    return await _serve(request, recording_id, actor, AccessAction.PLAY, now)


def add_routes(app: web.Application) -> None:
    """The routes that are not `Endpoint`s (no bearer token): the playback link's; and the
    hook that puts every file served on the trail before its first byte."""
    app.router.add_get(PLAY_PATH, play, allow_head=False)
    app.on_response_prepare.append(on_prepare)


_AUDIO = "audio/*"
_LINK_ERRORS = {
    "403": "The caller may not hear this call (recording_forbidden)",
    "409": "The recording is not checked yet (recording_not_checked)",
    "410": "The recording was removed, or its file is missing (logged)",
}
_FILE_ERRORS = {
    **_LINK_ERRORS,
    "416": "The range starts past the end, or is not one range (Content-Range: bytes */size)",
}
_PARTIAL = {"206": "The range asked for (Range: bytes=first-last, or -suffix)"}
SUPERVISING = frozenset({Role.SUPERVISOR, Role.ADMIN})

ENDPOINTS = (
    Endpoint("GET", "/api/recordings", call_recordings,
             "A call's recordings (supervisors, admins; an agent only for calls it answered; "
             "a handler only for its unit's orders' calls)",
             query=CallRecordingsQuery, response=RecordingList, transaction=False),
    Endpoint("GET", RECORDING, get_recording, "A recording's metadata", response=RecordingOut,
             transaction=False),
    Endpoint("GET", RECORDING + "/audio", download,
             "Download a recording (Range requests answered with 206)",
             content_type=_AUDIO, transaction=False, errors=_FILE_ERRORS, also=_PARTIAL),
    Endpoint("POST", RECORDING + "/link", issue_link,
             "A short-lived signed playback URL for <audio src> (it carries no token)",
             response=LinkOut, status=201, transaction=False, errors=_LINK_ERRORS),
    Endpoint("GET", RECORDING + "/access", access_trail,
             "Who played, downloaded or was refused a recording, newest first", SUPERVISING,
             response=AccessList),
)  # fmt: skip

DOCUMENTED = (
    Operation(
        "GET", PLAY_PATH, "Play a recording through a signed link (Range answered with 206)",
        "No bearer token: the link's user is re-checked (still active, still allowed)",
        query=PlayQuery, content_type=_AUDIO, bearer=False, also=_PARTIAL,
        errors={
            "400": "Invalid id or link parameters (field named)",
            "403": "Forged or expired link, or its user may no longer hear this call",
            "404": "No such recording",
            **{k: v for k, v in _FILE_ERRORS.items() if k != "403"},
        },
    ),
)  # fmt: skip
