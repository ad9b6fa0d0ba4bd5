"""Short-lived websocket tickets: the backend issues them, gateways verify them.

Browsers cannot set headers on a websocket handshake, so the desktop first trades its CRM
bearer token for a ticket over HTTP, then puts the ticket in the websocket URL. A ticket is
`base64url(JSON claims) "." base64url(HMAC-SHA256(secret, first part))`: gateways need only
the shared secret, no database. A ticket lives about a minute and admits one handshake: its
`jti` is claimed in Redis by the gateway that admits it (`agent_gateway.edge.admission`), and its
`version` is the user's credential generation, which the gateway compares with the one the
backend publishes (a disabled user, a revoked or rotated token ends the session). Pure: the
caller passes the clock.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
from dataclasses import asdict, dataclass
from typing import Any, get_args

from agent_gateway.edge.protocol import SUPERVISORS, Role, agent_topic
from agent_gateway.edge.supervisor_commands import user_topic

EXTENSION_PATTERN = re.compile(r"[0-9]{2,15}")
JTI_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")
MAX_TICKET_CHARS = 2048


class InvalidTicket(ValueError):
    """The ticket is refused; the message says why (for logs and the HTTP 401 body)."""


@dataclass(frozen=True, slots=True)
class TicketClaims:
    user_id: int
    name: str
    role: Role
    extension: str | None
    exp: float
    version: int  # the user's credential generation when the ticket was issued
    jti: str  # unique: a ticket admits one handshake

    @property
    def topics(self) -> frozenset[str]:
        """The bus topics this user's desktop receives: an agent's its desk's; a supervisor's
        (or admin's) every supervisor's and its own (its command results and notices)."""
        if self.role == "agent":
            return frozenset({agent_topic(str(self.extension))})
        return frozenset({SUPERVISORS, user_topic(self.user_id)})


def issue_ticket(
    secret: bytes,
    user_id: int,
    name: str,
    role: Role,
    extension: str | None,
    ttl_s: float,
    now: float,
    *,
    version: int,
    jti: str | None = None,
) -> str:
    """A signed ticket; `jti` defaults to a fresh random id."""
    jti = jti or secrets.token_urlsafe(16)
    claims = TicketClaims(user_id, name, role, extension, now + ttl_s, version, jti)
    _check_claims(claims)
    payload = _b64(json.dumps(asdict(claims), ensure_ascii=False).encode())
    return f"{payload}.{_b64(_sign(secret, payload))}"


def verify_ticket(secret: bytes, ticket: str, now: float) -> TicketClaims:
    if len(ticket) > MAX_TICKET_CHARS:
        raise InvalidTicket("ticket too long")
    payload, dot, signature = ticket.partition(".")
    if not dot:
        raise InvalidTicket("not a ticket")
    try:
        given = _unb64(signature)
    except ValueError:
        raise InvalidTicket("signature is not base64url") from None
    if not hmac.compare_digest(given, _sign(secret, payload)):
        raise InvalidTicket("bad signature")
    try:
        claims = _claims_from(json.loads(_unb64(payload)))
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidTicket(f"malformed claims: {exc}") from None
    _check_claims(claims)
    if claims.exp <= now:
        raise InvalidTicket(f"expired {now - claims.exp:.0f} s ago")
    return claims


_FIELDS = {"user_id", "name", "role", "extension", "exp", "version", "jti"}


def _claims_from(raw: Any) -> TicketClaims:
    if not isinstance(raw, dict) or set(raw) != _FIELDS:
        raise ValueError("unexpected fields")
    user_id, name, extension, exp = raw["user_id"], raw["name"], raw["extension"], raw["exp"]
    version, jti = raw["version"], raw["jti"]
    if type(user_id) is not int or not isinstance(name, str):
        raise TypeError("user_id or name has the wrong type")
    if not isinstance(exp, int | float) or not isinstance(extension, str | None):
        raise TypeError("exp or extension has the wrong type")
    if type(version) is not int or not isinstance(jti, str):
        raise TypeError("version or jti has the wrong type")
    return TicketClaims(user_id, name, raw["role"], extension, exp, version, jti)


def _check_claims(claims: TicketClaims) -> None:
    if claims.role not in get_args(Role):
        raise InvalidTicket(f"unknown role {claims.role!r}")
    if claims.extension is not None and not EXTENSION_PATTERN.fullmatch(claims.extension):
        raise InvalidTicket(f"bad extension {claims.extension!r}")
    if claims.role == "agent" and claims.extension is None:
        raise InvalidTicket("an agent ticket needs an extension")
    if not JTI_PATTERN.fullmatch(claims.jti):
        raise InvalidTicket("bad ticket id")


def _sign(secret: bytes, payload: str) -> bytes:
    return hmac.new(secret, payload.encode(), hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError("not base64url") from None
