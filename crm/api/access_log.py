"""An access log without query strings: filters such as `caller_number=...` stay out of logs.

aiohttp's default line logs the request line ("%r") and the Referer, both of which carry the
query string. Pass `access_log_class=PathOnlyAccessLogger` to the runner.
"""

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger


class PathOnlyAccessLogger(AbstractAccessLogger):
    def log(self, request: web.BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.info(
            '%s "%s %s" %d %d %.3fs',
            request.remote, request.method, request.path, response.status,
            response.body_length, time,
        )  # fmt: skip
