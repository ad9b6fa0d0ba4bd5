"""Endpoints declared once, as data, so routes and the OpenAPI document cannot drift apart.

Each endpoint names its request body, query and response models and the roles that may call
it; `bind` wraps the handler with authentication, the role check, input parsing and one
database transaction per request (the request's unit of work): any refusal rolls it back.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from pydantic import BaseModel, RootModel, ValidationError

from crm.api.context import CLOCK, SESSIONS, Ctx
from crm.api.errors import invalid_input
from crm.domain.enums import Role
from crm.domain.lifecycle import Actor
from crm.errors import Denied, InvalidInput, Unauthenticated
from crm.repo.directory import user_by_token

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


def _parse(model: type[BaseModel], raw: bytes | dict[str, str]) -> BaseModel:
    try:
        if isinstance(raw, bytes):
            return model.model_validate_json(raw or b"null")
        return model.model_validate(raw)
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
        token = _bearer(request)
        async with request.app[SESSIONS]() as session, session.begin():
            user = await user_by_token(session, token)
            if user is None:
                raise Unauthenticated("unauthenticated", "unknown or disabled token")
            if user.role not in endpoint.roles:
                raise Denied("role_forbidden", f"role {user.role.value} may not do this")
            ctx = Ctx(
                request=request,
                session=session,
                actor=Actor(user.id, user.role, user.unit_id),
                now=request.app[CLOCK](),
                inputs=await _inputs(request, endpoint),
            )
            return await endpoint.handler(ctx)

    return handle


def json(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(text=model.model_dump_json(), status=status)
