"""An access log without caller numbers: neither query strings nor path parameters are logged.

aiohttp's default line logs the request line ("%r") and the Referer, both of which carry the
query string (filters such as `caller_number=...`), and the path itself can hold a number
(`/api/callers/{number}/history`). This logger writes the matched route's template instead of
the path, and a fixed placeholder for a path no route matched (it may be anything a client
sent). Pass `access_log_class=PathOnlyAccessLogger` to the runner.
"""

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

UNMATCHED = "(no route)"


def route_template(request: web.BaseRequest) -> str:
    """The template of the route that served `request`, e.g. `/api/callers/{number}/history`."""
    resource = request.match_info.route.resource if isinstance(request, web.Request) else None
    return resource.canonical if resource is not None else UNMATCHED


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %d %.3fs',
            request.remote, request.method, route_template(request), response.status,
            response.body_length, time,
        )  # fmt: skip
