"""HTTP for agent desktops: websocket tickets for CRM users, and the desktop pages.

A desktop logs in with its CRM bearer token and gets a short signed ticket for the gateway
(browsers cannot put headers on a websocket handshake; gateways need no database), with the
targets the agent page's consult picker offers (agents and colleagues: `number`, `name`,
`kind`) and the 10-minute clock's limit and warning (`emergency_clock`). An agent
user gets a ticket only for the agent it is bound to (`users.agent_extension`): a desk is not
taken by naming another extension. A supervisor's or an admin's ticket carries the
supervisor's phone it is bound to (the same column: the phone the user works at), which
listen / whisper / barge ring; none if unbound.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from agent_gateway.edge.admission import allow_desk_user
from agent_gateway.edge.protocol import Role as DeskRole
from agent_gateway.edge.tickets import issue_ticket
from crm.api.throttle import TokenGate
from crm.db.engine import SessionFactory
from crm.domain.deadlines import EMERGENCY_TRANSFER_LIMIT
from crm.domain.enums import Role
from crm.repo.directory import hash_token, user_by_token

log = logging.getLogger(__name__)

STATIC = Path(__file__).with_name("static")
DESK_ROLES: dict[Role, DeskRole] = {
    Role.AGENT: "agent",
    Role.SUPERVISOR: "supervisor",
    Role.ADMIN: "admin",
}


class TicketIn(BaseModel):
    """`extension`, optional, is the desk the agent believes it is at: refused if not theirs."""

    model_config = ConfigDict(extra="forbid")
    extension: str | None = Field(default=None, pattern=r"^[0-9]{2,8}$")


def _error(status: int, code: str, message: str, field: str | None = None) -> web.Response:
    log.warning("desk ticket refused: %d %s: %s", status, code, message)
    body = {"error": {"code": code, "message": message, "field": field}}
    return web.json_response(body, status=status)


class DeskHttp:
    def __init__(
        self,
        sessions: SessionFactory,
        redis: Redis,
        secret: bytes,
        extensions: Collection[str],
        ws_url: str,
        ticket_ttl_s: int,
        gate: TokenGate | None = None,
        targets: Sequence[Mapping[str, str]] = (),
        warn_before_s: float = 120.0,
        phones: Collection[str] = (),
    ) -> None:
        self.sessions = sessions
        self.redis = redis
        self.secret = secret
        self.extensions = frozenset(extensions)
        self.phones = frozenset(phones)  # the supervisors' phones
        self.ws_url = ws_url
        self.ticket_ttl_s = ticket_ttl_s
        self.gate = gate or TokenGate()
        self.targets = [dict(t) for t in targets]  # whom an agent may consult: the picker
        limit_s = EMERGENCY_TRANSFER_LIMIT.total_seconds()
        self.emergency_clock = {"limit_s": limit_s, "warn_before_s": warn_before_s}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/api/desk/ticket", self.ticket)
        app.router.add_get("/agent", self._page("agent.html"))
        app.router.add_get("/supervisor", self._page("supervisor.html"))
        app.router.add_get("/admin", self._page("admin.html"))  # its API refuses non-admins
        if STATIC.is_dir():
            app.router.add_static("/static/", STATIC)

    async def ticket(self, request: web.Request) -> web.Response:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return _error(401, "unauthenticated", "a bearer token is required")
        client, digest = request.remote or "", hash_token(token.strip())
        if (wait := self.gate.retry_after(digest, client)) is not None:
            refused = _error(
                429, "too_many_attempts", f"too many failed attempts, retry in {wait} s"
            )
            refused.headers["Retry-After"] = str(wait)
            return refused
        try:
            raw: Any = await request.json() if request.can_read_body else {}
            body = TicketIn.model_validate(raw)
        except ValueError as exc:
            field = None
            if isinstance(exc, ValidationError):
                field = ".".join(map(str, exc.errors()[0]["loc"])) or None
            return _error(400, "invalid_body", 'expected {"extension": "1001"}', field)
        async with self.sessions() as session:
            user = await user_by_token(session, token.strip())
        if user is None:
            self.gate.failed(digest, client)
            return _error(401, "unauthenticated", "unknown or disabled token")
        self.gate.succeeded(digest)
        role = DESK_ROLES.get(user.role)
        if role is None:
            return _error(403, "forbidden", "department handlers have no agent desktop")
        extension = None
        if role == "agent":
            extension = user.agent_extension
            if extension is None:
                return _error(
                    409, "no_agent_binding",
                    "this agent user works as no agent yet: an admin binds it to one",
                )  # fmt: skip
            if extension not in self.extensions:
                return _error(
                    409, "unknown_extension", f"extension {extension} is not a configured agent"
                )
            if body.extension is not None and body.extension != extension:
                return _error(
                    403, "not_your_extension",
                    f"you are agent {extension}, not {body.extension}", "extension",
                )  # fmt: skip
        elif user.agent_extension is not None:
            if user.agent_extension not in self.phones:
                return _error(
                    409, "unknown_phone",
                    f"{user.agent_extension} is not a configured supervisor's phone",
                )  # fmt: skip
            extension = user.agent_extension
        try:  # as the database has the user now, even before the next full publication
            await allow_desk_user(self.redis, user.id, user.generation)
        except RedisError as exc:
            return _error(503, "unavailable", f"cannot issue a ticket now: {exc}")
        now = time.time()
        ticket = issue_ticket(
            self.secret, user.id, user.name, role, extension, self.ticket_ttl_s, now,
            version=user.generation,
        )  # fmt: skip
        user_out = {"id": user.id, "name": user.name, "role": role, "extension": extension}
        return web.json_response(
            {
                "ticket": ticket,
                "ws_url": self.ws_url,
                "expires_at": now + self.ticket_ttl_s,
                "user": user_out,
                "targets": self.targets,
                "emergency_clock": self.emergency_clock,
            }
        )

    @staticmethod
    def _page(name: str) -> Any:
        async def page(_request: web.Request) -> web.StreamResponse:
            path = STATIC / name
            if not path.is_file():
                raise web.HTTPNotFound(text=f"{name} is not built")
            return web.FileResponse(path, headers={"Cache-Control": "no-cache"})

        return page
