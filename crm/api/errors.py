"""One error body for every refusal: {"error": {"code", "message", "field"}}.

Also for aiohttp's own refusals (404, 405 with its `Allow`, 413) and for any unexpected
exception, which is logged once with its traceback and answered with a JSON 500.
"""

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from pydantic import ValidationError

from crm.api.schemas import ErrorBody, ErrorDetail
from crm.errors import CrmError, InvalidInput, Throttled

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HTTP_CODES = {
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
}


def error_response(
    status: int,
    code: str,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> web.Response:
    body = ErrorBody(error=ErrorDetail(code=code, message=message, field=field))
    data = body.model_dump(mode="json")
    data["error"].update(extra or {})
    return web.json_response(data, status=status, headers=headers)


def invalid_input(exc: ValidationError, tagged_union: bool) -> InvalidInput:
    """The first problem, with its field as a dotted path (list indexes included)."""
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        return InvalidInput("invalid_json", "request body is not valid JSON")
    loc = [str(part) for part in first["loc"]]
    if tagged_union and loc:
        loc = loc[1:]  # drop the union tag pydantic puts first
    field = ".".join(loc) or None
    code = "unknown_field" if first["type"] == "extra_forbidden" else "invalid_value"
    return InvalidInput(code, first["msg"], field)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except CrmError as exc:
        response = error_response(exc.status, exc.code, exc.message, exc.field, extra=exc.extra)
        if isinstance(exc, Throttled):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = _HTTP_CODES.get(exc.status, "http_error")
        allow = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else None
        return error_response(exc.status, code, exc.reason, headers=allow)
    except Exception:
        log.exception("unexpected error in %s %s", request.method, request.path)
        return error_response(500, "internal_error", "unexpected server error (logged)")
