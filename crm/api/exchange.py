"""`POST /api/exchange/v1/messages`: the receiving centres' door (replies and matters).

No bearer token: the signature with the peer's shared secret is the authentication. Checks, in
order, each refusal logged (never the body: it may hold a caller's number) with nothing
changed: body size (413), peer and signature (401), timestamp window and seen message id (409,
a replay; the same id with the same body is a re-send: the first answer again, with
`"duplicate": true`), the format (422), the order (404); then the message is carried out in one
transaction as the peer's user (`crm.usecases.exchange_inbound`).
"""

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel, RootModel, ValidationError

from crm.api.context import CALENDAR, CLOCK, SESSIONS, SETTINGS
from crm.api.errors import error_response
from crm.api.openapi import Operation
from crm.db.integrity import INTEGRITY_ERRORS, is_conflict
from crm.domain import exchange_format as fmt
from crm.domain import exchange_signing as signing
from crm.errors import CrmError
from crm.usecases.exchange_inbound import body_digest, receive

log = logging.getLogger(__name__)

PATH = "/api/exchange/v1/messages"


@dataclass(frozen=True)
class ExchangeDoor:
    """The peers' shared secrets by line, and the limits of what they may send."""

    secrets: Mapping[str, bytes] = field(default_factory=dict)
    max_body_bytes: int = 65536
    max_clock_skew_s: int = 300


EXCHANGE = web.AppKey("crm_exchange", ExchangeDoor)


def _refused(status: int, code: str, message: str, peer: str) -> web.Response:
    log.warning("exchange message refused (%d %s) from peer %r: %s", status, code, peer[:8],
                message)  # fmt: skip
    return error_response(status, code, message)


async def _body(request: web.Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (read no further than that)."""
    if request.content_length is not None and request.content_length > limit:
        return None
    body = bytearray()
    while len(body) <= limit:  # read(n) gives what has arrived, up to n: read on
        chunk = await request.content.read(limit + 1 - len(body))
        if not chunk:
            break
        body += chunk
    return None if len(body) > limit else bytes(body)


def _unsigned(door: ExchangeDoor, request: web.Request, body: bytes) -> tuple[str, str] | None:
    """None if the peer is known and the signature good; else (code, message)."""
    peer = request.headers.get(signing.PEER_HEADER, "")
    secret = door.secrets.get(peer)
    if secret is None:
        return "unknown_peer", "no exchange with this peer"
    timestamp = signing.parse_timestamp(request.headers.get(signing.TIMESTAMP_HEADER, ""))
    presented = request.headers.get(signing.SIGNATURE_HEADER, "")
    if timestamp is None or not signing.valid(secret, timestamp, body, presented):
        return "bad_signature", "the signature does not match the body and timestamp"
    return None


async def messages(request: web.Request) -> web.Response:
    door = request.app[EXCHANGE]
    peer = request.headers.get(signing.PEER_HEADER, "")
    body = await _body(request, door.max_body_bytes)
    if body is None:
        return _refused(413, "body_too_large", f"at most {door.max_body_bytes} bytes", peer)
    if (bad := _unsigned(door, request, body)) is not None:
        return _refused(401, *bad, peer)
    timestamp = signing.parse_timestamp(request.headers[signing.TIMESTAMP_HEADER]) or 0
    if not signing.within_skew(timestamp, time.time(), door.max_clock_skew_s):
        return _refused(409, "stale_timestamp", "signed outside the accepted clock window", peer)
    try:
        message = fmt.INBOUND.validate_json(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        return _refused(422, "invalid_message", f"{where}: {first['msg']}", peer)
    key = request.headers.get(signing.IDEMPOTENCY_HEADER, message.message_id)
    if key != message.message_id:
        return _refused(422, "invalid_message", "Idempotency-Key is not the message_id", peer)
    now = request.app[CLOCK]()
    try:
        async with request.app[SESSIONS]() as session, session.begin():
            calendar = await request.app[CALENDAR].get(session)
            settings = request.app[SETTINGS]
            done = await receive(session, peer, message, digest=body_digest(body),
                                 now=now, calendar=calendar,
                                 centre_code=settings.centre_code,
                                 rules=settings.emergency)  # fmt: skip
    except CrmError as exc:
        return _refused(exc.status, exc.code, exc.message, peer)
    except INTEGRITY_ERRORS as exc:
        if not is_conflict(exc):
            raise
        return _refused(409, "replayed_message", "a concurrent message took this id", peer)
    answer = {"status": "accepted", "kind": done.kind, "order_number": done.order_number,
              "message_id": message.message_id, "duplicate": done.duplicate}  # fmt: skip
    return web.json_response(answer, status=201 if done.created else 200)


class InboundMessage(RootModel[fmt.Inbound]):
    """A receiving centre's message (docs/exchange_protocol.md)."""


class ExchangeAnswer(BaseModel):
    status: str
    kind: str
    order_number: str
    message_id: str
    duplicate: bool  # true: a re-send (same id, same body) of a message carried out before


DOCUMENTED = (
    Operation(
        "POST", PATH, "A receiving centre's signed message: accepted, rejected, result, matter",
        "No bearer token: headers X-Exchange-Peer, X-Exchange-Timestamp, X-Exchange-Signature "
        "(sha256= HMAC of '<timestamp>.' + body with the peer's secret), Idempotency-Key "
        "(= message_id). See docs/exchange_protocol.md.",
        body=InboundMessage, response=ExchangeAnswer, bearer=False,
        also={"201": "A matter: the order made from it"},
        errors={
            "401": "Unknown peer or bad signature",
            "404": "No hand-over of that order to this peer",
            "409": "A replay (message id seen with another body, or signed outside the clock "
                   "window), or not now",
            "413": "Body over [exchange] max_body_bytes", "422": "Not the exchange format",
        },
    ),
)  # fmt: skip


def add_routes(app: web.Application, door: ExchangeDoor) -> None:
    app[EXCHANGE] = door
    app.router.add_post(PATH, messages)
