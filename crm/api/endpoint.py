"""Endpoints declared once, as data, so routes and the OpenAPI document cannot drift apart.

Each endpoint names its request body, query and response models and the roles that may call
it; `bind` wraps the handler with authentication, the role check, input parsing and one
database transaction per request (the request's unit of work): any refusal rolls it back.
Authentication and parsing come before the transaction, which is held only for the work itself.
"""

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel, RootModel, ValidationError

from crm.api.context import AUTH, CLOCK, ENGINE, Ctx
from crm.api.errors import invalid_input
from crm.db.integrity import INTEGRITY_ERRORS, is_conflict
from crm.domain.enums import Role
from crm.errors import Conflict, Denied, InvalidInput, Unauthenticated

ALL_ROLES = frozenset(Role)
HandlerFn = Callable[[Ctx], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: HandlerFn
    summary: str
    roles: frozenset[Role] = ALL_ROLES
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    content_type: str = "application/json"
    # False: the handler opens short sessions of its own (a long read must not hold the
    # request's transaction, and with it SQLite's one connection, while it streams)
    transaction: bool = True
    # statuses documented besides the common ones: refusals (JSON error body) and further
    # answers with the response's content (a file's 206)
    errors: Mapping[str, str] = field(default_factory=dict)
    also: Mapping[str, str] = field(default_factory=dict)


def _parse(model: type[BaseModel], raw: bytes | dict[str, str]) -> BaseModel:
    """A JSON body, or a query string whose values are strings parsed as the field's type."""
    try:
        if isinstance(raw, bytes):
            return model.model_validate_json(raw or b"null")
        return model.model_validate_strings(raw)
    except ValidationError as exc:
        raise invalid_input(exc, issubclass(model, RootModel)) from exc


def _bearer(request: web.Request) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("unauthenticated", "a bearer token is required")
    return token.strip()


async def _inputs(request: web.Request, endpoint: Endpoint) -> tuple[BaseModel, ...]:
    inputs: list[BaseModel] = []
    if endpoint.query is not None:
        inputs.append(_parse(endpoint.query, dict(request.query)))
    if endpoint.body is not None:
        if request.content_type != "application/json":
            raise InvalidInput("unsupported_media_type", "send a JSON body (application/json)")
        inputs.append(_parse(endpoint.body, await request.read()))
    return tuple(inputs)


def bind(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        actor = await request.app[AUTH].actor(_bearer(request), request.remote or "")
        if actor.role not in endpoint.roles:
            raise Denied("role_forbidden", f"role {actor.role.value} may not do this")
        inputs = await _inputs(request, endpoint)
        now = request.app[CLOCK]()
        if not endpoint.transaction:
            return await endpoint.handler(
                Ctx(request=request, connection=None, actor=actor, now=now, inputs=inputs)
            )
        try:
            async with request.app[ENGINE].begin() as connection:
                ctx = Ctx(request=request, connection=connection, actor=actor, now=now,
                          inputs=inputs)  # fmt: skip
                try:
                    response = await endpoint.handler(ctx)
                    if (session := ctx.opened_session()) is not None:
                        await session.flush()
                finally:
                    if (session := ctx.opened_session()) is not None:
                        await session.close()
        except INTEGRITY_ERRORS as exc:
            if not is_conflict(exc):
                raise
            raise Conflict("concurrent_change", "a concurrent request changed this; retry") from exc
        for hook in ctx.after_commit:
            if inspect.isawaitable(done := hook()):
                await done
        return response

    return handle


def json(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)
